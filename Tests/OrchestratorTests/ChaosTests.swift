import CDNSimulator
import Core
import Foundation
import Store
import Testing
import TestSupport

/// The real binary against `simulate-cdn`, both on one clock running 360 times faster than real time:
/// two hours without the CDN API, then two hours without the sink, an hour later an hour of downloads
/// that trickle after their headers. (A dependency's outage ends when it is seen answering, so the sink's
/// could not end while trickling downloads kept every window from reaching it: hence the gap.) Afterwards every window is done, none failed, every package is stored
/// byte for byte, and `status` tells what happened.
extension EndToEndTests {
@Suite("Chaos (real binary, compressed clock)")
struct ChaosTests {
    @Test("hours of CDN API outage, then of sink outage, then trickling downloads: every window done, none failed, all identical")
    func outagesOnACompressedClock() async throws {
        // 2026-11-01T12:00:00Z; an hour passes in ten real seconds.
        let origin = Date(timeIntervalSince1970: 1_793_534_400)
        let clock = ScaledWallClock(origin: origin, anchor: Date(), rate: 360)
        let environment = ["ORCHESTRATOR_SIMULATED_CLOCK": clock.specification]
        func at(_ hours: Double) -> Date { origin.addingTimeInterval(hours * 3600) }
        func iso(_ date: Date) -> String { date.formatted(.iso8601) }

        let domains = ["c1.example", "c2.example"]
        let sandbox = try ServiceSandbox(name: "chaos")
        let simulatorLog = sandbox.directory.appendingPathComponent("simulator.log")
        let simulatorArguments = [
            "simulate-cdn", "--listen", "127.0.0.1:0", "--domains", domains.joined(separator: ","), "--package-bytes", "16384",
            "--seed", "21", "--empty-hour-rate", "0", "--publication-delay-minutes", "0",
            "--outage", "api@\(iso(at(1)))/\(iso(at(3)))", "--outage", "trickle@\(iso(at(6)))/\(iso(at(7)))",
        ]
        let simulator = try Binary.start(simulatorArguments, environment: environment)
        var service: Process?
        do {
            let endpoint = try await Self.listeningURL(of: simulator)
            try sandbox.writeConfig(
                endpoint: endpoint, domains: domains, lookbackHours: 3, concurrency: 2, maxAttempts: 8, leaseSeconds: 3600, tickSeconds: 60)
            service = try await sandbox.startServiceWhenReady(environment: environment)

            // The sink's outage: its directory replaced by a plain file from hour 3 to hour 5.
            let aside = sandbox.bucket.path + ".away"
            var sinkDown = false
            while clock.now < at(8.5) {
                let now = clock.now
                if !sinkDown, now >= at(3), now < at(5) {
                    try FileManager.default.createDirectory(at: sandbox.bucket, withIntermediateDirectories: true)
                    try FileManager.default.moveItem(atPath: sandbox.bucket.path, toPath: aside)
                    FileManager.default.createFile(atPath: sandbox.bucket.path, contents: Data("not a directory".utf8))
                    sinkDown = true
                } else if sinkDown, now >= at(5) {
                    try FileManager.default.removeItem(atPath: sandbox.bucket.path)
                    try FileManager.default.moveItem(atPath: aside, toPath: sandbox.bucket.path)
                    sinkDown = false
                }
                guard let service, !service.hasExited else { throw HarnessError("the service exited\n\(sandbox.logTail)") }
                try await Task.sleep(for: .milliseconds(20))
            }
            let store = try sandbox.store()
            try await waitUntil(timeout: 60, "every planned window done") {
                let totals = try await store.status(recentFailureLimit: 0).totals
                return totals.failed > 0 || (totals.done > 0 && totals.done == totals.total)
            }
            #expect(service?.stop(with: SIGTERM) == 0)

            let status = try Binary.run(["status", "--json", "--db", sandbox.database.path], environment: environment)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stderr)")
            let jobs = try #require(document["jobs"] as? [String: Int])
            #expect(jobs["failed"] == 0 && jobs["pending"] == 0 && jobs["running"] == 0, "\(jobs)")
            #expect(jobs["done"] ?? 0 >= domains.count * 10, "\(jobs)")
            #expect(document["skipped_hours"] as? Int == 0)
            let dependencies = try #require(document["dependencies"] as? [[String: Any]])
            #expect(dependencies.allSatisfy { $0["state"] as? String == "healthy" }, "\(dependencies)")
            let outages = try #require((document["outages"] as? [String: Any])?["recent"] as? [[String: Any]])
            func lasted(_ dependency: String) -> [Int] {
                outages.filter { $0["dependency"] as? String == dependency }.compactMap { $0["seconds"] as? Int }
            }
            #expect(lasted("cdn_api").contains { abs($0 - 7200) <= 1200 }, "\(outages)")
            #expect(lasted("sink").contains { abs($0 - 7200) <= 1200 }, "\(outages)")
            #expect(lasted("cdn_downloads").contains { abs($0 - 3600) <= 1200 }, "\(outages)")
            let table = try Binary.run(["status", "--db", sandbox.database.path], environment: environment)
            #expect(table.stdout.contains("outage of cdn_api from"), "\(table.stdout)")

            // The same configuration serves the same bytes in this process.
            let reference = CDNSimulator(configuration: CDNSimulatorConfiguration(
                domains: domains, packageBytes: 16384, seed: 21, publicationDelay: .zero, emptyHourRate: 0))
            let comparison = try await StoredPackages(store: store, simulator: reference, bucket: sandbox.bucket).compare()
            #expect(comparison.differences.isEmpty, "\(comparison.differences)")
            #expect(comparison.compared >= domains.count * 9)
            try store.close()
        } catch {
            Issue.record("\(error)\n\(sandbox.logTail)")
        }
        service?.stop(with: SIGKILL)
        simulator.process.stop(with: SIGTERM)
    }

    /// Reads `simulate-cdn listening on URL` from the simulator's standard output.
    static func listeningURL(of simulator: Binary.Started) async throws -> URL {
        let handle = simulator.out.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("simulate-cdn listening on ") }) {
                return try #require(URL(string: String(line.dropFirst("simulate-cdn listening on ".count))))
            }
        }
        throw HarnessError("simulate-cdn did not say where it listens: \(text)")
    }
}
}
