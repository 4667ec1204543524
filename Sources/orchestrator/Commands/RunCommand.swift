import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

/// `orchestrator run`: the always-on service.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the service: plan every hour, copy every package, until stopped (SIGTERM/SIGINT).")

    @Option(name: .long, help: "The configuration file (default ./orchestrator.yaml, or ORCHESTRATOR_CONFIG).")
    var config: String?

    func run() async throws {
        let loaded = try await ConfigurationLoader.load(path: try ConfigFileLocator.locate(config, acceptsDatabase: false))
        let configuration = loaded.configuration
        let logger = LogSetup.makeLogger(level: configuration.logLevel)
        for warning in loaded.warnings {
            logger.warning("configuration file readable by others holds a secret", metadata: ["configuration.warning": "\(warning)"])
        }
        logger.info("starting", metadata: ["service.configuration": "\(configuration)"])
        let assembly = try await ServiceAssembly.make(configuration: configuration, clock: try CommandClock.make(logger: logger), logger: logger)
        // The database is open and current, and a crashed predecessor's leftovers are cleared: other
        // processes may use the database from here on (the end-to-end tests wait for this line).
        logger.info("service ready", metadata: ["database.path": "\(configuration.database)"])
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: assembly.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            await assembly.shutdown()
            throw error
        }
        await assembly.shutdown()
        logger.info("stopped")
    }
}

/// Logging set-up for the executable (the only place that bootstraps it).
enum LogSetup {
    /// Bootstraps swift-log to standard error at `level` and returns the service's logger.
    static func makeLogger(level: String) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: level) ?? .info
            return handler
        }
        return Logger(label: "orchestrator")
    }
}
