import Core
import Foundation
import GRDB
import JobModel
import Testing
import TestSupport
@testable import Store

#if canImport(Glibc)
import Glibc
#endif

extension EndToEndTests {
@Suite("Read-only inspection: migrate, jobs show, status --watch (real binary)")
struct InspectionTests {
    @Test("status, jobs, jobs show, retry and backfill never migrate: an older database is refused naming `orchestrator migrate`, which upgrades it")
    func inspectionNeverMigrates() throws {
        let sandbox = try ServiceSandbox(name: "old-schema")
        try FileManager.default.createDirectory(at: sandbox.database.deletingLastPathComponent(), withIntermediateDirectories: true)
        let path = sandbox.database.path
        try createDatabase(at: path, migrations: 3)
        let missing = Migrations.names.dropFirst(3).joined(separator: ", ")
        for command in [["status"], ["status", "--json"], ["jobs"], ["jobs", "show", "1"], ["retry", "--failed"],
                        ["backfill", "--domain", "x.example", "--from", hourText(-3), "--to", hourText(-1)]] {
            let result = try Binary.run(command + ["--db", path])
            #expect(result.status != 0, "\(command)")
            #expect(result.stderr == "Error: the database \(path) lacks migration\(Migrations.names.count - 3 == 1 ? "" : "s") \(missing); run `orchestrator migrate` (or start the service with `orchestrator run`) to upgrade it\n", "\(command): \(result.stderr)")
        }
        #expect(try recordedMigrations(at: path) == Array(Migrations.names.prefix(3)), "nothing was migrated")

        let migrate = try Binary.run(["migrate", "--db", path])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdout == "\(path): applied \(missing)\n")
        #expect(try recordedMigrations(at: path) == Migrations.names)
        let again = try Binary.run(["migrate", "--config", try sandboxConfig(sandbox)])
        #expect(again.stdout == "\(path) is current; nothing to migrate\n", "\(again.stdout)\(again.stderr)")
        let status = try Binary.run(["status", "--json", "--db", path])
        #expect(status.status == 0, "\(status.stderr)")
    }

    @Test("a database written by a newer binary is refused by every command that opens it, migrate included, naming the unknown migration")
    func newerDatabaseIsRefused() throws {
        let sandbox = try ServiceSandbox(name: "new-schema")
        try FileManager.default.createDirectory(at: sandbox.database.deletingLastPathComponent(), withIntermediateDirectories: true)
        let path = sandbox.database.path
        try SQLiteJobStore(path: path).close()
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')") }
        try queue.close()
        for command in [["status"], ["jobs"], ["retry", "--failed"], ["migrate"]] {
            let result = try Binary.run(command + ["--db", path])
            #expect(result.status != 0, "\(command)")
            #expect(result.stderr == "Error: the database \(path) was written by a newer version of orchestrator (it records migration 9999_from_the_future, unknown to this binary); upgrade this binary\n", "\(command): \(result.stderr)")
        }
    }

    @Test("jobs show ID tells one window's whole story, with every file stored or skipped, as text and JSON, outside text escaped")
    func jobsShowTellsTheStory() async throws {
        let sandbox = try ServiceSandbox(name: "jobs-show")
        try FileManager.default.createDirectory(at: sandbox.database.deletingLastPathComponent(), withIntermediateDirectories: true)
        let store = try SQLiteJobStore(path: sandbox.database.path)
        let hour = Date(timeIntervalSince1970: 1_793_491_200)  // 2026-11-01T00:00:00Z
        let now = hour.addingTimeInterval(7200)
        try await store.setActiveDomains(["s.example"], source: "tencent-cdn", now: now)
        try await store.plan([DomainPlan(source: "tencent-cdn", domain: "s.example", firstHour: hour, endHour: hour.addingTimeInterval(3600))], now: now)
        let first = try #require(try await store.claimDueJobs(owner: "host/1/a", limit: 1, leaseDuration: 60, now: now).first)
        #expect(try await store.reschedule(first, runAt: now, error: JobError(code: "cdn.network", message: "reset\u{1B}[2J by peer"), consumeAttempt: true, now: now))
        let again = try #require(try await store.claimDueJobs(owner: "host/1/a", limit: 1, leaseDuration: 60, now: now).first)
        let files = [
            FileRecord(area: "mainland", name: "2026110108-s.example.gz", size: 1234, crc64: 18_000_000_000_000_000_001, md5: String(repeating: "a", count: 32),
                       sha256: String(repeating: "b", count: 64), objectKey: "cdnlog/s.example/20261101/2026110108-s.example.gz", skipped: false),
            FileRecord(area: "overseas", name: "evil\u{1B}]0;owned\u{07}.gz", size: 99, crc64: 7, md5: String(repeating: "c", count: 32),
                       sha256: String(repeating: "d", count: 64), objectKey: "cdnlog/s.example/20261101/evil.overseas.gz", skipped: true),
        ]
        #expect(try await store.complete(again, files: files, final: false, now: now))
        let id = again.id
        try store.close()

        let text = try Binary.run(["jobs", "show", "\(id)", "--db", sandbox.database.path])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("window:     s.example 2026-11-01T00:00:00Z (source tencent-cdn)"), "\(text.stdout)")
        #expect(lines.contains("state:      done (provisional)"))
        #expect(lines.contains("pass:       copy (first copy)"))
        #expect(lines.contains("final:      no"))
        #expect(lines.contains("attempts:   2"))
        #expect(lines.contains("last error: recovered from cdn.network: reset\\u{1b}[2J by peer"), "\(text.stdout)")
        #expect(lines.contains("files:      2 (1 stored, 1 skipped as already stored), 1333 bytes"), "\(text.stdout)")
        #expect(lines.contains { $0.hasPrefix("mainland  2026110108-s.example.gz") && $0.contains("18000000000000000001") && $0.contains(String(repeating: "a", count: 32)) && $0.contains("cdnlog/s.example/20261101/2026110108-s.example.gz") && $0.hasSuffix("stored") }, "\(text.stdout)")
        #expect(lines.contains { $0.hasPrefix("overseas  evil\\u{1b}]0;owned\\u{7}.gz") && $0.hasSuffix("skipped") }, "\(text.stdout)")
        #expect(!text.stdout.contains("\u{1B}") && !text.stdout.contains("\u{07}"))

