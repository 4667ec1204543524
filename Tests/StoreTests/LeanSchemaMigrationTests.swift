import Core
import Foundation
import GRDB
import JobModel
@testable import Store
import Testing

/// Migration 0007 rebuilds the job table around integer domain ids and drops the counter triggers: a
/// database written by the earlier schema keeps every window, file record, lease, error, tally, upload
/// and outage, and works on.
@Suite("Upgrading to the lean job schema")
struct LeanSchemaMigrationTests {
    private let cdn = "tencent-cdn"

    @Test("a database of the earlier schema keeps its history and its leases through migration 0007")
    func upgradeKeepsEverything() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("jobs.sqlite").path
        try OlderDatabase.create(at: path, migrations: Migrations.names.firstIndex(of: "0007_lean_jobs")!)
        let oldIDs = try EarlierSchemaHistory.write(at: path)

        let store = try SQLiteJobStore(path: path)
        defer { try? store.close() }
        // 0007 and every migration after it.
        #expect(store.appliedMigrations == Array(Migrations.names.drop { $0 != "0007_lean_jobs" }))
        let schema = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT type || ' ' || name FROM sqlite_schema WHERE type IN ('table', 'trigger') ORDER BY 1")
        }
        #expect(!schema.contains("table job_counts"))
        #expect(schema.filter { $0.hasPrefix("trigger") }.isEmpty, "no triggers left: \(schema)")

        // Every window under its old id, with its state, attempts, pass, errors and lease.
        let windows = try await store.jobs(matching: JobFilter(), limit: 100)
        #expect(windows.count == oldIDs.count)
        for window in windows {
            #expect(oldIDs["\(window.window.domain) \(window.window.hour.unixSeconds)"] == window.id)
        }
        let a3 = try #require(windows.first { $0.window.domain == "a.example" && $0.window.hour == hour(3) })
        #expect(a3.state == .failed && a3.attempts == 8 && a3.lastError?.code == "download.truncated")
        let a4 = try #require(windows.first { $0.window.domain == "a.example" && $0.window.hour == hour(4) })
        #expect(a4.state == .running && a4.leaseOwner == "host/1/old" && a4.leaseUntil == hour(10).addingTimeInterval(120))
        let a2 = try #require(windows.first { $0.window.domain == "a.example" && $0.window.hour == hour(2) })
        #expect(a2.pass == .reconcile && a2.final && a2.replacedCount == 2 && a2.fileCount == 2 && a2.byteCount == 20)

        // The per-file results, found by id and by window.
        let a1 = try #require(windows.first { $0.window.domain == "a.example" && $0.window.hour == hour(1) })
        let expectedFile = FileRecord(
            area: "mainland", name: "a1.gz", size: 10, crc64: 18_446_744_073_709_551_615, md5: "m1", sha256: "s1",
            objectKey: "logs/a1.gz", skipped: false, etag: "etag-a1", downloaded: true)
        #expect(try await store.files(ofJob: a1.id) == [expectedFile])
        #expect(try await store.recordedFiles(of: Window(source: cdn, domain: "a.example", hour: hour(1))) == [expectedFile])

        // `status`: counts, settling, tallies, skipped hours, lag, failures, outages, streams.
        let status = try await store.status(recentFailureLimit: 10)
        #expect(status.totals == StateCounts(pending: 3, running: 1, done: 5, failed: 1))
        #expect(status.settling == SettleCounts(final: 3, replaced: 2))
        #expect(status.downloadsAvoided == AvoidedDownloads(copy: 1, reconcile: 1))
        let a = try #require(status.domains.first { $0.domain == "a.example" })
        #expect(a.counts == StateCounts(pending: 1, running: 1, done: 3, failed: 1))
        #expect(a.settling == SettleCounts(final: 2, replaced: 2))
        #expect(a.downloadsAvoided == AvoidedDownloads(copy: 1, reconcile: 1))
        #expect(a.skippedHours == 3 && a.active && a.plannedUntil == hour(6) && a.oldestOpenHour == hour(3))
        let b = try #require(status.domains.first { $0.domain == "b.example" })
        #expect(b.counts == StateCounts(pending: 2, done: 1) && !b.active && b.oldestOpenHour == hour(1))
        let s = try #require(status.domains.first { $0.domain == "s.example" })
        #expect(s.source == "stream" && s.counts == StateCounts(done: 1) && s.settling == SettleCounts(final: 0))
        #expect(status.recentFailures.map(\.window) == [Window(source: cdn, domain: "a.example", hour: hour(3))])
        #expect(status.outageCount == 1 && status.recentOutages.first?.dependency == .cdnAPI)
        #expect(status.dependencies.first { $0.dependency == .sink }?.outageSince == hour(9))
        #expect(try await store.streamStatus().map(\.domain) == ["s.example"])

        // The multipart ledger.
        let upload = try #require(try await store.multipartUpload(forKey: "logs/big.gz"))
        #expect(upload.uploadID == "upload-1" && upload.parts.map(\.number) == [1])

        // And it works on: the old lease's token still decides, leasing, planning and pruning count right.
        var stale = LeasedJob(id: a4.id, window: a4.window, attempts: 1, leaseToken: "not-it", leaseUntil: hour(11))
        #expect(try await store.complete(stale, files: [], final: true, now: hour(10)) == false)
        stale.leaseToken = "token-a4"
        #expect(try await store.complete(stale, files: [], final: true, now: hour(10)))
        let leased = try await store.claimDueJobs(owner: "new", limit: 10, leaseDuration: 120, now: hour(10))
        #expect(Set(leased.map(\.window)) == [
            Window(source: cdn, domain: "a.example", hour: hour(5)), Window(source: cdn, domain: "b.example", hour: hour(1)),
        ])
        #expect(try await store.plan([DomainPlan(source: cdn, domain: "a.example", firstHour: hour(0), endHour: hour(8))], now: hour(10)) == 2)
        #expect(try await store.pruneDoneWindows(hoursBefore: hour(1), limit: 10) == 2)
        let after = try await store.status(recentFailureLimit: 10)
        let aAfter = try #require(after.domains.first { $0.domain == "a.example" })
        #expect(aAfter.counts == StateCounts(pending: 2, running: 1, done: 3, failed: 1))
        #expect(aAfter.downloadsAvoided == AvoidedDownloads(copy: 0, reconcile: 1))
        #expect(after.domains.first { $0.domain == "b.example" }?.counts == StateCounts(pending: 1, running: 1))
    }

    private func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lean-schema-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// A history written the way the earlier schema's store wrote it: windows inserted pending with their
