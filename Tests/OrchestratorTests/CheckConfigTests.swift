import CDNSimulator
import Foundation
import Logging
import Testing
import TestSupport

/// Credentials in the environment of every `check-config` and `run` below, so that the outcome never
/// depends on the environment the tests run in.
private let credentials = [
    "TENCENTCLOUD_SECRET_ID": "AKIDexample0000000001", "TENCENTCLOUD_SECRET_KEY": "example-tencent-secret-key",
    "TENCENTCLOUD_SESSION_TOKEN": "", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE000000001", "AWS_SECRET_ACCESS_KEY": "example-aws-secret-key",
    "AWS_SESSION_TOKEN": "", "ORCHESTRATOR_CONFIG": "",
]

/// The repository's `examples/` directory.
private let examplesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples").standardizedFileURL

extension EndToEndTests {
@Suite("check-config and what run refuses (real binary)")
struct CheckConfigTests {
    @Test("every example configuration in examples/ passes check-config")
    func examplesPass() throws {
        let examples = try FileManager.default.contentsOfDirectory(atPath: examplesDirectory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(Set(examples).isSuperset(of: ["tencent-cdn-to-cos.yaml", "tencent-cdn-to-s3.yaml", "tencent-cdn-to-local.yaml"]), "\(examples)")
        for example in examples {
            let path = examplesDirectory.appendingPathComponent(example).path
            let result = try Binary.run(["check-config", "--config", path], environment: credentials)
            #expect(result.status == 0, "\(example): \(result.stderr)")
            #expect(result.stdout.hasPrefix("\(path): valid"), "\(example): \(result.stdout)")
            #expect(result.stderr.isEmpty, "\(example) holds no secret, so no warning: \(result.stderr)")
        }
    }

    @Test("each broken configuration fails naming the offending key, in check-config and in run alike", arguments: BrokenConfiguration.all)
    func brokenConfigurationFails(_ broken: BrokenConfiguration) throws {
        let sandbox = try ServiceSandbox(name: "broken-config")
        try broken.yaml.write(to: sandbox.config, atomically: true, encoding: .utf8)
        for command in [["check-config"], ["run"]] {
            let result = try Binary.run(command + ["--config", sandbox.config.path], environment: credentials.merging(broken.environment) { $1 })
            #expect(result.status != 0, "\(command) accepted \(broken.name)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.contains { $0.hasSuffix("invalid configuration: " + broken.problem) }, "\(command), \(broken.name): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database.path), "run refused before opening the database")
    }

    @Test("check-config --probe asks the CDN API and the local sink with the configured credentials; a wrong key fails naming the CDN")
    func probeCDNAndLocalSink() async throws {
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: ["p1.example", "p2.example"], secretKey: "probe-right-secret-key", seed: 9),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        defer { Task { try? await simulator.stop() } }
        let sandbox = try ServiceSandbox(name: "probe")
        func write(secretKey: String) throws {
            try """
                database: ./state/orchestrator.sqlite
                cdn:
                  endpoint: \(simulator.baseURL.absoluteString)
                  secret_id: AKIDsimulator
                  secret_key: \(secretKey)
                sink:
                  kind: local
                  directory: ./bucket

                """.write(to: sandbox.config, atomically: true, encoding: .utf8)
            chmod(sandbox.config.path, 0o600)
        }

        try write(secretKey: "probe-right-secret-key")
        let good = try Binary.run(["check-config", "--probe", "--config", sandbox.config.path], environment: credentials)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains("probe ok: cdn \(simulator.baseURL.absoluteString): DescribeDomains answered (2 domains)"), "\(good.stdout)")
        #expect(good.stdout.contains("probe ok: sink local"), "\(good.stdout)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.bucket.path), "the probe creates nothing")
        #expect(!FileManager.default.fileExists(atPath: sandbox.database.path), "check-config opens no database")

        try write(secretKey: "probe-wrong-secret-key")
        let bad = try Binary.run(["check-config", "--probe", "--config", sandbox.config.path], environment: credentials)
        #expect(bad.status != 0)
        #expect(bad.stdout.contains("probe FAILED: cdn") && bad.stdout.contains("AuthFailure"), "\(bad.stdout)")
        #expect(bad.stderr.contains("the probe of cdn failed"), "\(bad.stderr)")
        #expect(!(bad.stdout + bad.stderr).contains("probe-wrong-secret-key"))
    }

