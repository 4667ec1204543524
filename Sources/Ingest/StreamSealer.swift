import Core
import Foundation
import JobModel
import Logging

/// Seals the hours whose grace period is over: their open parts stop taking lines and their `stream`
/// windows are planned (or sent back to `pending` for a late part or one sealed when full). Also
/// forgets old body digests and deletes quarantined lines past `ingest.quarantine_retention_hours`. Run every
/// `ingest.seal_interval_seconds` by the executable; each call is idempotent and level-triggered, so a
/// crash between sealing and planning is repaired by the next call.
public struct StreamSealer: Sendable {
    private let spool: any StreamSpool
    private let grace: TimeInterval
    private let repeatWindow: TimeInterval
    private let quarantineRetention: TimeInterval
    private let clock: any WallClock
    private let logger: Logger

    /// Creates a sealer over `spool`.
    public init(spool: any StreamSpool, configuration: IngestConfiguration, clock: any WallClock, logger: Logger) {
        self.spool = spool
        grace = configuration.sealGrace
        repeatWindow = configuration.repeatWindow
        quarantineRetention = configuration.quarantineRetention
        self.clock = clock
        self.logger = logger
    }

    /// Seals every hour that ended at least the grace period ago. Returns how many parts were sealed.
    @discardableResult
    public func sealDueHours() async throws -> Int {
        let now = clock.now
        // An hour starting at H is sealed once now >= H + 1 h + grace, i.e. H < now - 1 h - grace (+1 s).
        let cutoff = now.addingTimeInterval(-3600 - grace + 1)
        let sealed = try await spool.sealParts(
            hoursBefore: cutoff, source: StreamTransfer.sourceName, forgetBodiesBefore: now.addingTimeInterval(-repeatWindow),
            forgetQuarantineBefore: now.addingTimeInterval(-quarantineRetention), now: now)
        if sealed > 0 { logger.debug("stream parts sealed", metadata: ["stream.parts": "\(sealed)"]) }
        return sealed
    }
}
