import Foundation
import JobModel
import PostgresStore
import Store

/// What the service and the operator commands ask of a store, whichever it is: the SQLite file (the
/// default) or a PostgreSQL database shared by several hosts (`database: postgres://...`).
protocol OperatedStore: JobStore, UploadLedger, RecordedFileLookup {
    /// How messages and `status` name the database: the file's path, or the URL (which has no password).
    var path: String { get }
    /// The migrations this opening applied.
    var appliedMigrations: [String] { get }
    /// Throws unless a write could be made now (readiness).
    func checkWritable() async throws
    /// The push receiver's per-domain totals (none on PostgreSQL, which has no push spool).
    func streamStatus() async throws -> [StreamDomainStatus]
    /// Closes the database; later calls fail.
    func closeStore()
    /// Whether one process owns the database (SQLite: the `<database>.lock` flock), so every other lease
    /// owner in it is a predecessor that is gone. False on PostgreSQL, where several hosts run at once
    /// and a dead host's windows come back only when their leases expire.
    var isSingleInstance: Bool { get }
}

extension SQLiteJobStore: OperatedStore {
    func closeStore() { try? close() }
    var isSingleInstance: Bool { true }
}

extension PostgresJobStore: OperatedStore {
    func streamStatus() async throws -> [StreamDomainStatus] { [] }
    func closeStore() { close() }
    var isSingleInstance: Bool { false }
}

/// Opens the store a `database` value names.
enum StoreOpening {
    /// What opening may do to the schema (see the stores' own `SchemaAccess`).
    enum Schema {
        case migrate, requireCurrent
    }

    /// Opens `database`: a `postgres://` URL (password from `passwordFile`, else `PGPASSWORD`) or a
    /// SQLite file (created when `create`).
    static func open(
        database: String, passwordFile: String?, create: Bool, schema: Schema,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> any OperatedStore {
        if PostgresLocation.isPostgresURL(database) {
            return try await PostgresJobStore.open(
                try PostgresLocation(database), password: try PostgresLocation.password(file: passwordFile, environment: environment),
                schema: schema == .migrate ? .migrate : .requireCurrent)
        }
        return try SQLiteJobStore(path: database, create: create, schema: schema == .migrate ? .migrate : .requireCurrent)
    }
}
