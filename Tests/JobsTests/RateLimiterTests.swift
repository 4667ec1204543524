import Jobs
import TencentCloud
import TestSupport
import Testing

/// The client-side token bucket, on a clock that does not really sleep.
@Suite struct RateLimiterTests {
    @Test func spacesConcurrentCallersOneIntervalApart() async throws {
        let clock = ManualWallClock(advancesOnSleep: true)
        let limiter = RateLimiter(requestsPerSecond: 20, clock: clock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask { try await limiter.acquire() }
            }
            try await group.waitForAll()
        }
        // The first request goes at once, the other nine wait 50 ms each after the previous one.
        #expect(clock.elapsed == .milliseconds(450))
        #expect(clock.sleepCount == 9)
    }

    @Test func letsABurstThroughThenPacesTheRest() async throws {
        let clock = ManualWallClock(advancesOnSleep: true)
        let limiter = RateLimiter(requestsPerSecond: 10, burst: 3, clock: clock)
        for _ in 0..<3 { try await limiter.acquire() }
        #expect(clock.elapsed == .zero)
        try await limiter.acquire()
        #expect(clock.elapsed == .milliseconds(100))
        try await limiter.acquire()
        #expect(clock.elapsed == .milliseconds(200))
    }

    @Test func refillsWhileIdle() async throws {
        let clock = ManualWallClock(advancesOnSleep: true)
        let limiter = RateLimiter(requestsPerSecond: 20, clock: clock)
        try await limiter.acquire()
        try await clock.sleep(for: .seconds(1))
        try await limiter.acquire()
        #expect(clock.elapsed == .seconds(1))
        #expect(clock.sleepCount == 1)
    }

    @Test func nonPositiveRateDisablesTheLimit() async throws {
        let clock = ManualWallClock(advancesOnSleep: true)
        let limiter = RateLimiter(requestsPerSecond: 0, clock: clock)
        for _ in 0..<100 { try await limiter.acquire() }
        #expect(clock.sleepCount == 0)
    }

    @Test func cancelledCallerThrowsCancellation() async throws {
        let limiter = RateLimiter(requestsPerSecond: 1, clock: ManualWallClock(advancesOnSleep: true))
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await limiter.acquire()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
