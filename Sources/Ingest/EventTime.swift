import Foundation

/// The event hour of a line from its `date` (`2017-07-09`) and `time` (`22:27:10`, `23:27:35:142` or
/// `23:27:35.142`) in the configured zone. Pure; caches zone offsets per local hour, and the last
/// line's answer: the lines of a batch mostly share their date and hour, and then only the minutes,
/// seconds and milliseconds of the next line are checked.
struct EventTime {
    private let timeZone: TimeZone
    private let isUTC: Bool
    private var offsets: [Int64: Int64] = [:]
    /// The date and the time's hour of the last line read in full, and its event hour; kept only where
    /// the zone's offset was whole hours (then the minutes cannot change the hour).
    private var last: (key: Key, hour: Int64)?

    /// A line's date and the hour of its time, as numbers: the first 8 bytes of the date, then its last
    /// 2 and the hour's 2.
    private struct Key: Equatable {
        var date: UInt64
        var rest: UInt32
    }

    /// Whether the last line read successfully was read in full or from the cache, so that any line with
    /// its date and hour and a valid time has its event hour: false where the zone's offset is not
    /// whole hours.
    var cachesLastHour: Bool { last != nil }

    /// A parser for `timeZone`.
    init(timeZone: TimeZone) {
        self.timeZone = timeZone
        isUTC = timeZone.secondsFromGMT() == 0 && (timeZone.identifier == "UTC" || timeZone.identifier == "GMT")
    }

    /// The UTC start (Unix seconds) of the hour the line happened in, or nil when the fields are not a
    /// valid date and time.
    mutating func hour<Bytes: RandomAccessCollection>(date: Bytes, time: Bytes) -> Int64? where Bytes.Element == UInt8, Bytes.Index == Int {
        guard date.count == 10, time.count == 8 || time.count == 12 else { return nil }
        var key = Key(date: 0, rest: 0)
        for index in 0..<8 { key.date |= UInt64(date[date.startIndex + index]) << (8 * index) }
        key.rest = UInt32(date[date.startIndex + 8]) | UInt32(date[date.startIndex + 9]) << 8
            | UInt32(time[time.startIndex]) << 16 | UInt32(time[time.startIndex + 1]) << 24
        guard let minute = Self.number(time, 3, 2), let second = Self.number(time, 6, 2),
              time[time.startIndex + 2] == UInt8(ascii: ":"), time[time.startIndex + 5] == UInt8(ascii: ":"),
              minute < 60, second < 61
        else { return nil }
        if time.count == 12 {
            let separator = time[time.startIndex + 8]
            guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "."), Self.number(time, 9, 3) != nil else { return nil }
        }
        if let last, last.key == key { return last.hour }
        guard date[date.startIndex + 4] == UInt8(ascii: "-"), date[date.startIndex + 7] == UInt8(ascii: "-"),
              let year = Self.number(date, 0, 4), let month = Self.number(date, 5, 2), let day = Self.number(date, 8, 2),
              let hour = Self.number(time, 0, 2),
              (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day), hour < 24
        else { return nil }
        let localHour = (Self.daysFromCivil(year: year, month: month, day: day) * 24 + hour) * 3600
        if isUTC {
            last = (key, localHour)
            return localHour
        }
        let offset: Int64
        if let cached = offsets[localHour] {
            offset = cached
        } else {
            // The offset in force at that local time: looked up at the naive instant, then again at
            // the corrected one, which settles it except inside a transition.
            let first = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localHour))))
            offset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localHour - first))))
            offsets[localHour] = offset
        }
        let instant = localHour + Int64(minute * 60 + second) - offset
        let eventHour = instant - ((instant % 3600) + 3600) % 3600
        last = offset % 3600 == 0 ? (key, eventHour) : nil
        return eventHour
    }

    private static func number<Bytes: RandomAccessCollection>(_ bytes: Bytes, _ offset: Int, _ count: Int) -> Int64?
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var value: Int64 = 0
        for index in bytes.startIndex + offset..<bytes.startIndex + offset + count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
        }
        return value
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
