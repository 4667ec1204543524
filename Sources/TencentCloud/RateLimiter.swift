import Core
import Foundation

/// A token bucket that spaces out requests: at most `burst` at once, then one every `1 / rate` seconds.
///
/// Implemented as a virtual-scheduling (GCRA) limiter: each `acquire()` reserves the next free slot
/// inside the actor, then sleeps outside it until the slot comes. Concurrent callers therefore get
/// distinct slots in arrival order and never wake up together. Time comes from the injected wall clock,
/// so a test can use a clock that advances instead of sleeping; should the host clock be stepped
/// backwards, requests wait at most that step longer (NTP normally slews instead).
///
/// A caller cancelled while it waits throws `CancellationError`; its slot is not handed back (the
/// limiter errs on the side of sending fewer requests).
public actor RateLimiter {
    /// The spacing between two requests once the burst is used up.
    public nonisolated let interval: Duration
    /// How many requests may go out at once after an idle period.
    public nonisolated let burst: Int

    private let elapsed: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void
    /// The theoretical arrival time of the next request, as time elapsed on the clock since `init`.
    private var nextSlot: Duration = .zero

    /// Creates a limiter allowing `requestsPerSecond` on average and `burst` requests at once.
    ///
    /// The default burst of 1 keeps every one-second window at or under the rate, which is how Tencent
    /// counts its per-API limit (20 requests/s). A rate that is not positive disables the limit.
    public init(requestsPerSecond: Double, burst: Int = 1, clock: any WallClock = SystemWallClock()) {
        if requestsPerSecond > 0, requestsPerSecond.isFinite {
            interval = .nanoseconds(Int64((1_000_000_000 / requestsPerSecond).rounded()))
        } else {
            interval = .zero
        }
        self.burst = max(1, burst)
        let start = clock.now
        // Whole microseconds: finer than any spacing it enforces, and exact for the tests' clocks.
        elapsed = { .microseconds(Int64((clock.now.timeIntervalSince(start) * 1_000_000).rounded())) }
        sleep = { duration in try await clock.sleep(for: duration) }
    }

    /// Waits until the caller may send one request.
    ///
    /// - Throws: `CancellationError` when the calling task is cancelled before its slot comes.
    public func acquire() async throws {
        try Task.checkCancellation()
        guard interval > .zero else { return }
        let now = elapsed()
        let slot = max(nextSlot, now)
        nextSlot = slot + interval
        let allowedAt = slot - interval * (burst - 1)
        if allowedAt > now {
            try await sleep(allowedAt - now)
        }
    }
}
