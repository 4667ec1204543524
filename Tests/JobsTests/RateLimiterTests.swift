import Jobs
import Synchronization
import Testing

/// A clock whose `sleep` returns at once after moving its time to the deadline, so code paced by a clock
/// runs instantly while the clock still tells how long it would have waited.
final class SleeplessClock: Clock {
    /// A point on this clock: the time elapsed since it was created.
    struct Instant: InstantProtocol {
        /// Time since the clock's creation.
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let current = Mutex(Duration.zero)
    private let sleeps = Mutex(0)

    /// Now, on this clock.
    var now: Instant { Instant(offset: current.withLock { $0 }) }
    /// Always zero: the clock is exact.
    var minimumResolution: Duration { .zero }
    /// How many times someone slept on this clock.
    var sleepCount: Int { sleeps.withLock { $0 } }

    /// Moves the time forward to `deadline` (never back) and returns without waiting.
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        sleeps.withLock { $0 += 1 }
        current.withLock { $0 = max($0, deadline.offset) }
    }
}

/// The client-side token bucket, on a clock that does not really sleep.
@Suite struct RateLimiterTests {
    @Test func spacesConcurrentCallersOneIntervalApart() async throws {
        let clock = SleeplessClock()
        let limiter = RateLimiter(requestsPerSecond: 20, clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask { try await limiter.acquire() }
            }
            try await group.waitForAll()
        }
        // The first request goes at once, the other nine wait 50 ms each after the previous one.
        #expect(clock.now.offset == .milliseconds(450))
        #expect(clock.sleepCount == 9)
    }

    @Test func letsABurstThroughThenPacesTheRest() async throws {
        let clock = SleeplessClock()
        let limiter = RateLimiter(requestsPerSecond: 10, burst: 3, clock: clock)
        for _ in 0..<3 { try await limiter.acquire() }
        #expect(clock.now.offset == .zero)
        try await limiter.acquire()
        #expect(clock.now.offset == .milliseconds(100))
        try await limiter.acquire()
        #expect(clock.now.offset == .milliseconds(200))
    }

    @Test func refillsWhileIdle() async throws {
        let clock = SleeplessClock()
        let limiter = RateLimiter(requestsPerSecond: 20, clock: clock)
        try await limiter.acquire()
        try await clock.sleep(for: .seconds(1))
        try await limiter.acquire()
        #expect(clock.now.offset == .seconds(1))
        #expect(clock.sleepCount == 1)
    }

    @Test func nonPositiveRateDisablesTheLimit() async throws {
        let clock = SleeplessClock()
        let limiter = RateLimiter(requestsPerSecond: 0, clock: clock)
        for _ in 0..<100 { try await limiter.acquire() }
        #expect(clock.sleepCount == 0)
    }

    @Test func cancelledCallerThrowsCancellation() async throws {
        let limiter = RateLimiter(requestsPerSecond: 1, clock: SleeplessClock())
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await limiter.acquire()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
