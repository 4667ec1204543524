/// Why the store could not be opened or used: a stable code and a message for an operator, naming the
/// database file and what to do.
///
/// Codes: `store.missing` (no database file and not asked to create one), `store.unreadable` (not a
/// database, or SQLite refused it), `store.create_failed`, `store.newer_schema` (written by a newer
/// binary), `store.outdated_schema` (lacks migrations, and the opener may not apply them), `store.migration_failed`, `store.upload_unknown` (a multipart upload the ledger does not
/// record), `store.malformed` (a value the schema cannot hold).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// A stable, short code.
    public var code: String
    /// What went wrong, naming the database file where one is involved.
    public var message: String

    /// Creates an error.
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message alone: it is printed as the command's one line.
    public var description: String { message }
}
