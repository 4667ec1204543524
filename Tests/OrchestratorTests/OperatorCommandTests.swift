import CDNSimulator
import Core
import Foundation
import JobModel
import Logging
import Store
import Testing

extension EndToEndTests {
@Suite("Operator commands (real binary)")
struct OperatorCommandTests {
    @Test("status --json, backfill and retry --failed work while run is running")
    func commandsBesideARunningService() async throws {
        let domains = ["o1.example"]
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: domains, packageBytes: 64 * 1024, latency: .milliseconds(150), seed: 3),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let sandbox = try ServiceSandbox(name: "operator")
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: domains, lookbackHours: 24, concurrency: 1)
            let service = try Binary.startService(config: sandbox.config, log: sandbox.log)
            try await waitUntil(timeout: 30, "the first window done") {
                guard FileManager.default.fileExists(atPath: sandbox.database.path) else { return false }
                let result = try Binary.run(["status", "--json", "--db", sandbox.database.path])
                guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                      let jobs = object["jobs"] as? [String: Int] else { return false }
                return (jobs["done"] ?? 0) >= 1
            }

            // A domain the CDN does not know fails at once (permanent error) ...
            let now = Date()
            let from = ISO8601DateFormatter().string(from: now.addingTimeInterval(-5 * 3600))
            let to = ISO8601DateFormatter().string(from: now.addingTimeInterval(-3 * 3600))
            let backfill = try Binary.run(["backfill", "--db", sandbox.database.path, "--domain", "ghost.example", "--from", from, "--to", to])
            #expect(backfill.status == 0, "\(backfill.stderr)")
            try await waitUntil(timeout: 60, "the unknown domain's windows failed") {
                let status = try Binary.run(["status", "--json", "--config", sandbox.config.path])
                let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
                return ((object?["jobs"] as? [String: Int])?["failed"] ?? 0) >= 2
            }

            // ... and retry --failed requeues them while the service runs.
            let retry = try Binary.run(["retry", "--failed", "--domain", "ghost.example", "--json", "--db", sandbox.database.path])
            #expect(retry.status == 0, "\(retry.stderr)")
            let requeued = (try JSONSerialization.jsonObject(with: Data(retry.stdout.utf8)) as? [String: Int])?["requeued"]
            #expect((requeued ?? 0) >= 2)

