import Foundation

/// The only source of time in the libraries: every component that needs the current instant or has to
/// wait takes a `WallClock` in its `init`. The service uses `SystemWallClock`; tests inject a manual
/// clock (in the TestSupport target) and run a week of catch-up in milliseconds.
public protocol WallClock: Sendable {
    /// The current instant.
    var now: Date { get }
    /// Suspends for `duration` of this clock's time; throws `CancellationError` when cancelled.
    func sleep(for duration: Duration) async throws
}

/// Real time.
public struct SystemWallClock: WallClock {
    /// Creates the real clock.
    public init() {}

    public var now: Date { Date() }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

extension Duration {
    /// The duration in seconds.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds, at least zero and saturating instead of overflowing (for
    /// NIO's `TimeAmount.nanoseconds`).
    package var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds < Int64.max / 1_000_000_000 else { return .max }
        return max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
