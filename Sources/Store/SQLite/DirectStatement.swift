import GRDB
import GRDBSQLite

/// One of GRDB's cached statements, bound and stepped through SQLite's C interface: for the few
/// statements the worker pool runs for every window (`WindowStatements`), on the writer's connection,
/// and for `status`'s scans of every open and provisional window.
///
/// GRDB's `execute(arguments:)` and `Row.fetchAll` box every argument in an existential, build an
/// argument array and validate it, and allocate a row per result: for a lease or a completion that is
/// as much CPU as SQLite's own work on the row, on the one thread all writes go through. Here integers
/// and strings are bound directly, and columns are read by position as they are needed. GRDB still
/// prepares, caches and finalizes the statement; nothing here outlives the call that uses it, and the
/// statement is reset after each use, so it holds no lock and no binding refers to freed memory.
struct DirectStatement {
    private let statement: Statement
    private let connection: OpaquePointer
    private var handle: OpaquePointer { statement.sqliteStatement }

    /// The cached statement for `sql` on `db`, reset and ready to bind.
    init(_ sql: String, in db: Database) throws {
        statement = try db.cachedStatement(sql: sql)
        connection = db.sqliteConnection!
        sqlite3_reset(handle)
    }

    /// Binds `value` to parameter `index` (1-based).
    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    /// Binds `value` (copied by SQLite) to parameter `index` (1-based).
    func bind(_ index: Int32, _ value: String) {
        sqlite3_bind_text(handle, index, value, -1, Self.transient)
    }

    /// Runs the statement to its end; returns how many rows it changed.
    @discardableResult
    func execute() throws -> Int {
        defer { sqlite3_reset(handle) }
        while try step() {}
        return Int(sqlite3_changes(connection))
    }

    /// Runs the statement and calls `row` for each result row, reading columns with `int64` and `text`.
    func forEachRow(_ row: () throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while try step() { try row() }
    }

    /// Column `index` (0-based) of the current row as an integer.
    func int64(_ index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }

    /// Whether column `index` (0-based) of the current row is NULL.
    func isNull(_ index: Int32) -> Bool {
        sqlite3_column_type(handle, index) == SQLITE_NULL
    }

    /// The first byte of column `index` (0-based) of the current row as text; 0 for NULL or empty text.
    /// Enough to tell a job's states apart, without SQLite comparing strings or Swift making one.
    func firstByte(_ index: Int32) -> UInt8 {
        sqlite3_column_text(handle, index)?.pointee ?? 0
    }

    /// Column `index` (0-based) of the current row as text; empty for NULL.
    func text(_ index: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, index) else { return "" }
        return String(cString: bytes)
    }

    /// One step: true when it produced a row, false when the statement is done.
    private func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            throw DatabaseError(
                resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
        }
    }

    /// SQLite's `SQLITE_TRANSIENT`: it copies the bound text before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
