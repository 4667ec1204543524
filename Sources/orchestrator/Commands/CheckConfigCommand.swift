import ArgumentParser
import Foundation
import Logging

/// `orchestrator check-config`: validates a configuration the way `run` does, and with `--probe` asks
/// the CDN API and the sink whether they answer with its credentials.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration as `run` would, naming every bad key; --probe also asks the CDN API and the sink.")

    @Option(name: .long, help: "The configuration file (default ./orchestrator.yaml, or ORCHESTRATOR_CONFIG).")
    var config: String?

    @Flag(name: .long, help: "Also check that the CDN API and the sink answer with these credentials (changes nothing in either).")
    var probe = false

    func run() async throws {
        let path = try ConfigFileLocator.locate(config, acceptsDatabase: false)
        let loaded = try await ConfigurationLoader.load(path: path)
        for warning in loaded.warnings {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        print("\(path): valid (\(loaded.configuration))")
        guard probe else { return }
        let findings = await ConfigurationProbe(
            configuration: loaded.configuration, logger: Logger(label: "check-config", factory: { _ in SwiftLogNoOpLogHandler() })
        ).run()
        for finding in findings {
            print(StatusFormatter.printable("probe \(finding.succeeded ? "ok" : "FAILED"): \(finding.text)"))
        }
        let failed = findings.filter { !$0.succeeded }.map(\.subject)
        guard failed.isEmpty else {
            throw ProbeFailure(description: "the probe of \(failed.joined(separator: " and ")) failed (see above)")
        }
    }
}

/// `check-config --probe` found a dependency that does not answer as it should.
struct ProbeFailure: Error, CustomStringConvertible {
    let description: String
}
