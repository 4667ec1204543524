import Foundation
import Ingest
import JobModel
import Testing
import TestSupport

/// The event hour of each line, read again for every line even where consecutive lines share their
/// date and hour (the filer then reuses the previous line's answer).
@Suite("Event time")
struct EventTimeTests {
    static let endpoint = IngestEndpoint(path: "/logs", domain: "www.example.com", headers: [:])

    /// The hours of the chunks `times` are filed under in `zone`, lines per hour in order, and the
    /// times of the lines quarantined.
    static func file(_ times: [String], zone: String) throws -> (hours: [String], quarantined: [String]) {
        let body = times.map { SenderLog.line(time: $0) }.joined(separator: "\n")
        let filed = BatchFiler(endpoint: endpoint, timeZone: try #require(TimeZone(identifier: zone))).file(Array(body.utf8))
        let format = ISO8601DateFormatter()
        let hours = filed.chunks.map { "\(format.string(from: $0.hour)) x\($0.lineCount)" }
        let quarantined = filed.quarantined.compactMap { line in
            String(decoding: line.bytes, as: UTF8.self).firstMatch(of: /"time":"([^"]*)"/).map { String($0.1) }
        }
        return (hours, quarantined)
    }

    @Test("lines sharing a date and hour still have their minutes, seconds and milliseconds checked")
    func sameHourStillChecked() throws {
        let filed = try Self.file(
            ["09:10:00", "09:59:59:999", "09:61:00", "09:10:61", "09:10:00:1x", "09:10:00,123", "09:1O:00", "10:00:00", "09:00:00.5"],
            zone: "UTC")
        #expect(filed.hours == ["2026-11-01T09:00:00Z x2", "2026-11-01T10:00:00Z x1"])
        #expect(filed.quarantined == ["09:61:00", "09:10:61", "09:10:00:1x", "09:10:00,123", "09:1O:00", "09:00:00.5"])
    }

    @Test("where the zone's offset is not whole hours, the minutes of lines of one local hour move their event hour")
    func halfHourZone() throws {
        // India is 5 h 30 ahead of UTC: 09:10 there is 03:40 UTC, 09:40 is 04:10 UTC.
        let filed = try Self.file(["09:10:00", "09:40:00", "09:20:00", "09:50:00:250"], zone: "Asia/Kolkata")
        #expect(filed.hours == ["2026-11-01T03:00:00Z x2", "2026-11-01T04:00:00Z x2"])
        #expect(filed.quarantined.isEmpty)
    }

    @Test("lines of one local hour keep their hour on both sides of a change of the zone's offset")
    func offsetChange() throws {
        // New York left daylight time at 02:00 on 2026-11-01: 00:30 is 04:30 UTC, 01:30 (the first) 05:30, 02:30 07:30.
        let filed = try Self.file(["00:30:00", "00:45:00", "02:30:00", "02:10:00", "00:50:00"], zone: "America/New_York")
        #expect(filed.hours == ["2026-11-01T04:00:00Z x3", "2026-11-01T07:00:00Z x2"])
    }
}
