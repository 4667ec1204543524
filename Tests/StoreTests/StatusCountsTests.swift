import Foundation
import JobModel
@testable import Store
import Testing

/// `status` derives its counts (done = the domain's windows less its open ones, final = done less
/// provisional) instead of reading counters kept by triggers: they must stay exact through every kind of
/// change, not only the ones the worker pool makes.
@Suite("Status counts")
struct StatusCountsTests {
    private let source = "tencent-cdn"

    /// Checks `status` against a recount of every window.
    private func expectExact(_ store: SQLiteJobStore, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let windows = try await store.jobs(matching: JobFilter(), limit: 100_000)
        let status = try await store.status(recentFailureLimit: 100)
        var totals = StateCounts()
        var final = 0
        for domain in status.domains {
            let mine = windows.filter { $0.window.source == domain.source && $0.window.domain == domain.domain }
            var counts = StateCounts()
            for window in mine { counts[window.state] += 1 }
            let finalCount = mine.filter { $0.state == .done && $0.final }.count
            let oldestOpen = mine.filter { $0.state != .done }.map(\.window.hour).min()
            #expect(domain.counts == counts, "\(step): \(domain.domain)", sourceLocation: sourceLocation)
            #expect(domain.settling.final == finalCount, "\(step): \(domain.domain) final", sourceLocation: sourceLocation)
            #expect(domain.settling.replaced == mine.reduce(0) { $0 + $1.replacedCount }, "\(step): replaced", sourceLocation: sourceLocation)
            #expect(domain.oldestOpenHour == oldestOpen, "\(step): \(domain.domain) oldest open", sourceLocation: sourceLocation)
            for state in JobState.allCases { totals[state] += counts[state] }
            final += finalCount
        }
        #expect(status.totals == totals, "\(step): totals", sourceLocation: sourceLocation)
        #expect(status.totals.total == windows.count, "\(step): every window counted once", sourceLocation: sourceLocation)
        #expect(status.settling.final == final, "\(step): final", sourceLocation: sourceLocation)
        #expect(status.recentFailures.count == totals.failed, "\(step): failures", sourceLocation: sourceLocation)
    }

    private func file(_ name: String, downloaded: Bool) -> FileRecord {
        FileRecord(
            area: "mainland", name: name, size: 10, crc64: 1, md5: "m", sha256: "s", objectKey: "k/\(name)", skipped: !downloaded,
            downloaded: downloaded)
    }

    @Test("status equals a recount of the windows after planning, leases, outcomes, reaping, requeues, reconciling and pruning")
    func countsStayExact() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        let error = JobError(code: "x", message: "y")
        try await store.setActiveDomains(["a.example", "b.example"], source: source, now: hour(10))
        try await store.plan(["a.example", "b.example"].map { DomainPlan(source: source, domain: $0, firstHour: hour(0), endHour: hour(6)) }, now: hour(10))
        try await expectExact(store, "planned")

        let first = try await store.claimDueJobs(owner: "w", limit: 6, leaseDuration: 120, now: hour(10))
        #expect(first.count == 6)
        try await expectExact(store, "leased")
        #expect(try await store.complete(first[0], files: [file("a", downloaded: true)], final: true, now: hour(10)))
        #expect(try await store.complete(first[1], files: [file("b", downloaded: false)], final: false, now: hour(10)))
        #expect(try await store.reschedule(first[2], runAt: hour(10), error: error, consumeAttempt: true, now: hour(10)))
        #expect(try await store.fail(first[3], error: error, now: hour(10)))
        #expect(try await store.complete(first[4], files: [], final: false, now: hour(10)))
        try await expectExact(store, "outcomes")
        #expect(try await store.reapExpiredLeases(maxAttempts: 1, now: hour(11)) == 1)
        try await expectExact(store, "reaped")
        #expect(try await store.requeueFailed(matching: JobFilter(), now: hour(11)) == 2)
        try await expectExact(store, "requeued")

        #expect(try await store.beginReconcilePasses(hoursBefore: hour(6), now: hour(40)) == 2)
        try await expectExact(store, "reconciling")
        for job in try await store.claimDueJobs(owner: "w", limit: 20, leaseDuration: 120, now: hour(40)) {
            let files = job.pass == .reconcile ? [file("r1", downloaded: true), file("r2", downloaded: false)] : []
            #expect(try await store.complete(job, files: files, final: true, now: hour(40)))
        }
        try await expectExact(store, "all done")
        let status = try await store.status(recentFailureLimit: 0)
        #expect(status.settling.replaced == 2, "each reconcile pass stored one changed package")
        #expect(status.downloadsAvoided == AvoidedDownloads(copy: 1, reconcile: 2))

        // Overlapping plans of one domain in one call, over windows that exist: only the new hours count.
        let plans = [
            DomainPlan(source: source, domain: "a.example", firstHour: hour(0), endHour: hour(4)),
            DomainPlan(source: source, domain: "a.example", firstHour: hour(2), endHour: hour(8)),
            DomainPlan(source: source, domain: "c.example", firstHour: hour(5), endHour: hour(7)),
        ]
        #expect(try await store.plan(plans, now: hour(41)) == 4)
        try await expectExact(store, "overlapping plans")

        #expect(try await store.pruneDoneWindows(hoursBefore: hour(3), limit: 100) == 6)
        try await expectExact(store, "pruned")
        let pruned = try await store.status(recentFailureLimit: 0)
        #expect(pruned.downloadsAvoided.total + pruned.settling.replaced < status.downloadsAvoided.total + status.settling.replaced)
    }

    @Test("completing a window leases the next one in the same call, even when the completion lost its lease")
    func completionLeasesNext() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        try await store.setActiveDomains(["a.example"], source: source, now: hour(10))
        try await store.plan([DomainPlan(source: source, domain: "a.example", firstHour: hour(0), endHour: hour(3))], now: hour(10))
        let first = try #require(try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(10)).first)
        let (completed, next) = try await store.complete(
            first, files: [], final: false, now: hour(10), thenClaim: 1, owner: "w", leaseDuration: 120)
        #expect(completed)
        let second = try #require(next.first)
        #expect(next.count == 1 && second.window.hour == hour(1) && second.attempts == 1)
        #expect(try await store.job(id: first.id)?.state == .done)
        #expect(try await store.job(id: second.id)?.state == .running)
        var stale = second
        stale.leaseToken = "not-the-token"
        let (staleCompleted, afterStale) = try await store.complete(
            stale, files: [], final: false, now: hour(10), thenClaim: 1, owner: "w", leaseDuration: 120)
        #expect(!staleCompleted, "the lease token still decides")
        #expect(afterStale.map(\.window.hour) == [hour(2)])
        #expect(try await store.job(id: second.id)?.state == .running)
        let (_, none) = try await store.complete(second, files: [], final: false, now: hour(10), thenClaim: 0, owner: "w", leaseDuration: 120)
        #expect(none.isEmpty)
        try await expectExact(store, "after leasing on completion")
    }
}
