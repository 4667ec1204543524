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
            configuration: CDNSimulatorConfiguration(domains: domains, packageBytes: 256 * 1024, latency: .milliseconds(300), seed: 17),
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
                    guard host.process.isRunning else { throw HarnessError("a host exited with \(host.process.terminationStatus)\n\(Self.tail(host.log))") }
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

            try await waitUntil(timeout: 240, "every window done by the two hosts left") {
                for host in hosts.dropFirst() where !host.process.isRunning {
                    throw HarnessError("a surviving host exited with \(host.process.terminationStatus)\n\(Self.tail(host.log))")
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
            for host in hosts where host.process.isRunning { host.process.stop(with: SIGKILL) }
            watcher?.close()
            try? await simulator.stop()
            Issue.record("\(error)\n\(hosts.map { Self.tail($0.log) }.joined(separator: "\n---\n"))")
            return
        }
        try await simulator.stop()
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
