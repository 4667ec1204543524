import Core
import Foundation
import Logging
import ServiceLifecycle

/// Runs an action now and then every `interval` until shutdown, on the injected clock; used for
/// maintenance such as aborting stale multipart uploads.
public struct PeriodicService: Service {
    private let name: String
    private let interval: Duration
    private let clock: any WallClock
    private let action: @Sendable () async -> Void

    /// Creates the service; `action` must handle its own errors.
    public init(name: String, interval: Duration, clock: any WallClock, action: @escaping @Sendable () async -> Void) {
        self.name = name
        self.interval = interval
        self.clock = clock
        self.action = action
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await action()
            do {
                try await cancelWhenGracefulShutdown { [clock, interval] in try await clock.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