    @Test("check-config --probe asks an S3 store (rclone serve s3): it answers the right key and refuses a wrong one")
    func probeS3Sink() async throws {
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: ["p1.example"], seed: 9),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        defer { Task { try? await simulator.stop() } }
        try await RcloneS3Server.with(buckets: ["logs"]) { server in
            let sandbox = try ServiceSandbox(name: "probe-s3")
            func check(secretKey: String) throws -> Binary.Output {
                try """
                    cdn:
                      endpoint: \(simulator.baseURL.absoluteString)
                      secret_id: AKIDsimulator
                      secret_key: simulator-secret-key
                    sink:
                      kind: s3
                      endpoint: \(server.endpoint)
                      bucket: logs
                      region: us-east-1
                      path_style: true
                      secret_id: \(RcloneS3Server.accessKeyID)
                      secret_key: \(secretKey)

                    """.write(to: sandbox.config, atomically: true, encoding: .utf8)
                chmod(sandbox.config.path, 0o600)
                return try Binary.run(["check-config", "--probe", "--config", sandbox.config.path], environment: credentials)
            }
            let good = try check(secretKey: RcloneS3Server.secretAccessKey)
            #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
            #expect(good.stdout.contains("probe ok: sink s3 bucket logs"), "\(good.stdout)")
            let bad = try check(secretKey: "rclone-wrong-secret-key")
            #expect(bad.status != 0)
            #expect(bad.stdout.contains("probe ok: cdn"), "\(bad.stdout)")
            #expect(bad.stdout.contains("probe FAILED: sink s3 bucket logs"), "\(bad.stdout)")
            #expect(bad.stderr.contains("the probe of sink failed"), "\(bad.stderr)")
            #expect(!(bad.stdout + bad.stderr).contains("rclone-wrong-secret-key"))
        }
    }

    @Test("no secret is echoed: YAML syntax errors on the secret's line, a duplicated key, a misspelled secret key, a URL with a password")
    func secretsAreNeverEchoed() throws {
        let secret = "SuperSecretValue-7f3a9"
        let files = [
            // Yams quotes the offending line after a problem without context; a line ending in ':'
            // was taken for the problem itself.
            "cdn:\n  secret_key: \(secret):\n  area: global\n",
            "cdn:\n  secret_key: \"\(secret)\n  area: global\n",
            "cdn:\n  secret_key: [\(secret)\n  area: global\n",
            "cdn:\n  secret_key: \(secret)\n\tarea: global\n",
            // Yams puts the whole file in a duplicated key's error.
            "cdn:\n  secret_key: \(secret)\n  secret_key: \(secret)\n",
            "cdn:\n  secret_kye: \(secret)\nsink:\n  kind: s3\n  secret_key: \(secret)\n  bucket: b\n  sekret_key: \(secret)\n",
            "cdn:\n  endpoint: ftp://AKIDuser:\(secret)@cdn.example.com/\n",
            "sink:\n  kind: s3\n  bucket: b\n  endpoint: gopher://u:\(secret)@store.example.com\n",
        ]
        let sandbox = try ServiceSandbox(name: "no-echo")
        for text in files {
            try text.write(to: sandbox.config, atomically: true, encoding: .utf8)
            for command in [["check-config"], ["run"], ["status"]] {
                let result = try Binary.run(command + ["--config", sandbox.config.path], environment: credentials)
                #expect(result.status != 0, "\(command) accepted:\n\(text)")
                #expect(!(result.stdout + result.stderr).contains(secret), "\(command) echoed the secret of:\n\(text)\n\(result.stderr)")
                #expect(!result.stderr.isEmpty)
            }
        }
        // The misspelled secret keys are named, without their values.
        try files[5].write(to: sandbox.config, atomically: true, encoding: .utf8)
        let misspelled = try Binary.run(["check-config", "--config", sandbox.config.path], environment: credentials)
        #expect(misspelled.stderr.contains("unknown key cdn.secret_kye (did you mean cdn.secret_key?)"), "\(misspelled.stderr)")
        #expect(misspelled.stderr.contains("unknown key sink.sekret_key (did you mean sink.secret_key?)"), "\(misspelled.stderr)")
        try files[6].write(to: sandbox.config, atomically: true, encoding: .utf8)
        let url = try Binary.run(["check-config", "--config", sandbox.config.path], environment: credentials)
        #expect(url.stderr.contains("cdn.endpoint must be an http or https URL such as https://cdn.tencentcloudapi.com (got ftp://…@cdn.example.com/)"), "\(url.stderr)")
    }

