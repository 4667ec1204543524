import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// A local stand-in for the Tencent CDN API 3.0 and its log downloads, as a `Service`.
///
/// Serves `POST /` and `GET /` (TC3-signed `DescribeDomains` and `DescribeCdnDomainLogs`) and the package
/// links those list. Put it in a `ServiceGroup` (the `simulate-cdn` command does), or use
/// `CDNSimulator.start(configuration:)` in tests and the demo. `onListening` learns the actual base URL,
/// which matters when `port` is 0.
///
/// The generated packages are cached in a private temporary directory that is removed when `run()` returns.
public struct CDNSimulator: Service {
    /// What the simulator serves.
    public let configuration: CDNSimulatorConfiguration
    /// The address to bind, e.g. `127.0.0.1` or `0.0.0.0`.
    public let host: String
    /// The port to bind; 0 lets the system choose one (see `onListening`).
    public let port: Int
    /// What the simulator has done so far.
    public let counters: SimulatorCounters
    /// Which packages exist and what they contain.
    public let catalog: PackageCatalog
    private let cache: PackageCache
    private let logger: Logger
    private let onListening: @Sendable (URL) async -> Void

    /// Creates a simulator; nothing is bound until `run()`.
    ///
    /// - Parameter onListening: called once the server is bound, with `http://<host>:<actual port>`.
    public init(
        configuration: CDNSimulatorConfiguration,
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger = Logger(label: "cdn-simulator"),
        onListening: @escaping @Sendable (URL) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.host = host
        self.port = port
        self.logger = logger
        self.onListening = onListening
        counters = SimulatorCounters()
        catalog = PackageCatalog(configuration: configuration)
        cache = PackageCache(catalog: catalog, capacityBytes: configuration.packageCacheBytes)
    }

    /// Binds and serves until cancelled or gracefully shut down. Throws when the configuration is
    /// invalid or the address cannot be bound.
    public func run() async throws {
        if let problem = configuration.validate() { throw SimulatorError("invalid simulator configuration: \(problem)") }
        let host = self.host
        let onListening = self.onListening
        let application = Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "cdn-simulator"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let hostPart = host.contains(":") ? "[\(host)]" : host
                if let url = URL(string: "http://\(hostPart):\(port)") { await onListening(url) }
            },
            logger: logger)
        do {
            try await application.run()
        } catch {
            await cache.removeAll()
            throw error
        }
        await cache.removeAll()
    }

    /// The router: the API at `/`, packages at `/<yyyymmdd>/<hh>/<file>`.
    func makeRouter() -> Router<BasicRequestContext> {
        let api = APIEndpoint(configuration: configuration, counters: counters)
        let downloads = PackageDownloadEndpoint(configuration: configuration, counters: counters, cache: cache)
        let router = Router(context: BasicRequestContext.self)
        router.post("/") { request, context in try await api.handle(request, context: context) }
        router.get("/") { request, context in try await api.handle(request, context: context) }
        router.get("/:day/:hour/:file") { request, context in try await downloads.handle(request, context: context) }
        return router
    }

    /// The exact bytes served for the package of `domain`, the UTC hour starting at `hour`, and `area`, at
    /// the version listed at the simulator's `now` (always the final one unless packages grow).
    ///
    /// Uses the simulator's cache, so it costs one generation per package even when it is also downloaded.
    /// The package need not be published or non-empty: this is what it would contain.
    public func packageBytes(domain: String, hour: Date, area: LogArea) async throws -> [UInt8] {
        let hourStart = Int(hour.timeIntervalSince1970.rounded(.down))
        let key = PackageKey(domain: domain, hourStart: hourStart, area: area,
                             version: catalog.version(hourStart: hourStart, at: configuration.clock.now))
        return try await packageBytes(key)
    }

    /// The exact bytes served for the package `key`.
    public func packageBytes(_ key: PackageKey) async throws -> [UInt8] {
        let file = try await cache.checkout(key)
        do {
            let data = try Data(contentsOf: file)
            await cache.release(key)
            return Array(data)
        } catch {
            await cache.release(key)
            throw error
        }
    }
}
