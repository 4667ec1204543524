import Foundation

/// Read access to what earlier passes recorded per window, for a transfer that skips downloading a
/// package the sink verifiably still holds.
///
/// Kept apart from `JobStore` so a transfer depends on this one read, not on the queue's transitions.
public protocol RecordedFileLookup: Sendable {
    /// The per-file records of `window`'s last completed pass; empty when it never completed one.
    func recordedFiles(of window: Window) async throws -> [FileRecord]
}
