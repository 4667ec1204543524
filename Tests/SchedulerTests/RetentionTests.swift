import Foundation
import JobModel
import Logging
@testable import Scheduler
@testable import Store
import TestSupport
import Testing

/// Months of service on an injected clock: with retention, the database stops growing.
@Suite("Retention")
struct RetentionTests {
    @Test("over 90 simulated days with a 30-day retention the database size levels off, and recent windows stay")
    func databaseLevelsOff() async throws {
        let database = try TemporaryDatabase()
        let store = try database.open()
        let domains = (1...6).map { "r\($0).example" }
        let clock = ManualWallClock(now: hour(0))
        try await store.setActiveDomains(domains, source: "tencent-cdn", now: clock.now)
        var sizes: [Int: Int64] = [:]
        var pruned = 0
        for day in 1...90 {
            clock.advance(by: 86_400)
            // A day of windows, copied, reconciled and final, with two packages each.
            try await store.plan(
                domains.map { DomainPlan(source: "tencent-cdn", domain: $0, firstHour: hour((day - 1) * 24), endHour: hour(day * 24)) },
                now: clock.now)
            let leased = try await store.claimDueJobs(owner: "test/1/r", limit: 1_000, leaseDuration: 600, now: clock.now)
            #expect(leased.count == domains.count * 24)
            await withTaskGroup(of: Void.self) { group in
                for job in leased {
                    group.addTask {
                        let files = ["mainland", "overseas"].map { area in
                            FileRecord(
                                area: area, name: "\(job.window.hour.timeIntervalSince1970)-\(job.window.domain).gz", size: 123_456,
                                crc64: 42, md5: String(repeating: "a", count: 32), sha256: String(repeating: "b", count: 64),
                                objectKey: "cdnlog/\(job.window.domain)/\(job.window.hour.timeIntervalSince1970)/\(area).gz", skipped: false)
                        }
                        _ = try? await store.complete(job, files: files, final: true, now: clock.now)
                    }
                }
            }
            pruned += try await PeriodicService.prune(
                store: store, keepDays: 30, now: clock.now, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            if day % 15 == 0 { sizes[day] = try Self.size(of: database.path) }
        }
        let status = try await store.status(recentFailureLimit: 0)
        #expect(status.totals.done <= domains.count * 24 * 31, "only about the last 30 days are kept")
        #expect(status.totals.done >= domains.count * 24 * 29)
        #expect(pruned == domains.count * 24 * 90 - status.totals.done)
        // Grows for the first month, then stays put: later days reuse the pages earlier ones freed.
        let level = try #require(sizes[45])
        #expect(try #require(sizes[15]) < level)
        for day in [60, 75, 90] {
            #expect(try #require(sizes[day]) <= level + level / 10, "day \(day): \(sizes)")
        }
    }

    /// The database file and its write-ahead log, in bytes.
    static func size(of path: String) throws -> Int64 {
        try [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int64) ?? 0)
        }
    }
}
