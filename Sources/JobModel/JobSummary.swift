import Foundation

/// One row of the `jobs` listing.
public struct JobSummary: Sendable, Hashable, Codable {
    /// Row id.
    public var id: Int64
    /// The window.
    public var window: Window
    /// Current state.
    public var state: JobState
    /// Leases taken.
    public var attempts: Int
    /// Not leased before this instant.
    public var runAt: Date
    /// The last error, if any.
    public var lastError: JobError?
    /// Packages stored (or found already stored).
    public var fileCount: Int
    /// Their total size.
    public var byteCount: Int64
    /// Last state change.
    public var updatedAt: Date
    /// The first copy or the reconcile pass.
    public var pass: WindowPass = .copy
    /// Done and settled.
    public var final = false
    /// When the window was planned.
    public var createdAt: Date?
    /// When it was last done or failed; nil while it is pending or running.
    public var finishedAt: Date?
    /// The holder of its lease (`host/pid/random`) while it is running.
    public var leaseOwner: String?
    /// When that lease expires unless renewed.
    public var leaseUntil: Date?
    /// Packages its reconcile pass found changed and stored again.
    public var replacedCount = 0

    /// Creates a summary.
    public init(id: Int64, window: Window, state: JobState, attempts: Int, runAt: Date, lastError: JobError?, fileCount: Int, byteCount: Int64, updatedAt: Date) {
        self.id = id
        self.window = window
        self.state = state
        self.attempts = attempts
        self.runAt = runAt
        self.lastError = lastError
        self.fileCount = fileCount
        self.byteCount = byteCount
        self.updatedAt = updatedAt
    }
}
