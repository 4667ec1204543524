import ArgumentParser
import Foundation
import Store

/// `--config FILE | --db FILE`, shared by the operator commands.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The service's configuration file (its `database` is used).")
    var config: String?

    @Option(name: .long, help: "The database file, instead of --config.")
    var db: String?

    func validate() throws {
        if config != nil && db != nil {
            throw ValidationError("pass either --config or --db, not both")
        }
    }

    /// The database path: `--db`, or the configuration's `database` (from `--config`, or
    /// `./orchestrator.yaml` when present).
    func databasePath() async throws -> String {
        if let db { return db }
        let path = try ConfigFileLocator.locate(config)
        return try await ConfigurationLoader.loadDatabasePath(path: path)
    }

    /// Opens the existing database (never creates one).
    func openStore() async throws -> SQLiteJobStore {
        try SQLiteJobStore(path: try await databasePath(), create: false)
    }
}

/// Finds the configuration file when none is given.
enum ConfigFileLocator {
    /// The default file looked for in the working directory.
    static let defaultPath = "orchestrator.yaml"

    /// `explicit`, or `./orchestrator.yaml` if it exists; otherwise an error saying what to pass.
    static func locate(_ explicit: String?) throws -> String {
        if let explicit { return explicit }
        if let fromEnvironment = ProcessInfo.processInfo.environment["ORCHESTRATOR_CONFIG"] { return fromEnvironment }
        if FileManager.default.fileExists(atPath: defaultPath) { return defaultPath }
        throw ConfigurationError("no configuration: pass --config FILE (or --db FILE), set ORCHESTRATOR_CONFIG, or create ./\(defaultPath)")
    }
}
