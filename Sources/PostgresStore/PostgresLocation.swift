import Foundation

/// Where a PostgreSQL store lives, read from `postgres://user@host:port/database` (or `postgresql://`).
///
/// The URL carries no password: one written into it would end up in logs, `status` and process
/// listings. The password comes from `database_password_file` or `PGPASSWORD` (see `password`).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// How the connection is encrypted: `?sslmode=disable|prefer|require` (default `prefer`).
    public enum TLSMode: String, Sendable, Hashable {
        case disable, prefer, require
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode

    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses `text`.
    ///
    /// - Throws: `PostgresStoreError` (`store.bad_url`) naming what is wrong, never quoting a password.
    public init(_ text: String) throws {
        guard Self.isPostgresURL(text), let components = URLComponents(string: text) else {
            throw PostgresStoreError("store.bad_url", "database: not a postgres://user@host:port/database URL")
        }
        if components.password != nil {
            throw PostgresStoreError(
                "store.bad_url",
                "database: the URL must not carry a password; put it in the file named by database_password_file, or in PGPASSWORD")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresStoreError("store.bad_url", "database: the postgres URL names no user (postgres://user@host:port/database)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresStoreError("store.bad_url", "database: the postgres URL names no host (postgres://user@host:port/database)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresStoreError("store.bad_url", "database: the postgres URL names no database (postgres://user@host:port/database)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw PostgresStoreError("store.bad_url", "database: the postgres URL's port must be between 1 and 65535")
        }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw PostgresStoreError("store.bad_url", "database: unknown postgres URL parameter \(item.name) (only sslmode is read)")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw PostgresStoreError("store.bad_url", "database: sslmode must be disable, prefer or require")
            }
            tls = mode
        }
        self.user = user.removingPercentEncoding ?? user
        self.host = host
        self.port = port
        self.database = database.removingPercentEncoding ?? database
        self.tls = tls
    }

    /// The URL without a password (there is none to leave out): what logs and `status` show.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(shownHost):\(port)/\(database)" + (tls == .prefer ? "" : "?sslmode=\(tls.rawValue)")
    }

    /// The password: the first line of `passwordFile` when given, else `PGPASSWORD`, else none (the
    /// server may trust the host, or use a client certificate).
    ///
    /// - Throws: `PostgresStoreError` (`store.password_file`) when the file cannot be read.
    public static func password(file passwordFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let passwordFile, !passwordFile.isEmpty {
            guard let data = FileManager.default.contents(atPath: passwordFile) else {
                throw PostgresStoreError("store.password_file", "cannot read database_password_file \(passwordFile)")
            }
            let text = String(decoding: data, as: UTF8.self)
            let firstLine = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let password = firstLine.hasSuffix("\r") ? String(firstLine.dropLast()) : firstLine
            guard !password.isEmpty else {
                throw PostgresStoreError("store.password_file", "database_password_file \(passwordFile) is empty")
            }
            return password
        }
        if let fromEnvironment = environment["PGPASSWORD"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return nil
    }
}

/// A PostgreSQL store's error: a stable code and a message that names the database by its
/// password-free URL and never quotes a query's values.
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
