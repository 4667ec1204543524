import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL schema's migrations, embedded from `Migrations/NNNN_name.sql` at build time, applied
/// in name order and recorded in `orchestrator_migrations`.
///
/// Several hosts may start at once against a new database: the migrations run in one transaction
/// that first takes a transaction-scoped advisory lock, so the first host applies them and the others
/// wait for its commit, then find them recorded. PostgreSQL's DDL is transactional: a migration that
/// fails leaves nothing behind.
///
/// A file is split into statements at semicolons that end a line; a migration must not put one inside
/// a statement (no function bodies).
enum PostgresMigrations {
    /// `(identifier, SQL)` in application order. A new file must be added here and in Package.swift's
    /// `embedInCode` list (a test checks every file of `Migrations/` is listed).
    static let all: [(name: String, sql: String)] = [
        ("0001_schema", String(decoding: PackageResources._001_schema_sql, as: UTF8.self)),
    ].sorted { $0.0 < $1.0 }

    static var names: [String] { all.map(\.name) }

    /// The advisory lock key migrations take (an arbitrary constant: "orch" "migr" in ASCII).
    static let lockKey: Int64 = 0x6F72_6368_6D69_6772

    /// Applies the missing migrations; returns their identifiers (empty when the database was current).
    static func apply(on connection: PostgresConnection, location: PostgresLocation, logger: Logger) async throws -> [String] {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS orchestrator_migrations (
                    name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            let recorded = try await recordedNames(on: connection, logger: logger)
            try checkNotSuperseded(recorded, location: location)
            var applied: [String] = []
            for migration in all where !recorded.contains(migration.name) {
                for statement in statements(of: migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO orchestrator_migrations (name) VALUES (\(migration.name))", logger: logger)
                applied.append(migration.name)
            }
            try await connection.query("COMMIT", logger: logger)
            return applied
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Throws unless every migration is applied and none unknown is.
    static func requireCurrent(on connection: PostgresConnection, location: PostgresLocation, logger: Logger) async throws {
        let exists = try await connection.query("SELECT to_regclass('orchestrator_migrations') IS NOT NULL AS present", logger: logger)
            .collect().first?.makeRandomAccess().get("present", as: Bool.self) ?? false
        let recorded = exists ? try await recordedNames(on: connection, logger: logger) : []
        try checkNotSuperseded(recorded, location: location)
        let missing = names.filter { !recorded.contains($0) }
        guard missing.isEmpty else {
            throw PostgresStoreError(
                "store.outdated_schema",
                "PostgreSQL \(location) lacks the schema migrations \(missing.joined(separator: ", ")); run `orchestrator migrate` (or start the service) first")
        }
    }

    private static func recordedNames(on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var names: Set<String> = []
        for row in try await connection.query("SELECT name FROM orchestrator_migrations", logger: logger).collect() {
            names.insert(try row.makeRandomAccess().get("name", as: String.self))
        }
        return names
    }

    private static func checkNotSuperseded(_ recorded: Set<String>, location: PostgresLocation) throws {
        let unknown = recorded.subtracting(names).sorted()
        guard unknown.isEmpty else {
            throw PostgresStoreError(
                "store.newer_schema",
                "PostgreSQL \(location) has schema migrations this binary does not know (\(unknown.joined(separator: ", "))): it was written by a newer orchestrator")
        }
    }

    /// The statements of a migration file: comment lines dropped, split at semicolons ending a line.
    static func statements(of sql: String) -> [String] {
        let lines = sql.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
        var statements: [String] = []
        var current = ""
        for line in lines {
            current += line + "\n"
            if line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                statements.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}
