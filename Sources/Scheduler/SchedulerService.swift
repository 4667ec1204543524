import Core
import Foundation
import JobModel
import Jobs
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// How the scheduler plans.
public struct SchedulerConfiguration: Sendable {
    /// Time between planning ticks.
    public var tickInterval: TimeInterval
    /// Which hours to plan.
    public var planner: WindowPlanner
    /// The domains to plan; empty means every domain the source lists (discovery).
    public var domains: [String]
    /// How often discovery asks the source for its domains again.
    public var discoveryInterval: TimeInterval
    /// Lease length (to reap expired leases often enough), attempts and settle time, shared with the
    /// worker pool.
    public var policy: WindowPolicy

    /// Creates a configuration.
    public init(
        tickInterval: TimeInterval = 60, planner: WindowPlanner = WindowPlanner(), domains: [String] = [],
        discoveryInterval: TimeInterval = 3600, policy: WindowPolicy = WindowPolicy()
    ) {
        self.tickInterval = tickInterval
        self.planner = planner
        self.domains = domains
        self.discoveryInterval = discoveryInterval
        self.policy = policy
    }
}

/// What one tick did.
public struct TickReport: Sendable, Equatable {
    /// Windows newly planned.
    public var planned: Int
    /// Done windows sent back for their reconcile pass.
    public var reconciling: Int
    /// Expired leases put back in play.
    public var reaped: Int
    /// Whether the domain list was refreshed from the source.
    public var discovered: Bool
    /// Hours passed over because they are older than the lookback; each is also logged as a warning.
    public var skipped: [SkippedHours] = []
}

/// The planning loop: on every tick, refresh the domain list when due, plan every closed hour from the
/// persisted watermarks (so a restart after any downtime catches up in one tick), and reap expired
/// leases so a crashed worker's window is back in play within two lease periods.
public final class SchedulerService: Service {
    private let configuration: SchedulerConfiguration
    private let store: any JobStore
    private let source: any LogSource
    private let clock: any WallClock
    private let logger: Logger
    private let discovery: DiscoveryState
    private let lastTick = Mutex<Date?>(nil)

    /// When the last tick planned (nil before the first): readiness checks that it is recent.
    public var lastTickAt: Date? { lastTick.withLock { $0 } }

    /// How long between ticks at most, for readiness checks.
    public var tickInterval: TimeInterval { min(configuration.tickInterval, configuration.policy.leaseDuration / 2) }

    /// Creates the scheduler.
    public init(configuration: SchedulerConfiguration, store: any JobStore, source: any LogSource, clock: any WallClock, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.source = source
        self.clock = clock
        self.logger = logger
        self.discovery = DiscoveryState()
    }

    public func run() async throws {
        let step = min(configuration.tickInterval, configuration.policy.leaseDuration / 2)
        var nextPlan = clock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = clock.now
            do {
                if now >= nextPlan {
                    nextPlan = now.addingTimeInterval(configuration.tickInterval)
                    _ = try await tick()
                } else {
                    try await reap(now: now)
                }
            } catch {
                logger.error("scheduler tick failed; will try again", metadata: ["error.message": "\(error)"])
            }
            do {
                try await cancelWhenGracefulShutdown { [clock] in try await clock.sleep(for: .seconds(step)) }
            } catch {
                return
            }
        }
    }

    /// One tick: discovery when due, planning, reaping.
    @discardableResult
    public func tick() async throws -> TickReport {
        let now = clock.now
        let discovered = try await refreshDomains(now: now)
        let domains = try await store.activeDomains(source: source.sourceName)
        let skipped = configuration.planner.skippedHours(for: domains, at: now)
        let retentionStart = now.addingTimeInterval(-TimeInterval(WindowPlanner.maximumLookbackHours) * 3600)
        for skip in skipped {
            logger.warning("hours older than the lookback are not planned", metadata: [
                "job.domain": "\(skip.domain)", "skip.from": "\(skip.from.formatted(.iso8601))",
                "skip.until": "\(skip.until.formatted(.iso8601))", "skip.hours": "\(skip.hourCount)",
                "skip.still_held_by_source": "\(skip.until > retentionStart)",
            ])
        }
        let plans = configuration.planner.plans(for: domains, at: now)
        let planned = try await store.plan(plans, now: now)
        Counter(label: "orchestrator_windows_planned_total").increment(by: planned)
        lastTick.withLock { $0 = now }
        if planned > 0 {
            logger.info("planned windows", metadata: ["plan.windows": "\(planned)", "plan.domains": "\(plans.count)"])
        }
        let reconciling = try await store.beginReconcilePasses(
            hoursBefore: now.addingTimeInterval(-3600 - configuration.policy.settleDelay),
            doneBefore: now.addingTimeInterval(-configuration.policy.relistDelay), now: now)
        if reconciling > 0 {
            logger.info("windows settled; checking them against the source once more", metadata: ["reconcile.windows": "\(reconciling)"])
        }
        let reaped = try await reap(now: now)
        return TickReport(planned: planned, reconciling: reconciling, reaped: reaped, discovered: discovered, skipped: skipped)
    }

    @discardableResult
    private func reap(now: Date) async throws -> Int {
        let reaped = try await store.reapExpiredLeases(maxAttempts: configuration.policy.maxAttempts, now: now)
        if reaped > 0 {
            logger.warning("expired leases reclaimed", metadata: ["lease.reclaimed": "\(reaped)"])
        }
        return reaped
    }

    /// Makes the configured domains active, or (when none are configured) asks the source for the
    /// account's domains on the first tick and every discovery interval after. A failed discovery keeps
    /// the known list, and so does an empty answer while domains are known: an account does not lose
    /// every domain at once, an API answering with nothing does.
    private func refreshDomains(now: Date) async throws -> Bool {
        guard discovery.isDue(at: now, interval: configuration.discoveryInterval) else { return false }
        if !configuration.domains.isEmpty {
            try await store.setActiveDomains(configuration.domains, source: source.sourceName, now: now)
            discovery.markDone(at: now, interval: .infinity)
            return true
        }
        do {
            let domains = try await source.domains()
            if domains.isEmpty, try await !store.activeDomains(source: source.sourceName).isEmpty {
                discovery.markDone(at: now, interval: configuration.discoveryInterval)
                logger.warning("the source lists no domain; keeping the known domains")
                return false
            }
            try await store.setActiveDomains(domains, source: source.sourceName, now: now)
            discovery.markDone(at: now, interval: configuration.discoveryInterval)
            logger.info("domains discovered", metadata: ["discovery.domains": "\(domains.count)"])
            return true
        } catch {
            // Retry on the next tick rather than waiting a whole discovery interval.
            logger.warning("domain discovery failed; keeping the known domains", metadata: ["error.message": "\(error)"])
            return false
        }
    }
}

/// When discovery last ran; only the scheduler's own loop touches it, one tick at a time.
private final class DiscoveryState: Sendable {
    private let next = Mutex<Date?>(nil)

    func isDue(at now: Date, interval: TimeInterval) -> Bool {
        next.withLock { $0.map { now >= $0 } ?? true }
    }

    func markDone(at now: Date, interval: TimeInterval) {
        next.withLock { $0 = interval.isFinite ? now.addingTimeInterval(interval) : .distantFuture }
    }
}