        let json = try Binary.run(["jobs", "show", "\(id)", "--json", "--db", sandbox.database.path])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["id"] as? Int == Int(id))
        #expect(object["state"] as? String == "done")
        #expect(object["attempts"] as? Int == 2)
        #expect(object["last_error_code"] as? String == "cdn.network")
        let stored = try #require(object["files"] as? [[String: Any]])
        #expect(stored.count == 2)
        #expect(stored.first?["crc64"] as? String == "18000000000000000001")
        #expect(stored.first?["object_key"] as? String == "cdnlog/s.example/20261101/2026110108-s.example.gz")
        #expect(stored.map { $0["skipped"] as? Bool } == [false, true])

        let missing = try Binary.run(["jobs", "show", "424242", "--db", sandbox.database.path])
        #expect(missing.status != 0)
        #expect(missing.stderr == "Error: no window with id 424242 in \(sandbox.database.path) (`orchestrator jobs` lists them)\n", "\(missing.stderr)")
        // The listing keeps working as before, beside its new subcommand.
        let listing = try Binary.run(["jobs", "--state", "done", "--db", sandbox.database.path])
        #expect(listing.status == 0 && listing.stdout.contains("s.example"), "\(listing.stderr)")
    }

    @Test("status --watch redraws in place on a terminal, prints again on a pipe, and stops cleanly on SIGINT")
    func statusWatch() async throws {
        let sandbox = try ServiceSandbox(name: "watch")
        try FileManager.default.createDirectory(at: sandbox.database.deletingLastPathComponent(), withIntermediateDirectories: true)
        try SQLiteJobStore(path: sandbox.database.path).close()
        let arguments = ["status", "--watch", "--interval", "1", "--db", sandbox.database.path]

        // A pipe: each refresh printed after the last, no escape sequences.
        let piped = try Binary.start(arguments)
        let pipedOutput = OutputCollector(piped.out.fileHandleForReading)
        try await waitUntil(timeout: 20, "two refreshes on a pipe") { pipedOutput.text.components(separatedBy: "database ").count > 2 }
        kill(piped.process.processIdentifier, SIGINT)
        // 0 is an exit code: a signal would give its number.
        #expect(piped.process.waitForExit() == 0)
        #expect(!pipedOutput.text.contains("\u{1B}"))

        // A terminal (util-linux `script` runs it on a pseudo-terminal; `timeout` sends SIGINT after
        // a few refreshes, and its exit status is the command's): each refresh clears the screen first.
        let command = ([Binary.url.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let terminal = try Binary.start(
            executable: URL(fileURLWithPath: "/usr/bin/script"), ["-qec", "timeout --preserve-status -s INT 3.5 \(command)", "/dev/null"]
        ).wait()
        #expect(terminal.status == 0, "\(terminal.stdout)\(terminal.stderr)")
        #expect(terminal.stdout.components(separatedBy: "\u{1B}[H\u{1B}[2J").count > 2, "\(terminal.stdout)")
        #expect(terminal.stdout.contains("refreshing every 1 s"))

        let lonely = try Binary.run(["status", "--interval", "5", "--db", sandbox.database.path])
        #expect(lonely.status != 0 && lonely.stderr.hasPrefix("Error: --interval goes with --watch"), "\(lonely.stderr)")
    }

    private func createDatabase(at path: String, migrations: Int) throws {
        let pool = try DatabasePool(path: path)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for migration in Migrations.all.prefix(migrations) {
                try db.execute(sql: migration.sql)
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [migration.name])
            }
        }
        try pool.close()
    }

    private func recordedMigrations(at path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
    }

    private func sandboxConfig(_ sandbox: ServiceSandbox) throws -> String {
        try sandbox.writeConfig(endpoint: URL(string: "http://127.0.0.1:9")!, domains: ["x.example"], lookbackHours: 1)
        return sandbox.config.path
    }

    private func hourText(_ offset: Int) -> String {
        ISO8601DateFormatter().string(from: Date().startOfHour.addingTimeInterval(TimeInterval(offset) * 3600))
    }
}
}

/// Everything read from a file handle so far, collected as it arrives.
final class OutputCollector: @unchecked Sendable {
    // Safe: `buffer` is only touched while holding `lock`.
    private let lock = NSLock()
    private var buffer = Data()

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            self?.lock.withLock { self?.buffer.append(data) }
        }
    }

    var text: String { lock.withLock { String(decoding: buffer, as: UTF8.self) } }
}
