import GRDB

/// The schema migrations, embedded from `migrations/NNNN_name.sql` at build time so the binary needs no
/// files beside it. Applied in order by GRDB's migrator, each in its own transaction.
enum Migrations {
    /// `(identifier, SQL)` in application order (by name). A new migration file must be added here and
    /// in Package.swift's `embedInCode` list (a test checks every file of `migrations/` is listed).
    static let all: [(name: String, sql: String)] = [
        ("0001_jobs", String(decoding: PackageResources._001_jobs_sql, as: UTF8.self)),
        ("0002_multipart_uploads", String(decoding: PackageResources._002_multipart_uploads_sql, as: UTF8.self)),
        ("0003_settled_windows", String(decoding: PackageResources._003_settled_windows_sql, as: UTF8.self)),
    ].sorted { $0.0 < $1.0 }

    /// A migrator with every migration registered.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in all {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// The identifiers of the embedded migrations, for checks.
    static var names: [String] { all.map(\.name) }
}
