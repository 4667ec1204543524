import ArgumentParser
import Core
import Foundation
import JobModel
import Store

/// `orchestrator jobs`: lists windows (`jobs show ID`: one window's whole story).
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List windows, newest hour first; `jobs show ID` tells one window's whole story.",
        subcommands: [JobsListCommand.self, JobsShowCommand.self], defaultSubcommand: JobsListCommand.self)
}

/// `orchestrator jobs [list]`: lists windows, the default of `jobs`.
struct JobsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List windows, newest hour first (the default of `orchestrator jobs`).")

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "Only windows in this state.")
    var state: JobState?

    @Option(name: .long, help: "Only this domain.")
    var domain: String?

    @Option(name: .long, help: "Only hours at or after this time.", transform: TimeArgument.parse)
    var since: Date?

    @Option(name: .long, help: "Only hours before this time.", transform: TimeArgument.parse)
    var until: Date?

    // Unconditional: `--limit -3` is a bad value to name, not a missing one.
    @Option(name: .long, parsing: .unconditional, help: "At most this many windows (at least 1).")
    var limit = 50

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1 (got \(limit))") }
    }

    func run() async throws {
        let store = try await storeOptions.openStore(fallingBackToDemo: true)
        let jobs = try await store.jobs(matching: JobFilter(state: state, domain: domain, since: since, until: until), limit: limit)
        if json {
            print(try StatusFormatter.json(jobs))
        } else {
            print(StatusFormatter.table(jobs))
        }
    }
}

extension JobState: ExpressibleByArgument {}
