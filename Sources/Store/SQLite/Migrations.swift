import GRDB

/// The schema migrations, embedded from `migrations/NNNN_name.sql` at build time so the binary needs no
/// files beside it.
///
/// Several processes may open one new database at the same moment (the service starting while a
/// monitoring job runs `orchestrator status`). Each migration therefore runs in its own `IMMEDIATE`
/// transaction that first re-reads which migrations are applied: the first opener takes SQLite's write
/// lock and applies it, the others wait on the busy timeout and then find it recorded. Applied
/// migrations are recorded in GRDB's `grdb_migrations` table, so databases created by earlier versions
/// (through GRDB's `DatabaseMigrator`) are read as they are.
enum Migrations {
    /// `(identifier, SQL)` in application order (by name). A new migration file must be added here and
    /// in Package.swift's `embedInCode` list (a test checks every file of `migrations/` is listed).
    static let all: [(name: String, sql: String)] = [
        ("0001_jobs", String(decoding: PackageResources._001_jobs_sql, as: UTF8.self)),
        ("0002_multipart_uploads", String(decoding: PackageResources._002_multipart_uploads_sql, as: UTF8.self)),
        ("0003_settled_windows", String(decoding: PackageResources._003_settled_windows_sql, as: UTF8.self)),
        ("0004_dependency_health", String(decoding: PackageResources._004_dependency_health_sql, as: UTF8.self)),
        ("0005_stored_etags", String(decoding: PackageResources._005_stored_etags_sql, as: UTF8.self)),
        ("0006_stream_spool", String(decoding: PackageResources._006_stream_spool_sql, as: UTF8.self)),
        ("0007_lean_jobs", String(decoding: PackageResources._007_lean_jobs_sql, as: UTF8.self)),
        ("0008_stream_part_files", String(decoding: PackageResources._008_stream_part_files_sql, as: UTF8.self)),
        ("0009_job_state_check", String(decoding: PackageResources._009_job_state_check_sql, as: UTF8.self)),
        ("0010_keyed_body_digests", String(decoding: PackageResources._010_keyed_body_digests_sql, as: UTF8.self)),
    ].sorted { $0.0 < $1.0 }

    /// The identifiers of the embedded migrations, for checks.
    static var names: [String] { all.map(\.name) }

    /// Applies every migration the database lacks and returns the identifiers this call applied (empty
    /// when the database was already current, in which case nothing was written).
    ///
    /// - Throws: `StoreError` when the database records a migration this binary does not know (it was
    ///   written by a newer version); SQLite's errors otherwise.
    static func apply(to writer: some DatabaseWriter, path: String) throws -> [String] {
        let recorded = try writer.read { db in try appliedIdentifiers(db) }
        try checkNotSuperseded(recorded, path: path)
        var applied: [String] = []
        for migration in all where !recorded.contains(migration.name) {
            let ran = try writer.writeWithoutTransaction { db in
                // Deferred foreign-key checking, as GRDB's migrator does: a migration may rebuild a table
                // that others reference; violations are looked for before the commit instead.
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
                var ran = false
                try db.inTransaction(.immediate) {
                    try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                    // Re-read under the write lock: another process may have applied it meanwhile.
                    let current = try appliedIdentifiers(db)
                    try checkNotSuperseded(current, path: path)
                    guard !current.contains(migration.name) else { return .commit }
                    try db.execute(sql: migration.sql)
                    if try Row.fetchOne(db, sql: "PRAGMA foreign_key_check") != nil {
                        throw StoreError("store.migration_failed", "migration \(migration.name) of \(path) leaves rows that break a foreign key")
                    }
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [migration.name])
                    ran = true
                    return .commit
                }
                return ran
            }
            if ran { applied.append(migration.name) }
        }
        return applied
    }

    /// The identifiers recorded as applied; empty for a new database.
    static func appliedIdentifiers(_ db: Database) throws -> Set<String> {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try Set(String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
    }

    /// Throws unless the database records exactly the embedded migrations: `store.outdated_schema`
    /// when it lacks some (naming `orchestrator migrate`), `store.newer_schema` when it records one this
    /// binary does not know. Reads only.
    static func requireCurrent(_ reader: some DatabaseReader, path: String) throws {
        let recorded = try reader.read { db in try appliedIdentifiers(db) }
        try checkNotSuperseded(recorded, path: path)
        let missing = names.filter { !recorded.contains($0) }
        if !missing.isEmpty { throw outdated(path: path, missing: missing) }
    }

    /// The error for a database that lacks `missing`.
    static func outdated(path: String, missing: [String]) -> StoreError {
        let what = missing.count == names.count
            ? "has no schema yet"
            : "lacks migration\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))"
        return StoreError(
            "store.outdated_schema",
            "the database \(path) \(what); run `orchestrator migrate` (or start the service with `orchestrator run`) to upgrade it")
    }

    private static func checkNotSuperseded(_ recorded: Set<String>, path: String) throws {
        let unknown = recorded.subtracting(names).sorted()
        if !unknown.isEmpty {
            throw StoreError(
                "store.newer_schema",
                "the database \(path) was written by a newer version of orchestrator (it records migration\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")), unknown to this binary); upgrade this binary")
        }
    }
}
