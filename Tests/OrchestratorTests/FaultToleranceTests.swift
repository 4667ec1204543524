import CDNSimulator
import Foundation
import Logging
import Store
import Testing

/// With 30 % of API calls failing, some throttled and 20 % of downloads truncated, every window still
/// ends done and no truncated package is stored.
extension EndToEndTests {
@Suite("Fault tolerance (real binary)")
struct FaultToleranceTests {
    @Test("API errors, throttling, truncated and corrupt downloads: every window done, nothing corrupt stored")
    func faultsAreRetriedAway() async throws {
        let domains = ["f1.example", "f2.example"]
        let hours = 6
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(
                domains: domains, packageBytes: 128 * 1024, apiErrorRate: 0.3, throttleRate: 0.1, truncateRate: 0.2,
                corruptRate: 0.05, seed: 5, emptyHourRate: 0),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let sandbox = try ServiceSandbox(name: "faults")
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: domains, lookbackHours: hours, concurrency: 3, maxAttempts: 40)
            let service = try await sandbox.startServiceWhenReady()
            let store = try sandbox.store()
            try await waitUntil(timeout: 240, "every window done") {
                try await store.status(recentFailureLimit: 0).totals.done == domains.count * hours
            }
            #expect(service.stop(with: SIGTERM) == 0)
            #expect(simulator.counters.faultsInjected > 5)
            let log = (try? String(contentsOf: sandbox.log, encoding: .utf8)) ?? ""
            #expect(log.contains("window will be retried"))
            #expect(log.contains("creating the database's directory"), "run says it created the missing state directory")
            // A done window shows the error it recovered from; a window done at once says none.
            let done = try Binary.run(["jobs", "--state", "done", "--limit", "1000", "--db", sandbox.database.path])
            #expect(done.stdout.contains("recovered from "), "\(done.stdout)")
            let comparison = try await StoredPackages(store: store, simulator: simulator.simulator, bucket: sandbox.bucket).compare()
            #expect(comparison.differences.isEmpty, "\(comparison.differences)")
            #expect(comparison.compared > 0)
            try store.close()
        } catch {
            try? await simulator.stop()
            Issue.record("\(error)\n\(sandbox.logTail)")
            return
        }
        try await simulator.stop()
    }
}
}
