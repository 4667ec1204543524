import AsyncHTTPClient
import CDNSimulator
import Foundation
import JobModel
import Jobs
import Logging
@testable import Scheduler
@testable import Store
import TencentCloud
import TestSupport
import Testing

/// Long outages of a dependency, on an injected clock: the whole pull pipeline (scheduler, pool, the
/// real transfer against the CDN simulator, a local directory sink, SQLite) sits through six hours of a
/// dead CDN API or a dead sink, and afterwards every window is done without anyone running `retry`.
@Suite("Dependency outages")
struct OutageTests {
    /// The pipeline of one test.
    final class Pipeline {
        let database: TemporaryDatabase
        let store: SQLiteJobStore
        let clock: ManualWallClock
        let simulator: RunningSimulator
        let httpClient: HTTPClient
        let scheduler: SchedulerService
        let pool: WorkerPool
        let bucket: String

        init(outages: (Date) -> [SimulatedOutage], domains: [String] = ["o1.example", "o2.example"]) async throws {
            database = try TemporaryDatabase()
            store = try database.open()
            let start = hour(0).addingTimeInterval(2 * 3600 + 60)
            clock = ManualWallClock(now: start)
            bucket = database.directory.appendingPathComponent("bucket").path
            simulator = try await CDNSimulator.start(
                configuration: CDNSimulatorConfiguration(
                    domains: domains, packageBytes: 16 * 1024, seed: 11, publicationDelay: .seconds(0), emptyHourRate: 0,
                    outages: outages(start), clock: clock),
                logger: quietLogger)
            httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
            let source = simulatorSource(simulator, httpClient: httpClient, clock: clock)
            // The service's defaults: 8 attempts, 30 s doubling to an hour. Without outage handling, an
            // outage of about two hours fails every window that meets it.
            let policy = WindowPolicy()
            let health = DependencyHealth(policy: policy.outage, clock: clock, logger: quietLogger)
            let transfer = LogPackageTransfer(
                source: source,
                downloader: PackageDownloader(httpClient: httpClient, spoolDirectory: database.directory.appendingPathComponent("spool").path, logger: quietLogger),
                sink: try LocalDirectorySink(directory: bucket),
                keyTemplate: try KeyTemplate(KeyTemplate.defaultTemplate), logger: quietLogger, observer: health)
            scheduler = SchedulerService(
                configuration: SchedulerConfiguration(
                    planner: WindowPlanner(lookbackHours: 2, availabilityDelay: 3600), domains: domains, policy: policy),
                store: store, source: source, clock: clock, logger: quietLogger)
            pool = WorkerPool(
                configuration: WorkerPoolConfiguration(concurrency: 2, policy: policy),
                store: store, transfer: transfer, clock: clock, logger: quietLogger, health: health)
        }

        /// Moves time on a minute at a time for `hours`, ticking the scheduler and running every window
        /// the pool will lease, as the service does; `during` runs before each step.
        func run(hours: Double, during: (Date) throws -> Void = { _ in }) async throws {
            let end = clock.now.addingTimeInterval(hours * 3600)
            while clock.now < end {
                try during(clock.now)
                try await scheduler.tick()
                await pool.runUntilIdle()
                clock.advance(by: 60)
            }
        }

        /// Every window's state, and whether each stored object is the simulator's package byte for byte.
        func check() async throws -> (jobs: [JobSummary], identical: Bool) {
            let jobs = try await store.jobs(matching: JobFilter(), limit: 1000)
            var identical = true
            for job in jobs where job.state == .done {
                for file in try await store.files(ofJob: job.id) {
                    let served = try await simulator.simulator.packageBytes(domain: job.window.domain, hour: job.window.hour, area: .mainland)
                    identical = identical && FileManager.default.contents(atPath: bucket + "/" + file.objectKey).map(Array.init) == served
                }
            }
            return (jobs, identical)
        }

        func shutdown() async throws {
            try await httpClient.shutdown()
            try await simulator.stop()
        }
    }

    @Test("a six-hour outage of the CDN API ends with every window done, no attempt lost to it, and the outage in status")
    func cdnAPIOutage() async throws {
        let pipeline = try await Pipeline(outages: { start in [SimulatedOutage(.api, from: start, until: start.addingTimeInterval(6 * 3600))] })
        do {
            try await pipeline.run(hours: 6)
            let during = try await pipeline.store.status(recentFailureLimit: 5)
            #expect(during.totals.failed == 0)
            let api = try #require(during.dependencies.first { $0.dependency == .cdnAPI })
            #expect(api.inOutage, "status shows the API in an outage while it lasts")
            try await pipeline.run(hours: 1)

            let (jobs, identical) = try await pipeline.check()
            #expect(jobs.count >= 2 * 8)
            #expect(jobs.allSatisfy { $0.state == .done }, "\(jobs.filter { $0.state != .done }.map { "\($0.window) \($0.state) \($0.attempts) \($0.lastError?.code ?? "")" })")
            #expect(jobs.allSatisfy { $0.attempts <= 3 }, "the outage cost no window more than the attempts before it was recognised")
            #expect(identical)
            let after = try await pipeline.store.status(recentFailureLimit: 5)
            #expect(after.dependencies.allSatisfy { !$0.inOutage })
            let outage = try #require(after.recentOutages.first)
            #expect(outage.dependency == .cdnAPI && outage.duration >= 6 * 3600 - 600 && outage.duration <= 6 * 3600 + 600)
        } catch {
            Issue.record(error)
        }
        try await pipeline.shutdown()
    }

