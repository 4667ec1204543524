import Foundation
import GRDB
import Store

/// Where a worker pool job's time goes, measured on a sample of a pending queue without the pool:
/// the store's calls one after another from a single task (leasing one window, then a hundred, at a
/// time); the baseline update through GRDB's async `write` and with its statement prepared afresh each
/// time (as the store prepares some of its statements); and a state change, which moves the row between
/// partial indexes, prepared afresh and cached.
struct QueueBreakdown {
    /// A database with at least `sampleSize` pending, due windows (the baseline's copy after its run).
    var path: String
    /// Windows (and transactions) per measure.
    var sampleSize = 3_000

    /// Rates per second of each measure.
    struct Result: Encodable {
        /// `claimDueJobs(limit: 1)` then `complete`, sequentially: the store's cost per job.
        var storeSequentialJobsPerSecond: Double
        /// Of that, the share of time in `claimDueJobs`.
        var storeClaimShare: Double
        /// `claimDueJobs(limit: 100)` then `complete` each: what batched leasing would give.
        var storeBatchedClaimJobsPerSecond: Double
        /// The baseline update through `await pool.write` (async, one task).
        var grdbAsyncTransactionsPerSecond: Double
        /// The baseline update through synchronous `write`, statement prepared every time.
        var uncachedStatementTransactionsPerSecond: Double
        /// A `complete`-like state change (the row moves between partial indexes), prepared every time.
        var uncachedStateChangeTransactionsPerSecond: Double
        /// The same state change with a cached statement.
        var cachedStateChangeTransactionsPerSecond: Double

        /// The report's JSON keys (snake_case, as `scripts/bench` consumers read them).

        /// The JSON keys, snake_case as the report prints them.
        enum CodingKeys: String, CodingKey {
            case storeSequentialJobsPerSecond = "store_sequential_jobs_per_second"
            case storeClaimShare = "store_claim_share"
            case storeBatchedClaimJobsPerSecond = "store_batched_claim_jobs_per_second"
            case grdbAsyncTransactionsPerSecond = "grdb_async_tx_per_second"
            case uncachedStatementTransactionsPerSecond = "uncached_statement_tx_per_second"
            case uncachedStateChangeTransactionsPerSecond = "uncached_state_change_tx_per_second"
            case cachedStateChangeTransactionsPerSecond = "cached_state_change_tx_per_second"
        }

        /// Rates rounded to whole numbers and the share to three places, for the report.
        var rounded: Result {
            Result(
                storeSequentialJobsPerSecond: storeSequentialJobsPerSecond.rounded(),
                storeClaimShare: (storeClaimShare * 1000).rounded() / 1000,
                storeBatchedClaimJobsPerSecond: storeBatchedClaimJobsPerSecond.rounded(),
                grdbAsyncTransactionsPerSecond: grdbAsyncTransactionsPerSecond.rounded(),
                uncachedStatementTransactionsPerSecond: uncachedStatementTransactionsPerSecond.rounded(),
                uncachedStateChangeTransactionsPerSecond: uncachedStateChangeTransactionsPerSecond.rounded(),
                cachedStateChangeTransactionsPerSecond: cachedStateChangeTransactionsPerSecond.rounded())
        }

        /// One progress line.
        var summary: String {
            let rates = [
                ("store claim+complete", storeSequentialJobsPerSecond, "jobs/s"),
                ("with claims of 100", storeBatchedClaimJobsPerSecond, "jobs/s"),
                ("async write", grdbAsyncTransactionsPerSecond, "tx/s"),
                ("uncached update", uncachedStatementTransactionsPerSecond, "tx/s"),
                ("state change uncached", uncachedStateChangeTransactionsPerSecond, "tx/s"),
                ("cached", cachedStateChangeTransactionsPerSecond, "tx/s"),
            ]
            return rates.map { "\($0.0) \(Int($0.1).grouped) \($0.2)" }.joined(separator: ", ")
                + String(format: "; claims take %.0f%% of the store's time", storeClaimShare * 100)
        }
    }

