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
        let plans = plans.filter { $0.hourCount > 0 }
        guard !plans.isEmpty else { return 0 }
        return try await pool.write { db in try Self.insertWindows(of: plans, now: now, in: db) }
    }

    /// One plan with the domain's id and the first fair tag of its windows.
    private struct PlacedPlan {
        var plan: DomainPlan
        var domainID: Int64
        /// The plan's windows get tags `base + 1 ... base + hourCount`; see `jobs.fair_tag`.
        var base: Int64
        var first: Int64 { plan.firstHour.databaseSeconds }
        var end: Int64 { plan.endHour.databaseSeconds }
    }

    /// Inserts every plan's windows in one statement, hour by hour across the domains (the order the fair
    /// queue serves them, so that windows leased together share pages), counts them per domain and
    /// advances each domain's tag and watermark.
    private static func insertWindows(of plans: [DomainPlan], now: Date, in db: Database) throws -> Int {
        let seconds = now.databaseSeconds
        // Windows start at the first hour and every 3600 s after it (the end only bounds their count).
        for plan in plans where plan.firstHour.databaseSeconds % 3600 != 0 {
            throw StoreError(
                "store.plan_not_whole_hour",
                "cannot plan \(plan.domain) from \(plan.firstHour): windows start on whole hours")
        }
        let virtualTime = try virtualTime(in: db)
        var placed: [PlacedPlan] = []
        var newestTag: [Int64: Int64] = [:]
        for plan in plans {
            let (domainID, domainTag) = try knownDomain(source: plan.source, domain: plan.domain, now: now, in: db)
            let base = max(newestTag[domainID] ?? domainTag, virtualTime)
            newestTag[domainID] = base + Int64(plan.hourCount)
            placed.append(PlacedPlan(plan: plan, domainID: domainID, base: base))
        }
        let newWindows = try countNewWindows(of: placed, in: db)
        placed.sort { ($0.domainID, $0.first) < ($1.domainID, $1.first) }
        let encoded = "[" + placed.map { "[\($0.domainID),\($0.first),\($0.plan.hourCount),\($0.base)]" }.joined(separator: ",") + "]"
        // Positions outside, plans inside: rows go in hour by hour, in domain order within an hour, so the
        // table, the (hour, domain_id) indexes and the pending index all grow at their ends.
        //
        // The table's checks are not evaluated for this one statement: every column it writes is a
        // default or the plan's first hour (checked above to be whole) plus a multiple of 3600, so they
        // hold by construction, and evaluating them for each row was about a quarter of the statement's
        // CPU (`scripts/bench plan`). The pragma is set back before anything else runs on the connection;
        // it also expires the connection's prepared statements, which SQLite prepares again, with their
        // checks, at next use.
        try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
        let insertion = Result { () throws -> Int in
            try db.execute(
                sql: """
                    WITH RECURSIVE
                        plans(domain_id, first_hour, hours, base) AS MATERIALIZED (
                            SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                                json_extract(value, '$[3]')
                            FROM json_each(?)),
                        positions(position) AS (SELECT 0 UNION ALL SELECT position + 1 FROM positions WHERE position + 1 < ?)
                    INSERT INTO jobs (domain_id, hour, fair_tag, run_at, created_at, updated_at)
                    SELECT plans.domain_id, plans.first_hour + 3600 * position, plans.base + position + 1, ?, ?, ?
                    FROM positions CROSS JOIN plans WHERE position < plans.hours
                    ON CONFLICT (hour, domain_id) DO NOTHING
                    """,
                arguments: [encoded, plans.map(\.hourCount).max() ?? 0, seconds, seconds, seconds])
            return db.changesCount
        }
        try db.execute(sql: "PRAGMA ignore_check_constraints = OFF")
        let inserted = try insertion.get()
        guard inserted == newWindows.values.reduce(0, +) else {
            throw StoreError("store.plan_miscounted", "planning inserted \(inserted) windows where \(newWindows.values.reduce(0, +)) were new")
        }
        let advance = try db.cachedStatement(sql: """
            UPDATE domains SET
                fair_tag = ?,
                planned_until = CASE
                    WHEN ? = 0 THEN planned_until
                    WHEN planned_until IS NULL OR planned_until < ? THEN ?
                    ELSE planned_until END,
                skipped_hours = skipped_hours + ?,
                updated_at = ?
            WHERE id = ?
            """)
        for entry in placed {
            try advance.execute(arguments: [
                newestTag[entry.domainID], entry.plan.advancesWatermark ? 1 : 0, entry.end, entry.end,
                entry.plan.skippedHours, seconds, entry.domainID,
            ])
        }
        let count = try db.cachedStatement(sql: "UPDATE domains SET window_count = window_count + ? WHERE id = ?")
        for (domainID, windows) in newWindows where windows > 0 {
            try count.execute(arguments: [windows, domainID])
        }
        return inserted
    }

    /// The id and newest fair tag of a domain, adding it first if it is new. A domain first seen through a
    /// plan (a backfill, a push stream) is known but not active: only configuration or discovery makes the
    /// scheduler plan it by itself.
    static func knownDomain(source: String, domain: String, now: Date, in db: Database) throws -> (id: Int64, fairTag: Int64) {
        try db.cachedStatement(sql: """
            INSERT INTO domains (source, domain, active, created_at, updated_at) VALUES (?, ?, 0, ?, ?)
            ON CONFLICT (source, domain) DO NOTHING
            """
        ).execute(arguments: [source, domain, now.databaseSeconds, now.databaseSeconds])
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, fair_tag FROM domains WHERE source = ? AND domain = ?"),
            arguments: [source, domain])
        else {
            throw StoreError("store.domain_missing", "the domain \(domain) of \(source) vanished while it was being planned")
        }
        return (row["id"], row["fair_tag"])
    }

    /// How many windows each domain's plans add: the hours they cover (overlapping plans of one domain
    /// counted once) less those already planned. Reads only the windows already in the plans' span of
    /// hours, which for a scheduler tick is none.
    private static func countNewWindows(of plans: [PlacedPlan], in db: Database) throws -> [Int64: Int] {
        var spans: [Int64: [(first: Int64, end: Int64)]] = [:]
        for plan in plans { spans[plan.domainID, default: []].append((plan.first, plan.end)) }
        for (domainID, ranges) in spans { spans[domainID] = merged(ranges) }
        var newWindows = spans.mapValues { ranges in ranges.reduce(0) { $0 + Int(($1.end - $1.first) / 3600) } }
        let first = plans.map(\.first).min() ?? 0
        let end = plans.map(\.end).max() ?? 0
        let existing = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT domain_id, hour FROM jobs WHERE hour >= ? AND hour < ?"), arguments: [first, end])
        while let row = try existing.next() {
            let domainID: Int64 = row[0]
            let hour: Int64 = row[1]
            if let ranges = spans[domainID], ranges.contains(where: { hour >= $0.first && hour < $0.end }) {
                newWindows[domainID, default: 0] -= 1
            }
        }
        return newWindows
    }

    /// `ranges` sorted and with overlapping or touching ranges joined.
    private static func merged(_ ranges: [(first: Int64, end: Int64)]) -> [(first: Int64, end: Int64)] {
        var result: [(first: Int64, end: Int64)] = []
        for range in ranges.sorted(by: { $0.first < $1.first }) {
            if let last = result.last, range.first <= last.end {
                result[result.count - 1].end = max(last.end, range.end)
            } else {
                result.append(range)
            }
        }
        return result
    }

    /// The fair queue's virtual time: the lowest tag still waiting, or when nothing waits, the highest
    /// tag handed out. A domain's new windows get tags from `max(its newest tag, virtual time)` on.
    static func virtualTime(in db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT fair_tag FROM jobs WHERE state = 'pending' ORDER BY fair_tag LIMIT 1")
            ?? Int64.fetchOne(db, sql: "SELECT max(fair_tag) FROM domains") ?? 0
    }
}
