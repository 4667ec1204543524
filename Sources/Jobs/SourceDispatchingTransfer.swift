import JobModel

/// Runs each window with the transfer of its `source` (pulled packages, pushed stream hours), so one
/// worker pool, one retry policy and one `status` cover every kind of window.
public struct SourceDispatchingTransfer: WindowTransfer {
    private let transfers: [String: any WindowTransfer]

    /// Dispatches by source to `transfers`.
    public init(_ transfers: [String: any WindowTransfer]) {
        self.transfers = transfers
    }

    /// Runs `window` with its source's transfer; a window of a source this process does not run (its
    /// configuration section was removed) fails permanently, naming the source.
    public func transfer(_ window: Window) async throws -> TransferOutcome {
        guard let transfer = transfers[window.source] else {
            throw TransferError.permanent(
                "transfer.unknown_source", "no transfer for windows of source \(window.source) in this configuration")
        }
        return try await transfer.transfer(window)
    }

    public func abandon(_ window: Window) async {
        await transfers[window.source]?.abandon(window)
    }
}
