import Foundation

/// The only source of time in the libraries: every component that needs the current instant or has to
/// wait takes a `WallClock` in its `init`. The service uses `SystemWallClock`; tests inject a manual
/// clock (in the TestSupport target) and run a week of catch-up in milliseconds.
public protocol WallClock: Sendable {
    /// The current instant.
    var now: Date { get }
    /// Suspends for `duration` of this clock's time; throws `CancellationError` when cancelled.
    func sleep(for duration: Duration) async throws
}

/// Real time.
public struct SystemWallClock: WallClock {
    /// Creates the real clock.
    public init() {}

    public var now: Date { Date() }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

extension Duration {
    /// The duration in seconds.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds, at least zero and saturating instead of overflowing (for
    /// NIO's `TimeAmount.nanoseconds`).
    package var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds < Int64.max / 1_000_000_000 else { return .max }
        return max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Real time running `rate` times faster from `origin`: at the real instant `anchor` it reads `origin`.
/// Two processes given the same three values read the same time, so a service and a CDN simulator can
/// live through hours of outages in a minute (the chaos test, `ORCHESTRATOR_SIMULATED_CLOCK`).
public struct ScaledWallClock: WallClock {
    /// What the clock reads at `anchor`.
    public let origin: Date
    /// The real instant at which it reads `origin`.
    public let anchor: Date
    /// How many seconds pass on this clock per real second.
    public let rate: Double

    /// Creates the clock.
    public init(origin: Date, anchor: Date, rate: Double) {
        self.origin = origin
        self.anchor = anchor
        self.rate = rate
    }

    /// Parses `origin=<ISO 8601>,anchor=<Unix seconds>,rate=<number>`; nil if any part is missing or bad.
    public init?(specification: String) {
        var fields: [String: String] = [:]
        for part in specification.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { return nil }
            fields[pair[0]] = pair[1]
        }
        guard let originText = fields["origin"], let origin = try? Date(originText, strategy: .iso8601),
              let anchorText = fields["anchor"], let anchor = Double(anchorText),
              let rateText = fields["rate"], let rate = Double(rateText), rate > 0, rate <= 100_000
        else { return nil }
        self.init(origin: origin, anchor: Date(timeIntervalSince1970: anchor), rate: rate)
    }

    /// `origin=...,anchor=...,rate=...`, as `init(specification:)` reads it.
    public var specification: String {
        "origin=\(origin.formatted(.iso8601)),anchor=\(anchor.timeIntervalSince1970),rate=\(rate)"
    }

    public var now: Date { origin.addingTimeInterval(Date().timeIntervalSince(anchor) * rate) }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: .nanoseconds(Int64((Double(duration.saturatingNanoseconds) / rate).rounded(.up))))
    }
}
