import Core
import Foundation
import JobModel

/// Decides which hours to plan: pure, a function of the domains' watermarks and `now`.
public struct WindowPlanner: Sendable, Equatable {
    /// CDN logs are kept 30 days; planning further back would only produce failures.
    public static let maximumLookbackHours = 720

    /// How far back a domain's first plan, or a catch-up after downtime, reaches. By default the CDN's
    /// whole retention, so no hour the source still holds is passed over.
    public var lookbackHours: Int
    /// An hour is planned once it has been closed for this long (logs are published after the hour).
    public var availabilityDelay: TimeInterval

    /// Creates a planner; `lookbackHours` is clamped to 1 ... 720.
    public init(lookbackHours: Int = WindowPlanner.maximumLookbackHours, availabilityDelay: TimeInterval = 3600) {
        self.lookbackHours = min(max(lookbackHours, 1), Self.maximumLookbackHours)
        self.availabilityDelay = availabilityDelay
    }

    /// One past the newest hour that may be planned at `now`: hours before it are closed and past the
    /// availability delay.
    public func planningHorizon(at now: Date) -> Date {
        now.addingTimeInterval(-availabilityDelay).startOfHour
    }

    /// The oldest hour a plan reaches back to at `now`: the lookback before the planning horizon.
    private func earliestHour(at now: Date) -> Date {
        planningHorizon(at: now).addingTimeInterval(-TimeInterval(lookbackHours) * 3600)
    }

    /// The hours each domain's next plan passes over: those between its watermark and the lookback,
    /// when it is further behind than the lookback (a long downtime, a domain that comes back).
    public func skippedHours(for domains: [PlannedDomain], at now: Date) -> [SkippedHours] {
        let earliest = earliestHour(at: now)
        return domains.compactMap { domain in
            guard let plannedUntil = domain.plannedUntil, plannedUntil < earliest else { return nil }
            return SkippedHours(source: domain.source, domain: domain.domain, from: plannedUntil, until: earliest)
        }
    }

    /// The plans that bring every domain up to the planning horizon, never reaching back further than
    /// the lookback. Domains already up to date get no plan.
    public func plans(for domains: [PlannedDomain], at now: Date) -> [DomainPlan] {
        let end = planningHorizon(at: now)
        let earliest = earliestHour(at: now)
        return domains.compactMap { domain in
            let first = max(domain.plannedUntil ?? earliest, earliest)
            guard first < end else { return nil }
            let skipped = domain.plannedUntil.map { max(0, Int((earliest.unixSeconds - $0.unixSeconds) / 3600)) } ?? 0
            return DomainPlan(source: domain.source, domain: domain.domain, firstHour: first, endHour: end, skippedHours: skipped)
        }
    }
}

/// Hours of one domain that planning passed over: `from ..< until`, whole UTC hours.
public struct SkippedHours: Sendable, Equatable {
    /// The source of the domain's windows.
    public var source: String
    /// The domain.
    public var domain: String
    /// The first hour passed over.
    public var from: Date
    /// One past the last hour passed over.
    public var until: Date

    /// How many hours were passed over.
    public var hourCount: Int { Int((until.unixSeconds - from.unixSeconds) / 3600) }
}
