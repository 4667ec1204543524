import AsyncHTTPClient
import CDNSimulator
import Foundation
import Logging
import Store
import Testing
import TestSupport

/// Operating the real binary: the metrics and health endpoints, and stopping it with signals.
extension EndToEndTests {
@Suite("Operations (real binary)")
struct OperationsTests {
    static let quiet = Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("/metrics agrees with status --json after a run; /healthz and /readyz answer; log.format json writes one object per line")
    func metricsAgreeWithStatus() async throws {
        let domains = ["m1.example", "m2.example"]
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: domains, packageBytes: 32 * 1024, seed: 8, emptyHourRate: 0), logger: Self.quiet)
        let sandbox = try ServiceSandbox(name: "metrics")
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: domains, lookbackHours: 3)
            let service = try await sandbox.startServiceWhenReady(
                environment: ["ORCHESTRATOR_METRICS_LISTEN": "127.0.0.1:0", "ORCHESTRATOR_LOG_FORMAT": "json"])
            let store = try sandbox.store()
            try await waitUntil(timeout: 60, "every window done") {
                try await store.status(recentFailureLimit: 0).totals.done == domains.count * 3
            }
            let address = try await sandbox.loggedMetricsAddress()
            func get(_ path: String) async throws -> (Int, String) {
                let response = try await client.execute(HTTPClientRequest(url: "http://\(address)\(path)"), timeout: .seconds(10))
                let body = try await response.body.collect(upTo: 1 << 22)
                return (Int(response.status.code), String(buffer: body))
            }
            let (status, metrics) = try await get("/metrics")
            #expect(status == 200)
            let json = try Binary.run(["status", "--json", "--db", sandbox.database.path])
            let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let jobs = try #require(document["jobs"] as? [String: Int])
            for state in ["pending", "running", "done", "failed"] {
                #expect(metrics.contains("orchestrator_windows{state=\"\(state)\"} \(jobs[state] ?? -1)\n"), "\(state) in\n\(metrics)")
            }
            func value(_ line: String) -> Double? {
                metrics.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect((value("orchestrator_window_outcomes_total{outcome=\"done\"}") ?? 0) >= Double(jobs["done"] ?? 0))
            #expect((value("orchestrator_downloaded_bytes_total") ?? 0) > 0)
            #expect((value("orchestrator_uploaded_bytes_total") ?? 0) > 0)
            #expect(value("orchestrator_windows_planned_total") == Double(domains.count * 3))
            #expect(metrics.contains("orchestrator_cdn_api_duration_seconds_bucket"))
            #expect(metrics.contains("orchestrator_dependency_outage{dependency=\"sink\"} 0"))
            #expect(try await get("/healthz").0 == 200)
            let ready = try await get("/readyz")
            #expect(ready.0 == 200, "\(ready.1)")
            #expect(service.stop(with: SIGTERM) == 0)
            let lines = ((try? String(contentsOf: sandbox.log, encoding: .utf8)) ?? "").split(separator: "\n")
            #expect(lines.count > 3)
            for line in lines {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
                #expect(object?["level"] != nil && object?["message"] != nil, "not a JSON log line: \(line)")
            }
            try store.close()
        } catch {
            Issue.record("\(error)\n\(sandbox.logTail)")
        }
        try await client.shutdown()
        try await simulator.stop()
    }

    @Test("SIGTERM during transfers exits 0 within the grace period, hands the windows back unspent; a second signal does not wait")
    func gracefulAndImpatientShutdown() async throws {
        let domains = ["g1.example", "g2.example"]
        // Every response takes two seconds: windows are mid-transfer when the signals come.
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: domains, latency: .seconds(2), seed: 9, emptyHourRate: 0), logger: Self.quiet)
        let sandbox = try ServiceSandbox(name: "shutdown")
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: domains, lookbackHours: 4, leaseSeconds: 600)
            // Grace of one second: the transfers cannot finish in it.
            var service = try await sandbox.startServiceWhenReady(environment: ["ORCHESTRATOR_WORKERS_SHUTDOWN_GRACE_SECONDS": "1"])
            let store = try sandbox.store()
            try await waitUntil(timeout: 30, "windows running") { try await store.status(recentFailureLimit: 0).totals.running > 0 }
            var signalled = Date()
            #expect(service.stop(with: SIGTERM) == 0)
            #expect(Date().timeIntervalSince(signalled) < 1 + 5, "exited within the grace period and a margin")
            var totals = try await store.status(recentFailureLimit: 0).totals
            #expect(totals.running == 0, "interrupted windows were handed back at once, not left to their leases")
            let jobs = try await store.jobs(matching: .init(), limit: 100)
            #expect(jobs.allSatisfy { $0.state == .done || $0.attempts == 0 || $0.lastError?.code == "worker.interrupted" })
            #expect(sandbox.logTail.contains("interrupting running windows"), "\(sandbox.logTail)")

            // With a long grace period, a second signal still ends it at once.
            service = try await sandbox.startServiceWhenReady(environment: ["ORCHESTRATOR_WORKERS_SHUTDOWN_GRACE_SECONDS": "120"])
            try await waitUntil(timeout: 30, "windows running again") { try await store.status(recentFailureLimit: 0).totals.running > 0 }
            signalled = Date()
            kill(service.processIdentifier, SIGTERM)
            try await Task.sleep(for: .milliseconds(300))
            #expect(service.stop(with: SIGTERM) == 0)
            #expect(Date().timeIntervalSince(signalled) < 10, "the second signal did not wait out 120 s")
            totals = try await store.status(recentFailureLimit: 0).totals
            #expect(totals.running == 0)
            #expect(sandbox.logTail.contains("second signal"), "\(sandbox.logTail)")

            // Nothing lost: a restart finishes every window.
            service = try await sandbox.startServiceWhenReady()
            try await waitUntil(timeout: 120, "every window done after the restart") {
                try await store.status(recentFailureLimit: 0).totals.done == domains.count * 4
            }
            #expect(service.stop(with: SIGKILL) != 0)
            try store.close()
        } catch {
            Issue.record("\(error)\n\(sandbox.logTail)")
        }
        try await simulator.stop()
    }

    @Test("through a graceful stop /healthz answers and /readyz says stopping until the running windows are done; none is interrupted")
    func endpointsAnswerThroughTheGracePeriod() async throws {
        let domains = ["h1.example"]
        // Every response takes a second: the windows are mid-transfer when the signal comes.
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: domains, latency: .seconds(1), seed: 11, emptyHourRate: 0), logger: Self.quiet)
        let sandbox = try ServiceSandbox(name: "grace-metrics")
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: domains, lookbackHours: 3, leaseSeconds: 600)
            let service = try await sandbox.startServiceWhenReady(environment: [
                "ORCHESTRATOR_METRICS_LISTEN": "127.0.0.1:0", "ORCHESTRATOR_LOG_FORMAT": "json",
                "ORCHESTRATOR_WORKERS_SHUTDOWN_GRACE_SECONDS": "120",
            ])
            let address = try await sandbox.loggedMetricsAddress()
            let store = try sandbox.store()
            try await waitUntil(timeout: 30, "windows running") { try await store.status(recentFailureLimit: 0).totals.running > 0 }
            kill(service.processIdentifier, SIGTERM)
            // Ask both endpoints until the process is gone; a refused connection is -1.
            var health: [Int] = []
            var readiness: [(Int, String)] = []
            while !service.hasExited {
                for path in ["/healthz", "/readyz"] {
                    let answer: (Int, String)
                    do {
                        let response = try await client.execute(HTTPClientRequest(url: "http://\(address)\(path)"), timeout: .seconds(5))
                        answer = (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 16)))
                    } catch {
                        answer = (-1, "\(error)")
                    }
                    if path == "/healthz" { health.append(answer.0) } else { readiness.append(answer) }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(service.waitForExit() == 0, "\(sandbox.logTail)")
            #expect(health.first == 200, "/healthz after the signal: \(health)")
            #expect(health.filter { $0 == 200 }.count >= 3, "/healthz answered through the grace period: \(health)")
            #expect(readiness.contains { $0.0 == 503 && $0.1.contains("stopping") }, "/readyz after the signal: \(readiness)")
            #expect(!readiness.contains { $0.0 == 200 }, "never ready once stopping: \(readiness)")
            let jobs = try await store.jobs(matching: .init(), limit: 100)
            #expect(jobs.contains { $0.state == .done }, "the running windows finished in the grace period")
            #expect(jobs.allSatisfy { $0.state != .running && $0.lastError?.code != "worker.interrupted" }, "\(jobs)")
            #expect(!sandbox.logTail.contains("interrupting running windows"), "\(sandbox.logTail)")
            try store.close()
        } catch {
            Issue.record("\(error)\n\(sandbox.logTail)")
        }
        try await client.shutdown()
        try await simulator.stop()
    }

    @Test("a SIGTERM the moment the service says it is ready is a graceful stop (exit 0), every time")
    func sigtermRightAfterReady() async throws {
        let simulator = try await CDNSimulator.start(configuration: CDNSimulatorConfiguration(domains: ["e1.example"], seed: 10), logger: Self.quiet)
        let sandbox = try ServiceSandbox(name: "early-term")
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: ["e1.example"], lookbackHours: 2)
            for round in 1...5 {
                let service = try await sandbox.startServiceWhenReady()
                #expect(service.stop(with: SIGTERM) == 0, "round \(round)")
            }
        } catch {
            Issue.record("\(error)\n\(sandbox.logTail)")
        }
        try await simulator.stop()
    }
}
}
