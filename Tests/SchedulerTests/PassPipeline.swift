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

/// The pull pipeline as the service wires it (the transfer reads the window's file records from the
/// store), on an injected clock: the CDN simulator, a real SQLite store, the given sink, the scheduler
/// and a one-worker pool. One domain, three hours, one package each.
struct PassPipeline {
    static let domain = "g.example"

    let store: SQLiteJobStore
    let simulator: RunningSimulator
    let scheduler: SchedulerService
    let pool: WorkerPool
    let clock: ManualWallClock
    let httpClient: HTTPClient

    /// Runs `body` on a pipeline whose sink `makeSink` builds (given the store, as the multipart ledger,
    /// and the HTTP client), then tears it down.
    static func run(
        sink makeSink: (SQLiteJobStore, HTTPClient) throws -> any ObjectSink, _ body: (PassPipeline) async throws -> Void
    ) async throws {
        let database = try TemporaryDatabase()
        let store = try database.open()
        let clock = ManualWallClock(now: hour(0).addingTimeInterval(4 * 3600 + 60))
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(
                domains: [domain], packageBytes: 64 * 1024, seed: 11, publicationDelay: .seconds(0), emptyHourRate: 0, clock: clock),
            logger: quietLogger)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let source = simulatorSource(simulator, httpClient: httpClient, clock: clock)
            let transfer = LogPackageTransfer(
                source: source,
                downloader: PackageDownloader(httpClient: httpClient, spoolDirectory: database.directory.path, logger: quietLogger),
                sink: try makeSink(store, httpClient), keyTemplate: try KeyTemplate(KeyTemplate.defaultTemplate),
                recordedFiles: store, logger: quietLogger)
            let policy = WindowPolicy(settleDelay: 24 * 3600)
            let pipeline = PassPipeline(
                store: store, simulator: simulator,
                scheduler: SchedulerService(
                    configuration: SchedulerConfiguration(
                        planner: WindowPlanner(lookbackHours: 3, availabilityDelay: 3600), domains: [domain], policy: policy),
                    store: store, source: source, clock: clock, logger: quietLogger),
                pool: WorkerPool(
                    configuration: WorkerPoolConfiguration(concurrency: 1, policy: policy),
                    store: store, transfer: transfer, clock: clock, logger: quietLogger),
                clock: clock, httpClient: httpClient)
            try await body(pipeline)
        } catch {
            try? await httpClient.shutdown()
            try? await simulator.stop()
            throw error
        }
        try await httpClient.shutdown()
        try await simulator.stop()
    }

    /// Packages downloaded from the CDN so far.
    var downloads: Int { simulator.counters.downloads }

    /// Plans the three windows and runs their first copy.
    func copy() async throws {
        let tick = try await scheduler.tick()
        guard tick.planned == 3, await pool.runUntilIdle() == 3 else {
            throw PipelineError("expected three windows planned and run, planned \(tick.planned)")
        }
    }

    /// Sends the done windows through their reconcile pass, as the scheduler does once they settled,
    /// and runs it. (No scheduler tick: it would also plan the hours since.)
    func reconcile() async throws {
        let reopened = try await store.beginReconcilePasses(hoursBefore: hour(3), now: clock.now)
        guard reopened == 3, await pool.runUntilIdle() == 3 else {
            throw PipelineError("expected three windows reconciled, reopened \(reopened)")
        }
    }

    /// Every window's file records, oldest hour first.
    func records() async throws -> [FileRecord] {
        var records: [FileRecord] = []
        for job in try await store.jobs(matching: JobFilter(), limit: 10).reversed() {
            records += try await store.files(ofJob: job.id)
        }
        return records
    }
}

struct PipelineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
