import Foundation
@testable import Scheduler
@testable import Store
import TestSupport
import Testing

@Suite("Scheduler ticks")
struct SchedulerServiceTests {
    private func scheduler(store: SQLiteJobStore, source: ScriptedDomainSource, clock: ManualWallClock, domains: [String], lookback: Int = 720) -> SchedulerService {
        SchedulerService(
            configuration: SchedulerConfiguration(
                tickInterval: 60, planner: WindowPlanner(lookbackHours: lookback, availabilityDelay: 3600),
                domains: domains, discoveryInterval: 3600, policy: WindowPolicy(leaseDuration: 120)),
            store: store, source: source, clock: clock, logger: quietLogger)
    }

    @Test("after a week of downtime one tick plans 3 × 168 windows; the next tick and a restart plan none")
    func catchUpAfterAWeek() async throws {
        let database = try TemporaryDatabase()
        let clock = ManualWallClock(now: hour(0).addingTimeInterval(3600 + 60))
        let source = ScriptedDomainSource(domains: [])
        let domains = ["a.example", "b.example", "c.example"]
        let first = scheduler(store: try database.open(), source: source, clock: clock, domains: domains, lookback: 720)
        #expect(try await first.tick().planned == 3 * 720)

        clock.advance(by: 7 * 86400)
        #expect(try await first.tick().planned == 3 * 168)
        #expect(try await first.tick().planned == 0)

        let restarted = scheduler(store: try database.open(), source: source, clock: clock, domains: domains, lookback: 720)
        #expect(try await restarted.tick().planned == 0)
        let status = try await database.open().status(recentFailureLimit: 0)
        #expect(status.totals.pending == 3 * (720 + 168))
    }

    @Test("a catch-up is capped by the lookback")
    func catchUpCappedByLookback() async throws {
        let database = try TemporaryDatabase()
        let clock = ManualWallClock(now: hour(0).addingTimeInterval(3600 + 60))
        let service = scheduler(store: try database.open(), source: ScriptedDomainSource(domains: []), clock: clock, domains: ["a.example"], lookback: 72)
        _ = try await service.tick()
        clock.advance(by: 40 * 86400)
        let report = try await service.tick()
        #expect(report.planned == 72)
        // The hours passed over are reported, not silently dropped.
        #expect(report.skipped.map(\.domain) == ["a.example"])
        #expect(report.skipped.first?.hourCount == 40 * 24 - 72)
        #expect(try await service.tick().skipped.isEmpty, "reported once")
        // And counted where operators look: `status`.
        let status = try await database.open().status(recentFailureLimit: 0)
        #expect(status.domains.first?.skippedHours == 40 * 24 - 72)
    }

    @Test("with no configured domains, discovery lists them and refreshes after the interval")
    func discovery() async throws {
        let database = try TemporaryDatabase()
        let store = try database.open()
        let clock = ManualWallClock(now: hour(100))
        let source = ScriptedDomainSource(domains: ["a.example", "b.example"])
        let service = scheduler(store: store, source: source, clock: clock, domains: [], lookback: 2)
        #expect(try await service.tick().discovered)
        #expect(try await store.activeDomains(source: "tencent-cdn").map(\.domain) == ["a.example", "b.example"])

        source.set(.success(["b.example", "c.example"]))
        clock.advance(by: 60)
        #expect(try await service.tick().discovered == false)
        clock.advance(by: 3600)
        #expect(try await service.tick().discovered)
        #expect(try await store.activeDomains(source: "tencent-cdn").map(\.domain) == ["b.example", "c.example"])

        source.set(.failure(.permanent("AuthFailure.SecretIdNotFound", "check cdn.secret_id")))
        clock.advance(by: 3600)
        #expect(try await service.tick().discovered == false)
        #expect(try await store.activeDomains(source: "tencent-cdn").map(\.domain) == ["b.example", "c.example"])
    }

    @Test("an empty domain listing keeps the known domains instead of deactivating them all")
    func emptyDiscoveryKeepsTheKnownDomains() async throws {
        let database = try TemporaryDatabase()
        let store = try database.open()
        let clock = ManualWallClock(now: hour(100))
        let source = ScriptedDomainSource(domains: ["a.example", "b.example"])
        let service = scheduler(store: store, source: source, clock: clock, domains: [], lookback: 2)
        #expect(try await service.tick().discovered)
        source.set(.success([]))
        clock.advance(by: 3600)
        #expect(try await service.tick().discovered == false)
        #expect(try await store.activeDomains(source: "tencent-cdn").map(\.domain) == ["a.example", "b.example"])
        // Windows keep being planned for them.
        clock.advance(by: 3600)
        #expect(try await service.tick().planned == 2)
    }

    @Test("the tick reaps an expired lease: a crashed worker's window is back within two lease periods")
    func reaperRescuesWithinTwoLeasePeriods() async throws {
        let database = try TemporaryDatabase()
        let store = try database.open()
        let clock = ManualWallClock(now: hour(0).addingTimeInterval(3600 + 60))
        let service = scheduler(store: store, source: ScriptedDomainSource(domains: []), clock: clock, domains: ["a.example"], lookback: 1)
        _ = try await service.tick()
        _ = try await store.claimDueJobs(owner: "crashed", limit: 1, leaseDuration: 120, now: clock.now)
        clock.advance(by: 121)
        #expect(try await service.tick().reaped == 1)
        #expect(try await store.claimDueJobs(owner: "next", limit: 1, leaseDuration: 120, now: clock.now).count == 1)
    }
}
