import Foundation
import Store
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `orchestrator` executable built beside the tests.
enum Binary {
    /// The executable: `ORCHESTRATOR_BINARY`, or `orchestrator` in the build directory holding the tests.
    static var url: URL {
        if let explicit = ProcessInfo.processInfo.environment["ORCHESTRATOR_BINARY"] {
            return URL(fileURLWithPath: explicit)
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("orchestrator")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/debug/orchestrator").standardizedFileURL
    }

    /// What a finished command printed.
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `orchestrator arguments…` to completion in `directory`.
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Output {
        try start(arguments, in: directory, environment: environment).wait()
    }

    /// A command started in the background; `wait()` collects what it printed.
    struct Started {
        let process: Process
        let out: Pipe
        let err: Pipe

        /// Waits for the command to exit.
        func wait() -> Output {
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            let status = process.waitForExit()
            return Output(status: status, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
        }
    }

    /// Starts `orchestrator arguments…` without waiting for it, so several can run at once.
    static func start(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Started {
        try start(executable: url, arguments, in: directory, environment: environment)
    }

    /// Starts `executable arguments…` without waiting for it.
    static func start(executable: URL, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Started {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let started = Started(process: process, out: Pipe(), err: Pipe())
        process.standardOutput = started.out
        process.standardError = started.err
        try process.run()
        return started
    }

    /// Starts `orchestrator run --config FILE` in the background, its log going to `log` (emptied first).
    static func startService(config: URL, log: URL, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = url
        process.arguments = ["run", "--config", config.path]
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }
}

extension Process {
    /// Sends `signal` and waits for the process to exit; returns its status (`waitForExit`).
    @discardableResult
    func stop(with signal: Int32) -> Int32 {
        if !hasExited { kill(processIdentifier, signal) }
        return waitForExit()
    }
}

/// A scratch directory with a service configuration pointing at a simulator.
final class ServiceSandbox {
    let directory: URL
    var config: URL { directory.appendingPathComponent("orchestrator.yaml") }
    var database: URL { directory.appendingPathComponent("state/orchestrator.sqlite") }
    var bucket: URL { directory.appendingPathComponent("bucket") }
    var spool: URL { directory.appendingPathComponent("state/orchestrator.sqlite.spool") }
    var log: URL { directory.appendingPathComponent("service.log") }

    init(name: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes the configuration file. `extra` lines are appended under the given sections.
    func writeConfig(
        endpoint: URL, domains: [String], lookbackHours: Int, concurrency: Int = 2, maxAttempts: Int = 8, leaseSeconds: Int = 10,
        tickSeconds: Int = 1
    ) throws {
        let text = """
            database: ./state/orchestrator.sqlite
            cdn:
              endpoint: \(endpoint.absoluteString)
              secret_id: AKIDsimulator
              secret_key: simulator-secret-key
              domains: [\(domains.joined(separator: ", "))]
            schedule:
              tick_seconds: \(tickSeconds)
              lookback_hours: \(lookbackHours)
              availability_delay_minutes: 60
              publication_horizon_minutes: 60
            workers:
              concurrency: \(concurrency)
              max_attempts: \(maxAttempts)
              backoff_base_seconds: 1
              backoff_cap_seconds: 2
              lease_seconds: \(leaseSeconds)
            sink:
              kind: local
              directory: ./bucket
            log:
              level: info

            """
        try text.write(to: config, atomically: true, encoding: .utf8)
    }

    /// Starts `orchestrator run` on this sandbox's configuration and waits until it logs that it is
    /// ready (database open and migrated), failing early if it exits first.
    func startServiceWhenReady(timeout: TimeInterval = 30, environment: [String: String] = [:]) async throws -> Process {
        let service = try Binary.startService(config: config, log: log, environment: environment)
        try await waitUntilReady(service, timeout: timeout)
        return service
    }

    /// Waits until `service` logs that it is ready, failing early if it exits first. `startService`
    /// starts the log afresh, so the line is this process's.
    func waitUntilReady(_ service: Process, timeout: TimeInterval = 30) async throws {
        try await waitUntil(timeout: timeout, "the service ready") {
            guard !service.hasExited else { throw HarnessError("the service exited with \(service.waitForExit())\n\(logTail)") }
            return ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("service ready")
        }
    }

    /// The `host:port` the metrics endpoint logged it listens on (the service runs with
    /// `ORCHESTRATOR_LOG_FORMAT=json` and `ORCHESTRATOR_METRICS_LISTEN=127.0.0.1:0`).
    func loggedMetricsAddress() async throws -> String {
        var address = ""
        try await waitUntil(timeout: 10, "the metrics address logged") {
            let log = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            guard let range = log.range(of: #""metrics\.address":"127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else { return false }
            address = String(log[range].dropFirst(#""metrics.address":""#.count))
            return true
        }
        return address
    }

    /// Opens the service's database (it exists once the service started).
    func store() throws -> SQLiteJobStore { try SQLiteJobStore(path: database.path, create: false) }

    /// Files under `directory` whose names match `predicate`.
    func files(under directory: URL, where predicate: (String) -> Bool) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter { predicate(($0 as NSString).lastPathComponent) }
    }

    /// The service log so far, for failure messages.
    var logTail: String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(30).joined(separator: "\n")
    }
}

/// Waits for an expectation by polling it, failing after `timeout` seconds.
///
/// The service under test is another process, so there is no in-process signal to await; polling
/// its database at a short interval is the expectation.
func waitUntil(timeout: TimeInterval, _ description: String, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try await condition() { return }
        guard Date() < deadline else { throw HarnessError("timed out after \(Int(timeout)) s waiting for: \(description)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// A failure of the test harness itself.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Every test that runs the real binary, one at a time: they start processes that compete for the
/// machine's cores, and their timeouts assume they have them.
@Suite("End to end (real binary)", .serialized)
struct EndToEndTests {}
