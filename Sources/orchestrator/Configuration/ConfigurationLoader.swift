import Configuration
import Foundation
import Ingest
import Jobs
import SystemPackage
import Yams

/// Configuration problems, each naming the key and what is wrong; printed one line each at start-up.
struct ConfigurationError: Error, CustomStringConvertible {
    /// One message per problem, in the order found.
    let problems: [String]

    init(_ message: String) { problems = [message] }

    init(problems: [String]) { self.problems = problems }

    var description: String { problems.map { "invalid configuration: \($0)" }.joined(separator: "\n") }
}

/// The problems found so far while reading and validating one configuration.
final class ConfigurationProblems {
    private(set) var messages: [String] = []

    /// Records `message`.
    func add(_ message: String) { messages.append(message) }

    /// Records `message` unless `condition` holds.
    func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { messages.append(message()) }
    }

    /// Throws every problem at once, if there is any.
    func throwIfAny() throws {
        if !messages.isEmpty { throw ConfigurationError(problems: messages) }
    }
}

/// Reads `OrchestratorConfiguration` from a YAML file (swift-configuration) with every key overridable by
/// an environment variable: `ORCHESTRATOR_` plus the key in upper case with `_` for `.`, e.g.
/// `ORCHESTRATOR_WORKERS_CONCURRENCY=8`. The CDN credentials also come from Tencent's usual
/// `TENCENTCLOUD_SECRET_ID` / `TENCENTCLOUD_SECRET_KEY` / `TENCENTCLOUD_SESSION_TOKEN`.
/// Relative paths in the file are resolved against the file's directory.
enum ConfigurationLoader {
    /// Loads and validates the file at `path`; `environment` defaults to the process environment.
    static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> OrchestratorConfiguration {
        let (reader, endpointsNode) = try await makeReader(path: path, environment: environment)
        let problems = ConfigurationProblems()
        var configuration = read(ConfigValues(reader: reader, problems: problems), environment: environment)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        configuration.ingest = readIngest(
            ConfigValues(reader: reader, problems: problems), endpoints: endpointsNode, environment: environment, base: base)
        configuration.database = resolve(configuration.database, against: base)
        configuration.sink.directory = resolve(configuration.sink.directory, against: base)
        if !configuration.workers.spoolDirectory.isEmpty {
            configuration.workers.spoolDirectory = resolve(configuration.workers.spoolDirectory, against: base)
        }
        validate(configuration, into: problems)
        try problems.throwIfAny()
        return configuration
    }

