import Foundation
import GRDB

/// The baseline: single-row `UPDATE` transactions, one after another, through GRDB's synchronous
/// `DatabasePool.write` with a cached statement, on a database with the store's settings. This is the
/// cheapest durable write transaction the store could possibly issue for a job.
struct RawSQLiteBenchmark {
    /// The database (a copy of the worker pool's, so the same schema, indexes and rows).
    var path: String
    /// How many transactions, one per row id `1 ... count`.
    var count: Int

    /// Describes the baseline in the report.
    static let description =
        "GRDB DatabasePool.write (synchronous), one transaction per row: UPDATE jobs SET updated_at = ? WHERE id = ? (cached statement), WAL, synchronous=NORMAL, same schema and rows"

    /// What the run measured.
    struct Result {
        /// Wall time of all transactions.
        var duration: Duration
        /// `count / duration`.
        var transactionsPerSecond: Double
    }

    /// Runs the transactions and checks each touched exactly one row.
    func run() throws -> Result {
        let pool = try BenchmarkDatabase.openPool(at: path)
        let stamp = Int64(Date().timeIntervalSince1970)
        let sql = "UPDATE jobs SET updated_at = ? WHERE id = ?"
        let start = ContinuousClock.now
        for id in 1...Int64(count) {
            let changed = try pool.write { db -> Int in
                try db.cachedStatement(sql: sql).execute(arguments: [stamp, id])
                return db.changesCount
            }
            guard changed == 1 else { throw BenchmarkError("baseline: no job with id \(id)") }
        }
        let duration = start.duration(to: .now)
        try pool.close()
        return Result(duration: duration, transactionsPerSecond: Double(count) / duration.inSeconds)
    }
}
