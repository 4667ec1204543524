import Foundation
import GRDB
import Testing
@testable import Store

/// Opening with `.requireCurrent` (the inspection commands) never changes the schema.
@Suite("Read-only schema access")
struct SchemaAccessTests {
    @Test("an older database is refused naming `orchestrator migrate`, and left as it was")
    func olderDatabaseIsRefusedUnchanged() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path
        try OlderDatabase.create(at: path, migrations: 3)
        #expect {
            try SQLiteJobStore(path: path, create: false, schema: .requireCurrent)
        } throws: { error in
            let error = try #require(error as? StoreError)
            return error.code == "store.outdated_schema" && error.message.contains("lacks migration") && error.message.contains(Migrations.names[3])
                && error.message.contains("run `orchestrator migrate`")
        }
        #expect(try OlderDatabase.recorded(at: path) == Array(Migrations.names.prefix(3)))
        // Migrating brings it up to date, after which read-only access works.
        let migrated = try SQLiteJobStore(path: path, create: false)
        #expect(migrated.appliedMigrations == Array(Migrations.names.dropFirst(3)))
        try migrated.close()
        let current = try SQLiteJobStore(path: path, create: false, schema: .requireCurrent)
        #expect(current.appliedMigrations.isEmpty)
        try current.close()
    }

    @Test("an empty database file (a service creating it) is refused without being written")
    func emptyFileIsNotTouched() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("empty.sqlite").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(throws: StoreError.self) { try SQLiteJobStore(path: path, create: false, schema: .requireCurrent) }
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue == 0)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("a database of a newer binary is refused naming the unknown migration, whether migrating or not")
    func newerDatabaseIsRefused() throws {
        let temporary = try TemporaryStore()
        try temporary.store.pool.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
        }
        for schema in [SQLiteJobStore.SchemaAccess.migrate, .requireCurrent] {
            #expect {
                try SQLiteJobStore(path: temporary.store.path, create: false, schema: schema)
            } throws: { error in
                let error = try #require(error as? StoreError)
                return error.code == "store.newer_schema" && error.message.contains("9999_from_the_future")
            }
        }
    }

    private func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("schema-access-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// A database as an older binary left it: the first `migrations` migrations applied, in WAL mode.
enum OlderDatabase {
    static func create(at path: String, migrations: Int) throws {
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

    static func recorded(at path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
    }
}
