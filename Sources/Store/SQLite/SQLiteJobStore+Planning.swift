import Core
import Foundation
import GRDB
import JobModel

extension SQLiteJobStore {
    public func setActiveDomains(_ domains: [String], source: String, now: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE domains SET active = 0, updated_at = ? WHERE source = ? AND active = 1",
                arguments: [now.databaseSeconds, source])
            try Self.upsertActive(domains, source: source, now: now, in: db)
        }
    }

    private static func upsertActive(_ domains: [String], source: String, now: Date, in db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO domains (source, domain, active, created_at, updated_at) VALUES (?, ?, 1, ?, ?)
            ON CONFLICT (source, domain) DO UPDATE SET active = 1, updated_at = excluded.updated_at
            """)
        for domain in Set(domains) {
            try statement.execute(arguments: [source, domain, now.databaseSeconds, now.databaseSeconds])
        }
    }

    public func activeDomains(source: String) async throws -> [PlannedDomain] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT domain, planned_until FROM domains WHERE source = ? AND active = 1 ORDER BY domain",
                arguments: [source]
            ).map { row in
                PlannedDomain(
                    source: source, domain: row["domain"],
                    plannedUntil: (row["planned_until"] as Int64?).map(Date.init(unixSeconds:)))
            }
        }
    }

    @discardableResult
    public func plan(_ plans: [DomainPlan], now: Date) async throws -> Int {
        try await pool.write { db in
            var inserted = 0
            for plan in plans where plan.hourCount > 0 {
                inserted += try Self.insertWindows(of: plan, now: now, in: db)
            }
            return inserted
        }
    }

    /// Inserts one plan's windows with consecutive fair tags and counts them; see `jobs.fair_tag`.
    private static func insertWindows(of plan: DomainPlan, now: Date, in db: Database) throws -> Int {
        let seconds = now.databaseSeconds
        // A domain first seen through a plan (a backfill) is known but not active: only configuration
        // or discovery makes the scheduler plan it by itself.
        try db.execute(
            sql: """
                INSERT INTO domains (source, domain, active, created_at, updated_at) VALUES (?, ?, 0, ?, ?)
                ON CONFLICT (source, domain) DO NOTHING
                """,
            arguments: [plan.source, plan.domain, seconds, seconds])
        let domainTag = try Int64.fetchOne(
            db, sql: "SELECT fair_tag FROM domains WHERE source = ? AND domain = ?",
            arguments: [plan.source, plan.domain]) ?? 0
        let base = max(domainTag, try virtualTime(in: db))
        try db.execute(
            sql: """
                WITH RECURSIVE hours(hour, position) AS (
                    SELECT ?, 1
                    UNION ALL
                    SELECT hour + 3600, position + 1 FROM hours WHERE hour + 3600 < ?
                )
                INSERT INTO jobs (source, domain, hour, fair_tag, run_at, created_at, updated_at)
                SELECT ?, ?, hour, ? + position, ?, ?, ? FROM hours WHERE true
                ON CONFLICT (source, domain, hour) DO NOTHING
                """,
            arguments: [
                plan.firstHour.databaseSeconds, plan.endHour.databaseSeconds,
                plan.source, plan.domain, base, seconds, seconds, seconds,
            ])
        let inserted = db.changesCount
        if inserted > 0 {
            try db.execute(
                sql: """
                    INSERT INTO job_counts (source, domain, state, count) VALUES (?, ?, 'pending', ?)
                    ON CONFLICT (source, domain, state) DO UPDATE SET count = count + excluded.count
                    """,
                arguments: [plan.source, plan.domain, inserted])
        }
        try db.execute(
            sql: """
                UPDATE domains SET
                    fair_tag = ?,
                    planned_until = CASE
                        WHEN ? = 0 THEN planned_until
                        WHEN planned_until IS NULL OR planned_until < ? THEN ?
                        ELSE planned_until END,
                    skipped_hours = skipped_hours + ?,
                    updated_at = ?
                WHERE source = ? AND domain = ?
                """,
            arguments: [
                base + Int64(plan.hourCount), plan.advancesWatermark ? 1 : 0,
                plan.endHour.databaseSeconds, plan.endHour.databaseSeconds, plan.skippedHours, seconds, plan.source, plan.domain,
            ])
        return inserted
    }

    /// The fair queue's virtual time: the lowest tag still waiting, or when nothing waits, the highest
    /// tag handed out. A domain's new windows get tags from `max(its newest tag, virtual time)` on.
    static func virtualTime(in db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT fair_tag FROM jobs WHERE state = 'pending' ORDER BY fair_tag LIMIT 1")
            ?? Int64.fetchOne(db, sql: "SELECT max(fair_tag) FROM domains") ?? 0
    }
}
