import CDNSimulator
import Foundation
import JobModel
import Logging
import Store
import Testing

/// The real binary, killed with SIGKILL at several moments and restarted, ends with every window done,
/// every package byte-identical to what the simulator serves, and no temporary file left.
extension EndToEndTests {
@Suite("Crash recovery (real binary)")
struct CrashRecoveryTests {
    @Test("SIGKILL at several moments, then restart: everything done, identical, no temporary files")
    func killedAndRestarted() async throws {
        let domains = ["c1.example", "c2.example", "c3.example"]
        let hours = 8
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: domains, packageBytes: 768 * 1024, latency: .milliseconds(40), seed: 11, emptyHourRate: 0),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let sandbox = try ServiceSandbox(name: "crash")
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: domains, lookbackHours: hours, concurrency: 3)
            let expected = domains.count * hours

            // Kill moments: before the first window, then after 2, 7 and 13 windows are done; each
            // time other windows are mid-download or mid-store.
            var service = try Binary.startService(config: sandbox.config, log: sandbox.log)
            try await waitUntil(timeout: 30, "the database to appear") { FileManager.default.fileExists(atPath: sandbox.database.path) }
            service.stop(with: SIGKILL)
            for doneBeforeKill in [2, 7, 13] {
                service = try Binary.startService(config: sandbox.config, log: sandbox.log)
                let store = try sandbox.store()
                try await waitUntil(timeout: 120, "\(doneBeforeKill) windows done") {
                    try await store.status(recentFailureLimit: 0).totals.done >= doneBeforeKill
                }
                service.stop(with: SIGKILL)
                try store.close()
            }

            service = try Binary.startService(config: sandbox.config, log: sandbox.log)
            let store = try sandbox.store()
            try await waitUntil(timeout: 180, "every window done") {
                try await store.status(recentFailureLimit: 0).totals.done == expected
            }
            #expect(service.stop(with: SIGTERM) == 0, "graceful stop\n\(sandbox.logTail)")

            let totals = try await store.status(recentFailureLimit: 0).totals
            #expect(totals == StateCounts(done: expected))
            let comparison = try await StoredPackages(store: store, simulator: simulator.simulator, bucket: sandbox.bucket).compare()
            #expect(comparison.compared > expected / 2)
            #expect(comparison.differences.isEmpty, "\(comparison.differences)")
            #expect(sandbox.files(under: sandbox.bucket) { $0.hasPrefix(".") || $0.contains(".tmp") }.isEmpty)
            // Nothing but the single-instance lock file.
            #expect(sandbox.files(under: sandbox.spool) { $0 != ".orchestrator.lock" }.isEmpty)
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
