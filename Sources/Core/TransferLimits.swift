import Foundation

/// How long one HTTP exchange may take and how slowly its response body may arrive: the bounds that
/// keep a link which answers its headers and then trickles bytes from holding a worker (and its lease)
/// forever. `TransferWatchdog` enforces them.
///
/// The total deadline catches a body that is steady but too slow to ever matter; the rate floor catches
/// a link that has all but stopped long before the deadline would, the way curl's `--speed-limit` and
/// `--speed-time` do.
public struct TransferLimits: Sendable, Equatable {
    /// The whole exchange, from sending the request to the last byte of the body.
    public var timeout: Duration
    /// The least a body must average, in bytes per second, over every `stallWindow`; 0 turns the check
    /// off. The first window is measured from the first byte the body is read for (after the headers).
    public var minimumBytesPerSecond: Int
    /// The span the rate is measured over. Short windows abort links that merely hiccup; the check
    /// fires at the earliest one window into the body.
    public var stallWindow: Duration

    /// Creates limits; the floor defaults to 1 KiB/s over a minute.
    public init(timeout: Duration, minimumBytesPerSecond: Int = 1024, stallWindow: Duration = .seconds(60)) {
        self.timeout = timeout
        self.minimumBytesPerSecond = minimumBytesPerSecond
        self.stallWindow = stallWindow
    }
}

/// A body abandoned because it broke its `TransferLimits`. Each module maps it to its own error type
/// (`download.timeout`, `download.stalled`, `cdn.timeout`, `cdn.stalled`), retryable.
public enum TransferLimitExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    /// The exchange was still running at its total deadline, `limit` after the request was sent, with
    /// `received` body bytes in.
    case deadline(limit: Duration, received: Int64)
    /// Only `received` bytes arrived in the last `window` (at least `stallWindow` long), below
    /// `minimumBytesPerSecond`.
    case stalled(received: Int64, window: Duration, minimumBytesPerSecond: Int)

    /// `did not finish within 600 s (1048576 bytes received)`, or `received 300 bytes in the last 60 s
    /// (5 B/s), below the floor of 1024 B/s`.
    public var description: String {
        switch self {
        case let .deadline(limit, received):
            return "did not finish within \(Self.seconds(limit)) (\(received) bytes received)"
        case let .stalled(received, window, floor):
            let rate = window.timeInterval > 0 ? Int64((Double(received) / window.timeInterval).rounded(.down)) : received
            return "received \(received) bytes in the last \(Self.seconds(window)) (\(rate) B/s), below the floor of \(floor) B/s"
        }
    }

    /// `60 s`, `1.5 s`.
    private static func seconds(_ duration: Duration) -> String {
        let value = duration.timeInterval
        return value == value.rounded() ? "\(Int64(value)) s" : String(format: "%.1f s", value)
    }
}
