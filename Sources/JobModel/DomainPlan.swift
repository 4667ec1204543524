import Core
import Foundation

/// The hours to plan for one domain, and the watermark to record once they are.
public struct DomainPlan: Sendable, Hashable {
    /// The source, e.g. `tencent-cdn`.
    public var source: String
    /// The domain.
    public var domain: String
    /// The first hour to plan (UTC, whole hour).
    public var firstHour: Date
    /// One past the last hour to plan; also the domain's new watermark.
    public var endHour: Date
    /// Whether `endHour` becomes the domain's watermark (if later than the current one). False for an
    /// explicit backfill, which does not mean every earlier hour was planned.
    public var advancesWatermark: Bool
    /// Hours between the domain's watermark and `firstHour` that this plan passes over (older than the
    /// lookback); added to the domain's skipped-hours count.
    public var skippedHours: Int

    /// Creates a plan covering `firstHour ..< endHour`.
    public init(source: String, domain: String, firstHour: Date, endHour: Date, advancesWatermark: Bool = true, skippedHours: Int = 0) {
        self.source = source
        self.domain = domain
        self.firstHour = firstHour
        self.endHour = endHour
        self.advancesWatermark = advancesWatermark
        self.skippedHours = max(0, skippedHours)
    }

    /// How many hours the plan covers.
    public var hourCount: Int { max(0, Int((endHour.unixSeconds - firstHour.unixSeconds) / 3600)) }
}

/// A domain the scheduler plans for, with its watermark.
public struct PlannedDomain: Sendable, Hashable {
    /// The source.
    public var source: String
    /// The domain.
    public var domain: String
    /// Every hour before this instant is planned; nil before the first plan.
    public var plannedUntil: Date?

    /// Creates a planned domain.
    public init(source: String, domain: String, plannedUntil: Date?) {
        self.source = source
        self.domain = domain
        self.plannedUntil = plannedUntil
    }
}
