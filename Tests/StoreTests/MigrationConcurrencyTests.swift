import Foundation
import GRDB
import Testing
@testable import Store

/// Several connections opening one brand-new database at once: one applies the schema, the others wait
/// for it and find it current.
@Suite("Migrations between concurrent openers")
struct MigrationConcurrencyTests {
    @Test("eight stores opening one new database file at once all succeed, and the schema is applied once")
    func concurrentOpenersApplyTheSchemaOnce() throws {
        for round in 0..<30 {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("migration-race-\(round)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("jobs.sqlite").path
            let outcomes = Outcomes()
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                do {
                    let store = try SQLiteJobStore(path: path)
                    outcomes.record(applied: store.appliedMigrations)
                    try store.close()
                } catch {
                    outcomes.record(error: error)
                }
            }
            #expect(outcomes.errors.isEmpty, "round \(round): \(outcomes.errors)")
            // Every migration was applied by exactly one of the openers.
            #expect(outcomes.applied.sorted() == Migrations.names, "round \(round)")
            let queue = try DatabaseQueue(path: path)
            let recorded = try queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
            #expect(recorded == Migrations.names)
        }
    }

    @Test("opening a database that is already current applies nothing")
    func currentDatabaseMigratesNothing() throws {
        let temporary = try TemporaryStore()
        #expect(temporary.store.appliedMigrations == Migrations.names)
        let again = try SQLiteJobStore(path: temporary.store.path, create: false)
        #expect(again.appliedMigrations.isEmpty)
        try again.close()
    }
}

/// What the concurrent openers saw, collected across threads.
private final class Outcomes: @unchecked Sendable {
    // Safe: every access to the two arrays holds `lock`.
    private let lock = NSLock()
    private var appliedNames: [String] = []
    private var failures: [String] = []

    func record(applied: [String]) { lock.withLock { appliedNames += applied } }
    func record(error: any Error) { lock.withLock { failures.append("\(error)") } }
    var applied: [String] { lock.withLock { appliedNames } }
    var errors: [String] { lock.withLock { failures } }
}
