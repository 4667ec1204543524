import CDNSimulator
import Foundation
import Logging
import Testing
import TestSupport

extension EndToEndTests {
@Suite("One service per database (real binary)")
struct SingleInstanceTests {
    @Test("a second run on the same database refuses, naming the first, and touches nothing; after SIGKILL a new run starts at once")
    func secondRunRefused() async throws {
        let domains = ["s1.example"]
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: domains, seed: 4),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let sandbox = try ServiceSandbox(name: "single")
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: domains, lookbackHours: 2)
            let first = try await sandbox.startServiceWhenReady()
            // A download of the first service in progress, as far as the spool can tell.
            let inProgress = sandbox.spool.appendingPathComponent("in-progress.part")
            FileManager.default.createFile(atPath: inProgress.path, contents: Data("partial".utf8))

            let second = try Binary.run(["run", "--config", sandbox.config.path])
            #expect(second.status != 0)
            #expect(second.stderr.contains("another orchestrator run is using the database"), "\(second.stderr)")
            #expect(second.stderr.contains("pid \(first.processIdentifier) on host "), "\(second.stderr)")
            #expect(!first.hasExited, "the first service carries on")
            #expect(FileManager.default.fileExists(atPath: inProgress.path), "the second run deleted the first one's spool file")

            // The lock dies with its process: no stale lock after SIGKILL.
            first.stop(with: SIGKILL)
            let restarted = Date()
            let third = try await sandbox.startServiceWhenReady(timeout: 20)
            #expect(Date().timeIntervalSince(restarted) < 20)
            #expect(third.stop(with: SIGTERM) == 0)
        } catch {
            Issue.record("\(error)\n\(sandbox.logTail)")
        }
        try await simulator.stop()
    }
}
}
