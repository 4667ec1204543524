import Foundation
import GRDB
import JobModel
@testable import PostgresStore
@testable import Store
import TestSupport
import Testing

/// Everything the service asks of a store.
typealias ServiceStore = JobStore & UploadLedger & RecordedFileLookup

/// The stores the shared behavioural suites run against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A fresh, empty store of `kind`: a SQLite file in a temporary directory, or a new database on the
/// test process's PostgreSQL server (`PostgresServer`, started on first use; a test fails, with the
/// reason, when it cannot start).
final class StoreUnderTest {
    let kind: StoreKind
    let store: any ServiceStore
    private let sqlite: TemporaryStore?
    private let postgres: PostgresJobStore?
    /// The PostgreSQL database's URL (for a second opener).
    private(set) var postgresURL: String?

    init(_ kind: StoreKind) async throws {
        self.kind = kind
        switch kind {
        case .sqlite:
            let temporary = try TemporaryStore()
            sqlite = temporary
            postgres = nil
            store = temporary.store
        case .postgres:
            let server = try PostgresServer.shared()
            let url = server.url(database: try server.createDatabase())
            let opened = try await PostgresJobStore.open(try PostgresLocation(url), password: PostgresServer.password)
            postgresURL = url
            postgres = opened
            sqlite = nil
            store = opened
        }
    }

    /// A second opening of the same database (another process, or a restart).
    func reopened() async throws -> any ServiceStore {
        switch kind {
        case .sqlite: return try SQLiteJobStore(path: sqlite!.store.path)
        case .postgres: return try await PostgresJobStore.open(try PostgresLocation(postgresURL!), password: PostgresServer.password)
        }
    }

    /// The number of rows in `table`, read directly.
    func rowCount(_ table: String) async throws -> Int {
        switch kind {
        case .sqlite: return try await sqlite!.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1 }
        case .postgres: return try await postgres!.rowCount(table)
        }
    }

    /// The `code` of a store's error, whichever store threw it.
    static func code(of error: any Error) -> String? {
        switch error {
        case let error as StoreError: error.code
        case let error as PostgresStoreError: error.code
        default: nil
        }
    }

    deinit {
        postgres?.close()
    }
}
