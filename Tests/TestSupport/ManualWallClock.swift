import Core
import Foundation
import Synchronization

/// The tests' clock: time moves only when told to, so a week of catch-up or a day of link expiry runs
/// in milliseconds.
///
/// Two ways of moving it:
/// - by hand (`advance(by:)`): sleepers wake when time passes their deadline. For the scheduler and
///   the worker pool, whose loops sleep between ticks.
/// - by sleeping, with `advancesOnSleep`: `sleep(for:)` moves time forward by the duration and returns
///   at once. For code paced by the clock (the rate limiter, throttling retries), which then runs
///   instantly while the clock still tells how long it would have waited (`elapsed`, `sleepCount`).
public final class ManualWallClock: WallClock {
    private struct Sleeper {
        let deadline: Date
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var elapsed: Duration = .zero
        var sleepCount = 0
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>
    private let advancesOnSleep: Bool

    /// 2024-05-02 03:00:00 UTC (11:00 Beijing): a default start with a whole hour behind it.
    public static let referenceStart = Date(timeIntervalSince1970: 1_714_618_800)

    /// Creates a clock standing at `now`; with `advancesOnSleep`, sleeping moves it instead of waiting.
    public init(now: Date = ManualWallClock.referenceStart, advancesOnSleep: Bool = false) {
        state = Mutex(State(now: now))
        self.advancesOnSleep = advancesOnSleep
    }

    public var now: Date { state.withLock { $0.now } }

    /// How far the clock has moved since it was created, exactly.
    public var elapsed: Duration { state.withLock { $0.elapsed } }

    /// How many times someone slept on this clock.
    public var sleepCount: Int { state.withLock { $0.sleepCount } }

    /// Moves time forward by `interval` seconds and wakes every sleeper whose deadline has come.
    public func advance(by interval: TimeInterval) {
        advance(by: Duration.seconds(interval))
    }

    /// Moves time forward by `duration` and wakes every sleeper whose deadline has come.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.elapsed += duration
            state.now = state.now.addingTimeInterval(duration.timeInterval)
            let now = state.now
            let ids = state.sleepers.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { state.sleepers.removeValue(forKey: $0) }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        state.withLock { $0.sleepCount += 1 }
        if advancesOnSleep {
            if duration > .zero { advance(by: duration) }
            return
        }
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    let deadline = state.now.addingTimeInterval(duration.timeInterval)
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}
