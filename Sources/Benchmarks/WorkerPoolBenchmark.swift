import Core
import Foundation
import JobModel
import Jobs
import Logging
import Scheduler
import Store

/// A job body that does nothing: every window is stored with no files, so the benchmark measures the
/// queue (lease, record, pool bookkeeping) and nothing else.
struct TrivialTransfer: WindowTransfer {
    /// Returns `.stored([])` at once.
    func transfer(_ window: Window) async throws -> TransferOutcome { .stored([]) }
}

/// Runs every pending window of a database through the real `WorkerPool` (`run()` with the system
/// clock) and times how long until all are done.
struct WorkerPoolBenchmark {
    /// The database; it must hold exactly `jobCount` pending, due windows.
    var path: String
    /// How many windows there are.
    var jobCount: Int
    /// Worker pool concurrency.
    var concurrency: Int
    /// How often the sibling task reads `status` to see whether everything is done.
    var pollInterval: Duration = .milliseconds(250)
    /// How long the queue may go without completing a window before the run is abandoned.
    var stallLimit: Duration = .seconds(60)

    /// What the run measured.
    struct Result {
        /// From starting the pool to `status` showing every window done.
        var duration: Duration
        /// `jobCount / duration`.
        var jobsPerSecond: Double
    }

    /// Starts the pool, polls `status` until every window is done, stops the pool and waits for it.
    func run() async throws -> Result {
        let store = try SQLiteJobStore(path: path, create: false)
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(concurrency: concurrency, owner: "bench/\(getpid())/pool"),
            store: store, transfer: TrivialTransfer(), clock: SystemWallClock(),
            logger: Logger(label: "orchestrator.bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        let before = try await store.status(recentFailureLimit: 0).totals
        guard before.pending == jobCount, before.total == jobCount else {
            throw BenchmarkError("the pool database holds \(before) instead of \(jobCount) pending windows")
        }
        let start = ContinuousClock.now
        let duration = try await withThrowingTaskGroup(of: Duration?.self) { group in
            group.addTask {
                try await pool.run()
                return nil
            }
            group.addTask {
                defer { pool.stop() }
                return try await waitUntilDone(store: store, since: start)
            }
            var measured: Duration?
            for try await result in group {
                if let result { measured = result }
            }
            guard let measured else { throw BenchmarkError("the worker pool stopped before every window was done") }
            return measured
        }
        let after = try await store.status(recentFailureLimit: 0).totals
        try store.close()
        guard after.done == jobCount else {
            throw BenchmarkError("after the pool run: \(after) (expected \(jobCount) done)")
        }
        return Result(duration: duration, jobsPerSecond: Double(jobCount) / duration.inSeconds)
    }

    /// Polls `status` until every window is done (or failed, which is then reported as an error by
    /// the caller's final check); prints progress every few seconds.
    private func waitUntilDone(store: SQLiteJobStore, since start: ContinuousClock.Instant) async throws -> Duration {
        var lastReport = start
        var lastFinished = 0
        var lastChange = start
        while true {
            try await Task.sleep(for: pollInterval)
            let totals = try await store.status(recentFailureLimit: 0).totals
            let now = ContinuousClock.now
            let finished = totals.done + totals.failed
            if finished >= jobCount { return start.duration(to: now) }
            if finished != lastFinished {
                lastFinished = finished
                lastChange = now
            } else if lastChange.duration(to: now) > stallLimit {
                throw BenchmarkError("the worker pool stalled at \(finished) of \(jobCount) windows: \(totals)")
            }
            if lastReport.duration(to: now) >= .seconds(5) {
                lastReport = now
                let rate = Double(finished) / start.duration(to: now).inSeconds
                Progress.say("  pool: \(finished.grouped) of \(jobCount.grouped) done, \(Int(rate).grouped) jobs/s so far")
            }
        }
    }
}
