import Foundation

/// The `queue` benchmark: planning, the worker pool against the raw SQLite baseline, and `status` on a
/// million windows, each on a fresh database under the work directory.
struct QueueBenchmark {
    /// Where the databases go and which binary to time.
    var options: QueueBenchmarkOptions

    /// Domains in every database.
    static let domainCount = 1_000
    /// Hours per domain planned by the timed `plan` call.
    static let planHours = 720
    /// Hours per domain in the worker pool and baseline databases (200,000 windows).
    static let poolHours = 200
    /// The worker pool's concurrency in the run that measures the queue's capacity, beside the run at
    /// the requested (by default the service's) concurrency. With 4 workers and windows that take no
    /// time, a worker's window is back in the queue only after a thread hand-off or two, and the
    /// database's writer waits for work about half the time; 32 workers keep it busy.
    static let capacityConcurrency = 32
    /// Hours per domain in the `status` database (1,000,000 windows).
    static let statusHours = 1_000

    /// Runs every phase and assembles the report.
    func run() async throws -> QueueReport {
        Progress.say("queue benchmark on \(Machine.description), databases in \(options.workDirectory)")

        let domains = Self.domainCount
        Progress.say("plan: \(domains.grouped) domains × \(Self.planHours) hours into a fresh database ...")
        let planned = try await BenchmarkDatabase.createPlanned(at: file("plan.sqlite"), domains: domains, hours: Self.planHours)
        Progress.say(String(format: "plan: %@ windows in %.2f s", planned.windows.grouped, planned.duration.inSeconds))
        try remove("plan.sqlite")

        let concurrencies = options.concurrency >= Self.capacityConcurrency
            ? [options.concurrency] : [options.concurrency, Self.capacityConcurrency]
        let poolJobs = try await preparePoolDatabases(pools: concurrencies.count)

        Progress.say("baseline: \(poolJobs.grouped) single-row UPDATE transactions ...")
        let raw = try RawSQLiteBenchmark(path: file("baseline.sqlite"), count: poolJobs).run()
        Progress.say(String(format: "baseline: %@ tx/s (%.1f s)", Int(raw.transactionsPerSecond).grouped, raw.duration.inSeconds))
        let breakdownBenchmark = QueueBreakdown(path: file("baseline.sqlite"))
        Progress.say("breakdown: store calls without the pool and GRDB variants, \(breakdownBenchmark.sampleSize.grouped) each ...")
        let breakdown = try await breakdownBenchmark.run()
        Progress.say("breakdown: \(breakdown.summary)")
        try remove("baseline.sqlite")

        var poolRuns: [QueueReport.PoolRun] = []
        for (index, concurrency) in concurrencies.enumerated() {
            Progress.say("pool: leasing and completing \(poolJobs.grouped) trivial jobs, concurrency \(concurrency) ...")
            let pool = try await WorkerPoolBenchmark(path: file("pool-\(index).sqlite"), jobCount: poolJobs, concurrency: concurrency).run()
            Progress.say(String(format: "pool: %@ jobs/s (%.1f s), ratio %.3f", Int(pool.jobsPerSecond).grouped, pool.duration.inSeconds,
                                pool.jobsPerSecond / raw.transactionsPerSecond))
            try remove("pool-\(index).sqlite")
            poolRuns.append(QueueReport.PoolRun(
                concurrency: concurrency, jobsPerSecond: rounded(pool.jobsPerSecond, 0),
                ratio: rounded(pool.jobsPerSecond / raw.transactionsPerSecond, 3)))
        }

        let status = try await measureStatus()

        var postgresRuns: [PostgresQueueBenchmark.Run]?
        if let url = options.postgresURL {
            postgresRuns = try await PostgresQueueBenchmark(url: url, concurrency: options.concurrency).run()
        }

        // The queue's throughput is that of the fastest run: the one with enough windows in flight.
        let best = poolRuns.max { $0.jobsPerSecond < $1.jobsPerSecond }!
        var report = QueueReport(
            planWindows: planned.windows, planSeconds: rounded(planned.duration.inSeconds, 3),
            jobsPerSecond: best.jobsPerSecond, concurrency: best.concurrency, poolRuns: poolRuns, poolJobs: poolJobs,
            rawSQLiteTransactionsPerSecond: rounded(raw.transactionsPerSecond, 0), baseline: RawSQLiteBenchmark.description,
            ratio: best.ratio,
            statusMilliseconds: rounded(status.medianMilliseconds, 1),
            statusRunsMilliseconds: status.durations.map { rounded($0.inMilliseconds, 1) },
            statusJobs: domains * Self.statusHours, machine: Machine.description, breakdown: breakdown.rounded)
        report.postgres = postgresRuns
        let missed = report.missedTargets
        Progress.say(missed.isEmpty ? "every target met" : "targets missed: \(missed.joined(separator: ", "))")
        return report
    }