    @Test("a six-hour outage of the sink ends with every window done and stored identically, no operator action")
    func sinkOutage() async throws {
        let pipeline = try await Pipeline(outages: { _ in [] })
        do {
            let outageEnd = pipeline.clock.now.addingTimeInterval(6 * 3600)
            let aside = pipeline.bucket + ".away"
            // The sink's directory is replaced by a plain file: every read and write fails with an I/O error.
            try FileManager.default.moveItem(atPath: pipeline.bucket, toPath: aside)
            FileManager.default.createFile(atPath: pipeline.bucket, contents: Data("not a directory".utf8))
            try await pipeline.run(hours: 6.5) { now in
                if now >= outageEnd, (try? FileManager.default.attributesOfItem(atPath: pipeline.bucket)[.type] as? FileAttributeType) == .typeRegular {
                    try FileManager.default.removeItem(atPath: pipeline.bucket)
                    try FileManager.default.moveItem(atPath: aside, toPath: pipeline.bucket)
                }
            }
            try await pipeline.run(hours: 1)
            let (jobs, identical) = try await pipeline.check()
            #expect(jobs.count >= 2 * 8)
            #expect(jobs.allSatisfy { $0.state == .done }, "\(jobs.filter { $0.state != .done }.map { "\($0.window) \($0.state) \($0.attempts) \($0.lastError?.code ?? "")" })")
            #expect(identical)
            let status = try await pipeline.store.status(recentFailureLimit: 5)
            let outage = try #require(status.recentOutages.first)
            #expect(outage.dependency == .sink && outage.duration >= 6 * 3600 - 600)
            // Two downloads per window at most: nothing is lost to the outage but the spool's work.
            #expect(pipeline.simulator.counters.downloads <= jobs.count + 2 * 6 * 60 / 5)
        } catch {
            Issue.record(error)
        }
        try await pipeline.shutdown()
    }

    @Test("a dependency failing for one window only still ends that window's retries")
    func windowSpecificFailureStillFails() async throws {
        let database = try TemporaryDatabase()
        let store = try database.open()
        let clock = ManualWallClock(now: hour(2))
        try await store.setActiveDomains(["bad.example"], source: "tencent-cdn", now: clock.now)
        try await store.plan([DomainPlan(source: "tencent-cdn", domain: "bad.example", firstHour: hour(0), endHour: hour(1))], now: clock.now)
        let policy = WindowPolicy(retry: RetryPolicy(maxAttempts: 4, baseDelay: 30, maximumDelay: 60, jitter: 0, publicationHorizon: 3 * 3600))
        let health = DependencyHealth(policy: policy.outage, clock: clock, logger: quietLogger)
        let transfer = HealthReportingTransfer(health: health)
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(concurrency: 1, policy: policy), store: store, transfer: transfer, clock: clock,
            logger: quietLogger, health: health)
        for _ in 0..<40 {
            await pool.runUntilIdle()
            clock.advance(by: 60)
            // Other windows find the sink answering meanwhile.
            health.answered(.sink)
        }
        let bad = try #require(try await store.jobs(matching: JobFilter(domain: "bad.example"), limit: 1).first)
        #expect(bad.state == .failed && bad.attempts == 4)
        #expect(!health.isInOutage(.sink))
    }

    @Test("the pool stops leasing during an outage, probes alone with growing delays, and resumes when the dependency answers")
    func probesDuringOutage() async throws {
        let clock = ManualWallClock(now: hour(2))
        let health = DependencyHealth(policy: OutagePolicy(failuresForOutage: 2, firstProbeDelay: 5, maxProbeDelay: 20), clock: clock, logger: quietLogger)
        let error = TransferError.unavailable("store.network", "connection refused")
        health.unavailable(.sink, error)
        #expect(health.admission(at: clock.now) == .open, "one failure is not an outage")
        health.unavailable(.sink, error)
        #expect(health.admission(at: clock.now) == .closed(until: clock.now.addingTimeInterval(5)))
        clock.advance(by: 5)
        #expect(health.admission(at: clock.now) == .probe)
        health.probeStarted()
        #expect(health.admission(at: clock.now) == .closed(until: nil))
        health.unavailable(.sink, error)
        health.probeFinished()
        #expect(health.admission(at: clock.now) == .closed(until: clock.now.addingTimeInterval(5)))
        clock.advance(by: 5)
        health.probeStarted()
        health.probeFinished()
        #expect(health.admission(at: clock.now) == .closed(until: clock.now.addingTimeInterval(10)), "the delay doubles")
        clock.advance(by: 10)
        health.probeStarted()
        health.answered(.sink)
        health.probeFinished()
        #expect(health.admission(at: clock.now) == .open)
        #expect(health.states.first { $0.dependency == .sink }?.failures == 0)
    }
}

/// A transfer whose sink fails (unavailable) for `bad.example` only and answers for everything else.
private struct HealthReportingTransfer: WindowTransfer {
    let health: DependencyHealth

    func transfer(_ window: Window) async throws -> TransferOutcome {
        guard window.domain == "bad.example" else {
            health.answered(.sink)
            return .stored([])
        }
        let error = TransferError.unavailable("store.http_status", "HTTP 503 for this key only")
        health.unavailable(.sink, error)
        throw DependencyUnavailable(.sink, error)
    }

    func abandon(_ window: Window) async {}
}
