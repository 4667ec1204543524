import Foundation

extension Date {
    /// Whole seconds since the Unix epoch, rounded down.
    public var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }

    /// The instant `seconds` after the Unix epoch.
    public init(unixSeconds seconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// `2026-12-01T19:00:00Z`: the instant in UTC to the second, rounded down, as `formatted(.iso8601)`
    /// writes it, without Foundation's calendar (which took a tenth of `status --json`'s time for a
    /// thousand domains).
    package var iso8601Seconds: String {
        let time = CivilTime(unixSeconds: Int(unixSeconds))
        return time.dateString + "T" + time.timeString + "Z"
    }

    /// The start of the UTC hour containing this instant.
    public var startOfHour: Date {
        let seconds = unixSeconds
        return Date(unixSeconds: seconds - seconds.modulo(3600))
    }
}

extension Int64 {
    /// The non-negative remainder, also for negative values.
    public func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