    /// What `runPool` measured: the worker pool against the raw baseline in the same run.
    struct PoolReport: Encodable {
        var jobsPerSecond: Double
        var rawSQLiteTransactionsPerSecond: Double
        var ratio: Double
        var concurrency: Int
        var poolJobs: Int
        /// The process's CPU microseconds per job in the pool run, and per transaction in the baseline.
        var poolCPUMicrosecondsPerJob: Double
        var rawCPUMicrosecondsPerTransaction: Double

        enum CodingKeys: String, CodingKey {
            case jobsPerSecond = "jobs_per_second"
            case rawSQLiteTransactionsPerSecond = "raw_sqlite_tx_per_second"
            case ratio, concurrency
            case poolJobs = "pool_jobs"
            case poolCPUMicrosecondsPerJob = "pool_cpu_us_per_job"
            case rawCPUMicrosecondsPerTransaction = "raw_cpu_us_per_tx"
        }
    }

    /// Plans 1,000,000 windows, moves most of them on (`QueueMix`) and times `orchestrator status --json`
    /// on them.
    func measureStatus() async throws -> StatusBenchmark.Result {
        let domains = Self.domainCount
        let statusJobs = domains * Self.statusHours
        Progress.say("status: preparing \(statusJobs.grouped) windows (\(domains.grouped) domains × \(Self.statusHours) hours) ...")
        let statusPath = file("status.sqlite")
        let statusPlan = try await BenchmarkDatabase.createPlanned(at: statusPath, domains: domains, hours: Self.statusHours)
        Progress.say(String(format: "status: planned in %.1f s; moving most to done, some to failed and running ...", statusPlan.duration.inSeconds))
        try await QueueMix.apply(at: statusPath, hours: Self.statusHours, endingAt: BenchmarkDatabase.currentHour)
        let statusBenchmark = StatusBenchmark(
            orchestratorPath: options.orchestratorPath, path: statusPath, jobCount: statusJobs, domainCount: domains)
        Progress.say("status: timing `orchestrator status --json` (1 warm-up, \(statusBenchmark.runs) runs) ...")
        let status = try statusBenchmark.run()
        let runs = status.durations.map { String(format: "%.0f", $0.inMilliseconds) }.joined(separator: ", ")
        let counts = BenchmarkDatabase.states.map { "\($0) \((status.counts[$0] ?? 0).grouped)" }.joined(separator: ", ")
        Progress.say(String(format: "status: median %.0f ms (runs: %@ ms); printed %@", status.medianMilliseconds, runs, counts))
        try remove("status.sqlite")
        return status
    }

    /// What `runPlan` measured: each planning run's wall time and the process's CPU time during it.
    struct PlanReport: Encodable {
        var windows: Int
        var seconds: [Double]
        var cpuSeconds: [Double]

        enum CodingKeys: String, CodingKey {
            case windows
            case seconds = "plan_seconds"
            case cpuSeconds = "plan_cpu_seconds"
        }
    }

