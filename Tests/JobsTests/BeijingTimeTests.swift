import Foundation
import Jobs
import TencentCloud
import Testing

/// The UTC <-> Beijing (UTC+08:00) conversions at the CDN API boundary.
@Suite struct BeijingTimeTests {
    /// A UTC instant from its parts, computed without the code under test.
    static func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int = 0, _ second: Int = 0) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        return calendar.date(from: components) ?? Date(timeIntervalSince1970: .nan)
    }

    @Test(arguments: [
        // The reference example: 23:00 Beijing is 15:00 UTC the same day.
        (utc(2019, 9, 4, 15), "2019-09-04 23:00:00"),
        // Midnight UTC is 08:00 Beijing the same day.
        (utc(2024, 3, 1, 0), "2024-03-01 08:00:00"),
        // 16:00 UTC is midnight Beijing of the next day, across a leap day...
        (utc(2024, 2, 28, 16), "2024-02-29 00:00:00"),
        (utc(2024, 2, 29, 16), "2024-03-01 00:00:00"),
        // ... and across a year.
        (utc(2023, 12, 31, 16), "2024-01-01 00:00:00"),
        (utc(2023, 12, 31, 15, 59, 59), "2023-12-31 23:59:59"),
        (utc(2100, 2, 28, 16), "2100-03-01 00:00:00"),
        (Date(timeIntervalSince1970: 0), "1970-01-01 08:00:00"),
    ])
    func convertsUTCToBeijingWallClockAndBack(instant: Date, beijing: String) {
        #expect(BeijingTime.string(from: instant) == beijing)
        #expect(BeijingTime.date(from: beijing) == instant)
    }

    @Test func dropsFractionsOfASecond() {
        #expect(BeijingTime.string(from: Self.utc(2024, 3, 1, 0).addingTimeInterval(0.999)) == "2024-03-01 08:00:00")
    }

    @Test(arguments: [
        "", "2024-03-01", "2024-03-01T08:00:00", "2024-03-01 08:00:00Z", "2024-13-01 00:00:00",
        "2023-02-29 00:00:00", "2024-04-31 00:00:00", "2024-03-01 24:00:00", "2024-03-01 08:60:00",
        "2024-03-01 08:00:60", "2024-0a-01 08:00:00", "２０２４-03-01 08:00:00",
    ])
    func rejectsAnythingButAValidWallClockTime(text: String) {
        #expect(BeijingTime.date(from: text) == nil)
    }
}
