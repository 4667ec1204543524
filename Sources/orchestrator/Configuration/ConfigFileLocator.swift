import Foundation

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
