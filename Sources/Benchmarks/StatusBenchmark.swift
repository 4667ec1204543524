import Foundation
import GRDB
import JobModel
import Store

/// Times the release binary's `orchestrator status --json --db FILE` as a subprocess on a large queue
/// and checks what it prints.
struct StatusBenchmark {
    /// The release `orchestrator` binary.
    var orchestratorPath: String
    /// The database; see `QueueMix` for what it holds.
    var path: String
    /// How many windows the database holds, which the printed counts must add up to.
    var jobCount: Int
    /// How many domains `status` must list.
    var domainCount: Int
    /// Timed runs after the warm-up; the median is reported.
    var runs = 5

    /// What the runs measured.
    struct Result {
        /// Wall time of each timed run.
        var durations: [Duration]
        /// The median, in milliseconds.
        var medianMilliseconds: Double
        /// The totals the last run printed.
        var counts: [String: Int]

        /// The figures as the `status` benchmark prints them.
        var report: Report {
            Report(medianMilliseconds: rounded(medianMilliseconds, 1), runsMilliseconds: durations.map { rounded($0.inMilliseconds, 1) })
        }
    }

    /// The last line of `orchestrator-bench status`.
    struct Report: Encodable {
        var medianMilliseconds: Double
        var runsMilliseconds: [Double]

        enum CodingKeys: String, CodingKey {
            case medianMilliseconds = "status_ms"
            case runsMilliseconds = "status_runs_ms"
        }
    }

    /// One warm-up run, then `runs` timed runs; every run's output is checked.
    func run() throws -> Result {
        var counts: [String: Int] = [:]
        counts = try check(try runStatus().output)
        var durations: [Duration] = []
        for _ in 0..<runs {
            let (output, duration) = try runStatus()
            counts = try check(output)
            durations.append(duration)
        }
        let sorted = durations.sorted()
        return Result(durations: durations, medianMilliseconds: sorted[sorted.count / 2].inMilliseconds, counts: counts)
    }

    /// Starts the binary, reads all it prints and waits for it to exit.
    private func runStatus() throws -> (output: Data, duration: Duration) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: orchestratorPath)
        process.arguments = ["status", "--json", "--db", path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let start = ContinuousClock.now
        try process.run()
        // Read before waiting: the JSON for a thousand domains is larger than a pipe's buffer.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let duration = start.duration(to: .now)
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errorData, as: UTF8.self)
            throw BenchmarkError("orchestrator status exited with \(process.terminationStatus): \(message)")
        }
        return (data, duration)
    }

    /// Parses `status --json` output; the totals and every domain's counts must add up to `jobCount`.
    /// Returns the totals.
    private func check(_ output: Data) throws -> [String: Int] {
        let states = BenchmarkDatabase.states
        guard let object = try JSONSerialization.jsonObject(with: output) as? [String: Any],
              let jobs = object["jobs"] as? [String: Any],
              let domains = object["domains"] as? [[String: Any]] else {
            throw BenchmarkError("status --json printed no object with `jobs` and `domains`")
        }
        var totals: [String: Int] = [:]
        for state in states {
            guard let count = jobs[state] as? Int else { throw BenchmarkError("status --json: jobs.\(state) is not an integer") }
            totals[state] = count
        }
        let total = totals.values.reduce(0, +)
        guard total == jobCount else {
            throw BenchmarkError("status --json counts add up to \(total), not \(jobCount): \(totals)")
        }
        guard domains.count == domainCount else {
            throw BenchmarkError("status --json lists \(domains.count) domains, not \(domainCount)")
        }
        let perDomain = domains.reduce(0) { sum, domain in
            sum + states.reduce(0) { $0 + ((domain[$1] as? Int) ?? 0) }
        }
        guard perDomain == jobCount else {
            throw BenchmarkError("status --json per-domain counts add up to \(perDomain), not \(jobCount)")
        }
        return totals
    }
}

/// Turns a freshly planned queue of `domains × hours` pending windows into what a service that has run
/// for a while holds: by hour position in each domain, the older 95 % finished (2 % of those, spread by
/// id, failed after 8 attempts, the rest done with two files), the next 1 % running under a live lease,
/// the newest 4 % pending. Done windows are final (reconciled) except those of the newest
/// `provisionalHours` done hours, which wait for their reconcile pass as a service with the default
/// `schedule.settle_hours` leaves them. Plain `UPDATE`s on `jobs`: `status` derives its counts from the
/// windows, and the mix is checked against a recount.
enum QueueMix {
    /// Done hours left provisional: the default `schedule.settle_hours`.
    static let provisionalHours = 24

    /// Applies the mix to the database at `path`, whose windows span `hours` hours before `end`.
    static func apply(at path: String, hours: Int, endingAt end: Date) async throws {
        let first = Int64(end.timeIntervalSince1970) - 3600 * Int64(hours)
        let finishedBefore = first + 3600 * Int64(hours * 95 / 100)
        let runningBefore = first + 3600 * Int64(hours * 96 / 100)
        let now = Int64(end.timeIntervalSince1970)
        let pool = try BenchmarkDatabase.openPool(at: path)
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'done', attempts = 1, file_count = 2, byte_count = 4194304,
                        updated_at = hour + 7200, finished_at = hour + 7200, final = hour < ?
                    WHERE hour < ? AND id % 50 <> 7
                    """,
                arguments: [finishedBefore - 3600 * Int64(provisionalHours), finishedBefore])
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'failed', attempts = 8,
                        last_error_code = 'download.truncated',
                        last_error_message = 'the package ended before its declared size; the CDN may still be writing it',
                        updated_at = hour + 86400, finished_at = hour + 86400
                    WHERE hour < ? AND id % 50 = 7
                    """,
                arguments: [finishedBefore])
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'running', attempts = 1,
                        lease_owner = 'bench-host/4242/0badcafe', lease_token = 'token-' || id, lease_until = ?,
                        updated_at = ?
                    WHERE hour >= ? AND hour < ?
                    """,
                arguments: [now + 120, now, finishedBefore, runningBefore])
        }
        let fromJobs = try BenchmarkDatabase.countsByState(in: pool)
        try pool.close()
        try BenchmarkDatabase.checkpoint(at: path)
        let store = try SQLiteJobStore(path: path, create: false)
        let totals = try await store.status(recentFailureLimit: 0).totals
        try store.close()
        let fromStatus = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0.rawValue, totals[$0]) }.filter { $0.1 > 0 })
        guard fromJobs == fromStatus else {
            throw BenchmarkError("status counts \(fromStatus) disagree with the jobs table \(fromJobs)")
        }
    }
}
