import CDNSimulator
import Foundation
import JobModel
import Logging
import PostgresStore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Three `orchestrator run` processes ("hosts", each with its own spool) share one PostgreSQL database
/// and one sink; one is SIGKILLed while it holds leases. The others rescue its windows once their
/// leases expire, and in the end every window is done once, no package was fetched by two workers at
/// the same time, and every stored package is byte-identical to what the simulator serves.
extension EndToEndTests {
@Suite("Several hosts on PostgreSQL (real binary)")
struct PostgresHostsTests {
    @Test("three hosts, one SIGKILLed mid-run: every window done once, never two downloads of a package at once, all identical")
    func threeHostsOneKilled() async throws {
        let server = try PostgresServer.shared()
        let database = try server.createDatabase(prefix: "hosts")
        let url = server.url(database: database)
        let domains = ["p1.example", "p2.example", "p3.example", "p4.example"]
        let hours = 6
        let expected = domains.count * hours
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: domains, packageBytes: 256 * 1024, latency: .milliseconds(300), seed: 17, emptyHourRate: 0),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let root = try ServiceSandbox(name: "pg-hosts")
        let bucket = root.directory.appendingPathComponent("bucket")
        let passwordFile = root.directory.appendingPathComponent("pgpassword")
        try (PostgresServer.password + "\n").write(to: passwordFile, atomically: true, encoding: .utf8)
        var hosts: [(process: Process, log: URL)] = []
        var watcher: PostgresJobStore?
        do {
            for index in 0..<3 {
                let directory = root.directory.appendingPathComponent("host\(index)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let config = directory.appendingPathComponent("orchestrator.yaml")
                try """
                    database: \(url)
                    database_password_file: \(passwordFile.path)
                    cdn:
                      endpoint: \(simulator.baseURL.absoluteString)
                      secret_id: AKIDsimulator
                      secret_key: simulator-secret-key
                      domains: [\(domains.joined(separator: ", "))]
                    schedule:
                      tick_seconds: 1
                      lookback_hours: \(hours)
                      availability_delay_minutes: 60
                      publication_horizon_minutes: 60
                    workers:
                      concurrency: 2
                      max_attempts: 8
                      backoff_base_seconds: 1
                      backoff_cap_seconds: 2
                      lease_seconds: 6
                      spool_directory: ./spool
                    sink:
                      kind: local
                      directory: \(bucket.path)
                    log:
                      level: info

                    """.write(to: config, atomically: true, encoding: .utf8)
                let log = directory.appendingPathComponent("service.log")
                hosts.append((try Binary.startService(config: config, log: log), log))
            }
            for host in hosts {
                try await waitUntil(timeout: 60, "a host ready") {
                    guard !host.process.hasExited else { throw HarnessError("a host exited with \(host.process.waitForExit())\n\(Self.tail(host.log))") }
                    return ((try? String(contentsOf: host.log, encoding: .utf8)) ?? "").contains("service ready")
                }
            }
            let store = try await PostgresJobStore.open(try PostgresLocation(url), password: PostgresServer.password, schema: .requireCurrent)
            watcher = store

            // Kill the first host while it holds leases, once some windows are done.
            let victim = hosts[0].process
            let victimOwner = "/\(victim.processIdentifier)/"
            try await waitUntil(timeout: 120, "the first host holding a lease after some windows are done") {
                let running = try await store.jobs(matching: JobFilter(state: .running), limit: 100)
                let done = try await store.status(recentFailureLimit: 0).totals.done
                return done >= 2 && running.contains { $0.leaseOwner?.contains(victimOwner) == true }
            }
            let orphaned = try await store.jobs(matching: JobFilter(state: .running), limit: 100)
                .filter { $0.leaseOwner?.contains(victimOwner) == true }.map(\.id)
            victim.stop(with: SIGKILL)
            #expect(!orphaned.isEmpty)
            // The others rescue its windows by lease expiry within two lease periods (12 s): the lease
            // runs out at most one period after the kill, and every host reaps each second.
            try await waitUntil(timeout: 12, "the killed host's windows rescued within two lease periods") {
                try await orphaned.asyncMap { try await store.job(id: $0)?.leaseOwner }.allSatisfy { $0?.contains(victimOwner) != true }
            }

            try await waitUntil(timeout: 240, "every window done by the two hosts left") {
                for host in hosts.dropFirst() where host.process.hasExited {
                    throw HarnessError("a surviving host exited with \(host.process.waitForExit())\n\(Self.tail(host.log))")
                }
                return try await store.status(recentFailureLimit: 0).totals.done == expected
            }
            for host in hosts.dropFirst() {
                #expect(host.process.stop(with: SIGTERM) == 0, "graceful stop\n\(Self.tail(host.log))")
            }

            let status = try await store.status(recentFailureLimit: 10)
            #expect(status.totals == StateCounts(done: expected))
            // The windows the killed host held were rescued through lease expiry by the others.
            for id in orphaned {
                let job = try #require(try await store.job(id: id))
                #expect(job.state == .done)
                #expect(job.attempts >= 2, "leased by the killed host, then by another")
            }
            #expect(simulator.simulator.counters.overlappingDownloads.isEmpty, "packages fetched twice at once: \(simulator.simulator.counters.overlappingDownloads)")
            // Every package fetched once, but those of the windows the killed host held.
            let served = simulator.simulator.counters.servedDownloads
            let perPackage = Dictionary(grouping: served) { "\($0.domain) \($0.hourStart) \($0.area.rawValue)" }
            let repeated = perPackage.filter { $0.value.count > 1 }
            let orphanedWindows = try await orphaned.asyncMap { try await store.job(id: $0)!.window }
            for (package, _) in repeated {
                let parts = package.split(separator: " ")
                let window = orphanedWindows.first { $0.domain == String(parts[0]) && Int($0.hour.timeIntervalSince1970) == Int(parts[1]) }
                #expect(window != nil, "\(package) was downloaded \(repeated[package]!.count) times but its window was not the killed host's")
            }
            let comparison = try await StoredPackages(store: store, simulator: simulator.simulator, bucket: bucket).compare()
            #expect(comparison.compared >= expected)
            #expect(comparison.differences.isEmpty, "\(comparison.differences)")
            // The password never reaches a log.
            for host in hosts {
                let log = (try? String(contentsOf: host.log, encoding: .utf8)) ?? ""
                #expect(!log.contains(PostgresServer.password))
                #expect(log.contains(url) || log.contains("127.0.0.1:\(server.port)/\(database)"))
            }
            store.close()
        } catch {
            for host in hosts where !host.process.hasExited { host.process.stop(with: SIGKILL) }
            watcher?.close()
            try? await simulator.stop()
            Issue.record("\(error)\n\(hosts.map { Self.tail($0.log) }.joined(separator: "\n---\n"))")
            return
        }
        try await simulator.stop()
    }