    /// Only the database path of the file at `path`: what `status`, `jobs` and `retry` need, so they work
    /// even where the service's secrets are not in the environment.
    static func loadDatabasePath(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> String {
        let (reader, _) = try await makeReader(path: path, environment: environment)
        let problems = ConfigurationProblems()
        let database = ConfigValues(reader: reader, problems: problems).string("database", default: OrchestratorConfiguration().database)
        try problems.throwIfAny()
        return resolve(database, against: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// The reader over the environment and the file, and the file's `ingest.endpoints` (taken out of
    /// what swift-configuration reads: see `IngestSection`).
    private static func makeReader(path: String, environment: [String: String]) async throws -> (ConfigReader, Node?) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError("no configuration file at \(path)")
        }
        let file: FileProvider<YAMLSnapshot>
        var endpoints: Node?
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let (remainder, endpointsNode) = try IngestSection.split(yaml: text)
            endpoints = endpointsNode
            if let remainder {
                // The rest of the file, read by swift-configuration from a private temporary copy.
                let copy = FileManager.default.temporaryDirectory.appendingPathComponent("orchestrator-config-\(UUID().uuidString).yaml").path
                guard FileManager.default.createFile(atPath: copy, contents: Data(remainder.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw ConfigurationError("cannot write a temporary copy of \(path)")
                }
                defer { try? FileManager.default.removeItem(atPath: copy) }
                file = try await FileProvider<YAMLSnapshot>(filePath: FilePath(copy))
            } else {
                file = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
            }
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("cannot parse \(path) as YAML: \(oneLine(yamlError: "\(error)"))")
        }
        let environmentProvider = KeyMappingProvider(
            upstream: EnvironmentVariablesProvider(environmentVariables: environment),
            keyMapper: { key in AbsoluteConfigKey(["orchestrator"] + key.components, context: key.context) })
        return (ConfigReader(providers: [environmentProvider, file]), endpoints)
    }

    /// Reads every key; a value of the wrong type is recorded as a problem and the default kept, so
    /// that every problem is reported at once.
    private static func read(_ values: ConfigValues, environment: [String: String]) -> OrchestratorConfiguration {
        var configuration = OrchestratorConfiguration()
        configuration.database = values.string("database", default: configuration.database)
        configuration.logLevel = values.string("log.level", default: configuration.logLevel)

        var cdn = configuration.cdn
        cdn.endpoint = values.string("cdn.endpoint", default: cdn.endpoint)
        cdn.secretID = values.string("cdn.secret_id", default: environment["TENCENTCLOUD_SECRET_ID"] ?? "", secret: true)
        cdn.secretKey = values.string("cdn.secret_key", default: environment["TENCENTCLOUD_SECRET_KEY"] ?? "", secret: true)
        cdn.token = values.optionalString("cdn.token", secret: true) ?? environment["TENCENTCLOUD_SESSION_TOKEN"]
        cdn.domains = values.stringArray("cdn.domains", default: cdn.domains)
        cdn.area = values.string("cdn.area", default: cdn.area)
        cdn.requestsPerSecond = values.double("cdn.requests_per_second", default: cdn.requestsPerSecond)
        cdn.discoveryMinutes = values.int("cdn.discovery_minutes", default: cdn.discoveryMinutes)
        configuration.cdn = cdn

        var schedule = configuration.schedule
        schedule.tickSeconds = values.int("schedule.tick_seconds", default: schedule.tickSeconds)
        schedule.lookbackHours = values.int("schedule.lookback_hours", default: schedule.lookbackHours)
        schedule.availabilityDelayMinutes = values.int("schedule.availability_delay_minutes", default: schedule.availabilityDelayMinutes)
        schedule.settleHours = values.int("schedule.settle_hours", default: schedule.settleHours)
        schedule.publicationHorizonMinutes = values.int("schedule.publication_horizon_minutes", default: schedule.publicationHorizonMinutes)
        configuration.schedule = schedule

        var workers = configuration.workers
        workers.concurrency = values.int("workers.concurrency", default: workers.concurrency)
        workers.maxAttempts = values.int("workers.max_attempts", default: workers.maxAttempts)
        workers.backoffBaseSeconds = values.int("workers.backoff_base_seconds", default: workers.backoffBaseSeconds)
        workers.backoffCapSeconds = values.int("workers.backoff_cap_seconds", default: workers.backoffCapSeconds)
        workers.leaseSeconds = values.int("workers.lease_seconds", default: workers.leaseSeconds)
        workers.maxWindowMinutes = values.int("workers.max_window_minutes", default: workers.maxWindowMinutes)
        workers.spoolDirectory = values.string("workers.spool_directory", default: workers.spoolDirectory)
        configuration.workers = workers

        var download = configuration.download
        download.timeoutSeconds = values.int("download.timeout_seconds", default: download.timeoutSeconds)
        download.minBytesPerSecond = values.int("download.min_bytes_per_second", default: download.minBytesPerSecond)
        download.stallSeconds = values.int("download.stall_seconds", default: download.stallSeconds)
        configuration.download = download

        var sink = configuration.sink
        let kind = values.string("sink.kind", default: sink.kind.rawValue)
        if let parsedKind = OrchestratorConfiguration.SinkKind(rawValue: kind) {
            sink.kind = parsedKind
        } else {
            values.problems.add("sink.kind must be local, cos or s3 (got \(kind))")
        }
        sink.directory = values.string("sink.directory", default: sink.directory)
        sink.endpoint = values.string("sink.endpoint", default: sink.endpoint)
        sink.bucket = values.string("sink.bucket", default: sink.bucket)
        sink.region = values.string("sink.region", default: sink.region)
        // The store's own credential variables, when the file and ORCHESTRATOR_SINK_* leave them unset.
        let credentialVariables = sink.kind == .s3
            ? ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
            : ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN")
        sink.secretID = values.string("sink.secret_id", default: environment[credentialVariables.0] ?? "", secret: true)
        sink.secretKey = values.string("sink.secret_key", default: environment[credentialVariables.1] ?? "", secret: true)
        sink.token = values.optionalString("sink.token", secret: true) ?? environment[credentialVariables.2]
        sink.pathStyle = values.bool("sink.path_style", default: sink.pathStyle)
        sink.keyTemplate = values.string("sink.key_template", default: sink.keyTemplate)
        sink.multipartThresholdMiB = values.int("sink.multipart_threshold_mib", default: sink.multipartThresholdMiB)
        sink.partSizeMiB = values.int("sink.part_size_mib", default: sink.partSizeMiB)
        sink.partConcurrency = values.int("sink.part_concurrency", default: sink.partConcurrency)
        configuration.sink = sink
        return configuration
    }

    /// Checks ranges and combinations; throws naming every offending key.
    static func validate(_ configuration: OrchestratorConfiguration) throws {
        let problems = ConfigurationProblems()
        validate(configuration, into: problems)
        try problems.throwIfAny()
    }

    /// Checks ranges and combinations, recording a problem per offending key.
    static func validate(_ configuration: OrchestratorConfiguration, into problems: ConfigurationProblems) {
        let require = problems.require
        require(!configuration.database.isEmpty, "database must name a file")
        require(URL(string: configuration.cdn.endpoint)?.host != nil, "cdn.endpoint must be a URL such as https://cdn.tencentcloudapi.com (got \(configuration.cdn.endpoint))")
        if configuration.pullEnabled {
            require(!configuration.cdn.secretID.isEmpty, "cdn.secret_id is not set (set it, or TENCENTCLOUD_SECRET_ID in the environment)")
            require(!configuration.cdn.secretKey.isEmpty, "cdn.secret_key is not set (set it, or TENCENTCLOUD_SECRET_KEY in the environment)")
        }
        if let ingest = configuration.ingest { validate(ingest, into: problems) }
        require(["global", "mainland", "overseas"].contains(configuration.cdn.area), "cdn.area must be global, mainland or overseas (got \(configuration.cdn.area))")
        require(configuration.cdn.requestsPerSecond > 0, "cdn.requests_per_second must be positive")
        require(configuration.cdn.discoveryMinutes >= 1, "cdn.discovery_minutes must be at least 1")
        require(configuration.schedule.tickSeconds >= 1, "schedule.tick_seconds must be at least 1")
        require((1...720).contains(configuration.schedule.lookbackHours), "schedule.lookback_hours must be between 1 and 720 (CDN logs are kept 30 days)")
        require(configuration.schedule.availabilityDelayMinutes >= 0, "schedule.availability_delay_minutes must not be negative")
        require(configuration.schedule.settleHours >= 0, "schedule.settle_hours must not be negative")
        require(configuration.schedule.publicationHorizonMinutes >= 0, "schedule.publication_horizon_minutes must not be negative")
        require((1...256).contains(configuration.workers.concurrency), "workers.concurrency must be between 1 and 256")
        require(configuration.workers.maxAttempts >= 1, "workers.max_attempts must be at least 1")
        require(configuration.workers.backoffBaseSeconds >= 1, "workers.backoff_base_seconds must be at least 1")
        require(configuration.workers.backoffCapSeconds >= configuration.workers.backoffBaseSeconds, "workers.backoff_cap_seconds must be at least workers.backoff_base_seconds")
        require(configuration.workers.leaseSeconds >= 3, "workers.lease_seconds must be at least 3")
        require((1...10_080).contains(configuration.workers.maxWindowMinutes), "workers.max_window_minutes must be between 1 and 10080 (a week)")
        let download = configuration.download
        typealias Download = OrchestratorConfiguration.Download
        require((1...Download.maxTimeoutSeconds).contains(download.timeoutSeconds), "download.timeout_seconds must be between 1 and \(Download.maxTimeoutSeconds)")
        require((0...Download.maxMinBytesPerSecond).contains(download.minBytesPerSecond), "download.min_bytes_per_second must be between 0 (no floor) and \(Download.maxMinBytesPerSecond)")
        require((1...Download.maxStallSeconds).contains(download.stallSeconds), "download.stall_seconds must be between 1 and \(Download.maxStallSeconds)")
        require(download.stallSeconds <= download.timeoutSeconds, "download.stall_seconds must not be longer than download.timeout_seconds")
        let sink = configuration.sink
        if sink.kind == .local {
            require(!sink.directory.isEmpty, "sink.directory must name a directory for sink.kind local")
        } else {
            require(!sink.bucket.isEmpty, "sink.bucket is not set (for COS, the bucket name with its -appid suffix)")
            require(!sink.secretID.isEmpty, "sink.secret_id is not set (set it, or \(sink.kind == .s3 ? "AWS_ACCESS_KEY_ID" : "TENCENTCLOUD_SECRET_ID") in the environment)")
            require(!sink.secretKey.isEmpty, "sink.secret_key is not set (set it, or \(sink.kind == .s3 ? "AWS_SECRET_ACCESS_KEY" : "TENCENTCLOUD_SECRET_KEY") in the environment)")
            if sink.kind == .cos && sink.endpoint.isEmpty {
                require(!sink.region.isEmpty, "sink.region is not set (e.g. ap-beijing); COS needs it for its endpoint")
            }
            if !sink.endpoint.isEmpty {
                let url = URL(string: sink.endpoint)
                require(url?.host != nil && ["http", "https"].contains(url?.scheme ?? ""), "sink.endpoint must be an http(s) URL (got \(sink.endpoint))")
            }
            require(sink.multipartThresholdMiB >= 5, "sink.multipart_threshold_mib must be at least 5")
            require(sink.partSizeMiB >= 5, "sink.part_size_mib must be at least 5 (S3 and COS refuse smaller parts)")
            require((1...32).contains(sink.partConcurrency), "sink.part_concurrency must be between 1 and 32")
        }
        do {
            _ = try KeyTemplate(sink.keyTemplate)
        } catch {
            problems.add("sink.key_template: \(error.message)")
        }
        require(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(configuration.logLevel), "log.level must be one of trace, debug, info, notice, warning, error, critical")
    }

    /// The YAML parser's multi-line report (position, problem, context, the offending line and a caret)
    /// as one line: `line 4, column 7: did not find expected ',' or ']' (while parsing a flow
    /// sequence in line 3, column 13)`.
    static func oneLine(yamlError text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
        guard var first = lines.first else { return text }
        var position: String?
        if let separator = first.range(of: ": ") {
            let numbers = first[..<separator.lowerBound].split(separator: ":")
            if numbers.count == 2, numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
                position = "line \(numbers[0]), column \(numbers[1])"
                first = String(first[separator.upperBound...])
            }
        }
        for prefix in ["error: ", "parser: ", "scanner: ", "reader: ", "composer: "] where first.hasPrefix(prefix) {
            first.removeFirst(prefix.count)
        }
        if first.hasSuffix(":") { first.removeLast() }
        var problem = first
        // The second line, when it ends with ':', is the problem itself and the first one its context.
        if lines.count > 1, lines[1].hasSuffix(":") {
            problem = "\(lines[1].dropLast()) (\(first))"
        }
        return [position, problem].compactMap { $0 }.joined(separator: ": ")
    }

