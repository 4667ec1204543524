import Foundation
import JobModel

/// What running a window produced.
public enum TransferOutcome: Sendable, Equatable {
    /// Every package of the window is stored (or was found already stored); the records say which.
    case stored([FileRecord])
    /// The source listed no package for the window: not published yet, or an hour without traffic.
    /// The retry policy tells the two apart by the window's age.
    case nothingPublished
}

/// The body of a job: copies one window's logs from its source to the sink. Must be idempotent: running
/// a window twice stores the same objects and uploads nothing the second time.
public protocol WindowTransfer: Sendable {
    /// Runs `window`. Throws a `ClassifiedError`: the transfer's own `TransferError`, or the source's
    /// (such as `TencentCloudError`); any other error is treated as retryable.
    func transfer(_ window: Window) async throws -> TransferOutcome

    /// Called when `window` failed for good: release what its runs left unfinished (multipart uploads).
    func abandon(_ window: Window) async
}

extension WindowTransfer {
    /// Nothing to release by default.
    public func abandon(_ window: Window) async {}
}
