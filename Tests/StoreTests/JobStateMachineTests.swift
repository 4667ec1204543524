import Foundation
import JobModel
@testable import Store
import Testing

/// The state machine's behaviour, the same on every store.
@Suite("Job state machine")
struct JobStateMachineTests {
    let source = "tencent-cdn"

    private func planned(_ temporary: StoreUnderTest, domains: [String] = ["a.example"], hours: Int = 1, now: Date = hour(10)) async throws {
        try await temporary.store.setActiveDomains(domains, source: source, now: now)
        try await temporary.store.plan(
            domains.map { DomainPlan(source: source, domain: $0, firstHour: hour(0), endHour: hour(hours)) }, now: now)
    }

    private func state(of id: Int64, in temporary: StoreUnderTest) async throws -> JobSummary {
        let all = try await temporary.store.jobs(matching: JobFilter(), limit: 10_000)
        return try #require(all.first { $0.id == id })
    }

    @Test("planning is idempotent and advances the watermark", arguments: StoreKind.allCases)
    func planningIsIdempotent(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary, hours: 24)
        let again = try await temporary.store.plan([DomainPlan(source: source, domain: "a.example", firstHour: hour(0), endHour: hour(24))], now: hour(30))
        #expect(again == 0)
        let domains = try await temporary.store.activeDomains(source: source)
        #expect(domains == [PlannedDomain(source: source, domain: "a.example", plannedUntil: hour(24))])
        let status = try await temporary.store.status(recentFailureLimit: 5)
        #expect(status.totals == StateCounts(pending: 24))
    }

    @Test("a plan whose first hour is not whole is refused, and nothing of its call is planned", arguments: StoreKind.allCases)
    func planWithPartialHourIsRefused(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await temporary.store.setActiveDomains(["a.example", "b.example"], source: source, now: hour(10))
        let plans = [
            DomainPlan(source: source, domain: "a.example", firstHour: hour(0), endHour: hour(2)),
            DomainPlan(source: source, domain: "b.example", firstHour: hour(0).addingTimeInterval(60), endHour: hour(2)),
        ]
        await #expect(throws: (any Error).self) { try await temporary.store.plan(plans, now: hour(10)) }
        #expect(try await temporary.store.status(recentFailureLimit: 5).totals == StateCounts())
        #expect(try await temporary.store.activeDomains(source: source).allSatisfy { $0.plannedUntil == nil })
    }

    @Test("a plan's end need not be a whole hour: it plans the whole hours that start before it", arguments: StoreKind.allCases)
    func planEndingMidHour(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let plan = DomainPlan(
            source: source, domain: "a.example", firstHour: hour(0), endHour: hour(2).addingTimeInterval(1_773), advancesWatermark: false)
        #expect(try await temporary.store.plan([plan], now: hour(10)) == 2)
        #expect(try await temporary.store.status(recentFailureLimit: 5).totals == StateCounts(pending: 2))
    }

    @Test("a lease moves a window to running with owner, token, expiry and one attempt", arguments: StoreKind.allCases)
    func leaseTakesPendingToRunning(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary)
        let leased = try await temporary.store.claimDueJobs(owner: "w1", limit: 10, leaseDuration: 120, now: hour(10))
        #expect(leased.count == 1)
        #expect(leased[0].attempts == 1)
        #expect(leased[0].leaseUntil == hour(10).addingTimeInterval(120))
        #expect(try await state(of: leased[0].id, in: temporary).state == .running)
        #expect(try await temporary.store.claimDueJobs(owner: "w2", limit: 10, leaseDuration: 120, now: hour(10)).isEmpty)
    }

    @Test("complete records the files and frees the lease", arguments: StoreKind.allCases)
    func completeRecordsFiles(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary)
        let job = try #require(try await temporary.store.claimDueJobs(owner: "w1", limit: 1, leaseDuration: 120, now: hour(10)).first)
        let file = FileRecord(area: "mainland", name: "x.gz", size: 10, crc64: UInt64.max, md5: "m", sha256: "s", objectKey: "k", skipped: false)
        #expect(try await temporary.store.complete(job, files: [file], final: false, now: hour(10)))
        let summary = try await state(of: job.id, in: temporary)
        #expect(summary.state == .done)
        #expect(summary.fileCount == 1 && summary.byteCount == 10)
        #expect(try await temporary.store.files(ofJob: job.id) == [file])
    }

    @Test("a stale lease token is rejected by every transition", arguments: StoreKind.allCases)
    func staleTokenRejected(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary)
        var job = try #require(try await temporary.store.claimDueJobs(owner: "w1", limit: 1, leaseDuration: 120, now: hour(10)).first)
        job.leaseToken = "not-the-token"
        let error = JobError(code: "x", message: "y")
        #expect(try await temporary.store.complete(job, files: [], final: false, now: hour(10)) == false)
        #expect(try await temporary.store.heartbeat(job, until: hour(11), now: hour(10)) == false)
        #expect(try await temporary.store.reschedule(job, runAt: hour(11), error: error, consumeAttempt: true, now: hour(10)) == false)
        #expect(try await temporary.store.fail(job, error: error, now: hour(10)) == false)
        #expect(try await state(of: job.id, in: temporary).state == .running)
    }

    @Test("an expired lease is rescued to pending, and the old holder can no longer complete", arguments: StoreKind.allCases)
    func expiredLeaseRescued(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary)
        let first = try #require(try await temporary.store.claimDueJobs(owner: "w1", limit: 1, leaseDuration: 120, now: hour(10)).first)
        #expect(try await temporary.store.reapExpiredLeases(maxAttempts: 8, now: hour(10).addingTimeInterval(60)) == 0)
        #expect(try await temporary.store.reapExpiredLeases(maxAttempts: 8, now: hour(10).addingTimeInterval(121)) == 1)
        let rescued = try await state(of: first.id, in: temporary)
        #expect(rescued.state == .pending)
        #expect(rescued.attempts == 1)
        #expect(rescued.lastError?.code == "lease.expired")
        let second = try #require(try await temporary.store.claimDueJobs(owner: "w2", limit: 1, leaseDuration: 120, now: hour(10).addingTimeInterval(122)).first)
        #expect(second.attempts == 2)
        #expect(try await temporary.store.complete(first, files: [], final: false, now: hour(11)) == false)
        #expect(try await temporary.store.complete(second, files: [], final: false, now: hour(11)))
    }

    @Test("an expired lease that used the last attempt fails the window", arguments: StoreKind.allCases)
    func expiredLeaseAtMaxAttemptsFails(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary)
        var now = hour(10)
        for _ in 1...3 {
            _ = try await temporary.store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 10, now: now)
            now = now.addingTimeInterval(11)
            try await temporary.store.reapExpiredLeases(maxAttempts: 3, now: now)
        }
        let status = try await temporary.store.status(recentFailureLimit: 5)
        #expect(status.totals == StateCounts(failed: 1))
        #expect(status.recentFailures.first?.error.code == "lease.expired")
    }

    @Test("a heartbeat extends the lease past the reaper", arguments: StoreKind.allCases)
    func heartbeatExtendsLease(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary)
        let job = try #require(try await temporary.store.claimDueJobs(owner: "w1", limit: 1, leaseDuration: 120, now: hour(10)).first)
        #expect(try await temporary.store.heartbeat(job, until: hour(10).addingTimeInterval(300), now: hour(10).addingTimeInterval(100)))
        #expect(try await temporary.store.reapExpiredLeases(maxAttempts: 8, now: hour(10).addingTimeInterval(200)) == 0)
        #expect(try await temporary.store.complete(job, files: [], final: false, now: hour(10).addingTimeInterval(250)))
    }

    @Test("reschedule waits until run_at; an unpublished hour does not use an attempt", arguments: StoreKind.allCases)
    func rescheduleHonoursRunAtAndAttempts(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary)
        let error = JobError(code: "source.not_published", message: "later")
        let job = try #require(try await temporary.store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(10)).first)
        #expect(try await temporary.store.reschedule(job, runAt: hour(11), error: error, consumeAttempt: false, now: hour(10)))
        #expect(try await state(of: job.id, in: temporary).attempts == 0)
        #expect(try await temporary.store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(10).addingTimeInterval(3599)).isEmpty)
        let again = try #require(try await temporary.store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(11)).first)
        #expect(again.attempts == 1)
        #expect(try await temporary.store.reschedule(again, runAt: hour(12), error: error, consumeAttempt: true, now: hour(11)))
        #expect(try await state(of: job.id, in: temporary).attempts == 1)
    }

    @Test("fail keeps the error; retry --failed requeues matching windows with attempts reset", arguments: StoreKind.allCases)
    func failAndRequeue(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary, domains: ["a.example", "b.example"], hours: 3)
        let leased = try await temporary.store.claimDueJobs(owner: "w", limit: 10, leaseDuration: 120, now: hour(10))
        #expect(leased.count == 6)
        for job in leased {
            #expect(try await temporary.store.fail(job, error: JobError(code: "AuthFailure.SignatureFailure", message: "check cdn.secret_key"), now: hour(10)))
        }
        let onlyA = try await temporary.store.requeueFailed(matching: JobFilter(domain: "a.example", since: hour(1), until: hour(3)), now: hour(11))
        #expect(onlyA == 2)
        let status = try await temporary.store.status(recentFailureLimit: 10)
        #expect(status.totals == StateCounts(pending: 2, failed: 4))
        #expect(status.recentFailures.allSatisfy { $0.error.code == "AuthFailure.SignatureFailure" })
        let requeued = try await temporary.store.jobs(matching: JobFilter(state: .pending), limit: 10)
        #expect(requeued.allSatisfy { $0.attempts == 0 && $0.window.domain == "a.example" })
        #expect(try await temporary.store.requeueFailed(matching: JobFilter(), now: hour(11)) == 4)
    }

    @Test("releasing a dead owner's leases hands its windows back at once", arguments: StoreKind.allCases)
    func releaseLeasesOfOwner(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary, hours: 4)
        _ = try await temporary.store.claimDueJobs(owner: "dead", limit: 2, leaseDuration: 120, now: hour(10))
        _ = try await temporary.store.claimDueJobs(owner: "alive", limit: 1, leaseDuration: 120, now: hour(10))
        #expect(try await temporary.store.leaseOwners() == ["alive", "dead"])
        #expect(try await temporary.store.releaseLeases(ownedBy: "dead", maxAttempts: 8, now: hour(10)) == 2)
        #expect(try await temporary.store.status(recentFailureLimit: 1).totals == StateCounts(pending: 3, running: 1))
    }

    @Test("leasing is fair across domains: a week of catch-up does not starve another domain's hour", arguments: StoreKind.allCases)
    func leasingIsFairAcrossDomains(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let store = temporary.store
        try await store.setActiveDomains(["big.example", "small.example"], source: source, now: hour(0))
        try await store.plan([DomainPlan(source: source, domain: "big.example", firstHour: hour(0), endHour: hour(168))], now: hour(170))
        try await store.plan([DomainPlan(source: source, domain: "small.example", firstHour: hour(167), endHour: hour(168))], now: hour(170))
        let firstBatch = try await store.claimDueJobs(owner: "w", limit: 4, leaseDuration: 120, now: hour(170))
        #expect(firstBatch.contains { $0.window.domain == "small.example" })
        // Oldest first within a domain.
        let bigHours = firstBatch.filter { $0.window.domain == "big.example" }.map(\.window.hour)
        #expect(bigHours == bigHours.sorted())
        #expect(bigHours.first == hour(0))
    }

    @Test("counts in status match the rows after every kind of transition", arguments: StoreKind.allCases)
    func countsStayConsistent(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await planned(temporary, domains: ["a.example", "b.example"], hours: 5)
        let leased = try await temporary.store.claimDueJobs(owner: "w", limit: 6, leaseDuration: 10, now: hour(10))
        _ = try await temporary.store.complete(leased[0], files: [], final: false, now: hour(10))
        _ = try await temporary.store.fail(leased[1], error: JobError(code: "x", message: "y"), now: hour(10))
        _ = try await temporary.store.reschedule(leased[2], runAt: hour(10), error: JobError(code: "x", message: "y"), consumeAttempt: true, now: hour(10))
        try await temporary.store.reapExpiredLeases(maxAttempts: 1, now: hour(11))
        let status = try await temporary.store.status(recentFailureLimit: 10)
        let all = try await temporary.store.jobs(matching: JobFilter(), limit: 100)
        var recount = StateCounts()
        for job in all { recount[job.state] += 1 }
        #expect(status.totals == recount)
        #expect(status.domains.map(\.counts.total).reduce(0, +) == 10)
    }

    @Test("settled done windows go back for one reconcile pass, then are final with replacements counted", arguments: StoreKind.allCases)
    func reconcilePass(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let store = temporary.store
        try await planned(temporary, hours: 3)
        let file = FileRecord(area: "mainland", name: "x.gz", size: 10, crc64: 1, md5: "m", sha256: "s", objectKey: "k", skipped: false)
        for job in try await store.claimDueJobs(owner: "w", limit: 3, leaseDuration: 120, now: hour(10)) {
            #expect(job.pass == .copy)
            #expect(try await store.complete(job, files: [file], final: job.window.hour == hour(0), now: hour(10)))
        }
        #expect(try await store.status(recentFailureLimit: 0).settling == SettleCounts(final: 1))
        // Only done, not yet final windows whose hour is before the cutoff.
        #expect(try await store.beginReconcilePasses(hoursBefore: hour(2), now: hour(30)) == 1)
        let again = try await store.claimDueJobs(owner: "w", limit: 3, leaseDuration: 120, now: hour(30))
        #expect(again.map(\.window.hour) == [hour(1)])
        #expect(again.first?.pass == .reconcile && again.first?.attempts == 1)
        let unchanged = FileRecord(area: "mainland", name: "y.gz", size: 10, crc64: 1, md5: "m", sha256: "", objectKey: "k2", skipped: true)
        #expect(try await store.complete(again[0], files: [file, unchanged], final: true, now: hour(30)))
        let status = try await store.status(recentFailureLimit: 0)
        #expect(status.settling == SettleCounts(final: 2, replaced: 1))
        #expect(status.settling.provisional(done: status.totals.done) == 1)
        #expect(status.domains.first?.settling == SettleCounts(final: 2, replaced: 1))
        #expect(try await store.beginReconcilePasses(hoursBefore: hour(2), now: hour(31)) == 0)
    }

    @Test("a reconcile pass queues behind the work already waiting instead of jumping ahead of it", arguments: StoreKind.allCases)
    func reconcilePassesQueueFairly(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let store = temporary.store
        try await store.setActiveDomains(["old.example", "now.example"], source: source, now: hour(2))
        try await store.plan([DomainPlan(source: source, domain: "old.example", firstHour: hour(0), endHour: hour(1))], now: hour(2))
        let copied = try #require(try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(2)).first)
        #expect(try await store.complete(copied, files: [], final: false, now: hour(2)))
        // Current hours of another domain wait while the old window settles.
        try await store.plan([DomainPlan(source: source, domain: "now.example", firstHour: hour(20), endHour: hour(24))], now: hour(26))
        #expect(try await store.beginReconcilePasses(hoursBefore: hour(1), now: hour(26)) == 1)
        let next = try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(26))
        #expect(next.map(\.window.domain) == ["now.example"], "the oldest current hour goes first")
        let rest = try await store.claimDueJobs(owner: "w", limit: 10, leaseDuration: 120, now: hour(26))
        #expect(rest.contains { $0.window.domain == "old.example" && $0.pass == .reconcile })
    }

    @Test("a pass that stores no file leaves no file rows of an earlier pass behind", arguments: StoreKind.allCases)
    func emptyPassClearsTheFiles(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let store = temporary.store
        try await planned(temporary)
        let file = FileRecord(area: "mainland", name: "x.gz", size: 10, crc64: 1, md5: "m", sha256: "s", objectKey: "k", skipped: false)
        let copy = try #require(try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(10)).first)
        #expect(try await store.complete(copy, files: [file], final: false, now: hour(10)))
        #expect(try await store.beginReconcilePasses(hoursBefore: hour(1), now: hour(30)) == 1)
        let reconcile = try #require(try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 120, now: hour(30)).first)
        #expect(try await store.complete(reconcile, files: [], final: true, now: hour(30)))
        #expect(try await store.files(ofJob: copy.id).isEmpty)
        #expect(try await state(of: copy.id, in: temporary).fileCount == 0)
    }

    @Test("the database file is private to its owner")
    func databaseFileIsPrivate() throws {
        let temporary = try TemporaryStore()
        let attributes = try FileManager.default.attributesOfItem(atPath: temporary.store.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test("opening a missing database without create names the file")
    func missingDatabaseIsAClearError() {
        #expect(throws: StoreError.self) {
            try SQLiteJobStore(path: "/nonexistent/dir/jobs.sqlite", create: false)
        }
    }

    @Test("every migrations/*.sql file is embedded and applied")
    func everyMigrationFileIsEmbedded() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../migrations").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }.map { String($0.dropLast(4)) }.sorted()
        #expect(files == Migrations.names)
    }
}
