import Core
import Foundation
import GRDB
import JobModel
import Store
import TencentCloud

/// Builds and copies the benchmark databases. Windows are planned through the real `SQLiteJobStore`;
/// anything the store has no method for (checkpoints, bulk state changes, the baseline) goes through a
/// GRDB pool opened with the store's own settings.
enum BenchmarkDatabase {
    /// The source every benchmark window belongs to.
    static let source = TencentCDNClient.sourceName

    /// `count` distinct domain names (`d0000.bench.example` ...).
    static func domains(_ count: Int) -> [String] {
        (0..<count).map { String(format: "d%04d.bench.example", $0) }
    }

    /// One plan per domain covering the `hours` hours before `end` (a whole hour).
    static func plans(domains: [String], hours: Int, endingAt end: Date) -> [DomainPlan] {
        let first = end.addingTimeInterval(-3600 * Double(hours))
        return domains.map { DomainPlan(source: source, domain: $0, firstHour: first, endHour: end) }
    }

    /// The start of the current UTC hour: planning "now" so that every planned window is already due.
    static var currentHour: Date { Date().startOfHour }

    /// Creates a database at `path` holding `domains` × `hours` pending windows, planned in one call.
    /// Returns how many windows were planned and how long the `plan` call took.
    static func createPlanned(at path: String, domains domainCount: Int, hours: Int) async throws -> (windows: Int, duration: Duration) {
        let store = try SQLiteJobStore(path: path)
        let now = currentHour
        let names = domains(domainCount)
        try await store.setActiveDomains(names, source: source, now: now)
        let plans = plans(domains: names, hours: hours, endingAt: now)
        let (windows, duration) = try await timed { try await store.plan(plans, now: now) }
        try store.close()
        guard windows == domainCount * hours else {
            throw BenchmarkError("planning \(domainCount) domains × \(hours) hours inserted \(windows) windows")
        }
        return (windows, duration)
    }

    /// A GRDB pool on `path` with the store's settings: WAL (the pool's default), `synchronous = NORMAL`,
    /// the store's checkpoints (every `checkpointPages` of log, on a thread of their own), a 10 s busy
    /// timeout. The database must exist and be migrated.
    static func openPool(at path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // Kept alive by the configuration, which the pool keeps.
        let checkpointer = WALCheckpointer(path: path, thresholdPages: SQLiteJobStore.checkpointPages)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try SQLiteJobStore.configureCheckpoints(db, checkpointer: checkpointer)
        }
        return try DatabasePool(path: path, configuration: configuration)
    }

    /// Folds the write-ahead log into the main file and empties it, so the file can be copied alone
    /// and a reader does not start with a long log to scan.
    static func checkpoint(at path: String) throws {
        let pool = try openPool(at: path)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        try pool.close()
    }

    /// Copies the database at `source` (checkpointed first) to a new file at `destination`.
    static func copy(_ source: String, to destination: String) throws {
        try checkpoint(at: source)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }

    /// The four job states.
    static let states = ["pending", "running", "done", "failed"]

    /// Counts per state read from the jobs themselves (states with no window left out), to check what
    /// `status` derives.
    static func countsByState(in pool: DatabasePool) throws -> [String: Int] {
        try pool.read { db in
            var fromJobs: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM jobs GROUP BY state") {
                fromJobs[row["state"]] = row["n"]
            }
            return fromJobs
        }
    }
}
