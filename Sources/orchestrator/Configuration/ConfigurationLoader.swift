import Configuration
import Foundation
import SystemPackage

/// A configuration problem, naming the key and what is wrong. Printed as one line at start-up.
struct ConfigurationError: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) { self.message = message }

    var description: String { "invalid configuration: \(message)" }
}

/// Reads `OrchestratorConfiguration` from a YAML file (swift-configuration) with every key overridable by
/// an environment variable: `ORCHESTRATOR_` plus the key in upper case with `_` for `.`, e.g.
/// `ORCHESTRATOR_WORKERS_CONCURRENCY=8`. The CDN credentials also come from Tencent's usual
/// `TENCENTCLOUD_SECRET_ID` / `TENCENTCLOUD_SECRET_KEY` / `TENCENTCLOUD_SESSION_TOKEN`.
/// Relative paths in the file are resolved against the file's directory.
enum ConfigurationLoader {
    /// Loads and validates the file at `path`; `environment` defaults to the process environment.
    static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> OrchestratorConfiguration {
        let reader = try await makeReader(path: path, environment: environment)
        var configuration = try read(ConfigValues(reader: reader), environment: environment)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        configuration.database = resolve(configuration.database, against: base)
        configuration.sink.directory = resolve(configuration.sink.directory, against: base)
        if !configuration.workers.spoolDirectory.isEmpty {
            configuration.workers.spoolDirectory = resolve(configuration.workers.spoolDirectory, against: base)
        }
        try validate(configuration)
        return configuration
    }

    /// Only the database path of the file at `path`: what `status`, `jobs` and `retry` need, so they work
    /// even where the service's secrets are not in the environment.
    static func loadDatabasePath(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> String {
        let reader = try await makeReader(path: path, environment: environment)
        let database = try ConfigValues(reader: reader).string("database", default: OrchestratorConfiguration().database)
        return resolve(database, against: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    private static func makeReader(path: String, environment: [String: String]) async throws -> ConfigReader {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError("no configuration file at \(path)")
        }
        let file: FileProvider<YAMLSnapshot>
        do {
            file = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
        } catch {
            throw ConfigurationError("cannot parse \(path) as YAML: \(error)")
        }
        let environmentProvider = KeyMappingProvider(
            upstream: EnvironmentVariablesProvider(environmentVariables: environment),
            keyMapper: { key in AbsoluteConfigKey(["orchestrator"] + key.components, context: key.context) })
        return ConfigReader(providers: [environmentProvider, file])
    }

    private static func read(_ values: ConfigValues, environment: [String: String]) throws -> OrchestratorConfiguration {
        var configuration = OrchestratorConfiguration()
        configuration.database = try values.string("database", default: configuration.database)
        configuration.logLevel = try values.string("log.level", default: configuration.logLevel)

        var cdn = configuration.cdn
        cdn.endpoint = try values.string("cdn.endpoint", default: cdn.endpoint)
        cdn.secretID = try values.string("cdn.secret_id", default: environment["TENCENTCLOUD_SECRET_ID"] ?? "", secret: true)
        cdn.secretKey = try values.string("cdn.secret_key", default: environment["TENCENTCLOUD_SECRET_KEY"] ?? "", secret: true)
        cdn.token = try values.optionalString("cdn.token", secret: true) ?? environment["TENCENTCLOUD_SESSION_TOKEN"]
        cdn.domains = try values.stringArray("cdn.domains", default: cdn.domains)
        cdn.area = try values.string("cdn.area", default: cdn.area)
        cdn.requestsPerSecond = try values.double("cdn.requests_per_second", default: cdn.requestsPerSecond)
        cdn.discoveryMinutes = try values.int("cdn.discovery_minutes", default: cdn.discoveryMinutes)
        configuration.cdn = cdn

        var schedule = configuration.schedule
        schedule.tickSeconds = try values.int("schedule.tick_seconds", default: schedule.tickSeconds)
        schedule.lookbackHours = try values.int("schedule.lookback_hours", default: schedule.lookbackHours)
        schedule.availabilityDelayMinutes = try values.int("schedule.availability_delay_minutes", default: schedule.availabilityDelayMinutes)
        schedule.settleHours = try values.int("schedule.settle_hours", default: schedule.settleHours)
        schedule.publicationHorizonMinutes = try values.int("schedule.publication_horizon_minutes", default: schedule.publicationHorizonMinutes)
        configuration.schedule = schedule

        var workers = configuration.workers
        workers.concurrency = try values.int("workers.concurrency", default: workers.concurrency)
        workers.maxAttempts = try values.int("workers.max_attempts", default: workers.maxAttempts)
        workers.backoffBaseSeconds = try values.int("workers.backoff_base_seconds", default: workers.backoffBaseSeconds)
        workers.backoffCapSeconds = try values.int("workers.backoff_cap_seconds", default: workers.backoffCapSeconds)
        workers.leaseSeconds = try values.int("workers.lease_seconds", default: workers.leaseSeconds)
        workers.spoolDirectory = try values.string("workers.spool_directory", default: workers.spoolDirectory)
        configuration.workers = workers

        var sink = configuration.sink
        sink.kind = try values.string("sink.kind", default: sink.kind)
        sink.directory = try values.string("sink.directory", default: sink.directory)
        sink.endpoint = try values.string("sink.endpoint", default: sink.endpoint)
        sink.bucket = try values.string("sink.bucket", default: sink.bucket)
        sink.region = try values.string("sink.region", default: sink.region)
        sink.secretID = try values.string("sink.secret_id", default: sink.secretID, secret: true)
        sink.secretKey = try values.string("sink.secret_key", default: sink.secretKey, secret: true)
        sink.pathStyle = try values.bool("sink.path_style", default: sink.pathStyle)
        sink.keyTemplate = try values.string("sink.key_template", default: sink.keyTemplate)
        configuration.sink = sink
        return configuration
    }

    /// Checks ranges and combinations; throws naming the first offending key.
    static func validate(_ configuration: OrchestratorConfiguration) throws {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw ConfigurationError(message()) }
        }
        try require(!configuration.database.isEmpty, "database must name a file")
        try require(URL(string: configuration.cdn.endpoint)?.host != nil, "cdn.endpoint must be a URL such as https://cdn.tencentcloudapi.com (got \(configuration.cdn.endpoint))")
        try require(!configuration.cdn.secretID.isEmpty, "cdn.secret_id is not set (set it, or TENCENTCLOUD_SECRET_ID in the environment)")
        try require(!configuration.cdn.secretKey.isEmpty, "cdn.secret_key is not set (set it, or TENCENTCLOUD_SECRET_KEY in the environment)")
        try require(["global", "mainland", "overseas"].contains(configuration.cdn.area), "cdn.area must be global, mainland or overseas (got \(configuration.cdn.area))")
        try require(configuration.cdn.requestsPerSecond > 0, "cdn.requests_per_second must be positive")
        try require(configuration.cdn.discoveryMinutes >= 1, "cdn.discovery_minutes must be at least 1")
        try require(configuration.schedule.tickSeconds >= 1, "schedule.tick_seconds must be at least 1")
        try require((1...720).contains(configuration.schedule.lookbackHours), "schedule.lookback_hours must be between 1 and 720 (CDN logs are kept 30 days)")
        try require(configuration.schedule.availabilityDelayMinutes >= 0, "schedule.availability_delay_minutes must not be negative")
        try require(configuration.schedule.settleHours >= 0, "schedule.settle_hours must not be negative")
        try require(configuration.schedule.publicationHorizonMinutes >= 0, "schedule.publication_horizon_minutes must not be negative")
        try require((1...256).contains(configuration.workers.concurrency), "workers.concurrency must be between 1 and 256")
        try require(configuration.workers.maxAttempts >= 1, "workers.max_attempts must be at least 1")
        try require(configuration.workers.backoffBaseSeconds >= 1, "workers.backoff_base_seconds must be at least 1")
        try require(configuration.workers.backoffCapSeconds >= configuration.workers.backoffBaseSeconds, "workers.backoff_cap_seconds must be at least workers.backoff_base_seconds")
        try require(configuration.workers.leaseSeconds >= 3, "workers.lease_seconds must be at least 3")
        try require(["local", "cos", "s3"].contains(configuration.sink.kind), "sink.kind must be local, cos or s3 (got \(configuration.sink.kind))")
        if configuration.sink.kind == "local" {
            try require(!configuration.sink.directory.isEmpty, "sink.directory must name a directory for sink.kind local")
        } else {
            throw ConfigurationError("sink.kind \(configuration.sink.kind) is not available in this build yet; use local")
        }
        try require(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(configuration.logLevel), "log.level must be one of trace, debug, info, notice, warning, error, critical")
    }

