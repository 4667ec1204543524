import Configuration
import Foundation
import Ingest
import Jobs
import PostgresStore
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
    private(set) var messages: [String]

    /// Starts with `messages`.
    init(_ messages: [String] = []) { self.messages = messages }

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
    /// A configuration as loaded, with what an operator should hear about without it being an error.
    struct Loaded {
        /// The validated configuration.
        var configuration: OrchestratorConfiguration
        /// Warnings, one line each (a secret in a file others can read).
        var warnings: [String]
    }

    /// Loads and validates the file at `path`; `environment` defaults to the process environment.
    ///
    /// A key of the file that nothing reads is an error naming the closest known key, as is every
    /// value of the wrong type or out of range: all are reported at once.
    static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Loaded {
        let (file, reader, endpointsNode) = try await open(path: path, environment: environment)
        let problems = ConfigurationProblems()
        let keysRead = KeysRead()
        var configuration = read(ConfigValues(reader: reader, problems: problems, keysRead: keysRead), environment: environment)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        configuration.ingest = readIngest(
            ConfigValues(reader: reader, problems: problems, keysRead: keysRead), endpoints: endpointsNode, environment: environment, base: base)
        configuration.database = resolve(configuration.database, against: base)
        configuration.databasePasswordFile = resolve(configuration.databasePasswordFile, against: base)
        configuration.sink.directory = resolve(configuration.sink.directory, against: base)
        if !configuration.workers.spoolDirectory.isEmpty {
            configuration.workers.spoolDirectory = resolve(configuration.workers.spoolDirectory, against: base)
        }
        validate(configuration, into: problems)
        let unknown = ConfigurationKeys.problems(fileKeys: file.keys, known: keysRead.keys)
        try ConfigurationProblems(unknown + problems.messages).throwIfAny()
        return Loaded(configuration: configuration, warnings: permissionWarnings(path: path, file: file))
    }

    /// Every key the loader reads: the known keys that unknown ones are compared with.
    static var knownKeys: Set<String> {
        let keysRead = KeysRead()
        let reader = ConfigReader(provider: InMemoryProvider(values: [:]))
        let values = ConfigValues(reader: reader, problems: ConfigurationProblems(), keysRead: keysRead)
        _ = read(values, environment: [:])
        // With an endpoint, so that every `ingest.*` key is read too.
        _ = readIngest(values, endpoints: try? Yams.compose(yaml: "[{path: /logs, domain: example.com}]"), environment: [:], base: "/")
        return keysRead.keys
    }

    /// A warning when the file sets a secret and its group or others may read it.
    static func permissionWarnings(path: String, file: ConfigurationFile) -> [String] {
        let secrets = file.secretsSet
        guard !secrets.isEmpty,
              let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
              mode & 0o077 != 0
        else { return [] }
        return [
            "\(path) sets \(secrets.joined(separator: ", ")) and is readable by group or others (mode \(String(mode & 0o777, radix: 8))); "
                + "chmod 600 it, or take the secret from the environment"
        ]
    }

    /// Only the database path of the file at `path`: what `status`, `jobs` and `retry` need, so they work
    /// even where the service's secrets are not in the environment.
    static func loadDatabasePath(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> String {
        try await loadDatabase(path: path, environment: environment).database
    }

    /// The database of the file at `path` and its `database_password_file` (nil when unset), both
    /// resolved against the file's directory.
    static func loadDatabase(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> (database: String, passwordFile: String?) {
        let (_, reader, _) = try await open(path: path, environment: environment)
        let problems = ConfigurationProblems()
        let values = ConfigValues(reader: reader, problems: problems, keysRead: KeysRead())
        let database = values.string("database", default: OrchestratorConfiguration().database)
        let passwordFile = values.string("database_password_file", default: "")
        try problems.throwIfAny()
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return (resolve(database, against: base), passwordFile.isEmpty ? nil : resolve(passwordFile, against: base))
    }

    /// The file's keys (its syntax checked by Yams, whose errors quote no line of it), a reader over the
    /// environment, then the file, and the file's `ingest.endpoints` (taken out of what
    /// swift-configuration reads: see `IngestSection`).
    private static func open(path: String, environment: [String: String]) async throws -> (ConfigurationFile, ConfigReader, Node?) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError("no configuration file at \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read \(path) (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("cannot parse \(path) as YAML: the file is not UTF-8 text")
        }
        let contents = try ConfigurationFile(text: text, path: path)
        let file: FileProvider<YAMLSnapshot>
        var endpoints: Node?
        do {
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
            // Not a syntax error (Yams accepted the file): swift-configuration's own, which names keys
            // and quotes no value. Its first line only, in case.
            throw ConfigurationError("cannot read \(path): \(String(describing: error).split(separator: "\n").first.map(String.init) ?? "")")
        }
        let environmentProvider = KeyMappingProvider(
            upstream: EnvironmentVariablesProvider(environmentVariables: environment),
            keyMapper: { key in AbsoluteConfigKey(["orchestrator"] + key.components, context: key.context) })
        return (contents, ConfigReader(providers: [environmentProvider, file]), endpoints)
    }

    /// Reads every key; a value of the wrong type is recorded as a problem and the default kept, so
    /// that every problem is reported at once.
    private static func read(_ values: ConfigValues, environment: [String: String]) -> OrchestratorConfiguration {
        var configuration = OrchestratorConfiguration()
        configuration.database = values.string("database", default: configuration.database)
        configuration.databasePasswordFile = values.string("database_password_file", default: configuration.databasePasswordFile)
        configuration.logLevel = values.string("log.level", default: configuration.logLevel)
        let format = values.string("log.format", default: configuration.logFormat.rawValue)
        if let known = LogFormat(rawValue: format) { configuration.logFormat = known } else { values.problems.add("log.format must be one of text, logfmt, json") }
        configuration.metricsListen = values.string("metrics.listen", default: configuration.metricsListen)
        configuration.retentionDoneDays = values.int("retention.done_days", default: configuration.retentionDoneDays)

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
        workers.shutdownGraceSeconds = values.int("workers.shutdown_grace_seconds", default: workers.shutdownGraceSeconds)
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
    ///
    /// Every number has an upper bound as well as a lower one: each is multiplied into seconds, bytes
    /// or dates, and a value past its bound would overflow or make no sense (a tick of a year).
    static func validate(_ configuration: OrchestratorConfiguration, into problems: ConfigurationProblems) {
        let require = problems.require
        func within(_ key: String, _ value: Int, _ range: ClosedRange<Int>, _ note: String = "") {
            require(range.contains(value), "\(key) must be between \(range.lowerBound) and \(range.upperBound)\(note) (got \(value))")
        }
        require(!configuration.database.isEmpty, "database must name a file")
        validateDatabase(configuration, into: problems)
        requireHTTPURL("cdn.endpoint", configuration.cdn.endpoint, example: "https://cdn.tencentcloudapi.com", into: problems)
        if configuration.pullEnabled {
            require(!configuration.cdn.secretID.isEmpty, "cdn.secret_id is not set (set it, or TENCENTCLOUD_SECRET_ID in the environment)")
            require(!configuration.cdn.secretKey.isEmpty, "cdn.secret_key is not set (set it, or TENCENTCLOUD_SECRET_KEY in the environment)")
        }
        if let ingest = configuration.ingest { validate(ingest, into: problems) }
        require(["global", "mainland", "overseas"].contains(configuration.cdn.area), "cdn.area must be global, mainland or overseas (got \(configuration.cdn.area))")
        let rate = configuration.cdn.requestsPerSecond
        require(rate > 0 && rate <= 1000, "cdn.requests_per_second must be more than 0 and at most 1000 (got \(rate))")
        within("cdn.discovery_minutes", configuration.cdn.discoveryMinutes, 1...10_080, " (a week)")
        let schedule = configuration.schedule
        within("schedule.tick_seconds", schedule.tickSeconds, 1...3600)
        within("schedule.lookback_hours", schedule.lookbackHours, 1...720, " (CDN logs are kept 30 days)")
        within("schedule.availability_delay_minutes", schedule.availabilityDelayMinutes, 0...1440, " (a day)")
        within("schedule.settle_hours", schedule.settleHours, 0...720, " (30 days)")
        within("schedule.publication_horizon_minutes", schedule.publicationHorizonMinutes, 0...43_200, " (30 days)")
        let workers = configuration.workers
        within("workers.concurrency", workers.concurrency, 1...256)
        within("workers.max_attempts", workers.maxAttempts, 1...1000)
        within("workers.backoff_base_seconds", workers.backoffBaseSeconds, 1...86_400, " (a day)")
        within("workers.backoff_cap_seconds", workers.backoffCapSeconds, 1...86_400, " (a day)")
        require(workers.backoffCapSeconds >= workers.backoffBaseSeconds, "workers.backoff_cap_seconds must be at least workers.backoff_base_seconds")
        within("workers.lease_seconds", workers.leaseSeconds, 3...3600)
        within("workers.max_window_minutes", workers.maxWindowMinutes, 1...10_080, " (a week)")
        within("retention.done_days", configuration.retentionDoneDays, 0...36_500, " (0 keeps everything)")
        within("workers.shutdown_grace_seconds", workers.shutdownGraceSeconds, 0...3600)
        if !configuration.metricsListen.isEmpty {
            require(ListenAddress(configuration.metricsListen) != nil, "metrics.listen must be HOST:PORT with a port in 0...65535, or empty to turn metrics off")
        }
        let download = configuration.download
        typealias Download = OrchestratorConfiguration.Download
        within("download.timeout_seconds", download.timeoutSeconds, 1...Download.maxTimeoutSeconds)
        within("download.min_bytes_per_second", download.minBytesPerSecond, 0...Download.maxMinBytesPerSecond, " (0: no floor)")
        within("download.stall_seconds", download.stallSeconds, 1...Download.maxStallSeconds)
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
                requireHTTPURL("sink.endpoint", sink.endpoint, example: "https://s3.us-east-1.amazonaws.com", into: problems)
            }
        }
        // Checked whatever the kind: the sizes are shifted into bytes at start-up.
        within("sink.multipart_threshold_mib", sink.multipartThresholdMiB, 5...5_242_880, " (5 TiB, the largest object)")
        within("sink.part_size_mib", sink.partSizeMiB, 5...5120, " (S3 and COS take parts of 5 MiB to 5 GiB)")
        within("sink.part_concurrency", sink.partConcurrency, 1...32)
        do {
            _ = try KeyTemplate(sink.keyTemplate)
        } catch {
            problems.add("sink.key_template: \(error.message)")
        }
        require(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(configuration.logLevel), "log.level must be one of trace, debug, info, notice, warning, error, critical")
    }

    /// Records a problem unless `text` is an http or https URL with a host. The value is echoed
    /// without any `user:password@`.
    private static func requireHTTPURL(_ key: String, _ text: String, example: String, into problems: ConfigurationProblems) {
        let url = URL(string: text)
        guard let url, url.host != nil, let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme) else {
            problems.add("\(key) must be an http or https URL such as \(example) (got \(withoutUserInfo(text)))")
            return
        }
    }

    /// `text` with a URL's `user:password@` replaced by `…@`.
    static func withoutUserInfo(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].firstIndex(of: "@") else { return text }
        let authority = text[schemeEnd.upperBound..<at]
        guard !authority.contains("/") else { return text }
        return text[..<schemeEnd.upperBound] + "…@" + text[text.index(after: at)...]
    }

    /// A PostgreSQL `database`: a well-formed URL without a password, an explicit spool directory (there
    /// is no database file to put it beside), and no push receiver (its spool lives in SQLite tables).
    static func validateDatabase(_ configuration: OrchestratorConfiguration, into problems: ConfigurationProblems) {
        guard configuration.usesPostgres else {
            problems.require(
                configuration.databasePasswordFile.isEmpty, "database_password_file goes with a postgres:// database, not a SQLite file")
            return
        }
        do {
            _ = try PostgresLocation(configuration.database)
        } catch {
            problems.add("\(error)")
        }
        problems.require(
            !configuration.workers.spoolDirectory.isEmpty,
            "workers.spool_directory must be set with a PostgreSQL database (each host needs a local spool directory of its own)")
        problems.require(
            configuration.ingest == nil,
            "ingest (the push receiver) is not supported with a PostgreSQL database yet: its spool lives in SQLite tables; "
                + "run the receiver with a SQLite database")
        if !configuration.databasePasswordFile.isEmpty, !FileManager.default.isReadableFile(atPath: configuration.databasePasswordFile) {
            problems.add("database_password_file \(configuration.databasePasswordFile) cannot be read")
        }
    }

    static func resolve(_ path: String, against base: String) -> String {
        guard !path.isEmpty, !path.hasPrefix("/"), !PostgresLocation.isPostgresURL(path) else { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
    }
}
