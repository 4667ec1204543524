import ArgumentParser
import Core
import Foundation
import JobModel
import Store

/// `orchestrator retry --failed`: puts failed windows back in the queue.
struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Put failed windows back in the queue with their attempts reset.")

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Requeue failed windows (required: the only kind retry takes).")
    var failed = false

    @Option(name: .long, help: "Only this domain.")
    var domain: String?

    @Option(name: .long, help: "Only hours at or after this time (e.g. 2026-11-20 or 2026-11-20T13:00Z).", transform: TimeArgument.parse)
    var since: Date?

    @Option(name: .long, help: "Only hours before this time.", transform: TimeArgument.parse)
    var until: Date?

    @Flag(name: .long, help: "Print {\"requeued\": N}.")
    var json = false

    func validate() throws {
        guard failed else { throw ValidationError("retry needs --failed (it requeues failed windows)") }
    }

    func run() async throws {
        let store = try await storeOptions.openStore()
        let count = try await store.requeueFailed(matching: JobFilter(domain: domain, since: since, until: until), now: SystemWallClock().now)
        if json {
            print("{\"requeued\":\(count)}")
        } else {
            print("requeued \(count) failed window\(count == 1 ? "" : "s")")
        }
    }
}
