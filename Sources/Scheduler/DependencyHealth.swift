import Core
import Foundation
import JobModel
import Logging
import Synchronization

/// When a dependency counts as in an outage, and how the pool probes it then.
public struct OutagePolicy: Sendable, Equatable {
    /// Failures of one dependency in a row, across windows and with no answer between them, that make an
    /// outage. The failure that starts it and every later one spend no attempt; the ones before it do,
    /// so a dependency failing for one window only still ends that window's retries.
    public var failuresForOutage: Int
    /// The wait before the first probe; each probe that does not end the outage doubles it.
    public var firstProbeDelay: TimeInterval
    /// The longest wait between probes.
    public var maxProbeDelay: TimeInterval

    /// Creates a policy; the defaults are the service's documented ones.
    public init(failuresForOutage: Int = 3, firstProbeDelay: TimeInterval = 5, maxProbeDelay: TimeInterval = 300) {
        self.failuresForOutage = max(1, failuresForOutage)
        self.firstProbeDelay = max(0, firstProbeDelay)
        self.maxProbeDelay = max(self.firstProbeDelay, maxProbeDelay)
    }
}

/// What the pool may lease now, given the dependencies' health.
public enum Admission: Sendable, Equatable {
    /// Every dependency is healthy: lease as many windows as there are free workers.
    case open
    /// A dependency is in an outage and a probe is due: lease one window, run it alone.
    case probe
    /// A dependency is in an outage: lease nothing until the given instant (or a probe is running).
    case closed(until: Date?)
}

/// The health of the pipeline's dependencies, as the windows' transfers see it.
///
/// Every transfer reports each dependency's answers and unavailability (`DependencyObserver`). A run of
/// `failuresForOutage` failures of one dependency with no answer between them, from any windows, is an
/// outage: the pool then stops leasing, runs one window at a time as a probe with doubling delays, and
/// resumes in full once the dependency answers. Windows that meet a dependency in an outage are handed
/// back without spending an attempt. Changes are saved in the job store (`persist`), so `status` shows
/// them and an outage under way survives a restart.
public final class DependencyHealth: DependencyObserver {
    private struct State {
        var dependencies: [Dependency: DependencyState] = [:]
        /// The first failure of each dependency's current run of failures.
        var runStarted: [Dependency: Date] = [:]
        var endedOutages: [OutagePeriod] = []
        var dirty = false
        var probeRunning = false
        var probeDelay: TimeInterval
        var nextProbeAt: Date?
    }

    private let policy: OutagePolicy
    private let clock: any WallClock
    private let logger: Logger
    private let state: Mutex<State>

    /// Creates a tracker that sees every dependency healthy.
    public init(policy: OutagePolicy = OutagePolicy(), clock: any WallClock, logger: Logger) {
        self.policy = policy
        self.clock = clock
        self.logger = logger
        state = Mutex(State(probeDelay: policy.firstProbeDelay))
    }

    /// Takes over the health saved by an earlier process: an outage under way goes on (with a probe at
    /// once) rather than every worker rushing at a dependency that was down a moment ago.
    public func restore(_ saved: [DependencyState]) {
        let now = clock.now
        state.withLock { state in
            for entry in saved { state.dependencies[entry.dependency] = entry }
            if saved.contains(where: \.inOutage) { state.nextProbeAt = now }
        }
    }

    /// Every dependency's state, in `Dependency.allCases` order.
    public var states: [DependencyState] {
        state.withLock { state in Dependency.allCases.map { state.dependencies[$0] ?? DependencyState(dependency: $0) } }
    }

    /// Whether `dependency` is in an outage.
    public func isInOutage(_ dependency: Dependency) -> Bool {
        state.withLock { $0.dependencies[dependency]?.inOutage ?? false }
    }

    /// The dependencies in an outage.
    public var outages: [Dependency] {
        state.withLock { state in Dependency.allCases.filter { state.dependencies[$0]?.inOutage ?? false } }
    }

