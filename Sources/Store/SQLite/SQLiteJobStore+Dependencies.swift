import Core
import Foundation
import GRDB
import JobModel

extension SQLiteJobStore {
    public func saveDependencyHealth(_ states: [DependencyState], endedOutages: [OutagePeriod], now: Date) async throws {
        try await pool.write { db in
            for state in states {
                try db.execute(
                    sql: """
                        INSERT INTO dependency_health
                            (dependency, outage_since, failures, last_error_code, last_error_message, last_answered_at,
                             last_failure_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (dependency) DO UPDATE SET
                            outage_since = excluded.outage_since, failures = excluded.failures,
                            last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
                            last_answered_at = excluded.last_answered_at, last_failure_at = excluded.last_failure_at,
                            updated_at = excluded.updated_at
                        """,
                    arguments: [
                        state.dependency.rawValue, state.outageSince?.databaseSeconds, state.failures,
                        state.lastError?.code, state.lastError?.message, state.lastAnsweredAt?.databaseSeconds,
                        state.lastFailureAt?.databaseSeconds, now.databaseSeconds,
                    ])
            }
            for outage in endedOutages {
                try db.execute(
                    sql: "INSERT INTO dependency_outages (dependency, started_at, ended_at, failures) VALUES (?, ?, ?, ?)",
                    arguments: [outage.dependency.rawValue, outage.started.databaseSeconds, outage.ended.databaseSeconds, outage.failures])
            }
        }
    }

    public func dependencyHealth() async throws -> [DependencyState] {
        try await pool.read { db in try Self.dependencyStates(db) }
    }

    /// Every dependency's saved state, in `Dependency.allCases` order; one never saved is healthy.
    static func dependencyStates(_ db: Database) throws -> [DependencyState] {
        var saved: [Dependency: DependencyState] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM dependency_health") {
            guard let dependency = Dependency(rawValue: row["dependency"]) else { continue }
            let code: String? = row["last_error_code"]
            saved[dependency] = DependencyState(
                dependency: dependency,
                outageSince: (row["outage_since"] as Int64?).map(Date.init(unixSeconds:)),
                failures: row["failures"],
                lastError: code.map { JobError(code: $0, message: row["last_error_message"] ?? "") },
                lastAnsweredAt: (row["last_answered_at"] as Int64?).map(Date.init(unixSeconds:)),
                lastFailureAt: (row["last_failure_at"] as Int64?).map(Date.init(unixSeconds:)))
        }
        return Dependency.allCases.map { saved[$0] ?? DependencyState(dependency: $0) }
    }

    /// The latest `limit` outages that ended, newest first, and how many ended in all.
    static func outageHistory(_ db: Database, limit: Int) throws -> (recent: [OutagePeriod], count: Int) {
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM dependency_outages") ?? 0
        let recent = try Row.fetchAll(
            db, sql: "SELECT * FROM dependency_outages ORDER BY ended_at DESC, id DESC LIMIT ?", arguments: [limit]
        ).compactMap { row -> OutagePeriod? in
            guard let dependency = Dependency(rawValue: row["dependency"]) else { return nil }
            return OutagePeriod(
                dependency: dependency, started: Date(unixSeconds: row["started_at"]), ended: Date(unixSeconds: row["ended_at"]),
                failures: row["failures"])
        }
        return (recent, count)
    }
}

extension SQLiteJobStore {
    public func pruneDoneWindows(hoursBefore cutoff: Date, limit: Int) async throws -> Int {
        let deleted = try await pool.write { db -> Int in
            // The job_files rows go with their window (ON DELETE CASCADE). Each domain's window count and
            // tallies lose what the deleted windows held.
            let removed = try Row.fetchAll(
                db,
                sql: """
                    DELETE FROM jobs WHERE id IN (
                        SELECT id FROM jobs WHERE state = 'done' AND final = 1 AND hour < ? ORDER BY hour LIMIT ?)
                    RETURNING domain_id, replaced_count, copy_downloads_avoided, reconcile_downloads_avoided
                    """,
                arguments: [cutoff.databaseSeconds, limit])
            var lost: [Int64: (windows: Int, replaced: Int, copy: Int, reconcile: Int)] = [:]
            for row in removed {
                var entry = lost[row["domain_id"], default: (0, 0, 0, 0)]
                entry.windows += 1
                entry.replaced += row["replaced_count"] as Int
                entry.copy += row["copy_downloads_avoided"] as Int
                entry.reconcile += row["reconcile_downloads_avoided"] as Int
                lost[row["domain_id"]] = entry
            }
            let subtract = try db.cachedStatement(sql: """
                UPDATE domains SET
                    window_count = window_count - ?, replaced_count = replaced_count - ?,
                    copy_downloads_avoided = copy_downloads_avoided - ?, reconcile_downloads_avoided = reconcile_downloads_avoided - ?
                WHERE id = ?
                """)
            for (domainID, entry) in lost {
                try subtract.execute(arguments: [entry.windows, entry.replaced, entry.copy, entry.reconcile, domainID])
            }
            try db.execute(sql: "DELETE FROM dependency_outages WHERE ended_at < ?", arguments: [cutoff.databaseSeconds])
            return removed.count
        }
        if deleted > 0 {
            // Hand the freed pages back to the main file now, so the write-ahead log does not grow with
            // the deletions; later inserts reuse those pages.
            try await pool.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        }
        return deleted
    }
}
