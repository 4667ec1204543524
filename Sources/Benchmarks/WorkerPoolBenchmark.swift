import Core
import Foundation
import JobModel
import Jobs
import Logging
import Scheduler
import Store
import Synchronization

/// A job body that does nothing: every window is stored with no files, so the benchmark measures the
/// queue (lease, record, pool bookkeeping) and nothing else. It counts its calls, so the benchmark
/// knows when to ask the store whether everything is done without reading `status` over and over
/// (which took about 8 % of the run's CPU at four reads a second, competing with the pool).
final class TrivialTransfer: WindowTransfer {
    /// Windows transferred so far.
    let calls = Atomic<Int>(0)

    /// Returns `.stored([])` at once.
    func transfer(_ window: Window) async throws -> TransferOutcome {
        calls.add(1, ordering: .relaxed)
        return .stored([])
    }
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
    /// How often the sibling task looks at how many windows were transferred; it reads `status` only
    /// once every window was, and for progress.
    var pollInterval: Duration = .milliseconds(5)
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
        let transfer = TrivialTransfer()
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(concurrency: concurrency, owner: "bench/\(getpid())/pool"),
            store: store, transfer: transfer, clock: SystemWallClock(),
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
                return try await waitUntilDone(store: store, transfer: transfer, since: start)
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

    /// Waits until `status` shows every window done (or failed, which is then reported as an error by
    /// the caller's final check), reading it only once every window was transferred (its outcome may
    /// still be on its way to the store) and every few seconds for progress.
    private func waitUntilDone(store: SQLiteJobStore, transfer: TrivialTransfer, since start: ContinuousClock.Instant) async throws -> Duration {
        var lastReport = start
        var lastFinished = 0
        var lastChange = start
        while true {
            try await Task.sleep(for: pollInterval)
            let progressDue = lastReport.duration(to: .now) >= .seconds(5)
            guard transfer.calls.load(ordering: .relaxed) >= jobCount || progressDue else { continue }
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