    public func answered(_ dependency: Dependency) {
        let now = clock.now
        let ended = state.withLock { state -> OutagePeriod? in
            var entry = state.dependencies[dependency] ?? DependencyState(dependency: dependency)
            var ended: OutagePeriod?
            if let since = entry.outageSince {
                ended = OutagePeriod(dependency: dependency, started: since, ended: now, failures: entry.failures)
                state.endedOutages.append(ended!)
                entry.outageSince = nil
            }
            let changed = ended != nil || entry.failures > 0
            entry.failures = 0
            entry.lastAnsweredAt = now
            state.dependencies[dependency] = entry
            if changed { state.dirty = true }
            if ended != nil && !state.dependencies.values.contains(where: \.inOutage) {
                state.probeDelay = policy.firstProbeDelay
                state.nextProbeAt = nil
            }
            return ended
        }
        if let ended {
            logger.notice("dependency answers again; outage over", metadata: [
                "dependency": "\(dependency)", "outage.since": "\(ended.started.formatted(.iso8601))",
                "outage.seconds": "\(Int(ended.duration))", "outage.failures": "\(ended.failures)",
            ])
        }
    }

    public func unavailable(_ dependency: Dependency, _ error: any ClassifiedError) {
        let now = clock.now
        let started = state.withLock { state -> DependencyState? in
            var entry = state.dependencies[dependency] ?? DependencyState(dependency: dependency)
            if entry.failures == 0 { state.runStarted[dependency] = now }
            entry.failures += 1
            entry.lastFailureAt = now
            entry.lastError = JobError(code: error.code, message: error.detail)
            var started: DependencyState?
            if entry.outageSince == nil, entry.failures >= policy.failuresForOutage {
                entry.outageSince = state.runStarted[dependency] ?? now
                if state.nextProbeAt == nil { state.nextProbeAt = now.addingTimeInterval(state.probeDelay) }
                started = entry
            }
            state.dependencies[dependency] = entry
            state.dirty = true
            return started
        }
        if let started {
            logger.warning("dependency outage: leasing stops, probing until it answers", metadata: [
                "dependency": "\(dependency)", "outage.since": "\(started.outageSince!.formatted(.iso8601))",
                "outage.failures": "\(started.failures)", "error.code": "\(error.code)", "error.message": "\(error.message)",
            ])
        }
    }

    /// What the pool may lease at `now`.
    public func admission(at now: Date) -> Admission {
        state.withLock { state in
            guard state.dependencies.values.contains(where: \.inOutage) else { return .open }
            if state.probeRunning { return .closed(until: nil) }
            guard let next = state.nextProbeAt, next > now else { return .probe }
            return .closed(until: next)
        }
    }

    /// A probe window was leased.
    public func probeStarted() {
        state.withLock { $0.probeRunning = true }
    }

    /// The probe window finished: if an outage goes on, the next probe waits twice as long (up to the
    /// policy's limit).
    public func probeFinished() {
        let now = clock.now
        state.withLock { state in
            state.probeRunning = false
            guard state.dependencies.values.contains(where: \.inOutage) else { return }
            state.nextProbeAt = now.addingTimeInterval(state.probeDelay)
            state.probeDelay = min(state.probeDelay * 2, policy.maxProbeDelay)
        }
    }

    /// Saves what changed since the last call. A failure to save is logged and retried next time.
    public func persist(to store: any JobStore) async {
        let (states, ended) = state.withLock { state -> ([DependencyState], [OutagePeriod]) in
            guard state.dirty else { return ([], []) }
            state.dirty = false
            let ended = state.endedOutages
            state.endedOutages.removeAll()
            return (Dependency.allCases.map { state.dependencies[$0] ?? DependencyState(dependency: $0) }, ended)
        }
        guard !states.isEmpty else { return }
        do {
            try await store.saveDependencyHealth(states, endedOutages: ended, now: clock.now)
        } catch {
            state.withLock { state in
                state.dirty = true
                state.endedOutages.insert(contentsOf: ended, at: 0)
            }
            logger.warning("cannot save the dependencies' health; will retry", metadata: ["error.message": "\(error)"])
        }
    }
}
