import Foundation
import Logging
import ServiceLifecycle

/// A simulator running in the background of this process, for tests and the demo.
///
/// Start it with `CDNSimulator.start(configuration:)`, point clients at `baseURL`, and `stop()` it when
/// done (a test should stop it even when it fails, e.g. in a `defer`-like `do`/`catch`).
public struct RunningSimulator: Sendable {
    /// The simulator, for its `counters`, `catalog` and `packageBytes`.
    public let simulator: CDNSimulator
    /// `http://127.0.0.1:<port>`: the API endpoint, and the host the listed links point to.
    public let baseURL: URL
    /// The bound port.
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// What the simulator has done so far.
    public var counters: SimulatorCounters { simulator.counters }

    fileprivate init(simulator: CDNSimulator, baseURL: URL, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.simulator = simulator
        self.baseURL = baseURL
        self.port = port
        self.group = group
        self.task = task
    }

    /// Shuts the server down gracefully and waits until it has stopped and its cache is removed.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

extension CDNSimulator {
    /// Starts a simulator in the background of this process and returns once it accepts connections.
    ///
    /// Binds `host` (default loopback) on `port` (default 0: any free port; read `baseURL`). Throws when
    /// the configuration is invalid or the address cannot be bound.
    public static func start(
        configuration: CDNSimulatorConfiguration,
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger = Logger(label: "cdn-simulator")
    ) async throws -> RunningSimulator {
        let (listening, continuation) = AsyncStream.makeStream(of: URL.self)
        let simulator = CDNSimulator(
            configuration: configuration, host: host, port: port, logger: logger,
            onListening: { url in
                continuation.yield(url)
                continuation.finish()
            })
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [simulator], logger: logger))
        // Unstructured on purpose: the server must outlive this call. `stop()` ends it gracefully and awaits
        // it; a failure to start ends the stream below and is rethrown from the task.
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        for await url in listening {
            return RunningSimulator(simulator: simulator, baseURL: url, port: url.port ?? 0, group: group, task: task)
        }
        try await task.value
        throw SimulatorError("the simulator stopped before it was listening")
    }
}
