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

/// The whole pull pipeline on an injected clock: a package that grows after its first copy is stored
/// again by the reconcile pass once it settles, and the window is then final.
@Suite("Reconciling settled logs")
struct ReconcileIntegrationTests {
    @Test("a package that grew after the first copy is replaced after the settle time; the window is final")
    func grownPackageReplaced() async throws {
        let database = try TemporaryDatabase()
        let store = try database.open()
        let bucket = database.directory.appendingPathComponent("bucket").path
        let clock = ManualWallClock(now: hour(0).addingTimeInterval(2 * 3600 + 60))
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(
                domains: ["g.example"], packageBytes: 64 * 1024, seed: 9, publicationDelay: .seconds(0),
                emptyHourRate: 0, growingPackages: true, clock: clock),
            logger: quietLogger)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let source = simulatorSource(simulator, httpClient: httpClient, clock: clock)
            let transfer = LogPackageTransfer(
                source: source,
                downloader: PackageDownloader(httpClient: httpClient, spoolDirectory: database.directory.path, logger: quietLogger),
                sink: try LocalDirectorySink(directory: bucket),
                keyTemplate: try KeyTemplate(KeyTemplate.defaultTemplate), logger: quietLogger)
            let scheduler = SchedulerService(
                configuration: SchedulerConfiguration(
                    planner: WindowPlanner(lookbackHours: 1, availabilityDelay: 3600), domains: ["g.example"], policy: WindowPolicy(settleDelay: 24 * 3600)),
                store: store, source: source, clock: clock, logger: quietLogger)
            let pool = WorkerPool(
                configuration: WorkerPoolConfiguration(concurrency: 1, policy: WindowPolicy(settleDelay: 24 * 3600)),
                store: store, transfer: transfer, clock: clock, logger: quietLogger)

            #expect(try await scheduler.tick().planned == 1)
            #expect(await pool.runUntilIdle() == 1)
            let job = try #require(try await store.jobs(matching: JobFilter(), limit: 1).first)
            #expect(job.state == .done && !job.final)
            let first = try #require(try await store.files(ofJob: job.id).first)
            let objectPath = bucket + "/" + first.objectKey

            clock.advance(by: 24 * 3600)
            let tick = try await scheduler.tick()
            #expect(tick.reconciling == 1)
            #expect(await pool.runUntilIdle() == 1 + tick.planned)
            let reconciled = try #require(try await store.jobs(matching: JobFilter(until: hour(1)), limit: 1).first)
            #expect(reconciled.id == job.id)
            #expect(reconciled.state == .done && reconciled.final)
            let second = try #require(try await store.files(ofJob: job.id).first)
            #expect(second.size > first.size)
            #expect(second.skipped == false)
            let served = try await simulator.simulator.packageBytes(domain: "g.example", hour: hour(0), area: .mainland)
            #expect(FileManager.default.contents(atPath: objectPath).map(Array.init) == served)
            #expect(try await store.status(recentFailureLimit: 0).settling == SettleCounts(final: 1, replaced: 1))
        } catch {
            Issue.record(error)
        }
        try await httpClient.shutdown()
        try await simulator.stop()
    }
}
