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

    /// The database path: `--db`, or the configuration's `database` (from `--config`,
    /// `ORCHESTRATOR_CONFIG`, or `./orchestrator.yaml` when present). With `fallingBackToDemo`, when
    /// none of these is given and the demo's database exists in the working directory, that one (said
    /// on standard error).
    func databasePath(fallingBackToDemo: Bool = false) async throws -> String {
        if let db { return db }
        if fallingBackToDemo, config == nil, !ConfigFileLocator.isFoundImplicitly,
           FileManager.default.fileExists(atPath: ConfigFileLocator.demoDatabasePath) {
            FileHandle.standardError.write(Data("no configuration found; showing the demo's database ./\(ConfigFileLocator.demoDatabasePath)\n".utf8))
            return ConfigFileLocator.demoDatabasePath
        }
        let path = try ConfigFileLocator.locate(config, acceptsDatabase: true)
        return try await ConfigurationLoader.loadDatabasePath(path: path)
    }

    /// Opens the existing database (never creates one); `fallingBackToDemo` as for `databasePath`.
    ///
    /// With `schema` `.requireCurrent` (what every inspection command uses) nothing in the schema
    /// changes: a database that lacks a migration is refused naming `orchestrator migrate`, and one
    /// written by a newer binary is refused too.
    func openStore(fallingBackToDemo: Bool = false, schema: SQLiteJobStore.SchemaAccess = .requireCurrent) async throws -> SQLiteJobStore {
        try SQLiteJobStore(path: try await databasePath(fallingBackToDemo: fallingBackToDemo), create: false, schema: schema)
    }
}
