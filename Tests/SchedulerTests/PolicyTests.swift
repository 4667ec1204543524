import Foundation
import JobModel
@testable import Scheduler
@testable import Store
import Testing

@Suite("Window planner")
struct WindowPlannerTests {
    @Test("the horizon is the start of the hour that ends after the availability delay")
    func horizon() {
        let planner = WindowPlanner(lookbackHours: 72, availabilityDelay: 3600)
        #expect(planner.planningHorizon(at: hour(10).addingTimeInterval(3599)) == hour(9))
        #expect(planner.planningHorizon(at: hour(10).addingTimeInterval(3600)) == hour(10))
    }

    @Test("a new domain is planned back to the lookback, an up-to-date one not at all")
    func firstPlanAndUpToDate() {
        let planner = WindowPlanner(lookbackHours: 72, availabilityDelay: 0)
        let plans = planner.plans(for: [
            PlannedDomain(source: "s", domain: "new", plannedUntil: nil),
            PlannedDomain(source: "s", domain: "current", plannedUntil: hour(100)),
            PlannedDomain(source: "s", domain: "behind", plannedUntil: hour(98)),
        ], at: hour(100).addingTimeInterval(10))
        #expect(plans == [
            DomainPlan(source: "s", domain: "new", firstHour: hour(28), endHour: hour(100)),
            DomainPlan(source: "s", domain: "behind", firstHour: hour(98), endHour: hour(100)),
        ])
    }

    @Test("by default a new domain is planned back over the CDN's whole retention of 720 hours")
    func defaultLookbackIsTheRetention() {
        let plans = WindowPlanner(availabilityDelay: 0)
            .plans(for: [PlannedDomain(source: "s", domain: "new", plannedUntil: nil)], at: hour(1000))
        #expect(plans.first?.hourCount == 720)
    }

    @Test("hours a catch-up passes over are reported with their range")
    func skippedHoursAreReported() {
        let planner = WindowPlanner(lookbackHours: 72, availabilityDelay: 0)
        let domains = [
            PlannedDomain(source: "s", domain: "away", plannedUntil: hour(10)),
            PlannedDomain(source: "s", domain: "recent", plannedUntil: hour(990)),
        ]
        #expect(planner.skippedHours(for: domains, at: hour(1000)) == [
            SkippedHours(source: "s", domain: "away", from: hour(10), until: hour(928)),
        ])
        #expect(planner.skippedHours(for: domains, at: hour(1000)).first?.hourCount == 918)
    }

    @Test("the lookback never exceeds 30 days")
    func lookbackClamped() {
        #expect(WindowPlanner(lookbackHours: 10_000).lookbackHours == 720)
        let plans = WindowPlanner(lookbackHours: 10_000, availabilityDelay: 0)
            .plans(for: [PlannedDomain(source: "s", domain: "d", plannedUntil: hour(0))], at: hour(2000))
        #expect(plans.first?.hourCount == 720)
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 8, baseDelay: 30, maximumDelay: 3600, jitter: 0.2)

    @Test("backoff doubles from the base and stops at the cap")
    func backoffSchedule() {
        let schedule = (1...9).map { policy.backoff(afterAttempt: $0, random: 0.5) }
        #expect(schedule == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
    }

    @Test("jitter spreads each delay within ±20 % and never past the cap")
    func jitterBounds() {
        #expect(policy.backoff(afterAttempt: 1, random: 0) == 24)
        #expect(abs(policy.backoff(afterAttempt: 1, random: 0.999_999) - 36) < 0.001)
        #expect(policy.backoff(afterAttempt: 8, random: 0.999) == 3600)
    }

    @Test("retryable errors retry until max_attempts; permanent errors fail at once")
    func decisions() {
        let now = hour(0)
        #expect(policy.decision(afterAttempt: 1, retryable: true, now: now, random: 0.5) == .retry(at: now.addingTimeInterval(30)))
        #expect(policy.decision(afterAttempt: 7, retryable: true, now: now, random: 0.5) == .retry(at: now.addingTimeInterval(1920)))
        #expect(policy.decision(afterAttempt: 8, retryable: true, now: now, random: 0.5) == .fail)
        #expect(policy.decision(afterAttempt: 1, retryable: false, now: now, random: 0.5) == .fail)
    }

    @Test("an unpublished hour is looked at again until the horizon, then it is empty")
    func publication() {
        let policy = RetryPolicy(publicationHorizon: 3 * 3600, publicationRecheck: 600)
        #expect(policy.publicationDecision(hour: hour(0), now: hour(2)) == .waitUntil(hour(2).addingTimeInterval(600)))
        #expect(policy.publicationDecision(hour: hour(0), now: hour(4).addingTimeInterval(-60)) == .waitUntil(hour(4)))
        #expect(policy.publicationDecision(hour: hour(0), now: hour(4)) == .empty)
    }
}
