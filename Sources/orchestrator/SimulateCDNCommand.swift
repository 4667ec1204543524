import ArgumentParser
import CDNSimulator
import Foundation
import Logging
import ServiceLifecycle

/// `orchestrator simulate-cdn`: a local stand-in for the Tencent CDN API, until SIGTERM or SIGINT.
///
/// Prints `simulate-cdn listening on http://HOST:PORT` on stdout once bound (with the actual port when
/// `--listen` asks for port 0), so scripts and tests can read where it is.
struct SimulateCDNCommand: AsyncParsableCommand {
    /// The subcommand's name and help.
    static let configuration = CommandConfiguration(
        commandName: "simulate-cdn",
        abstract: "A local stand-in for the Tencent CDN API 3.0 and its log downloads.")

    /// Where to listen.
    @Option(help: ArgumentHelp("Address to listen on; port 0 picks a free port.", valueName: "host:port"))
    var listen = "127.0.0.1:9081"

    /// The simulated account's domains.
    @Option(help: ArgumentHelp("Comma-separated domains of the simulated account.", valueName: "domains"))
    var domains = "a.example,b.example"

    /// The SecretId requests must carry.
    @Option(name: .customLong("secret-id"), help: "The SecretId requests must be signed with.")
    var secretID = "AKIDsimulator"

    /// The key requests must be signed with.
    @Option(name: .customLong("secret-key"), help: "The SecretKey requests must be signed with.")
    var secretKey = "simulator-secret-key"

    /// The typical package size.
    @Option(help: ArgumentHelp("Typical compressed size of one hourly package (each is 50-150 % of it).", valueName: "bytes"))
    var packageBytes = 64 * 1024

    /// Fraction of failing API calls.
    @Option(help: ArgumentHelp("Fraction of API calls failing with HTTP 500 or InternalError.", valueName: "fraction"))
    var apiErrorRate = 0.0

    /// Fraction of throttled API calls.
    @Option(help: ArgumentHelp("Fraction of API calls answered with RequestLimitExceeded.", valueName: "fraction"))
    var throttleRate = 0.0

    /// Fraction of truncated downloads.
    @Option(help: ArgumentHelp("Fraction of downloads cut off after about half the bytes.", valueName: "fraction"))
    var truncateRate = 0.0

    /// Fraction of corrupted downloads.
    @Option(help: ArgumentHelp("Fraction of downloads with one byte flipped.", valueName: "fraction"))
    var corruptRate = 0.0

    /// The seed of contents and faults.
    @Option(help: ArgumentHelp("Seeds package contents, empty hours and faults.", valueName: "n"))
    var seed: UInt64 = 1

    /// Delay added to every response.
    @Option(name: .customLong("latency-ms"), help: ArgumentHelp("Delay added to every response.", valueName: "ms"))
    var latencyMilliseconds = 0

    /// Publication delay after an hour ends.
    @Option(name: .customLong("publication-delay-minutes"), help: ArgumentHelp("Minutes after an hour ends before its package is listed.", valueName: "minutes"))
    var publicationDelayMinutes = 30

    /// Periods in which part of the CDN fails every request.
    @Option(
        name: .customLong("outage"),
        help: ArgumentHelp(
            "A period in which every API call (api) or download (downloads) is answered 503, or downloads trickle a few bytes per second (trickle); repeatable.",
            valueName: "kind@from/until"))
    var outages: [String] = []

    /// Fraction of (domain, hour) pairs without a package.
    @Option(help: ArgumentHelp("Fraction of mainland (domain, hour) pairs with no package.", valueName: "fraction"))
    var emptyHourRate = 0.1

    /// Rejects an unusable `--listen` or flag value with one line naming it.
    func validate() throws {
        _ = try address()
        for outage in outages where SimulatedOutage(parsing: outage) == nil {
            throw ValidationError("--outage must be KIND@FROM/UNTIL with KIND api, downloads or trickle and ISO 8601 instants, got '\(outage)'")
        }
        if let problem = try simulatorConfiguration().validate() { throw ValidationError(problem) }
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully.
    func run() async throws {
        let (host, port) = try address()
        let logger = Logger(label: "simulate-cdn")
        let simulator = CDNSimulator(
            configuration: try simulatorConfiguration(), host: host, port: port, logger: logger,
            onListening: { url in
                // Unbuffered write: a reader of the pipe sees the line at once.
                FileHandle.standardOutput.write(Data("simulate-cdn listening on \(url.absoluteString)\n".utf8))
            })
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [simulator], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// `--listen` split into host and port; `[v6]:port` is accepted.
    private func address() throws -> (host: String, port: Int) {
        guard let address = ListenAddress(listen) else {
            throw ValidationError("--listen must be HOST:PORT with a host and a port in 0...65535, got '\(listen)'")
        }
        return (address.host, address.port)
    }

    private func simulatorConfiguration() throws -> CDNSimulatorConfiguration {
        CDNSimulatorConfiguration(
            domains: domains.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
            secretID: secretID, secretKey: secretKey, packageBytes: packageBytes,
            apiErrorRate: apiErrorRate, throttleRate: throttleRate, truncateRate: truncateRate, corruptRate: corruptRate,
            latency: .milliseconds(latencyMilliseconds), seed: seed,
            publicationDelay: .seconds(publicationDelayMinutes * 60), emptyHourRate: emptyHourRate,
            outages: outages.compactMap(SimulatedOutage.init(parsing:)), clock: try CommandClock.make())
    }
}
