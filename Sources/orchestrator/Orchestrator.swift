import ArgumentParser
import Core

/// The `orchestrator` command: archives CDN access logs into object storage.
@main
struct Orchestrator: AsyncParsableCommand {
    /// Caps malloc's arenas before any thread allocates (see `MallocArenas`), then runs the command.
    static func main() async {
        MallocArenas.limit()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "orchestrator",
        abstract: "Archives CDN access logs into object storage, hour by hour, without losing any.",
        subcommands: [
            RunCommand.self, StatusCommand.self, RetryCommand.self, JobsCommand.self, BackfillCommand.self, CheckConfigCommand.self, MigrateCommand.self,
            DemoCommand.self, SimulateCDNCommand.self,
        ])
}
