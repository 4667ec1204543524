import Core
import Foundation
import JobModel
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The `JobStore` over one PostgreSQL database, for several hosts sharing one queue.
///
/// Row locks and transactions do the coordination: leasing takes due windows with
/// `FOR UPDATE SKIP LOCKED`, so two hosts never lease the same window, and every transition of a
/// leased window is guarded by its state and lease token (fencing: a host whose lease expired and was
/// taken over changes nothing). Planning and reconcile passes are serialised across hosts by a
/// transaction-scoped advisory lock, so their fair tags stay consistent and two planners never deadlock.
/// The schema has migrations of its own (`Migrations/`), applied under a session advisory lock.
public final class PostgresJobStore: JobStore, UploadLedger, RecordedFileLookup {
    /// The database, without a password: what messages and `status` show.
    public let location: PostgresLocation
    /// The connection pool.
    let client: PostgresClient
    /// Runs the pool until `close()`.
    private let runner: Task<Void, Never>
    let logger: Logger
    /// The tokens of the leases this store hands out.
    let leaseTokens = LeaseTokens()
    /// The migrations this opening applied, in order; empty when the database was already current.
    public let appliedMigrations: [String]

    /// What opening the database may do to its schema (as for the SQLite store).
    public enum SchemaAccess: Sendable {
        /// Apply every migration the database lacks (the service, `migrate`).
        case migrate
        /// Change nothing: refuse a database that lacks a migration, or has one this binary does not know.
        case requireCurrent
    }

    /// The password-free URL, the way the SQLite store's `path` is shown.
    public var path: String { location.description }

    /// Connects (checking the server answers and the password is accepted), then with `.migrate`
    /// applies pending migrations, or with `.requireCurrent` checks there are none.
    ///
    /// - Throws: `PostgresStoreError` naming the database (never the password) when it cannot be
    ///   reached, refuses the login, or has a schema this binary cannot use.
    public static func open(
        _ location: PostgresLocation, password: String?, schema: SchemaAccess = .migrate, maximumConnections: Int = 8,
        logger: Logger = Logger(label: "postgres-store", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws -> PostgresJobStore {
        let applied: [String]
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try connectionConfiguration(location, password: password), id: 0, logger: logger)
            do {
                switch schema {
                case .migrate: applied = try await PostgresMigrations.apply(on: connection, location: location, logger: logger)
                case .requireCurrent:
                    try await PostgresMigrations.requireCurrent(on: connection, location: location, logger: logger)
                    applied = []
                }
            } catch {
                try? await connection.close()
                throw error
            }
            try await connection.close()
        } catch let error as PSQLError {
            throw describe(error, location: location)
        }
        return PostgresJobStore(
            location: location, password: password, maximumConnections: maximumConnections, applied: applied, logger: logger)
    }

    private init(location: PostgresLocation, password: String?, maximumConnections: Int, applied: [String], logger: Logger) {
        self.location = location
        self.logger = logger
        self.appliedMigrations = applied
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: Self.clientTLS(location.tls))
        configuration.options.maximumConnections = max(1, maximumConnections)
        configuration.options.minimumConnections = 0
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
    }

    deinit {
        runner.cancel()
    }

    /// Closes the pool; later calls fail.
    public func close() {
        runner.cancel()
    }

    /// Throws when the system's TLS client context cannot be made (e.g. unreadable trust roots).
    private static func connectionConfiguration(_ location: PostgresLocation, password: String?) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch location.tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        return PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: tls)
    }

    private static func clientTLS(_ mode: PostgresLocation.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    /// Throws unless the server accepts writes now (readiness checks).
    public func checkWritable() async throws {
        let recovering = try await rows("SELECT pg_is_in_recovery() AS recovering").first?.get("recovering", as: Bool.self) ?? true
        if recovering {
            throw PostgresStoreError("store.read_only", "PostgreSQL \(location) is a standby and accepts no writes")
        }
    }

    // MARK: Helpers for the extensions

    /// Runs `query` on a pooled connection (or on `connection`, inside a transaction) and reads every row.
    @discardableResult
    func rows(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [PostgresRandomAccessRow] {
        do {
            let sequence = if let connection {
                try await connection.query(query, logger: logger)
            } else {
                try await client.query(query, logger: logger)
            }
            return try await sequence.collect().map { $0.makeRandomAccess() }
        } catch let error as PSQLError {
            throw Self.describe(error, location: location)
        }
    }

    /// Runs `body` in one transaction on one pooled connection: committed when it returns, rolled back
    /// when it throws (the error is rethrown as it was).
    func transaction<Result: Sendable>(
        _ begin: PostgresQuery = "BEGIN", _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await client.withConnection { connection in
                try await connection.query(begin, logger: logger)
                do {
                    let result = try await body(connection)
                    try await connection.query("COMMIT", logger: logger)
                    return result
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch let error as PSQLError {
            throw Self.describe(error, location: location)
        }
    }

    /// A PostgreSQL error as a `PostgresStoreError`: the server's message and SQLSTATE, or what kept the
    /// connection from being made; never the query's values.
    static func describe(_ error: PSQLError, location: PostgresLocation) -> PostgresStoreError {
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState] ?? "?"
            return PostgresStoreError("store.postgres", "PostgreSQL \(location): \(message) (SQLSTATE \(state))")
        }
        let underlying = error.underlying.map { ": \($0)" } ?? ""
        return PostgresStoreError("store.postgres_unavailable", "cannot use PostgreSQL \(location): \(error.code)\(underlying)")
    }
}

extension PostgresRandomAccessRow {
    /// The column `name` decoded as `T`.
    func get<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try self[name].decode(T.self)
    }
}

extension Date {
    /// Unix seconds, as the schema stores instants.
    var databaseSeconds: Int64 { unixSeconds }
}

extension PostgresJobStore {
    /// The number of rows in `table` (tests and benchmarks look at the tables this way).
    package func rowCount(_ table: String) async throws -> Int {
        try await rows("SELECT count(*) AS n FROM \(unescaped: table)").first?.get("n", as: Int.self) ?? -1
    }
}
