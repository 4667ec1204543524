import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `orchestrator run`: the always-on service.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the service: plan every hour, copy every package, until stopped (SIGTERM/SIGINT).")

    @Option(name: .long, help: "The configuration file (default ./orchestrator.yaml, or ORCHESTRATOR_CONFIG).")
    var config: String?

    func run() async throws {
        let loaded = try await ConfigurationLoader.load(path: try ConfigFileLocator.locate(config, acceptsDatabase: false))
        let configuration = loaded.configuration
        let logger = LogSetup.makeLogger(level: configuration.logLevel, format: configuration.logFormat)
        for warning in loaded.warnings {
            logger.warning("configuration file readable by others holds a secret", metadata: ["configuration.warning": "\(warning)"])
        }
        logger.info("starting", metadata: ["service.configuration": "\(configuration)"])
        // Before anything creates a counter: metrics bind to the factory they find when created.
        let registry = PrometheusCollectorRegistry()
        if !configuration.metricsListen.isEmpty {
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        }
        let clock = try CommandClock.make(logger: logger)
        let assembly = try await ServiceAssembly.make(configuration: configuration, clock: clock, logger: logger)
        // Signals are trapped before the service says it is ready, so a SIGTERM that comes at once is
        // a graceful stop like any other, never the default action of killing the process.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        // The database is open and current, and a crashed predecessor's leftovers are cleared: other
        // processes may use the database from here on (the end-to-end tests wait for this line).
        logger.info("service ready", metadata: ["database.path": "\(configuration.database)"])
        var services = assembly.services
        let stopping = StopFlag()
        if let address = ListenAddress(configuration.metricsListen) {
            // First, so that the group, which stops its services in reverse order, stops it last.
            services.insert(MetricsEndpoint(
                address: address, registry: registry, store: assembly.store, scheduler: assembly.scheduler,
                health: assembly.workerPool.health, clock: clock, stopping: stopping, logger: logger), at: 0)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                logger: logger))
        // The first SIGTERM or SIGINT stops the services gracefully; a second does not wait out the
        // grace period: running windows are interrupted and handed back at once, without using an attempt.
        let secondSignal = Task {
            var received = 0
            for await signal in signals {
                received += 1
                if received == 1 {
                    stopping.set()
                    logger.notice("stopping: no new windows; running ones get the grace period", metadata: [
                        "signal": "\(signal)", "shutdown.grace_seconds": "\(configuration.workers.shutdownGraceSeconds)",
                    ])
                    await group.triggerGracefulShutdown()
                } else {
                    logger.warning("second signal: interrupting running windows now", metadata: ["signal": "\(signal)"])
                    assembly.workerPool.interruptNow()
                    break
                }
            }
        }
        defer { secondSignal.cancel() }
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
    /// Bootstraps swift-log to standard error at `level` in `format` and returns the service's logger.
    static func makeLogger(level: String, format: LogFormat = .text) -> Logger {
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, format: format, logLevel: Logger.Level(rawValue: level) ?? .info)
        }
        return Logger(label: "orchestrator")
    }
}