    /// The planning phase of `run` alone, three times, each into a fresh database: what to profile
    /// when planning is slow.
    func runPlan() async throws -> PlanReport {
        var report = PlanReport(windows: 0, seconds: [], cpuSeconds: [])
        for run in 1...3 {
            let cpuStart = ProcessUsage(pid: getpid()).cpuSeconds
            let planned = try await BenchmarkDatabase.createPlanned(at: file("plan.sqlite"), domains: Self.domainCount, hours: Self.planHours)
            let cpu = ProcessUsage(pid: getpid()).cpuSeconds - cpuStart
            Progress.say(String(format: "plan %d: %@ windows in %.2f s (%.2f CPU s with setup)", run, planned.windows.grouped,
                                planned.duration.inSeconds, cpu))
            try remove("plan.sqlite")
            report.windows = planned.windows
            report.seconds.append(rounded(planned.duration.inSeconds, 3))
            report.cpuSeconds.append(rounded(cpu, 3))
        }
        return report
    }

    /// The worker pool and the raw baseline alone, on the same 200,000 windows as `run`: what to
    /// profile when the pool is slow.
    func runPool() async throws -> PoolReport {
        let poolJobs = try await preparePoolDatabases(pools: 1)
        let rawStart = ProcessUsage(pid: getpid()).cpuSeconds
        let raw = try RawSQLiteBenchmark(path: file("baseline.sqlite"), count: poolJobs).run()
        let rawCPU = ProcessUsage(pid: getpid()).cpuSeconds - rawStart
        Progress.say(String(format: "baseline: %@ tx/s (%.1f s, %.1f CPU s)", Int(raw.transactionsPerSecond).grouped, raw.duration.inSeconds, rawCPU))
        try remove("baseline.sqlite")
        let poolStart = ProcessUsage(pid: getpid()).cpuSeconds
        let pool = try await WorkerPoolBenchmark(path: file("pool-0.sqlite"), jobCount: poolJobs, concurrency: options.concurrency).run()
        let poolCPU = ProcessUsage(pid: getpid()).cpuSeconds - poolStart
        Progress.say(String(format: "pool: %@ jobs/s (%.1f s, %.1f CPU s)", Int(pool.jobsPerSecond).grouped, pool.duration.inSeconds, poolCPU))
        try remove("pool-0.sqlite")
        return PoolReport(
            jobsPerSecond: rounded(pool.jobsPerSecond, 0), rawSQLiteTransactionsPerSecond: rounded(raw.transactionsPerSecond, 0),
            ratio: rounded(pool.jobsPerSecond / raw.transactionsPerSecond, 3), concurrency: options.concurrency, poolJobs: poolJobs,
            poolCPUMicrosecondsPerJob: rounded(poolCPU * 1e6 / Double(poolJobs), 1),
            rawCPUMicrosecondsPerTransaction: rounded(rawCPU * 1e6 / Double(poolJobs), 1))
    }

    /// Plans the pending windows once and copies them to `pool-0.sqlite` ... `pool-<pools - 1>.sqlite`
    /// and `baseline.sqlite`, so every pool run and the baseline start from the same rows; returns how
    /// many windows each holds.
    private func preparePoolDatabases(pools: Int) async throws -> Int {
        let domains = Self.domainCount
        let poolJobs = domains * Self.poolHours
        Progress.say("pool: preparing \(poolJobs.grouped) pending windows (\(domains.grouped) domains × \(Self.poolHours) hours) ...")
        let template = file("pool-template.sqlite")
        _ = try await BenchmarkDatabase.createPlanned(at: template, domains: domains, hours: Self.poolHours)
        for index in 0..<pools {
            try BenchmarkDatabase.copy(template, to: file("pool-\(index).sqlite"))
        }
        try BenchmarkDatabase.copy(template, to: file("baseline.sqlite"))
        try remove("pool-template.sqlite")
        return poolJobs
    }

    private func file(_ name: String) -> String {
        (options.workDirectory as NSString).appendingPathComponent(name)
    }

    /// Deletes a database and its WAL and shared-memory files once a phase is done with it.
    private func remove(_ name: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: file(name) + suffix) {
            try FileManager.default.removeItem(atPath: file(name) + suffix)
        }
    }
}
