import Foundation

/// The `queue` benchmark's result: the last line `scripts/bench queue` prints, one JSON object.
struct QueueReport: Encodable {
    /// The goals each measure is held against.
    struct Targets: Encodable {
        /// At most this many seconds to plan 1,000 domains × 720 hours.
        var planSeconds = 3.0
        /// At least this many trivial jobs per second through the worker pool.
        var jobsPerSecond = 20_000
        /// At least this fraction of the raw SQLite transaction rate.
        var ratio = 0.5
        /// At most this many milliseconds for `status --json` on 1,000,000 windows.
        var statusMilliseconds = 100

        /// The JSON keys, snake_case as the report prints them.
        enum CodingKeys: String, CodingKey {
            case planSeconds = "plan_seconds"
            case jobsPerSecond = "jobs_per_second"
            case ratio
            case statusMilliseconds = "status_ms"
        }
    }

    /// One worker pool run on its own copy of the pending windows.
    struct PoolRun: Encodable {
        var concurrency: Int
        /// Trivial jobs leased and completed per second.
        var jobsPerSecond: Double
        /// `jobsPerSecond` over the raw baseline's transactions per second, measured in the same run.
        var ratio: Double

        enum CodingKeys: String, CodingKey {
            case concurrency
            case jobsPerSecond = "jobs_per_second"
            case ratio
        }
    }

    /// Windows inserted by the timed `plan` call.
    var planWindows: Int
    /// Wall seconds of that call.
    var planSeconds: Double
    /// Trivial jobs leased and completed per second through `WorkerPool.run()`: the fastest of `poolRuns`.
    var jobsPerSecond: Double
    /// Worker pool concurrency of that run.
    var concurrency: Int
    /// Every pool run: at the requested concurrency (the service's default, 4, unless `--concurrency`
    /// says otherwise) and at `QueueBenchmark.capacityConcurrency`.
    var poolRuns: [PoolRun]
    /// Jobs in the worker pool run.
    var poolJobs: Int
    /// Single-row update transactions per second.
    var rawSQLiteTransactionsPerSecond: Double
    /// How the baseline was written.
    var baseline: String
    /// `jobsPerSecond / rawSQLiteTransactionsPerSecond` of the fastest run.
    var ratio: Double
    /// Median wall milliseconds of `orchestrator status --json` on `statusJobs` windows.
    var statusMilliseconds: Double
    /// Every timed `status` run, in milliseconds.
    var statusRunsMilliseconds: [Double]
    /// Windows in the status database.
    var statusJobs: Int
    /// The goals.
    var targets = Targets()
    /// Processor count, architecture and model.
    var machine: String
    /// Where a job's time goes, measured beside the pool (see `QueueBreakdown`).
    var breakdown: QueueBreakdown.Result
    /// The same trivial jobs through the worker pool against PostgreSQL, with 1 and 3 processes.
    var postgres: [PostgresQueueBenchmark.Run]? = nil

    /// The JSON keys, snake_case as the report prints them.
    enum CodingKeys: String, CodingKey {
        case planWindows = "plan_windows"
        case planSeconds = "plan_seconds"
        case jobsPerSecond = "jobs_per_second"
        case concurrency
        case poolRuns = "pool_runs"
        case poolJobs = "pool_jobs"
        case rawSQLiteTransactionsPerSecond = "raw_sqlite_tx_per_second"
        case baseline
        case ratio
        case statusMilliseconds = "status_ms"
        case statusRunsMilliseconds = "status_runs_ms"
        case statusJobs = "status_jobs"
        case targets
        case machine
        case breakdown
        case postgres = "postgres_pool"
    }


    /// Which targets were missed, for the progress output.
    var missedTargets: [String] {
        var missed: [String] = []
        if planSeconds > targets.planSeconds { missed.append("plan_seconds") }
        if jobsPerSecond < Double(targets.jobsPerSecond) { missed.append("jobs_per_second") }
        if ratio < targets.ratio { missed.append("ratio") }
        if statusMilliseconds > Double(targets.statusMilliseconds) { missed.append("status_ms") }
        return missed
    }
}

/// Describes this machine for the report: `nproc=2 x86_64 <cpu model>`.
enum Machine {
    /// Processor count, architecture (`uname -m`) and, when `/proc/cpuinfo` tells, the model.
    static var description: String {
        var name = utsname()
        uname(&name)
        let architecture = withUnsafeBytes(of: &name.machine) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        var parts = ["nproc=\(ProcessInfo.processInfo.activeProcessorCount)", architecture]
        if let model = cpuModel { parts.append(model) }
        return parts.joined(separator: " ")
    }

    private static var cpuModel: String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line?.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
