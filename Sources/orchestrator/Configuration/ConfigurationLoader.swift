import Configuration
import Foundation
import Jobs
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
        let kind = try values.string("sink.kind", default: sink.kind.rawValue)
        guard let parsedKind = OrchestratorConfiguration.SinkKind(rawValue: kind) else {
            throw ConfigurationError("sink.kind must be local, cos or s3 (got \(kind))")
        }
        sink.kind = parsedKind
        sink.directory = try values.string("sink.directory", default: sink.directory)
        sink.endpoint = try values.string("sink.endpoint", default: sink.endpoint)
        sink.bucket = try values.string("sink.bucket", default: sink.bucket)
        sink.region = try values.string("sink.region", default: sink.region)
        // The store's own credential variables, when the file and ORCHESTRATOR_SINK_* leave them unset.
        let credentialVariables = sink.kind == .s3
            ? ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
            : ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN")
        sink.secretID = try values.string("sink.secret_id", default: environment[credentialVariables.0] ?? "", secret: true)
        sink.secretKey = try values.string("sink.secret_key", default: environment[credentialVariables.1] ?? "", secret: true)
        sink.token = try values.optionalString("sink.token", secret: true) ?? environment[credentialVariables.2]
        sink.pathStyle = try values.bool("sink.path_style", default: sink.pathStyle)
        sink.keyTemplate = try values.string("sink.key_template", default: sink.keyTemplate)
        sink.multipartThresholdMiB = try values.int("sink.multipart_threshold_mib", default: sink.multipartThresholdMiB)
        sink.partSizeMiB = try values.int("sink.part_size_mib", default: sink.partSizeMiB)
        sink.partConcurrency = try values.int("sink.part_concurrency", default: sink.partConcurrency)
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
        let sink = configuration.sink
        if sink.kind == .local {
            try require(!sink.directory.isEmpty, "sink.directory must name a directory for sink.kind local")
        } else {
            try require(!sink.bucket.isEmpty, "sink.bucket is not set (for COS, the bucket name with its -appid suffix)")
            try require(!sink.secretID.isEmpty, "sink.secret_id is not set (set it, or \(sink.kind == .s3 ? "AWS_ACCESS_KEY_ID" : "TENCENTCLOUD_SECRET_ID") in the environment)")
            try require(!sink.secretKey.isEmpty, "sink.secret_key is not set (set it, or \(sink.kind == .s3 ? "AWS_SECRET_ACCESS_KEY" : "TENCENTCLOUD_SECRET_KEY") in the environment)")
            if sink.kind == .cos && sink.endpoint.isEmpty {
                try require(!sink.region.isEmpty, "sink.region is not set (e.g. ap-beijing); COS needs it for its endpoint")
            }
            if !sink.endpoint.isEmpty {
                let url = URL(string: sink.endpoint)
                try require(url?.host != nil && ["http", "https"].contains(url?.scheme ?? ""), "sink.endpoint must be an http(s) URL (got \(sink.endpoint))")
            }
            try require(sink.multipartThresholdMiB >= 5, "sink.multipart_threshold_mib must be at least 5")
            try require(sink.partSizeMiB >= 5, "sink.part_size_mib must be at least 5 (S3 and COS refuse smaller parts)")
            try require((1...32).contains(sink.partConcurrency), "sink.part_concurrency must be between 1 and 32")
        }
        do {
            _ = try KeyTemplate(sink.keyTemplate)
        } catch {
            throw ConfigurationError("sink.key_template: \(error.message)")
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
