import Foundation

/// Window counts per state.
public struct StateCounts: Sendable, Hashable, Codable {
    /// Waiting to be leased (including those waiting out a backoff).
    public var pending = 0
    /// Leased by a worker.
    public var running = 0
    /// Stored.
    public var done = 0
    /// Given up on.
    public var failed = 0

    /// Creates counts.
    public init(pending: Int = 0, running: Int = 0, done: Int = 0, failed: Int = 0) {
        self.pending = pending
        self.running = running
        self.done = done
        self.failed = failed
    }

    /// The count for `state`.
    public subscript(state: JobState) -> Int {
        get {
            switch state {
            case .pending: pending
            case .running: running
            case .done: done
            case .failed: failed
            }
        }
        set {
            switch state {
            case .pending: pending = newValue
            case .running: running = newValue
            case .done: done = newValue
            case .failed: failed = newValue
            }
        }
    }

    /// All windows.
    public var total: Int { pending + running + done + failed }
}

/// How far the done windows have settled.
public struct SettleCounts: Sendable, Hashable, Codable {
    /// Done windows whose logs have settled and were checked once more (or were copied after settling).
    public var final = 0
    /// Packages a reconcile pass found changed and stored again.
    public var replaced = 0

    /// Creates settle counts.
    public init(final: Int = 0, replaced: Int = 0) {
        self.final = final
        self.replaced = replaced
    }

    /// Done windows still waiting for their reconcile pass, given the done count.
    public func provisional(done: Int) -> Int { max(0, done - final) }
}

/// Packages a pass did not download again because the sink still held them: found unchanged against
/// the window's file records, or by the checksums the store reports.
public struct AvoidedDownloads: Sendable, Hashable, Codable {
    /// On copy passes: retries and re-runs of a window's first copy.
    public var copy = 0
    /// On reconcile passes.
    public var reconcile = 0

    /// Creates counts.
    public init(copy: Int = 0, reconcile: Int = 0) {
        self.copy = copy
        self.reconcile = reconcile
    }

    /// On every kind of pass.
    public var total: Int { copy + reconcile }
}

/// One domain's line in `status`.
public struct DomainStatus: Sendable, Hashable, Codable {
    /// The source, e.g. `tencent-cdn`.
    public var source: String
    /// The domain.
    public var domain: String
    /// False once discovery stopped finding the domain.
    public var active: Bool
    /// Windows per state.
    public var counts: StateCounts
    /// The oldest hour not yet done, if any.
    public var oldestOpenHour: Date?
    /// Every hour before this instant has been planned.
    public var plannedUntil: Date?
    /// Provisional and final windows among the done ones, and packages replaced by reconciling.
    public var settling: SettleCounts
    /// Hours planning passed over because they were older than the lookback.
    public var skippedHours: Int
    /// Downloads avoided by the domain's passes.
    public var downloadsAvoided: AvoidedDownloads

    /// Creates a domain status line.
    public init(
        source: String, domain: String, active: Bool, counts: StateCounts, oldestOpenHour: Date?, plannedUntil: Date?,
        settling: SettleCounts = SettleCounts(), skippedHours: Int = 0, downloadsAvoided: AvoidedDownloads = AvoidedDownloads()
    ) {
        self.source = source
        self.domain = domain
        self.active = active
        self.counts = counts
        self.oldestOpenHour = oldestOpenHour
        self.plannedUntil = plannedUntil
        self.settling = settling
        self.skippedHours = skippedHours
        self.downloadsAvoided = downloadsAvoided
    }

    /// How far behind the domain is at `now`: from the end of its oldest unfinished hour, zero when
    /// every planned hour is done.
    public func lag(at now: Date) -> TimeInterval {
        guard let oldestOpenHour else { return 0 }
        return max(0, now.timeIntervalSince(oldestOpenHour) - 3600)
    }
}

/// A failed window as `status` lists it.
public struct FailureSummary: Sendable, Hashable, Codable {
    /// The window.
    public var window: Window
    /// Leases taken.
    public var attempts: Int
    /// Why it failed.
    public var error: JobError
    /// When it failed.
    public var failedAt: Date

    /// Creates a failure summary.
    public init(window: Window, attempts: Int, error: JobError, failedAt: Date) {
        self.window = window
        self.attempts = attempts
        self.error = error
        self.failedAt = failedAt
    }
}

/// Everything `status` shows, read in one consistent snapshot.
public struct StatusReport: Sendable, Hashable, Codable {
    /// Windows per state across every domain.
    public var totals: StateCounts
    /// Final windows and replaced packages across every domain.
    public var settling: SettleCounts
    /// Per domain, sorted by source and domain.
    public var domains: [DomainStatus]
    /// The most recent failures, newest first.
    public var recentFailures: [FailureSummary]
    /// Each dependency's health as the service last saw it, in `Dependency.allCases` order; a dependency
    /// never seen is healthy.
    public var dependencies: [DependencyState]
    /// The outages that ended, newest first (the latest few).
    public var recentOutages: [OutagePeriod]
    /// How many outages ended in all.
    public var outageCount: Int
    /// Downloads avoided across every domain.
    public var downloadsAvoided: AvoidedDownloads
    /// Per push stream domain: hours, parts, lines and spool bytes (empty without a receiver).
    public var streams: [StreamDomainStatus] = []

    /// Creates a report.
    public init(
        totals: StateCounts, settling: SettleCounts = SettleCounts(), domains: [DomainStatus], recentFailures: [FailureSummary],
        dependencies: [DependencyState] = Dependency.allCases.map { DependencyState(dependency: $0) },
        recentOutages: [OutagePeriod] = [], outageCount: Int = 0,
        downloadsAvoided: AvoidedDownloads = AvoidedDownloads()
    ) {
        self.totals = totals
        self.settling = settling
        self.downloadsAvoided = downloadsAvoided
        self.domains = domains
        self.recentFailures = recentFailures
        self.dependencies = dependencies
        self.recentOutages = recentOutages
        self.outageCount = outageCount
    }
}