    private static func resolve(_ path: String, against base: String) -> String {
        guard !path.isEmpty, !path.hasPrefix("/") else { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
    }
}

/// Typed reads that refuse a value of the wrong type instead of silently using the default.
struct ConfigValues {
    let reader: ConfigReader

    func string(_ key: String, default defaultValue: String, secret: Bool = false) throws -> String {
        try optionalString(key, secret: secret) ?? defaultValue
    }

    func optionalString(_ key: String, secret: Bool = false) throws -> String? {
        reader.string(forKey: ConfigKey(key), isSecret: secret)
    }

    func int(_ key: String, default defaultValue: Int) throws -> Int {
        if let value = reader.int(forKey: ConfigKey(key)) { return value }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            if let value = Int(raw.trimmingCharacters(in: .whitespaces)) { return value }
            throw ConfigurationError("\(key) must be a whole number (got \(raw))")
        }
        return defaultValue
    }

    func double(_ key: String, default defaultValue: Double) throws -> Double {
        if let value = reader.double(forKey: ConfigKey(key)) { return value }
        if let value = reader.int(forKey: ConfigKey(key)) { return Double(value) }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            if let value = Double(raw.trimmingCharacters(in: .whitespaces)) { return value }
            throw ConfigurationError("\(key) must be a number (got \(raw))")
        }
        return defaultValue
    }

    func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        if let value = reader.bool(forKey: ConfigKey(key)) { return value }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            switch raw.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default: throw ConfigurationError("\(key) must be true or false (got \(raw))")
            }
        }
        return defaultValue
    }

    func stringArray(_ key: String, default defaultValue: [String]) throws -> [String] {
        if let values = reader.stringArray(forKey: ConfigKey(key)) {
            return values.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            return raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return defaultValue
    }
}
