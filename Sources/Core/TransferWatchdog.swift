import Foundation
import Synchronization

/// Runs the reading of one response body beside a watch that cancels it when the body breaks its
/// `TransferLimits`: past the total deadline, or below the rate floor over a sliding window.
///
/// An HTTP client's own deadline ends when the response head arrives, and its read timeout is reset by
/// every byte, so a link that trickles a byte now and then is bounded by neither. The watch looks at
/// the body's progress every quarter window (at most every second), on the injected clock, and throws
/// `TransferLimitExceeded`; the reading task is then cancelled, which aborts the request.
public struct TransferWatchdog: Sendable {
    /// The bounds enforced.
    public let limits: TransferLimits
    /// Times the deadline and the windows. A clock that advances on sleep makes every body time out
    /// at once: give such tests a real clock here.
    public let clock: any WallClock

    /// Creates a watchdog; nothing runs until `watch`.
    public init(limits: TransferLimits, clock: any WallClock) {
        self.limits = limits
        self.clock = clock
    }

    /// Runs `body` with a fresh `TransferProgress` it must feed with each chunk read, and returns its
    /// result; throws `TransferLimitExceeded` when the limits are broken first, or what `body` throws.
    ///
    /// - Parameter startedAt: when the request was sent (the clock's time): the total deadline counts
    ///   from there, so that the time spent waiting for the headers is included.
    public func watch<Result: Sendable>(
        startedAt: Date, _ body: @escaping @Sendable (TransferProgress) async throws -> Result
    ) async throws -> Result {
        let progress = TransferProgress()
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            defer { group.cancelAll() }
            group.addTask { try await body(progress) }
            group.addTask {
                try await patrol(progress, deadline: startedAt.addingTimeInterval(limits.timeout.timeInterval))
                return nil
            }
            // The patrol only ever ends by throwing, so the first result is the body's.
            guard let first = try await group.next(), let result = first else { throw CancellationError() }
            return result
        }
    }

    /// Wakes up every tick until the deadline, throwing when a limit is broken.
    private func patrol(_ progress: TransferProgress, deadline: Date) async throws {
        var detector = StallDetector(limits: limits, start: clock.now)
        let window = limits.stallWindow.timeInterval
        let tick = min(max(window / 4, 0.01), 1)
        while true {
            let now = clock.now
            let received = progress.bytes
            if now >= deadline {
                throw TransferLimitExceeded.deadline(limit: limits.timeout, received: received)
            }
            if let stalled = detector.observe(bytes: received, at: now) { throw stalled }
            let remaining = deadline.timeIntervalSince(now)
            let pause = detector.isEnabled ? min(tick, remaining) : remaining
            try await clock.sleep(for: .seconds(pause))
        }
    }
}

/// How many body bytes have been read so far; fed by the reading task, read by the watch.
/// Thread-safe (an atomic counter).
public final class TransferProgress: Sendable {
    private let counter = Atomic<Int64>(0)

    /// Creates a counter at zero.
    public init() {}

    /// The bytes read so far.
    public var bytes: Int64 { counter.load(ordering: .relaxed) }

    /// Counts `count` more bytes.
    public func add(_ count: Int) {
        counter.add(Int64(count), ordering: .relaxed)
    }
}

/// The sliding-window rate check, pure: fed the byte count each time the watch looks, it reports when
/// the bytes of the last window (at least `stallWindow` long) fall below the floor.
package struct StallDetector: Sendable {
    private let minimumBytesPerSecond: Int
    private let window: TimeInterval
    /// `(time, bytes)` at each look, oldest first; the first is the newest one at least a window old.
    private var samples: [(time: Date, bytes: Int64)]

    /// Starts measuring at `start` with no byte read.
    package init(limits: TransferLimits, start: Date) {
        minimumBytesPerSecond = limits.minimumBytesPerSecond
        window = limits.stallWindow.timeInterval
        samples = [(start, 0)]
    }

    /// Whether there is a floor to check.
    package var isEnabled: Bool { minimumBytesPerSecond > 0 && window > 0 }

    /// Records that `bytes` had been read in all at `now`; returns `.stalled` when the bytes read since
    /// the newest look at least a window back average less than the floor.
    package mutating func observe(bytes: Int64, at now: Date) -> TransferLimitExceeded? {
        guard isEnabled else { return nil }
        let windowStart = now.addingTimeInterval(-window)
        while samples.count > 1 && samples[1].time <= windowStart { samples.removeFirst() }
        defer { samples.append((now, bytes)) }
        guard let base = samples.first, base.time <= windowStart else { return nil }
        let elapsed = now.timeIntervalSince(base.time)
        let received = bytes - base.bytes
        guard Double(received) < Double(minimumBytesPerSecond) * elapsed else { return nil }
        return .stalled(received: received, window: .seconds(elapsed), minimumBytesPerSecond: minimumBytesPerSecond)
    }
}
