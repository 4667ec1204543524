import ArgumentParser
import Foundation
import Store

/// `--config FILE | --db FILE`, shared by the operator commands.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The service's configuration file (its `database` is used).")
    var config: String?

    @Option(name: .long, help: "The database file, or a postgres://user@host:port/database URL (password from PGPASSWORD), instead of --config.")
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
        try await database(fallingBackToDemo: fallingBackToDemo).database
    }

    /// The database and the password file that goes with it (`database_password_file` of the
    /// configuration; none with `--db`, where the password comes from `PGPASSWORD`).
    func database(fallingBackToDemo: Bool = false) async throws -> (database: String, passwordFile: String?) {
        if let db { return (db, nil) }
        if fallingBackToDemo, config == nil, !ConfigFileLocator.isFoundImplicitly,
           FileManager.default.fileExists(atPath: ConfigFileLocator.demoDatabasePath) {
            FileHandle.standardError.write(Data("no configuration found; showing the demo's database ./\(ConfigFileLocator.demoDatabasePath)\n".utf8))
            return (ConfigFileLocator.demoDatabasePath, nil)
        }
        let path = try ConfigFileLocator.locate(config, acceptsDatabase: true)
        return try await ConfigurationLoader.loadDatabase(path: path)
    }

    /// Opens the existing database (never creates one); `fallingBackToDemo` as for `databasePath`.
    ///
    /// With `schema` `.requireCurrent` (what every inspection command uses) nothing in the schema
    /// changes: a database that lacks a migration is refused naming `orchestrator migrate`, and one
    /// written by a newer binary is refused too.
    func openStore(fallingBackToDemo: Bool = false, schema: StoreOpening.Schema = .requireCurrent) async throws -> any OperatedStore {
        let (database, passwordFile) = try await database(fallingBackToDemo: fallingBackToDemo)
        return try await StoreOpening.open(database: database, passwordFile: passwordFile, create: false, schema: schema)
    }
}
