import Foundation
import Synchronization
import JobModel
import Jobs
@testable import Scheduler
@testable import Store
import TestSupport
import Testing

@Suite("Worker pool outcomes")
struct WorkerPoolTests {
    let file = FileRecord(area: "mainland", name: "f.gz", size: 5, crc64: 1, md5: "m", sha256: "s", objectKey: "k", skipped: false)

    /// The pieces of one test; holds the temporary database alive.
    struct Fixture {
        let store: SQLiteJobStore
        let pool: WorkerPool
        let clock: ManualWallClock
        let transfer: ScriptedTransfer
        let database: TemporaryDatabase
    }

    private func setUp(_ outcomes: [String: Result<TransferOutcome, TransferError>], maxAttempts: Int = 3, at now: Date = hour(2))
        async throws -> Fixture
    {
        let database = try TemporaryDatabase()
        let store = try database.open()
        let clock = ManualWallClock(now: now)
        try await store.setActiveDomains(Array(outcomes.keys), source: "tencent-cdn", now: now)
        try await store.plan(outcomes.keys.map { DomainPlan(source: "tencent-cdn", domain: $0, firstHour: hour(0), endHour: hour(1)) }, now: now)
        let transfer = ScriptedTransfer(outcomes)
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(
                concurrency: 2,
                policy: WindowPolicy(
                    retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: 30, maximumDelay: 3600, jitter: 0, publicationHorizon: 3 * 3600),
                    leaseDuration: 120, settleDelay: 24 * 3600)),
            store: store, transfer: transfer, clock: clock, logger: quietLogger)
        return Fixture(store: store, pool: pool, clock: clock, transfer: transfer, database: database)
    }

    private func only(_ store: SQLiteJobStore) async throws -> JobSummary {
        try #require(try await store.jobs(matching: JobFilter(), limit: 2).first)
    }

    @Test("a worker that lost its lease does not discard the unfinished uploads of the window's new holder")
    func lostLeaseDoesNotAbandon() async throws {
        let fixture = try await setUp(["a.example": .failure(.permanent("AccessDenied", "no"))])
        let (store, pool, clock, transfer) = (fixture.store, fixture.pool, fixture.clock, fixture.transfer)
        transfer.duringTransfer.withLock {
            $0 = {
                // The lease runs out and another worker takes the window over.
                try await store.releaseLeases(ownedBy: LeaseOwner.current, maxAttempts: 3, now: clock.now)
                _ = try await store.claimDueJobs(owner: "other/1/aaaa", limit: 1, leaseDuration: 120, now: clock.now)
            }
        }
        #expect(await pool.runUntilIdle() == 1)
        #expect(try await only(store).state == .running, "the new holder still has it")
        #expect(transfer.windowsAbandoned.isEmpty)
    }

    @Test("workers that lease their next window as they complete one never hold more windows than the pool's concurrency")
    func selfLeasingStaysWithinConcurrency() async throws {
        let domains = (0..<8).map { "d\($0).example" }
        let fixture = try await setUp(Dictionary(uniqueKeysWithValues: domains.map { ($0, .success(.stored([file]))) }))
        let (store, pool, transfer) = (fixture.store, fixture.pool, fixture.transfer)
        let mostRunning = Mutex(0)
        transfer.duringTransfer.withLock {
            $0 = {
                let running = try await store.status(recentFailureLimit: 0).totals.running
                mostRunning.withLock { $0 = max($0, running) }
            }
        }
        #expect(await pool.runUntilIdle() == 8)
        #expect(mostRunning.withLock { $0 } <= 2, "concurrency 2")
        #expect(try await store.status(recentFailureLimit: 0).totals == StateCounts(done: 8))
        #expect(Set(transfer.windowsRun.map(\.domain)) == Set(domains))
    }

    @Test("a stored window is done with its files")
    func success() async throws {
        let fixture = try await setUp(["a.example": .success(.stored([file]))])
        let (store, pool) = (fixture.store, fixture.pool)
        #expect(await pool.runUntilIdle() == 1)
        let job = try await only(store)
        #expect(job.state == .done)
        #expect(try await store.files(ofJob: job.id) == [file])
    }

    @Test("a retryable error goes back to pending after the backoff and fails after max_attempts")
    func retryableThenFailed() async throws {
        let fixture = try await setUp(["a.example": .failure(.retryable("download.truncated", "short body"))])
        let (store, pool, clock, transfer) = (fixture.store, fixture.pool, fixture.clock, fixture.transfer)
        #expect(await pool.runUntilIdle() == 1)
        var job = try await only(store)
        #expect(job.state == .pending && job.attempts == 1)
        #expect(job.runAt == clock.now.addingTimeInterval(30))
        #expect(await pool.runUntilIdle() == 0)
        clock.advance(by: 30)
        #expect(await pool.runUntilIdle() == 1)
        #expect(try await only(store).runAt == clock.now.addingTimeInterval(60))
        clock.advance(by: 60)
        #expect(await pool.runUntilIdle() == 1)
        job = try await only(store)
        #expect(job.state == .failed && job.attempts == 3)
        #expect(job.lastError?.code == "download.truncated")
        #expect(transfer.windowsRun.count == 3)
    }

    @Test("a permanent error fails the window at once with an actionable message")
    func permanentFailsAtOnce() async throws {
        let fixture = try await setUp(["a.example": .failure(.permanent("AuthFailure.SignatureFailure", "check cdn.secret_key"))])
        let (store, pool) = (fixture.store, fixture.pool)
        await pool.runUntilIdle()
        let job = try await only(store)
        #expect(job.state == .failed && job.attempts == 1)
        #expect(job.lastError?.message.contains("cdn.secret_key") == true)
        #expect(fixture.transfer.windowsAbandoned == [job.window], "a failed window's unfinished uploads are released")
    }

    @Test("an unpublished hour waits without using attempts, then is done empty past the horizon")
    func unpublishedThenEmpty() async throws {
        let fixture = try await setUp(["a.example": .success(.nothingPublished)], maxAttempts: 1)
        let (store, pool, clock) = (fixture.store, fixture.pool, fixture.clock)
        for _ in 0..<3 {
            await pool.runUntilIdle()
            let job = try await only(store)
            #expect(job.state == .pending && job.attempts == 0)
            #expect(job.lastError?.code == "source.not_published")
            clock.advance(by: 600)
        }
        clock.advance(by: 3 * 3600)
        await pool.runUntilIdle()
        let job = try await only(store)
        #expect(job.state == .done && job.fileCount == 0)
    }

    @Test("a first copy is provisional; after the settle time the tick sends it back and the reconcile pass makes it final")
    func settleAndReconcile() async throws {
        let fixture = try await setUp(["a.example": .success(.stored([file]))])
        let (store, pool, clock) = (fixture.store, fixture.pool, fixture.clock)
        await pool.runUntilIdle()
        #expect(try await store.status(recentFailureLimit: 0).settling == SettleCounts(final: 0))
        // Only the settle pass is under test: the scheduler plans for another source with no domain, so
        // its tick plans nothing new (reconcile passes cover every source).
        let scheduler = SchedulerService(
            configuration: SchedulerConfiguration(domains: [], policy: WindowPolicy(settleDelay: 24 * 3600)),
            store: store, source: ScriptedDomainSource(domains: [], sourceName: "elsewhere"), clock: clock, logger: quietLogger)
        #expect(try await scheduler.tick().reconciling == 0)
        clock.advance(by: 24 * 3600)
        #expect(try await scheduler.tick().reconciling == 1)
        await pool.runUntilIdle()
        let status = try await store.status(recentFailureLimit: 0)
        #expect(status.settling == SettleCounts(final: 1, replaced: 1))
        #expect(fixture.transfer.windowsRun.count == 2)
    }

    @Test("a window first copied after the settle time is final at once")
    func lateCopyIsFinal() async throws {
        let fixture = try await setUp(["a.example": .success(.stored([file]))], at: hour(30))
        await fixture.pool.runUntilIdle()
        #expect(try await fixture.store.status(recentFailureLimit: 0).settling.final == 1)
    }

    @Test("the pool runs every domain's windows")
    func severalDomains() async throws {
        let fixture = try await setUp(["a.example": .success(.stored([])), "b.example": .success(.stored([])), "c.example": .success(.stored([]))])
        let (store, pool, transfer) = (fixture.store, fixture.pool, fixture.transfer)
        #expect(await pool.runUntilIdle() == 3)
        #expect(Set(transfer.windowsRun.map(\.domain)) == ["a.example", "b.example", "c.example"])
        #expect(try await store.status(recentFailureLimit: 0).totals == StateCounts(done: 3))
    }

    @Test("windows are leased only for free workers: none waits leased unrenewed, and running never exceeds the concurrency")
    func noLeasesAheadOfWorkers() async throws {
        let fixture = try await setUp(["a.example": .success(.stored([]))])
        let (store, pool, transfer) = (fixture.store, fixture.pool, fixture.transfer)
        // Two days of instant windows: the kind of run after which the pool used to lease ahead.
        try await store.plan([DomainPlan(source: "tencent-cdn", domain: "a.example", firstHour: hour(1), endHour: hour(48))], now: fixture.clock.now)
        let mostRunning = Mutex(0)
        transfer.duringTransfer.withLock {
            $0 = {
                let running = try await store.status(recentFailureLimit: 0).totals.running
                mostRunning.withLock { $0 = max($0, running) }
            }
        }
        let service = Task { try await pool.run() }
        while try await store.status(recentFailureLimit: 0).totals.done < 48 {
            try await Task.sleep(for: .milliseconds(5))
        }
        pool.stop()
        try await service.value
        #expect(mostRunning.withLock { $0 } <= 2, "status showed more windows running than there are workers")
    }

    @Test("a window that runs past the longest allowed time is stopped, its lease no longer renewed, and retried")
    func windowDeadline() async throws {
        let fixture = try await setUp(["a.example": .success(.stored([]))])
        let (store, clock, transfer) = (fixture.store, fixture.clock, fixture.transfer)
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(
                concurrency: 1, policy: WindowPolicy(leaseDuration: 120, maxWindowDuration: 600)),
            store: store, transfer: transfer, clock: clock, logger: quietLogger)
        // A transfer stuck in a way no timeout of its own catches.
        transfer.duringTransfer.withLock { $0 = { try await clock.sleep(for: .seconds(365 * 86400)) } }
        let run = Task { await pool.runUntilIdle() }
        var steps = 0
        while try await only(store).lastError == nil, steps < 10_000 {
            clock.advance(by: 10)
            steps += 1
            try await Task.sleep(for: .milliseconds(1))
        }
        transfer.duringTransfer.withLock { $0 = nil }
        _ = await run.value
        let job = try await only(store)
        #expect(job.lastError?.code == "worker.window_deadline")
        #expect(job.attempts == 1)
        #expect(steps * 10 <= 600 + 60, "stopped at the limit, not when the lease ran out")
    }

    @Test("a window whose lease a heartbeat finds lost is stopped at that heartbeat, with nothing recorded")
    func heartbeatFindsLeaseLost() async throws {
        let fixture = try await setUp(["a.example": .success(.stored([]))])
        let (store, clock, transfer) = (fixture.store, fixture.clock, fixture.transfer)
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(
                concurrency: 1, policy: WindowPolicy(leaseDuration: 120, maxWindowDuration: 600)),
            store: store, transfer: transfer, clock: clock, logger: quietLogger)
        let stopped = Mutex(false)
        transfer.duringTransfer.withLock {
            $0 = {
                // The lease runs out and another worker takes the window over, while this transfer is stuck.
                try await store.releaseLeases(ownedBy: LeaseOwner.current, maxAttempts: 3, now: clock.now)
                _ = try await store.claimDueJobs(owner: "other/1/aaaa", limit: 1, leaseDuration: 120, now: clock.now)
                do {
                    try await clock.sleep(for: .seconds(365 * 86400))
                } catch {
                    stopped.withLock { $0 = true }
                    throw error
                }
            }
        }
        let run = Task { await pool.runUntilIdle() }
        var steps = 0
        while !stopped.withLock({ $0 }), steps < 10_000 {
            clock.advance(by: 10)
            steps += 1
            try await Task.sleep(for: .milliseconds(1))
        }
        transfer.duringTransfer.withLock { $0 = nil }
        #expect(await run.value == 1)
        let job = try await only(store)
        #expect(job.state == .running, "the new holder still has it")
        #expect(job.lastError?.code == "lease.owner_gone", "the worker that lost the lease recorded nothing")
        #expect(job.attempts == 2, "one attempt per lease, none more")
        #expect(steps * 10 < 600, "stopped at the heartbeat, not at the window deadline")
        #expect(transfer.windowsAbandoned.isEmpty)
    }

    /// A cancelled pool (a service group cancels its services when one ends early) once went on polling
    /// for windows forever: the time limit ends that.
    @Test(
        "interruptNow, or cancelling the pool's task, stops a running window at once and hands it back without using an attempt",
        .timeLimit(.minutes(1)), arguments: [false, true])
    func interruptionHandsBack(byCancellation: Bool) async throws {
        let fixture = try await setUp(["a.example": .success(.stored([]))])
        let (store, pool, clock, transfer) = (fixture.store, fixture.pool, fixture.clock, fixture.transfer)
        transfer.duringTransfer.withLock { $0 = { try await clock.sleep(for: .seconds(365 * 86400)) } }
        let service = Task { try await pool.run() }
        while transfer.windowsRun.isEmpty {
            try await Task.sleep(for: .milliseconds(5))
        }
        if byCancellation { service.cancel() } else { pool.interruptNow() }
        try await service.value
        transfer.duringTransfer.withLock { $0 = nil }
        let job = try await only(store)
        #expect(job.state == .pending)
        #expect(job.lastError?.code == "worker.interrupted")
        #expect(job.attempts == 0)
    }

    @Test("an empty hour is final only when a second listing, an hour or more later, agrees")
    func emptyHourFinalAfterSecondListing() async throws {
        // Copied long after the settle time: a window with packages would be final at once.
        let fixture = try await setUp(["a.example": .success(.nothingPublished)], at: hour(30))
        let (store, pool, clock, transfer) = (fixture.store, fixture.pool, fixture.clock, fixture.transfer)
        let scheduler = SchedulerService(
            configuration: SchedulerConfiguration(
                planner: WindowPlanner(lookbackHours: 0, availabilityDelay: 3600), domains: ["a.example"],
                policy: WindowPolicy(settleDelay: 24 * 3600)),
            store: store, source: ScriptedDomainSource(domains: ["a.example"]), clock: clock, logger: quietLogger)
        await pool.runUntilIdle()
        var job = try await only(store)
        #expect(job.state == .done && job.fileCount == 0 && !job.final, "one empty listing proves nothing yet")
        #expect(try await scheduler.tick().reconciling == 0, "the second listing waits")
        clock.advance(by: 3600)
        #expect(try await scheduler.tick().reconciling == 1)
        await pool.runUntilIdle()
        job = try #require(try await store.jobs(matching: JobFilter(until: hour(1)), limit: 1).first)
        #expect(job.state == .done && job.final, "two listings an hour apart agree: final")
        #expect(transfer.windowsRun.filter { $0.hour == hour(0) }.count == 2)
    }
}
