import ArgumentParser
import CDNSimulator
import Core
import Foundation
import Logging
import ServiceLifecycle
import Store

/// `orchestrator demo`: the whole pipeline on this machine. Starts the CDN simulator in-process (with a
/// few injected faults), runs the real service against it with a local-directory sink, shows progress,
/// stops once every window of the last `--hours` closed hours is done, verifies what was stored against
/// what the simulator served, and prints the status.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the whole pipeline on this machine against a local CDN simulator, then exit.")

    @Option(name: .long, help: "Where to put the database (DIR/orchestrator.sqlite) and the objects (DIR/bucket/).")
    var dir = "./orchestrator-demo"

    @Option(name: .long, help: "How many simulated domains.")
    var domains = 3

    @Option(name: .long, help: "How many closed hours to copy.")
    var hours = 12

    @Option(name: .long, help: "Approximate size of each simulated log package, in bytes.")
    var packageBytes = 256 * 1024

    @Flag(name: .long, help: "Show the service's log lines (info level) instead of only the progress line.")
    var verbose = false

    func validate() throws {
        guard (1...50).contains(domains) else { throw ValidationError("--domains must be between 1 and 50") }
        guard (1...720).contains(hours) else { throw ValidationError("--hours must be between 1 and 720") }
        guard (1024...(64 << 20)).contains(packageBytes) else { throw ValidationError("--package-bytes must be between 1 KiB and 64 MiB") }
    }

    func run() async throws {
        let logger = LogSetup.makeLogger(level: verbose ? "info" : "error")
        let directory = URL(fileURLWithPath: dir).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let names = (1...domains).map { "www.demo\($0).example" }
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(
                domains: names, packageBytes: packageBytes, apiErrorRate: 0.05, throttleRate: 0.05, truncateRate: 0.05,
                corruptRate: 0.02, seed: 2026),
            logger: Logger(label: "cdn-simulator", factory: { _ in SwiftLogNoOpLogHandler() }))
        print("CDN simulator listening on \(simulator.baseURL.absoluteString) (5 % API errors, 5 % throttling, 7 % bad downloads)")
        print("copying \(hours) hours of \(domains) domains into \(directory)/bucket …")

        var configuration = OrchestratorConfiguration()
        configuration.database = directory + "/orchestrator.sqlite"
        configuration.cdn.endpoint = simulator.baseURL.absoluteString
        configuration.cdn.secretID = "AKIDsimulator"
        configuration.cdn.secretKey = "simulator-secret-key"
        configuration.cdn.domains = names
        configuration.schedule.tickSeconds = 5
        configuration.schedule.lookbackHours = hours
        configuration.schedule.publicationHorizonMinutes = configuration.schedule.availabilityDelayMinutes
        configuration.workers.backoffBaseSeconds = 1
        configuration.workers.backoffCapSeconds = 4
        configuration.sink.directory = directory + "/bucket"
        try ConfigurationLoader.validate(configuration)

        let clock = SystemWallClock()
        let started = clock.now
        let assembly = try await ServiceAssembly.make(configuration: configuration, logger: logger)
        let progress = DemoProgress(store: assembly.store, expectedWindows: domains * hours, interactive: isatty(STDOUT_FILENO) == 1)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: assembly.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
                    + [ServiceGroupConfiguration.ServiceConfiguration(service: progress, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            await assembly.shutdown()
            try? await simulator.stop()
            throw error
        }
        let report = try await assembly.store.status(recentFailureLimit: 10)
        let verification = try await DemoVerifier(store: assembly.store, simulator: simulator.simulator).verify()
        await assembly.shutdown()
        try await simulator.stop()

        print("")
        print(StatusFormatter.table(report, database: configuration.database, now: clock.now))
        print("")
        print(verification.summary)
        print(String(format: "finished in %.1f s; the simulator answered %d API calls and %d downloads, %d of them faulty on purpose",
                     clock.now.timeIntervalSince(started), simulator.counters.apiCalls, simulator.counters.downloads, simulator.counters.faultsInjected))
        print("")
        print("to look at what the demo did:")
        for command in Self.inspectionCommands(database: configuration.database) {
            print("  " + command)
        }
        guard report.totals.failed == 0, report.totals.done >= domains * hours, verification.mismatches == 0 else {
            throw DemoFailure("the demo did not copy every window intact; see the status above")
        }
    }
}

extension DemoCommand {
    /// The operator commands for the demo's database, each a line that runs as printed from any
    /// directory: the executable as it was invoked when found on `PATH`, else its absolute path.
    static func inspectionCommands(database: String) -> [String] {
        let invoked = CommandLine.arguments.first ?? "orchestrator"
        let executable = invoked.contains("/")
            ? ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? URL(fileURLWithPath: invoked).standardizedFileURL.path)
            : invoked
        let prefix = shellQuoted(executable)
        let db = "--db " + shellQuoted(database)
        return [
            "\(prefix) status \(db)",
            "\(prefix) jobs \(db)",
            "\(prefix) jobs --state failed \(db)",
            "\(prefix) retry --failed \(db)",
        ]
    }

    /// `text` as one shell word: unchanged when it holds only safe characters, else single-quoted.
    static func shellQuoted(_ text: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        if !text.isEmpty, text.allSatisfy(safe.contains) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Why the demo exits non-zero.
struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