/// counts, then moved through their states by plain updates that fire the counter triggers.
enum EarlierSchemaHistory {
    /// Writes the history and returns each window's id by `"domain hourSeconds"`.
    static func write(at path: String) throws -> [String: Int64] {
        let pool = try DatabasePool(path: path)
        defer { try? pool.close() }
        return try pool.write { db in
            let now = hour(10).unixSeconds
            try db.execute(
                sql: """
                    INSERT INTO domains (source, domain, active, planned_until, fair_tag, created_at, updated_at, skipped_hours) VALUES
                        ('tencent-cdn', 'a.example', 1, ?, 6, ?, ?, 3),
                        ('tencent-cdn', 'b.example', 0, ?, 9, ?, ?, 0),
                        ('stream', 's.example', 0, NULL, 1, ?, ?, 0)
                    """,
                arguments: [hour(6).unixSeconds, now, now, hour(3).unixSeconds, now, now, now, now])
            let windows: [(source: String, domain: String, hours: Range<Int>)] = [
                ("tencent-cdn", "a.example", 0..<6), ("tencent-cdn", "b.example", 0..<3), ("stream", "s.example", 0..<1),
            ]
            var ids: [String: Int64] = [:]
            for entry in windows {
                for offset in entry.hours {
                    try db.execute(
                        sql: "INSERT INTO jobs (source, domain, hour, fair_tag, run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        arguments: [entry.source, entry.domain, hour(offset).unixSeconds, offset + 1, now, now, now])
                    ids["\(entry.domain) \(hour(offset).unixSeconds)"] = db.lastInsertedRowID
                }
                try db.execute(
                    sql: "INSERT INTO job_counts (source, domain, state, count) VALUES (?, ?, 'pending', ?)",
                    arguments: [entry.source, entry.domain, entry.hours.count])
            }
            func update(_ domain: String, _ offset: Int, _ assignments: String) throws {
                try db.execute(
                    sql: "UPDATE jobs SET \(assignments) WHERE domain = ? AND hour = ?", arguments: [domain, hour(offset).unixSeconds])
            }
            try update("a.example", 0, "state = 'done', attempts = 2, final = 1, copy_downloads_avoided = 1, file_count = 1, byte_count = 10")
            try update("a.example", 1, "state = 'done', attempts = 1, file_count = 1, byte_count = 10")
            try update("a.example", 2, """
                state = 'done', attempts = 1, pass = 'reconcile', final = 1, replaced_count = 2, reconcile_downloads_avoided = 1,
                file_count = 2, byte_count = 20
                """)
            try update("a.example", 3, "state = 'failed', attempts = 8, last_error_code = 'download.truncated', last_error_message = 'short'")
            try update("a.example", 4, """
                state = 'running', attempts = 1, lease_owner = 'host/1/old', lease_token = 'token-a4', lease_until = \(hour(10).unixSeconds + 120)
                """)
            try update("b.example", 0, "state = 'done', attempts = 1, final = 1")
            try update("b.example", 2, "run_at = \(hour(12).unixSeconds)")
            try update("s.example", 0, "state = 'done', attempts = 1")
            try db.execute(
                sql: """
                    INSERT INTO job_files (job_id, area, name, size, crc64, md5, sha256, object_key, skipped, stored_at, etag, downloaded)
                    VALUES (?, 'mainland', 'a1.gz', 10, '18446744073709551615', 'm1', 's1', 'logs/a1.gz', 0, ?, 'etag-a1', 1)
                    """,
                arguments: [ids["a.example \(hour(1).unixSeconds)"], now])
            try db.execute(
                sql: """
                    INSERT INTO multipart_uploads (object_key, upload_id, file_size, file_crc64, part_size, created_at)
                    VALUES ('logs/big.gz', 'upload-1', 100, '7', 64, ?);
                    INSERT INTO multipart_upload_parts (object_key, upload_id, part_number, size, etag, md5, crc64)
                    VALUES ('logs/big.gz', 'upload-1', 1, 64, 'part-etag', '0123456789abcdef0123456789abcdef', '5');
                    INSERT INTO dependency_health (dependency, outage_since, failures, updated_at) VALUES ('sink', ?, 4, ?);
                    INSERT INTO dependency_outages (dependency, started_at, ended_at, failures) VALUES ('cdn_api', ?, ?, 2);
                    INSERT INTO stream_parts (domain, hour, part, state, line_count, byte_count, created_at)
                    VALUES ('s.example', ?, 1, 'open', 1, 10, ?);
                    INSERT INTO stream_totals (domain, lines_accepted, spool_bytes) VALUES ('s.example', 1, 10);
                    """,
                arguments: [now, hour(9).unixSeconds, now, hour(7).unixSeconds, hour(8).unixSeconds, hour(9).unixSeconds, now])
            return ids
        }
    }
}
