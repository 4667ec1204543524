import Foundation

/// A command line the benchmark tool does not understand; the message says what was wrong.
struct UsageError: Error, CustomStringConvertible {
    /// What was wrong with the arguments.
    var message: String

    var description: String { message }
}

/// A benchmark failed or produced an inconsistent result; the message names the phase.
struct BenchmarkError: Error, CustomStringConvertible {
    /// What went wrong.
    var message: String

    /// Creates an error.
    init(_ message: String) { self.message = message }

    var description: String { message }
}

/// The benchmarks this tool knows.
enum BenchmarkName: String, CaseIterable {
    /// Planning, leasing and completing jobs, the raw SQLite baseline, and `status` on a large queue.
    case queue
    /// The worker pool against the raw SQLite baseline alone: the queue benchmark's core, for profiling.
    case pool
    /// Planning alone, three times on fresh databases: the queue benchmark's planning phase, to profile.
    case plan
    /// `status --json` alone on the queue benchmark's 1,000,000 windows, to profile.
    case status
}

/// What the `queue` benchmark needs from its caller.
struct QueueBenchmarkOptions: Sendable {
    /// The release `orchestrator` binary whose `status --json` is timed.
    var orchestratorPath: String
    /// An existing, empty directory for the databases; the caller removes it afterwards.
    var workDirectory: String
    /// Worker pool concurrency (the service's default is 4).
    var concurrency: Int
    /// An empty PostgreSQL database for the PostgreSQL pool runs (password in `PGPASSWORD`); nil skips them.
    var postgresURL: String? = nil
}

/// The parsed command line: `orchestrator-bench queue --orchestrator PATH --work-dir DIR [--concurrency N]`.
struct BenchmarkInvocation {
    /// The benchmark to run.
    var benchmark: BenchmarkName
    /// Options of the `queue` benchmark.
    var queueOptions: QueueBenchmarkOptions

    /// How to call the tool.
    static let usage = """
        usage: orchestrator-bench queue|pool|plan|status --orchestrator PATH --work-dir DIR [--concurrency N]
          --orchestrator PATH   the release orchestrator binary (its `status --json` is timed)
          --work-dir DIR        an empty directory for the benchmark databases
          --concurrency N       worker pool concurrency (default 4, the service's default)
          --postgres URL        an empty PostgreSQL database (password in PGPASSWORD): the pool run
                                again with 1 and 3 worker processes sharing it
        `pool` runs only the worker pool against the raw SQLite baseline (for profiling).
        `plan` runs only the planning of 720,000 windows, three times (for profiling).
        `status` times only `status --json` on 1,000,000 windows (for profiling).
        benchmarks: \(BenchmarkName.allCases.map(\.rawValue).joined(separator: ", "))
        """

    /// Parses `arguments` (without the program name).
    init(arguments: [String]) throws {
        guard let name = arguments.first else { throw UsageError(message: "no benchmark named") }
        guard let benchmark = BenchmarkName(rawValue: name) else {
            throw UsageError(message: "unknown benchmark '\(name)'")
        }
        var orchestratorPath: String?
        var workDirectory: String?
        var concurrency = 4
        var postgresURL: String?
        var remaining = arguments.dropFirst()[...]
        while let flag = remaining.popFirst() {
            guard let value = remaining.popFirst() else { throw UsageError(message: "\(flag) needs a value") }
            switch flag {
            case "--orchestrator": orchestratorPath = value
            case "--work-dir": workDirectory = value
            case "--postgres": postgresURL = value
            case "--concurrency":
                guard let number = Int(value), number > 0 else {
                    throw UsageError(message: "--concurrency needs a positive integer, not '\(value)'")
                }
                concurrency = number
            default: throw UsageError(message: "unknown option \(flag)")
            }
        }
        guard let orchestratorPath else { throw UsageError(message: "--orchestrator PATH is required") }
        guard let workDirectory else { throw UsageError(message: "--work-dir DIR is required") }
        self.benchmark = benchmark
        self.queueOptions = QueueBenchmarkOptions(
            orchestratorPath: orchestratorPath, workDirectory: workDirectory, concurrency: concurrency, postgresURL: postgresURL)
    }
}