    static func resolve(_ path: String, against base: String) -> String {
        guard !path.isEmpty, !path.hasPrefix("/") else { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
    }
}

/// Typed reads that refuse a value of the wrong type instead of silently using it: the problem is
/// recorded (naming the key) and the default returned, so reading goes on to the other keys.
struct ConfigValues {
    let reader: ConfigReader
    let problems: ConfigurationProblems

    func string(_ key: String, default defaultValue: String, secret: Bool = false) -> String {
        optionalString(key, secret: secret) ?? defaultValue
    }

    func optionalString(_ key: String, secret: Bool = false) -> String? {
        reader.string(forKey: ConfigKey(key), isSecret: secret)
    }

    func int(_ key: String, default defaultValue: Int) -> Int {
        if let value = reader.int(forKey: ConfigKey(key)) { return value }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            if let value = Int(raw.trimmingCharacters(in: .whitespaces)) { return value }
            problems.add("\(key) must be a whole number (got \(raw))")
        }
        return defaultValue
    }

    func double(_ key: String, default defaultValue: Double) -> Double {
        if let value = reader.double(forKey: ConfigKey(key)) { return value }
        if let value = reader.int(forKey: ConfigKey(key)) { return Double(value) }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            if let value = Double(raw.trimmingCharacters(in: .whitespaces)) { return value }
            problems.add("\(key) must be a number (got \(raw))")
        }
        return defaultValue
    }

    func bool(_ key: String, default defaultValue: Bool) -> Bool {
        if let value = reader.bool(forKey: ConfigKey(key)) { return value }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            switch raw.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default:
                problems.add("\(key) must be true or false (got \(raw))")
                return defaultValue
            }
        }
        return defaultValue
    }

    func stringArray(_ key: String, default defaultValue: [String]) -> [String] {
        if let values = reader.stringArray(forKey: ConfigKey(key)) {
            return values.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let raw = reader.string(forKey: ConfigKey(key)) {
            return raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return defaultValue
    }
}