    /// Runs every measure, each on windows the previous ones left pending.
    func run() async throws -> Result {
        let store = try SQLiteJobStore(path: path, create: false)
        let owner = "bench/\(getpid())/breakdown"
        var claimTime = Duration.zero
        let (_, sequential) = try await timed {
            for _ in 0..<sampleSize {
                let (jobs, claiming) = try await timed {
                    try await store.claimDueJobs(owner: owner, limit: 1, leaseDuration: 120, now: Date())
                }
                claimTime += claiming
                guard let job = jobs.first else {
                    throw BenchmarkError("breakdown: the sample ran out of pending windows")
                }
                guard try await store.complete(job, files: [], final: false, now: Date()) else {
                    throw BenchmarkError("breakdown: lease lost")
                }
            }
        }
        let (_, batched) = try await timed {
            var completed = 0
            while completed < sampleSize {
                let jobs = try await store.claimDueJobs(owner: owner, limit: 100, leaseDuration: 120, now: Date())
                guard !jobs.isEmpty else { throw BenchmarkError("breakdown: the sample ran out of pending windows") }
                for job in jobs {
                    guard try await store.complete(job, files: [], final: false, now: Date()) else {
                        throw BenchmarkError("breakdown: lease lost")
                    }
                }
                completed += jobs.count
            }
        }
        try store.close()

        let pool = try BenchmarkDatabase.openPool(at: path)
        let stamp = Int64(Date().timeIntervalSince1970)
        let update = "UPDATE jobs SET updated_at = ? WHERE id = ?"
        let (_, asyncWrites) = try await timed {
            for id in 1...Int64(sampleSize) {
                try await pool.write { db in try db.cachedStatement(sql: update).execute(arguments: [stamp, id]) }
            }
        }
        let uncached = try Self.writeEach(Array(1...Int64(sampleSize)), in: pool, cached: false, sql: update) { [stamp, $0] }
        // Flip pending windows to failed and back: the row moves between partial indexes as in a real
        // transition.
        let pendingIDs = try await pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM jobs WHERE state = 'pending' LIMIT ?", arguments: [sampleSize])
        }
        let toFailed = "UPDATE jobs SET state = 'failed', updated_at = ?, finished_at = ? WHERE id = ? AND state = 'pending'"
        let toPending = "UPDATE jobs SET state = 'pending', updated_at = ?, finished_at = NULL WHERE id = ? AND state = 'failed'"
        let uncachedStateChange = try Self.writeEach(pendingIDs, in: pool, cached: false, sql: toFailed) { [stamp, stamp, $0] }
        let cachedStateChange = try Self.writeEach(pendingIDs, in: pool, cached: true, sql: toPending) { [stamp, $0] }
        try pool.close()

        let count = Double(sampleSize)
        return Result(
            storeSequentialJobsPerSecond: count / sequential.inSeconds,
            storeClaimShare: claimTime.inSeconds / sequential.inSeconds,
            storeBatchedClaimJobsPerSecond: count / batched.inSeconds,
            grdbAsyncTransactionsPerSecond: count / asyncWrites.inSeconds,
            uncachedStatementTransactionsPerSecond: count / uncached.inSeconds,
            uncachedStateChangeTransactionsPerSecond: Double(pendingIDs.count) / uncachedStateChange.inSeconds,
            cachedStateChangeTransactionsPerSecond: Double(pendingIDs.count) / cachedStateChange.inSeconds)
    }

    /// One synchronous write transaction per id running `sql`, prepared afresh or cached; each must
    /// change exactly one row. Returns the total time.
    private static func writeEach(
        _ ids: [Int64], in pool: DatabasePool, cached: Bool, sql: String, arguments: (Int64) -> StatementArguments
    ) throws -> Duration {
        let start = ContinuousClock.now
        for id in ids {
            let changed = try pool.write { db -> Int in
                if cached {
                    try db.cachedStatement(sql: sql).execute(arguments: arguments(id))
                } else {
                    try db.execute(sql: sql, arguments: arguments(id))
                }
                return db.changesCount
            }
            guard changed == 1 else { throw BenchmarkError("breakdown: no row changed for id \(id)") }
        }
        return start.duration(to: .now)
    }
}