            let status = try Binary.run(["status", "--json", "--db", sandbox.database.path])
            #expect(status.status == 0)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let jobs = try #require(object["jobs"] as? [String: Int])
            #expect(Set(jobs.keys).isSuperset(of: ["pending", "running", "done", "failed"]))
            let perDomain = try #require(object["domains"] as? [[String: Any]])
            #expect(perDomain.contains { $0["domain"] as? String == "o1.example" && $0["done"] is Int })
            #expect(perDomain.allSatisfy { $0["downloads_avoided"] is Int })
            let avoided = try #require(object["downloads_avoided"] as? [String: Int])
            #expect(Set(avoided.keys) == ["total", "copy", "reconcile"])
            let table = try Binary.run(["status", "--db", sandbox.database.path])
            #expect(table.stdout.contains("o1.example") && table.stdout.contains("ghost.example"))
            #expect(table.stdout.contains("downloads avoided: ") && table.stdout.contains("AVOIDED"))
            let listed = try Binary.run(["jobs", "--state", "failed", "--json", "--db", sandbox.database.path])
            #expect(listed.status == 0)
            #expect(!sandbox.logTail.contains("secret-key"), "no secret in the log")
            #expect(service.stop(with: SIGTERM) == 0)
        } catch {
            try? await simulator.stop()
            Issue.record("\(error)\n\(sandbox.logTail)")
            return
        }
        try await simulator.stop()
    }

    @Test("text from outside (remote error messages) cannot put control characters on the operator's terminal")
    func outsideTextIsPrintable() async throws {
        let sandbox = try ServiceSandbox(name: "escapes")
        try FileManager.default.createDirectory(at: sandbox.database.deletingLastPathComponent(), withIntermediateDirectories: true)
        let store = try SQLiteJobStore(path: sandbox.database.path)
        let now = Date()
        try await store.setActiveDomains(["e.example"], source: "tencent-cdn", now: now)
        try await store.plan([DomainPlan(source: "tencent-cdn", domain: "e.example", firstHour: now.startOfHour.addingTimeInterval(-7200), endHour: now.startOfHour.addingTimeInterval(-3600))], now: now)
        let job = try #require(try await store.claimDueJobs(owner: "t/1/a", limit: 1, leaseDuration: 60, now: now).first)
        #expect(try await store.fail(job, error: JobError(code: "InternalError", message: "busy\u{1B}[2J\u{1B}[31m red\rover"), now: now))
        try store.close()
        for command in [["jobs"], ["status"]] {
            let output = try Binary.run(command + ["--db", sandbox.database.path])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(!output.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\r" }, "\(command)")
            #expect(output.stdout.contains("busy\\u{1b}[2J\\u{1b}[31m red\\u{d}over"), "\(output.stdout)")
        }
        // JSON keeps the text exact, escaped as JSON: the document parses and gives back the same string.
        let json = try Binary.run(["status", "--json", "--db", sandbox.database.path])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(!json.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\r" })
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let failures = try #require(document["recent_failures"] as? [[String: Any]])
        #expect(failures.first?["error_message"] as? String == "busy\u{1B}[2J\u{1B}[31m red\rover", "\(json.stdout)")
        #expect((document["domains"] as? [[String: Any]])?.first?["domain"] as? String == "e.example")
    }

    @Test("user errors print one clear line and exit non-zero")
    func userErrors() throws {
        let sandbox = try ServiceSandbox(name: "errors")
        let noConfig = try Binary.run(["status"], in: sandbox.directory)
        #expect(noConfig.status != 0)
        #expect(noConfig.stderr.contains("no configuration"))

        let missing = try Binary.run(["status", "--db", sandbox.directory.appendingPathComponent("none.sqlite").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no database at"))

        let garbage = sandbox.directory.appendingPathComponent("garbage.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: garbage)
        let notDatabase = try Binary.run(["status", "--db", garbage.path])
        #expect(notDatabase.status != 0)
        #expect(notDatabase.stderr.contains("cannot open the database"))

        try "database: ./x.sqlite\ncdn:\n  secret_id: a\n  secret_key: b\nworkers:\n  concurrency: lots\n".write(to: sandbox.config, atomically: true, encoding: .utf8)
        let badValue = try Binary.run(["run", "--config", sandbox.config.path])
        #expect(badValue.status != 0)
        #expect(badValue.stderr.contains("workers.concurrency"))

        try "database: ./x.sqlite\ncdn:\n  secret_id: a\n  secret_key: b\nsink:\n  kind: ftp\n".write(to: sandbox.config, atomically: true, encoding: .utf8)
        let badKind = try Binary.run(["run", "--config", sandbox.config.path])
        #expect(badKind.stderr.contains("sink.kind"))

        let environmentOverride = try Binary.run(["run", "--config", sandbox.config.path], environment: ["ORCHESTRATOR_SINK_KIND": "s4"])
        #expect(environmentOverride.stderr.contains("got s4"))

        // A typo in --to must not plan decades of future windows.
        let database = sandbox.directory.appendingPathComponent("backfill.sqlite")
        let today = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3 * 3600))
        let future = try Binary.run(["backfill", "--db", database.path, "--domain", "a.example", "--from", today, "--to", "2062-01-01"])
        #expect(future.status != 0)
        #expect(future.stderr.hasPrefix("Error: --to is in the future; the latest end is the end of the current hour"), "\(future.stderr)")
        #expect(!FileManager.default.fileExists(atPath: database.path), "nothing was planned")

        let noFailed = try Binary.run(["retry", "--db", garbage.path])
        #expect(noFailed.status != 0)
        #expect(noFailed.stderr.contains("--failed"))

        for output in [noConfig, missing, notDatabase, badValue, badKind] {
            #expect(!output.stderr.contains("Fatal error") && !output.stderr.contains("Stack dump"))
        }
    }

    @Test("download limits out of range stop the service naming each key")
    func downloadLimitsAreValidated() throws {
        let sandbox = try ServiceSandbox(name: "download-limits")
        try """
            database: ./x.sqlite
            cdn:
              secret_id: a
              secret_key: b
            download:
              timeout_seconds: 0
              min_bytes_per_second: -1
              stall_seconds: 7200
            """.write(to: sandbox.config, atomically: true, encoding: .utf8)
        let output = try Binary.run(["run", "--config", sandbox.config.path])
        #expect(output.status != 0)
        for key in ["download.timeout_seconds", "download.min_bytes_per_second", "download.stall_seconds"] {
            #expect(output.stderr.contains("invalid configuration: \(key) must be"), "\(key): \(output.stderr)")
        }
        let tooLong = try Binary.run(
            ["run", "--config", sandbox.config.path],
            environment: [
                "ORCHESTRATOR_DOWNLOAD_TIMEOUT_SECONDS": "30", "ORCHESTRATOR_DOWNLOAD_MIN_BYTES_PER_SECOND": "1024",
                "ORCHESTRATOR_DOWNLOAD_STALL_SECONDS": "60",
            ])
        #expect(tooLong.status != 0)
        #expect(tooLong.stderr.contains("download.stall_seconds must not be longer than download.timeout_seconds"), "\(tooLong.stderr)")
    }
}
}
