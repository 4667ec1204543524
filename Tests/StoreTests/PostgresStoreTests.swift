import Foundation
import JobModel
@testable import PostgresStore
import TestSupport
import Testing

/// What only the PostgreSQL store has: its own migrations, several hosts leasing at once, the URL and
/// the password.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    let source = "tencent-cdn"

    private func newDatabase() throws -> PostgresLocation {
        let server = try PostgresServer.shared()
        return try PostgresLocation(server.url(database: try server.createDatabase()))
    }

    @Test("every Migrations/*.sql file is embedded, applied once and recorded")
    func migrationsEmbeddedAndRecorded() async throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/PostgresStore/Migrations").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }.map { String($0.dropLast(4)) }.sorted()
        #expect(files == PostgresMigrations.names)
        let location = try newDatabase()
        let first = try await PostgresJobStore.open(location, password: PostgresServer.password)
        defer { first.close() }
        #expect(first.appliedMigrations == PostgresMigrations.names)
        let again = try await PostgresJobStore.open(location, password: PostgresServer.password)
        defer { again.close() }
        #expect(again.appliedMigrations.isEmpty)
        #expect(try await again.rowCount("orchestrator_migrations") == PostgresMigrations.names.count)
    }

    @Test("hosts starting at once against a new database apply each migration exactly once")
    func concurrentOpenersMigrateOnce() async throws {
        let location = try newDatabase()
        let stores = try await withThrowingTaskGroup(of: PostgresJobStore.self) { group in
            for _ in 0..<6 {
                group.addTask { try await PostgresJobStore.open(location, password: PostgresServer.password) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        defer { stores.forEach { $0.close() } }
        #expect(stores.flatMap(\.appliedMigrations).sorted() == PostgresMigrations.names)
    }

    @Test("the inspection commands' opening refuses a database without the schema, naming migrate")
    func requireCurrentRefusesAnEmptyDatabase() async throws {
        let location = try newDatabase()
        let error = await #expect(throws: PostgresStoreError.self) {
            _ = try await PostgresJobStore.open(location, password: PostgresServer.password, schema: .requireCurrent)
        }
        #expect(error?.code == "store.outdated_schema")
        #expect(error?.message.contains("orchestrator migrate") == true)
    }

    @Test("hosts leasing at once never lease the same window, and every window is leased")
    func concurrentLeasingNeverShares() async throws {
        let location = try newDatabase()
        let planner = try await PostgresJobStore.open(location, password: PostgresServer.password)
        defer { planner.close() }
        let domains = (0..<5).map { "d\($0).example" }
        try await planner.setActiveDomains(domains, source: source, now: hour(100))
        let planned = try await planner.plan(
            domains.map { DomainPlan(source: source, domain: $0, firstHour: hour(0), endHour: hour(60)) }, now: hour(100))
        #expect(planned == 300)
        // Four "hosts", each with its own pool, each with four workers claiming small batches.
        var hosts: [PostgresJobStore] = []
        for _ in 0..<4 { hosts.append(try await PostgresJobStore.open(location, password: PostgresServer.password)) }
        defer { hosts.forEach { $0.close() } }
        let leased = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for (index, host) in hosts.enumerated() {
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [Int64] = []
                        while true {
                            let batch = try await host.claimDueJobs(owner: "h\(index)/w\(worker)", limit: 3, leaseDuration: 600, now: hour(100))
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                            for job in batch { #expect(try await host.complete(job, files: [], final: false, now: hour(100))) }
                        }
                    }
                }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        #expect(leased.count == 300)
        #expect(Set(leased).count == 300, "no window was leased twice")
        #expect(try await planner.status(recentFailureLimit: 0).totals == StateCounts(done: 300))
    }

    @Test("two hosts planning the same hours at once insert each window once")
    func concurrentPlanningIsIdempotent() async throws {
        let location = try newDatabase()
        var hosts: [PostgresJobStore] = []
        for _ in 0..<3 { hosts.append(try await PostgresJobStore.open(location, password: PostgresServer.password)) }
        defer { hosts.forEach { $0.close() } }
        let domains = ["a.example", "b.example", "c.example"]
        let inserted = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, host) in hosts.enumerated() {
                group.addTask {
                    try await host.setActiveDomains(domains, source: source, now: hour(50))
                    // Each host lists the domains in its own order.
                    let order = index % 2 == 0 ? domains : domains.reversed()
                    return try await host.plan(order.map { DomainPlan(source: source, domain: $0, firstHour: hour(0), endHour: hour(48)) }, now: hour(50))
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(inserted == 144)
        #expect(try await hosts[0].status(recentFailureLimit: 0).totals == StateCounts(pending: 144))
    }

    @Test("a wrong password is refused with a message that names the database and no password")
    func wrongPasswordIsAClearError() async throws {
        let location = try newDatabase()
        let secret = "not-the-password-\(UUID().uuidString)"
        let error = await #expect(throws: PostgresStoreError.self) {
            _ = try await PostgresJobStore.open(location, password: secret)
        }
        let message = error?.message ?? ""
        #expect(message.contains(location.description))
        #expect(message.contains("password authentication failed"))
        #expect(!message.contains(secret))
    }

    @Test("the URL: parsed, shown without a password, and one with a password is refused without quoting it")
    func locationParsing() throws {
        let location = try PostgresLocation("postgres://archiver@db.internal:6432/logs?sslmode=require")
        #expect(location.user == "archiver" && location.host == "db.internal" && location.port == 6432 && location.database == "logs")
        #expect(location.tls == .require)
        #expect(location.description == "postgres://archiver@db.internal:6432/logs?sslmode=require")
        #expect(try PostgresLocation("postgresql://u@h/d").port == 5432)
        let error = #expect(throws: PostgresStoreError.self) { try PostgresLocation("postgres://u:hunter2secret@h:5432/d") }
        #expect(error?.message.contains("hunter2secret") == false)
        #expect(throws: PostgresStoreError.self) { try PostgresLocation("postgres://h:5432/d") }
        #expect(throws: PostgresStoreError.self) { try PostgresLocation("postgres://u@h:5432/") }
        #expect(throws: PostgresStoreError.self) { try PostgresLocation("postgres://u@h:5432/d?sslmode=maybe") }
    }

    @Test("the password comes from the file first, then PGPASSWORD")
    func passwordSources() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)").path
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try PostgresLocation.password(file: file, environment: ["PGPASSWORD": "from-env"]) == "from-file")
        #expect(try PostgresLocation.password(file: nil, environment: ["PGPASSWORD": "from-env"]) == "from-env")
        #expect(try PostgresLocation.password(file: nil, environment: [:]) == nil)
        #expect(throws: PostgresStoreError.self) { try PostgresLocation.password(file: file + ".missing", environment: [:]) }
    }
}