    @Test("a configuration file that holds a secret and that others may read gets a warning naming the key, not the value")
    func readableSecretWarns() throws {
        let sandbox = try ServiceSandbox(name: "mode")
        try "cdn:\n  secret_key: file-held-secret-value\nsink:\n  kind: local\n  directory: ./bucket\n"
            .write(to: sandbox.config, atomically: true, encoding: .utf8)
        chmod(sandbox.config.path, 0o644)
        let readable = try Binary.run(["check-config", "--config", sandbox.config.path], environment: credentials)
        #expect(readable.status == 0, "\(readable.stderr)")
        #expect(readable.stderr == "warning: \(sandbox.config.path) sets cdn.secret_key and is readable by group or others (mode 644); chmod 600 it, or take the secret from the environment\n", "\(readable.stderr)")
        chmod(sandbox.config.path, 0o600)
        let private_ = try Binary.run(["check-config", "--config", sandbox.config.path], environment: credentials)
        #expect(private_.status == 0 && private_.stderr.isEmpty, "\(private_.stderr)")
        // A file without secrets may be readable by anyone.
        try "sink:\n  kind: local\n".write(to: sandbox.config, atomically: true, encoding: .utf8)
        chmod(sandbox.config.path, 0o644)
        let plain = try Binary.run(["check-config", "--config", sandbox.config.path], environment: credentials)
        #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain.stderr)")
    }
}
}

