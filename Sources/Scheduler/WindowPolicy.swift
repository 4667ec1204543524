import Foundation

/// The rules every window is worked by. The scheduler reaps expired leases and starts reconcile passes
/// by them, the worker pool leases, heartbeats and retries by them: both take this one value, built once,
/// so they cannot disagree about attempts, lease length or settle time.
public struct WindowPolicy: Sendable, Equatable {
    /// Attempts, backoff and the publication horizon.
    public var retry: RetryPolicy
    /// How long a lease lasts without a heartbeat, in seconds. Workers heartbeat every third of it; the
    /// scheduler reaps at least every half of it.
    public var leaseDuration: TimeInterval
    /// How long after its end an hour's packages are taken to have settled, in seconds: done windows
    /// are then checked once more against the source, and a window first copied later is final at once.
    public var settleDelay: TimeInterval
    /// The least time between a window's copy and its reconcile pass, in seconds. It matters for a
    /// window first copied after the settle time: one with packages is final at once, but an empty one is
    /// final only when a second listing this much later agrees.
    public var relistDelay: TimeInterval
    /// When a dependency counts as in an outage, and how it is probed then.
    public var outage: OutagePolicy
    /// The longest one window may run, in seconds: its lease is no longer renewed past this and the run
    /// is stopped as `worker.window_deadline` (an attempt), so a transfer stuck in a way no timeout caught
    /// cannot hold a worker forever.
    public var maxWindowDuration: TimeInterval

    /// Leases a window may use before it is failed (the retry policy's).
    public var maxAttempts: Int { retry.maxAttempts }

    /// Creates a policy; the defaults are the service's documented ones.
    public init(
        retry: RetryPolicy = RetryPolicy(), leaseDuration: TimeInterval = 120, settleDelay: TimeInterval = 24 * 3600,
        outage: OutagePolicy = OutagePolicy(), maxWindowDuration: TimeInterval = 2 * 3600, relistDelay: TimeInterval = 3600
    ) {
        self.relistDelay = relistDelay
        self.retry = retry
        self.leaseDuration = leaseDuration
        self.settleDelay = settleDelay
        self.outage = outage
        self.maxWindowDuration = maxWindowDuration
    }
}
