import Foundation

/// The unit of work: one source's logs of one domain for one UTC hour.
public struct Window: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Where the logs come from, e.g. `tencent-cdn`.
    public var source: String
    /// The CDN domain.
    public var domain: String
    /// The UTC start of the hour; always a whole hour.
    public var hour: Date

    /// Creates a window; `hour` is truncated to the start of its hour.
    public init(source: String, domain: String, hour: Date) {
        self.source = source
        self.domain = domain
        self.hour = hour.startOfHour
    }

    public var description: String {
        "\(source)/\(domain)/\(hour.formatted(.iso8601))"
    }
}

extension Date {
    /// Whole seconds since the Unix epoch, rounded down.
    public var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }

    /// The instant `seconds` after the Unix epoch.
    public init(unixSeconds seconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// The start of the UTC hour containing this instant.
    public var startOfHour: Date {
        let seconds = unixSeconds
        return Date(unixSeconds: seconds - seconds.modulo(3600))
    }
}

extension Int64 {
    /// The non-negative remainder, also for negative values.
    func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
