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