/// A configuration with one mistake, and the problem line it must produce.
struct BrokenConfiguration: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var problem: String
    var environment: [String: String] = [:]

    var testDescription: String { name }

    static let all: [BrokenConfiguration] = [
        BrokenConfiguration(
            name: "misspelled key", yaml: "workers:\n  concurency: 4\n",
            problem: "unknown key workers.concurency (did you mean workers.concurrency?)"),
        BrokenConfiguration(
            name: "key in the wrong section", yaml: "workers:\n  tick_seconds: 5\n",
            problem: "unknown key workers.tick_seconds (did you mean schedule.tick_seconds?)"),
        BrokenConfiguration(
            name: "misspelled section", yaml: "sinks:\n  kind: local\n",
            problem: "unknown key sinks.kind (did you mean sink.kind?)"),
        BrokenConfiguration(
            name: "hours that overflow a duration", yaml: "schedule:\n  settle_hours: 9223372036854775807\n",
            problem: "schedule.settle_hours must be between 0 and 720 (30 days) (got 9223372036854775807)"),
        BrokenConfiguration(
            name: "minutes past the bound", yaml: "cdn:\n  discovery_minutes: 100000000\n",
            problem: "cdn.discovery_minutes must be between 1 and 10080 (a week) (got 100000000)"),
        BrokenConfiguration(
            name: "a number no integer holds", yaml: "workers:\n  lease_seconds: 99999999999999999999999\n",
            problem: "workers.lease_seconds must be a whole number (got 99999999999999999999999)"),
        BrokenConfiguration(
            name: "infinite rate", yaml: "cdn:\n  requests_per_second: .inf\n",
            problem: "cdn.requests_per_second must be more than 0 and at most 1000 (got inf)"),
        BrokenConfiguration(
            name: "part size past S3's largest", yaml: "sink:\n  kind: s3\n  bucket: b\n  part_size_mib: 1000000000000\n",
            problem: "sink.part_size_mib must be between 5 and 5120 (S3 and COS take parts of 5 MiB to 5 GiB) (got 1000000000000)"),
        BrokenConfiguration(
            name: "a CDN endpoint that is not http(s)", yaml: "cdn:\n  endpoint: ftp://cdn.tencentcloudapi.com\n",
            problem: "cdn.endpoint must be an http or https URL such as https://cdn.tencentcloudapi.com (got ftp://cdn.tencentcloudapi.com)"),
        BrokenConfiguration(
            name: "a sink endpoint that is not http(s)", yaml: "sink:\n  kind: s3\n  bucket: b\n  endpoint: file:///srv/logs\n",
            problem: "sink.endpoint must be an http or https URL such as https://s3.us-east-1.amazonaws.com (got file:///srv/logs)"),
        BrokenConfiguration(
            name: "no CDN credentials", yaml: "sink:\n  kind: local\n",
            problem: "cdn.secret_key is not set (set it, or TENCENTCLOUD_SECRET_KEY in the environment)",
            environment: ["TENCENTCLOUD_SECRET_KEY": ""]),
        BrokenConfiguration(
            name: "no S3 credentials", yaml: "sink:\n  kind: s3\n  bucket: b\n",
            problem: "sink.secret_id is not set (set it, or AWS_ACCESS_KEY_ID in the environment)",
            environment: ["AWS_ACCESS_KEY_ID": ""]),
        BrokenConfiguration(
            name: "no COS credentials", yaml: "sink:\n  kind: cos\n  bucket: b-1250000000\n  region: ap-beijing\n",
            problem: "sink.secret_key is not set (set it, or TENCENTCLOUD_SECRET_KEY in the environment)",
            environment: ["TENCENTCLOUD_SECRET_KEY": ""]),
        BrokenConfiguration(
            name: "a password in the PostgreSQL URL",
            yaml: "database: postgres://archiver:hunter2-in-the-url@127.0.0.1:5432/logs\nworkers:\n  spool_directory: ./spool\n",
            problem: "database: the URL must not carry a password; put it in the file named by database_password_file, or in PGPASSWORD"),
        BrokenConfiguration(
            name: "PostgreSQL without a spool directory", yaml: "database: postgres://archiver@127.0.0.1:5432/logs\n",
            problem: "workers.spool_directory must be set with a PostgreSQL database (each host needs a local spool directory of its own)"),
        BrokenConfiguration(
            name: "the push receiver with PostgreSQL",
            yaml: """
                database: postgres://archiver@127.0.0.1:5432/logs
                workers:
                  spool_directory: ./spool
                ingest:
                  listen: 127.0.0.1:0
                  endpoints:
                    - path: /logs/www.example.com
                      domain: www.example.com
                      headers: { X-Api-Key: a-long-random-value-for-the-test }

                """,
            problem: "ingest (the push receiver) is not supported with a PostgreSQL database yet: its spool lives in SQLite tables; "
                + "run the receiver with a SQLite database"),
        BrokenConfiguration(
            name: "a password file with a SQLite database", yaml: "database_password_file: ./pgpassword\n",
            problem: "database_password_file goes with a postgres:// database, not a SQLite file"),
    ] + ingestEndpoints

    /// A push-only configuration whose `ingest.endpoints` is `endpoints` (YAML lines under it).
    static func push(_ endpoints: String) -> String {
        "sink:\n  kind: local\n  directory: ./bucket\ningest:\n  endpoints:\n" + endpoints
    }

    /// Bad `ingest.endpoints` entries: each refused with a message naming the entry and what it lacks.
    static let ingestEndpoints: [BrokenConfiguration] = [
        BrokenConfiguration(
            name: "ingest endpoints not a list", yaml: push("    path: /logs\n"),
            problem: "ingest.endpoints must be a list of endpoints, each with path, domain or disid_domains, and headers"),
        BrokenConfiguration(
            name: "ingest endpoint not a map", yaml: push("    - /logs/www.example.com\n"),
            problem: "ingest.endpoints[0] must be a map with path, domain or disid_domains, and headers"),
        BrokenConfiguration(
            name: "ingest endpoint path without a slash", yaml: push("    - { path: logs, domain: www.example.com }\n"),
            problem: "ingest.endpoints[0].path must be a path starting with / (got logs)"),
        BrokenConfiguration(
            name: "ingest endpoint with no domain", yaml: push("    - { path: /logs }\n"),
            problem: "ingest.endpoints[0] needs a domain or a disid_domains map"),
        BrokenConfiguration(
            name: "ingest endpoint with both domain and disid_domains",
            yaml: push("    - { path: /logs, domain: a.example, disid_domains: { \"1\": b.example } }\n"),
            problem: "ingest.endpoints[0] has both domain and disid_domains; give one"),
        BrokenConfiguration(
            name: "ingest endpoint with an unknown key", yaml: push("    - { path: /logs, domain: a.example, header: { X-Api-Key: k } }\n"),
            problem: "ingest.endpoints[0].header is not a known key (path, domain, disid_domains, headers)"),
        BrokenConfiguration(
            name: "ingest endpoint header pair without a value",
            yaml: push("    - path: /logs\n      domain: a.example\n      headers:\n        - { name: X-Api-Key }\n"),
            problem: "ingest.endpoints[0].headers[0] must have a name and a value"),
        BrokenConfiguration(
            name: "ingest endpoints with the same path twice",
            yaml: push("    - { path: /logs, domain: a.example }\n    - { path: /logs, domain: b.example }\n"),
            problem: "ingest.endpoints lists the same path twice"),
        BrokenConfiguration(
            name: "ingest endpoint domain that is not a host name", yaml: push("    - { path: /logs, domain: ../etc }\n"),
            problem: "ingest.endpoints[0].domain must be a host name such as www.example.com (got ../etc)"),
        BrokenConfiguration(
            name: "ingest endpoints in the environment, second entry bad", yaml: push("    - { path: /logs, domain: a.example }\n"),
            problem: "ORCHESTRATOR_INGEST_ENDPOINTS[1].path must be a path starting with / (got x)",
            environment: ["ORCHESTRATOR_INGEST_ENDPOINTS": #"[{"path": "/a", "domain": "a.example"}, {"path": "x", "domain": "b.example"}]"#]),
    ]
}
