import Foundation

/// Finds the configuration file when none is given.
enum ConfigFileLocator {
    /// The default file looked for in the working directory.
    static let defaultPath = "orchestrator.yaml"
    /// The database `orchestrator demo` writes by default, looked at by `status` and `jobs` when there
    /// is no configuration.
    static let demoDatabasePath = "orchestrator-demo/orchestrator.sqlite"

    /// `explicit`, `ORCHESTRATOR_CONFIG`, or `./orchestrator.yaml` if it exists; otherwise an error
    /// naming only what the command accepts (`acceptsDatabase`: it also takes `--db FILE`).
    static func locate(_ explicit: String?, acceptsDatabase: Bool) throws -> String {
        if let explicit { return explicit }
        if let fromEnvironment = ProcessInfo.processInfo.environment["ORCHESTRATOR_CONFIG"] { return fromEnvironment }
        if FileManager.default.fileExists(atPath: defaultPath) { return defaultPath }
        throw ConfigurationError(missingMessage(acceptsDatabase: acceptsDatabase))
    }

    /// Whether the configuration would be found without `--config`.
    static var isFoundImplicitly: Bool {
        ProcessInfo.processInfo.environment["ORCHESTRATOR_CONFIG"] != nil || FileManager.default.fileExists(atPath: defaultPath)
    }

    private static func missingMessage(acceptsDatabase: Bool) -> String {
        var message = acceptsDatabase
            ? "no configuration: pass --config FILE or --db FILE, set ORCHESTRATOR_CONFIG, or create ./\(defaultPath)"
            : "no configuration: pass --config FILE, set ORCHESTRATOR_CONFIG, or create ./\(defaultPath) (see the README's configuration table)"
        if acceptsDatabase, FileManager.default.fileExists(atPath: demoDatabasePath) {
            message += "; the demo's database is --db \(demoDatabasePath)"
        }
        return message
    }
}