    @Test("a host starting on PostgreSQL leaves the leases of the hosts already running alone")
    func startingHostKeepsOthersLeases() async throws {
        let server = try PostgresServer.shared()
        let url = server.url(database: try server.createDatabase(prefix: "leases"))
        let simulator = try await CDNSimulator.start(
            // No empty hours: with only two windows, both could be hours the simulator leaves without a
            // package (at 03:00 to 04:00 UTC on 2026-12-02 they were), and neither would be done in time.
            configuration: CDNSimulatorConfiguration(domains: ["l.example"], packageBytes: 16 * 1024, seed: 5, emptyHourRate: 0),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let sandbox = try ServiceSandbox(name: "pg-leases")
        var service: Process?
        do {
            // Another host's lease, as long as an hour: alive, whatever its owner name says.
            let store = try await PostgresJobStore.open(try PostgresLocation(url), password: PostgresServer.password)
            defer { store.close() }
            let now = Date()
            let hour = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600 - 5 * 3600)
            try await store.plan([DomainPlan(source: "tencent-cdn", domain: "held.example", firstHour: hour, endHour: hour.addingTimeInterval(3600))], now: now)
            let held = try #require(try await store.claimDueJobs(owner: "other-host/1/abcd", limit: 1, leaseDuration: 3600, now: now).first)
            try """
                database: \(url)
                cdn:
                  endpoint: \(simulator.baseURL.absoluteString)
                  secret_id: AKIDsimulator
                  secret_key: simulator-secret-key
                  domains: [l.example]
                schedule:
                  tick_seconds: 1
                  lookback_hours: 2
                workers:
                  spool_directory: ./spool
                sink:
                  kind: local
                  directory: ./bucket

                """.write(to: sandbox.config, atomically: true, encoding: .utf8)
            service = try await sandbox.startServiceWhenReady(environment: ["PGPASSWORD": PostgresServer.password])
            // Ready means past the start-up; give its scheduler a few ticks too.
            try await waitUntil(timeout: 30, "the service's own windows done") {
                try await store.jobs(matching: JobFilter(state: .done, domain: "l.example"), limit: 10).count >= 1
            }
            let after = try #require(try await store.job(id: held.id))
            #expect(after.state == .running && after.leaseOwner == "other-host/1/abcd", "\(after)\n\(sandbox.logTail)")
            #expect(try await store.complete(held, files: [], final: false, now: Date()), "the other host still holds its lease")
            #expect(service?.stop(with: SIGTERM) == 0)
        } catch {
            service?.stop(with: SIGKILL)
            try? await simulator.stop()
            Issue.record("\(error)\n\(sandbox.logTail)")
            return
        }
        try await simulator.stop()
    }

