import Core
import Foundation
import JobModel
import Logging
import PostgresStore
import Scheduler

/// The worker-pool run against PostgreSQL: the same trivial jobs as the SQLite pool run, leased and
/// completed by 1 and then 3 `orchestrator-bench postgres-worker` processes ("hosts") sharing one
/// database. `scripts/bench queue` starts the server and passes its URL (password in `PGPASSWORD`).
struct PostgresQueueBenchmark {
    /// `postgres://user@host:port/database` of an empty database.
    var url: String
    /// Worker pool concurrency of each process.
    var concurrency: Int
    /// Domains in each run.
    static let domainCount = 100
    /// Hours per domain in each run: 20,000 windows.
    static let hours = 200

    /// What one run measured.
    struct Run: Encodable {
        var processes: Int
        var jobs: Int
        var seconds: Double
        var jobsPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case processes, jobs, seconds
            case jobsPerSecond = "jobs_per_second"
        }
    }

    /// Runs with 1 process, then with 3, each on a fresh batch of windows.
    func run() async throws -> [Run] {
        let store = try await PostgresJobStore.open(
            try PostgresLocation(url), password: try PostgresLocation.password(file: nil))
        defer { store.close() }
        var runs: [Run] = []
        for (index, processes) in [1, 3].enumerated() {
            // Each run plans its own hours, so the windows of the earlier run (done) stay apart.
            let end = BenchmarkDatabase.currentHour.addingTimeInterval(-3600 * Double(index * Self.hours))
            let names = BenchmarkDatabase.domains(Self.domainCount)
            try await store.setActiveDomains(names, source: BenchmarkDatabase.source, now: end)
            let jobs = try await store.plan(BenchmarkDatabase.plans(domains: names, hours: Self.hours, endingAt: end), now: end)
            guard jobs == Self.domainCount * Self.hours else { throw BenchmarkError("postgres: planned \(jobs) windows") }
            let doneBefore = try await store.status(recentFailureLimit: 0).totals.done
            Progress.say("postgres: \(jobs.grouped) trivial jobs through \(processes) worker process(es), concurrency \(concurrency) each ...")
            let start = ContinuousClock.now
            let workers = try (0..<processes).map { _ in try startWorker() }
            var lastChange = start
            var lastDone = doneBefore
            while true {
                try await Task.sleep(for: .milliseconds(250))
                let totals = try await store.status(recentFailureLimit: 0).totals
                if totals.done - doneBefore >= jobs { break }
                if totals.failed > 0 { throw BenchmarkError("postgres: \(totals.failed) windows failed") }
                for worker in workers where !worker.isRunning {
                    throw BenchmarkError("postgres: a worker process exited early with \(worker.terminationStatus)")
                }
                if totals.done != lastDone {
                    lastDone = totals.done
                    lastChange = .now
                } else if lastChange.duration(to: .now) > .seconds(60) {
                    throw BenchmarkError("postgres: the workers stalled at \(totals)")
                }
            }
            let duration = start.duration(to: .now)
            // Every window is done: the workers have nothing left, and SIGTERM's default action ends them.
            for worker in workers {
                kill(worker.processIdentifier, SIGTERM)
                worker.waitUntilExit()
            }
            let run = Run(
                processes: processes, jobs: jobs, seconds: (duration.inSeconds * 1000).rounded() / 1000,
                jobsPerSecond: (Double(jobs) / duration.inSeconds).rounded())
            Progress.say(String(format: "postgres: %d process(es): %@ jobs/s (%.1f s)", processes, Int(run.jobsPerSecond).grouped, duration.inSeconds))
            runs.append(run)
        }
        return runs
    }

    /// Starts `orchestrator-bench postgres-worker URL CONCURRENCY` (this executable).
    private func startWorker() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["postgres-worker", url, String(concurrency)]
        try process.run()
        return process
    }

    /// `orchestrator-bench postgres-worker URL CONCURRENCY`: runs the real `WorkerPool` with trivial
    /// jobs until the parent ends it with SIGTERM (once it sees every window done). Timing includes each
    /// process's start and first connection.
    static func runWorkerIfRequested(_ arguments: [String]) async throws -> Bool {
        guard arguments.first == "postgres-worker", arguments.count == 3, let concurrency = Int(arguments[2]) else { return false }
        let store = try await PostgresJobStore.open(
            try PostgresLocation(arguments[1]), password: try PostgresLocation.password(file: nil), schema: .requireCurrent,
            maximumConnections: concurrency + 2)
        defer { store.close() }
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(concurrency: concurrency, owner: "bench/\(getpid())/pool"),
            store: store, transfer: TrivialTransfer(), clock: SystemWallClock(),
            logger: Logger(label: "orchestrator.bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await pool.run()
        return true
    }
}
