import ArgumentParser
import Core
import Foundation
import JobModel
import Logging
import ServiceLifecycle
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

    @Flag(name: .long, help: "Refresh until Ctrl-C: in place on a terminal, printed again each time otherwise.")
    var watch = false

    // Unconditional: `--interval -1` is a bad value to name, not a missing one.
    @Option(name: .long, parsing: .unconditional, help: "Seconds between refreshes with --watch (1 to 3600; default 2).")
    var interval: Int?

    func validate() throws {
        guard let interval else { return }
        guard watch else { throw ValidationError("--interval goes with --watch") }
        guard (1...3600).contains(interval) else { throw ValidationError("--interval must be between 1 and 3600 seconds (got \(interval))") }
    }

    func run() async throws {
        let store = try await storeOptions.openStore(fallingBackToDemo: true)
        defer { store.closeStore() }
        if watch {
            try await watchStatus(store)
            return
        }
        var report = try await store.status(recentFailureLimit: failures)
        report.streams = try await store.streamStatus()
        let now = try CommandClock.make().now
        if json {
            print(StatusFormatter.json(report, database: store.path, now: now))
        } else {
            print(StatusFormatter.table(report, database: store.path, now: now))
        }
    }

    /// Runs `StatusWatch` in a ServiceGroup, so SIGINT and SIGTERM end it cleanly (exit 0).
    private func watchStatus(_ store: any OperatedStore) async throws {
        let logger = Logger(label: "status", factory: { _ in SwiftLogNoOpLogHandler() })
        let watch = StatusWatch(
            store: store, interval: .seconds(interval ?? 2), json: json, recentFailureLimit: failures,
            terminal: isatty(STDOUT_FILENO) == 1, clock: try CommandClock.make())
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [ServiceGroupConfiguration.ServiceConfiguration(service: watch, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
