import Core
import Foundation
import GRDB
import JobModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `JobStore` over one SQLite database file: WAL mode so `status` and `retry` read and write beside
/// a running service, a busy timeout so they wait for each other rather than fail, and the file created
/// with mode 0600 because it records which buckets and domains an account uses.
public final class SQLiteJobStore: JobStore, RecordedFileLookup {
    /// The database file's path.
    public let path: String
    /// The GRDB pool; one per process.
    let pool: DatabasePool
    /// Batches the leases and state changes of concurrent workers into shared transactions.
    let groupCommit: GroupCommit
    /// The tokens of the leases this store hands out.
    let leaseTokens = LeaseTokens()
    /// Domain names by id, as leases read them: a domain's id and name never change once inserted.
    let domainNames = Mutex<[Int64: (source: String, domain: String)]>([:])
    /// The migrations this opening applied, in order; empty when the database was already current.
    public let appliedMigrations: [String]
    /// Copies the write-ahead log into the database file off the writer's thread.
    let checkpointer: WALCheckpointer

    /// What opening the database may do to its schema.
    public enum SchemaAccess: Sendable {
        /// Apply every migration the database lacks (the service, `demo`, `migrate`).
        case migrate
        /// Change nothing: refuse a database that lacks a migration (`store.outdated_schema`, naming
        /// `orchestrator migrate`) as well as a newer one. What the inspection commands use, so that
        /// looking at a database never upgrades it behind the back of the service that runs on it.
        case requireCurrent
    }

    /// Opens (and with `create`, creates) the database at `path` and, with `schema` `.migrate`, applies
    /// pending migrations. `checkpointPages` is for tests that need a small log.
    ///
    /// - Throws: `StoreError` naming the file when it is missing (and `create` is false), unreadable,
    ///   not a database, from a newer version of the service, or (with `.requireCurrent`) from an
    ///   older one.
    public init(
        path: String, create: Bool = true, busyTimeout: TimeInterval = 10, schema: SchemaAccess = .migrate,
        checkpointPages: Int = SQLiteJobStore.checkpointPages
    ) throws {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists {
            guard create else {
                throw StoreError("store.missing", "no database at \(path) (start the service with `orchestrator run` first, or pass --db/--config)")
            }
            try Self.createPrivateFile(at: path)
        }
        if schema == .requireCurrent, exists, Self.isEmptyFile(path) {
            // Opening would switch an empty file to WAL mode: a write, and nothing to read anyway.
            throw Migrations.outdated(path: path, missing: Migrations.names)
        }
        let checkpointer = WALCheckpointer(path: path, thresholdPages: checkpointPages)
        self.checkpointer = checkpointer
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            // WAL (DatabasePool's default) with NORMAL sync: a commit survives a crash of the process;
            // after a power loss the last commits may be lost, and their windows simply run again.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // 64 MiB of page cache (the default is 2 MiB): planning a large catch-up spills far less.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try Self.configureCheckpoints(db, checkpointer: checkpointer)
        }
        do {
            (pool, appliedMigrations) = try Self.openAndMigrate(
                path: path, configuration: configuration, patience: busyTimeout, migrate: schema == .migrate)
            groupCommit = GroupCommit(writer: pool)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError("store.unreadable", "cannot open the database \(path): \(error.message ?? error.description)")
        }
    }

    /// Write-ahead log pages between checkpoints: 16,384 (64 MiB of 4 KiB pages) instead of SQLite's
    /// 1,000. At SQLite's interval a busy queue checkpointed about 20 times a second, its writer waiting
    /// on each flush (`scripts/bench pool`, same hour: 7,400 jobs/s at 1,000 pages, 8,900-9,400 at 16,384;
    /// once the hot statements bypassed GRDB's argument handling, one run without this setting was 6 %
    /// slower, within the noise). The checkpoints themselves run on `WALCheckpointer`'s thread.
    /// A log that grew beyond this (one large transaction, a checkpoint held back by a long read) is
    /// cut back to it once it starts over.
    public static let checkpointPages = 16_384

    /// Caps the log's file at `checkpointPages` and, when `db` is a writer's connection, hands its
    /// checkpoints to `checkpointer` (the benchmark's raw baseline does the same, so both write with
    /// the same settings).
    public static func configureCheckpoints(_ db: Database, checkpointer: WALCheckpointer) throws {
        try db.execute(sql: "PRAGMA journal_size_limit = \(checkpointPages * 4096)")
        if !db.configuration.readonly { checkpointer.install(on: db) }
    }

    /// Opens the pool and applies the migrations, trying again while another process holds a lock
    /// that SQLite does not wait for: while a brand-new file is switched to WAL mode, or where waiting
    /// could deadlock, SQLite answers SQLITE_BUSY at once instead of calling the busy handler.
    /// Gives up after about `patience` seconds of waiting.
    private static func openAndMigrate(
        path: String, configuration: Configuration, patience: TimeInterval, migrate: Bool
    ) throws -> (DatabasePool, [String]) {
        var waited: TimeInterval = 0
        var pause: TimeInterval = 0.01
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                do {
                    guard migrate else {
                        try Migrations.requireCurrent(pool, path: path)
                        return (pool, [])
                    }
                    return (pool, try Migrations.apply(to: pool, path: path))
                } catch {
                    try? pool.close()
                    throw error
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && waited < patience {
                usleep(useconds_t(pause * 1_000_000))
                waited += pause
                pause = min(pause * 2, 0.2)
            }
        }
    }

    private static func isEmptyFile(_ path: String) -> Bool {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue == 0
    }

    private static func createPrivateFile(at path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        // Another process creating the same new database at the same moment is not an error: the
        // migrations sort out which of the two applies the schema.
        if descriptor < 0 && errno == EEXIST { return }
        guard descriptor >= 0 else {
            throw StoreError("store.create_failed", "cannot create the database \(path): \(String(cString: strerror(errno)))")
        }
        Glibc.close(descriptor)
    }

    /// The migrations recorded as applied in the database, in order.
    func recordedMigrations() throws -> [String] {
        try pool.read { db in try Migrations.appliedIdentifiers(db).sorted() }
    }

    /// Throws unless a write transaction can be started now (readiness checks): takes SQLite's write
    /// lock and rolls back, writing nothing.
    public func checkWritable() async throws {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            try db.execute(sql: "ROLLBACK")
        }
    }

    /// Closes the database; later calls fail.
    public func close() throws {
        checkpointer.close()
        try pool.close()
    }
}

extension Date {
    /// Unix seconds as SQLite stores them here.
    var databaseSeconds: Int64 { unixSeconds }
}
