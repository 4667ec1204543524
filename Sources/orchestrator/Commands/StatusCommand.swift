import ArgumentParser
import Core
import Foundation
import JobModel
import Store

/// `orchestrator status`: counts by state, per-domain progress and lag, recent failures.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show windows by state, each domain's progress and lag, and recent failures.")

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    @Option(name: .long, help: "How many recent failures to list.")
    var failures = 10

    func run() async throws {
        let store = try await storeOptions.openStore(fallingBackToDemo: true)
        var report = try await store.status(recentFailureLimit: failures)
        report.streams = try await store.streamStatus()
        let now = try CommandClock.make().now
        if json {
            print(try StatusFormatter.json(report, database: store.path, now: now))
        } else {
            print(StatusFormatter.table(report, database: store.path, now: now))
        }
    }
}