    @Test("migrate, status, jobs, retry --failed and check-config take a postgres URL; the password never shows")
    func operatorCommandsOnAPostgresURL() async throws {
        let server = try PostgresServer.shared()
        let database = try server.createDatabase(prefix: "operator")
        let url = server.url(database: database)
        let withPassword = ["PGPASSWORD": PostgresServer.password, "ORCHESTRATOR_CONFIG": ""]

        // The inspection commands never create the schema; migrate does, once.
        let early = try Binary.run(["status", "--db", url], environment: withPassword)
        #expect(early.status != 0)
        #expect(early.stderr.contains("orchestrator migrate"), "\(early.stderr)")
        let migrated = try Binary.run(["migrate", "--db", url], environment: withPassword)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("applied 0001_schema"), "\(migrated.stdout)")
        let again = try Binary.run(["migrate", "--db", url], environment: withPassword)
        #expect(again.stdout.contains("is current"), "\(again.stdout)")

        // A failed window, made through the store as a host would.
        let store = try await PostgresJobStore.open(try PostgresLocation(url), password: PostgresServer.password, schema: .requireCurrent)
        defer { store.close() }
        let hour = Date(timeIntervalSince1970: 1_793_491_200)
        try await store.setActiveDomains(["o.example"], source: "tencent-cdn", now: hour)
        try await store.plan([DomainPlan(source: "tencent-cdn", domain: "o.example", firstHour: hour, endHour: hour.addingTimeInterval(7200))], now: hour)
        let leased = try await store.claimDueJobs(owner: "test", limit: 1, leaseDuration: 60, now: hour.addingTimeInterval(7200))
        #expect(try await store.fail(try #require(leased.first), error: JobError(code: "x.y", message: "for the test"), now: hour.addingTimeInterval(7200)))

        let status = try Binary.run(["status", "--json", "--db", url], environment: withPassword)
        #expect(status.status == 0, "\(status.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect((object?["jobs"] as? [String: Int])?["failed"] == 1, "\(status.stdout)")
        #expect((object?["jobs"] as? [String: Int])?["pending"] == 1, "\(status.stdout)")
        let jobs = try Binary.run(["jobs", "--state", "failed", "--db", url], environment: withPassword)
        #expect(jobs.status == 0 && jobs.stdout.contains("o.example") && jobs.stdout.contains("x.y"), "\(jobs.stdout)\(jobs.stderr)")
        let retry = try Binary.run(["retry", "--failed", "--json", "--db", url], environment: withPassword)
        #expect(retry.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "{\"requeued\":1}", "\(retry.stdout)\(retry.stderr)")
        #expect(try await store.status(recentFailureLimit: 0).totals == StateCounts(pending: 2))

        // Through a configuration with a password file; check-config accepts it.
        let sandbox = try ServiceSandbox(name: "pg-operator")
        let passwordFile = sandbox.directory.appendingPathComponent("pgpassword")
        try (PostgresServer.password + "\n").write(to: passwordFile, atomically: true, encoding: .utf8)
        try """
            database: \(url)
            database_password_file: ./pgpassword
            workers:
              spool_directory: ./spool
            sink:
              kind: local
              directory: ./bucket

            """.write(to: sandbox.config, atomically: true, encoding: .utf8)
        let credentials = ["TENCENTCLOUD_SECRET_ID": "AKIDexample0000000001", "TENCENTCLOUD_SECRET_KEY": "example-secret", "PGPASSWORD": "", "ORCHESTRATOR_CONFIG": ""]
        let check = try Binary.run(["check-config", "--config", sandbox.config.path], environment: credentials)
        #expect(check.status == 0, "\(check.stderr)")
        let viaConfig = try Binary.run(["status", "--config", sandbox.config.path], environment: credentials)
        #expect(viaConfig.status == 0, "\(viaConfig.stderr)")
        #expect(viaConfig.stdout.contains(url.replacingOccurrences(of: "?sslmode=disable", with: "")), "\(viaConfig.stdout)")

        // A wrong password: a clear error that names the database, and never the password.
        let wrong = "wrong-password-\(UUID().uuidString.prefix(8))"
        let refused = try Binary.run(["status", "--db", url], environment: ["PGPASSWORD": wrong, "ORCHESTRATOR_CONFIG": ""])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("password authentication failed"), "\(refused.stderr)")
        for output in [refused.stdout, refused.stderr, status.stdout, viaConfig.stdout, check.stdout, check.stderr] {
            #expect(!output.contains(wrong) && !output.contains(PostgresServer.password))
        }
    }

    static func tail(_ log: URL) -> String {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").suffix(20).joined(separator: "\n")
    }
}
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
