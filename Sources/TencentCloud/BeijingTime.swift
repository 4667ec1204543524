import Core
import Foundation

/// Conversions between UTC instants and the zone-less `"YYYY-MM-DD HH:MM:SS"` wall-clock times of the
/// Tencent CDN API, which are Beijing time (UTC+08:00, no daylight saving).
///
/// The service stores and prints UTC; it converts only here, at the API boundary. The arithmetic is
/// done on whole seconds with the proleptic Gregorian calendar, so it neither depends on the host's
/// time-zone database nor on `DateFormatter`'s locale behaviour.
public enum BeijingTime {
    /// The offset of Beijing time from UTC, in seconds.
    public static let offsetSeconds = 8 * 3600

    /// The Beijing wall-clock time of `date`, e.g. `2019-09-04 23:00:00` for 2019-09-04 15:00:00 UTC.
    ///
    /// Fractions of a second are dropped (rounded towards the past).
    public static func string(from date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + offsetSeconds
        return CivilTime(unixSeconds: seconds).dateTimeString
    }

    /// The UTC instant of a Beijing wall-clock time `"YYYY-MM-DD HH:MM:SS"`, or nil when `text` is not
    /// exactly in that form or names an impossible time (month 13, February 30, ...).
    public static func date(from text: String) -> Date? {
        guard let civil = CivilTime(parsing: text) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(civil.unixSeconds - offsetSeconds))
    }
}
