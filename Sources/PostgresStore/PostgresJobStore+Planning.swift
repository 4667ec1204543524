import Core
import Foundation
import JobModel
import PostgresNIO

extension PostgresJobStore {
    /// The advisory lock that serialises planning, domain changes and reconcile passes across hosts
    /// ("orch" "plan" in ASCII). Leasing never takes it.
    static let planningLockKey: Int64 = 0x6F72_6368_706C_616E

    /// The fair queue's virtual time as one row `tag`: the lowest tag still waiting, or when nothing
    /// waits, the highest tag handed out (see the SQLite store).
    static let virtualTimeSQL = """
        SELECT coalesce(
            (SELECT fair_tag FROM jobs WHERE state = 'pending' ORDER BY fair_tag LIMIT 1),
            (SELECT max(fair_tag) FROM domains), 0) AS tag
        """

    public func setActiveDomains(_ domains: [String], source: String, now: Date) async throws {
        let seconds = now.databaseSeconds
        let unique = Array(Set(domains)).sorted()
        try await transaction { connection in
            try await self.rows("SELECT pg_advisory_xact_lock(\(Self.planningLockKey))", on: connection)
            try await self.rows(
                "UPDATE domains SET active = false, updated_at = \(seconds) WHERE source = \(source) AND active", on: connection)
            try await self.rows("""
                INSERT INTO domains (source, domain, active, created_at, updated_at)
                SELECT \(source), name, true, \(seconds), \(seconds) FROM unnest(\(unique)::text[]) AS name
                ON CONFLICT (source, domain) DO UPDATE SET active = true, updated_at = excluded.updated_at
                """, on: connection)
        }
    }

    public func activeDomains(source: String) async throws -> [PlannedDomain] {
        try await rows("""
            SELECT domain, planned_until FROM domains WHERE source = \(source) AND active ORDER BY domain COLLATE "C"
            """).map { row in
            PlannedDomain(
                source: source, domain: try row.get("domain"),
                plannedUntil: try row.get("planned_until", as: Int64?.self).map(Date.init(unixSeconds:)))
        }
    }

    /// One transaction under the planning lock: a second host planning the same hours waits, then
    /// inserts nothing (`ON CONFLICT DO NOTHING`), so planning stays idempotent across hosts.
    @discardableResult
    public func plan(_ plans: [DomainPlan], now: Date) async throws -> Int {
        try await transaction { connection in
            try await self.rows("SELECT pg_advisory_xact_lock(\(Self.planningLockKey))", on: connection)
            var inserted = 0
            for plan in plans where plan.hourCount > 0 {
                inserted += try await self.insertWindows(of: plan, now: now, on: connection)
            }
            return inserted
        }
    }

    /// Inserts one plan's windows with consecutive fair tags and counts them.
    private func insertWindows(of plan: DomainPlan, now: Date, on connection: PostgresConnection) async throws -> Int {
        let seconds = now.databaseSeconds
        // A domain first seen through a plan (a backfill) is known but not active.
        try await rows("""
            INSERT INTO domains (source, domain, active, created_at, updated_at) VALUES (\(plan.source), \(plan.domain), false, \(seconds), \(seconds))
            ON CONFLICT (source, domain) DO NOTHING
            """, on: connection)
        let base = try await rows("""
            SELECT greatest(
                (SELECT fair_tag FROM domains WHERE source = \(plan.source) AND domain = \(plan.domain)),
                (\(unescaped: Self.virtualTimeSQL))) AS base
            """, on: connection).first?.get("base", as: Int64.self) ?? 0
        let first = plan.firstHour.databaseSeconds
        let end = plan.endHour.databaseSeconds
        let inserted = try await rows("""
            WITH inserted AS (
                INSERT INTO jobs (source, domain, hour, fair_tag, run_at, created_at, updated_at)
                SELECT \(plan.source), \(plan.domain), hour, \(base) + (hour - \(first)) / 3600 + 1, \(seconds), \(seconds), \(seconds)
                FROM generate_series(\(first), \(end) - 3600, 3600) AS hour
                ON CONFLICT (source, domain, hour) DO NOTHING
                RETURNING 1
            )
            SELECT count(*) AS inserted FROM inserted
            """, on: connection).first?.get("inserted", as: Int.self) ?? 0
        try await rows("""
            UPDATE domains SET
                fair_tag = \(base + Int64(plan.hourCount)),
                planned_until = CASE
                    WHEN NOT \(plan.advancesWatermark) THEN planned_until
                    WHEN planned_until IS NULL OR planned_until < \(end) THEN \(end)
                    ELSE planned_until END,
                skipped_hours = skipped_hours + \(plan.skippedHours),
                updated_at = \(seconds)
            WHERE source = \(plan.source) AND domain = \(plan.domain)
            """, on: connection)
        return inserted
    }
}
