import Core
import Foundation
import JobModel
import PostgresNIO

extension PostgresJobStore {
    public func requeueFailed(matching filter: JobFilter, now: Date) async throws -> Int {
        var failedOnly = filter
        failedOnly.state = .failed
        var binds = PostgresBindings()
        binds.append(now.databaseSeconds)
        let condition = Self.whereClause(for: failedOnly, binds: &binds)
        return try await rows(PostgresQuery(unsafeSQL: """
            WITH requeued AS (
                UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, finished_at = NULL, updated_at = $1
                WHERE \(condition) RETURNING 1
            )
            SELECT count(*) AS requeued FROM requeued
            """, binds: binds)).first?.get("requeued", as: Int.self) ?? 0
    }

    public func jobs(matching filter: JobFilter, limit: Int) async throws -> [JobSummary] {
        var binds = PostgresBindings()
        let condition = Self.whereClause(for: filter, binds: &binds)
        binds.append(limit)
        return try await rows(PostgresQuery(unsafeSQL: """
            SELECT \(Self.summaryColumns) FROM jobs WHERE \(condition)
            ORDER BY hour DESC, domain COLLATE "C" LIMIT $\(binds.count)
            """, binds: binds)).map(Self.summary(from:))
    }

    public func job(id: Int64) async throws -> JobSummary? {
        try await rows("SELECT \(unescaped: Self.summaryColumns) FROM jobs WHERE id = \(id)").first.map(Self.summary(from:))
    }

    static let summaryColumns = """
        id, source, domain, hour, state, attempts, run_at, last_error_code, last_error_message,
        file_count, byte_count, created_at, updated_at, finished_at, lease_owner, lease_until, pass, final, replaced_count
        """

    public func files(ofJob id: Int64) async throws -> [FileRecord] {
        try await rows("""
            SELECT * FROM job_files WHERE job_id = \(id) ORDER BY area COLLATE "C", name COLLATE "C"
            """).map(Self.fileRecord(from:))
    }

    public func recordedFiles(of window: Window) async throws -> [FileRecord] {
        try await rows("""
            SELECT job_files.* FROM jobs JOIN job_files ON job_files.job_id = jobs.id
            WHERE jobs.source = \(window.source) AND jobs.domain = \(window.domain) AND jobs.hour = \(window.hour.databaseSeconds)
            ORDER BY job_files.area COLLATE "C", job_files.name COLLATE "C"
            """).map(Self.fileRecord(from:))
    }

    private static func fileRecord(from row: PostgresRandomAccessRow) throws -> FileRecord {
        FileRecord(
            area: try row.get("area"), name: try row.get("name"), size: try row.get("size"),
            crc64: UInt64(try row.get("crc64", as: String.self)) ?? 0, md5: try row.get("md5"), sha256: try row.get("sha256"),
            objectKey: try row.get("object_key"), skipped: try row.get("skipped"), etag: try row.get("etag"),
            downloaded: try row.get("downloaded"))
    }

    /// Counted from the rows with GROUP BY in one read-only snapshot (there are no counter rows; see
    /// the migration).
    public func status(recentFailureLimit: Int) async throws -> StatusReport {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { connection in
            var perDomain: [String: (counts: StateCounts, settling: SettleCounts, avoided: AvoidedDownloads, oldestOpen: Date?)] = [:]
            var totals = StateCounts()
            var settling = SettleCounts()
            var avoided = AvoidedDownloads()
            for row in try await self.rows("""
                SELECT source, domain,
                    count(*) FILTER (WHERE state = 'pending') AS pending,
                    count(*) FILTER (WHERE state = 'running') AS running,
                    count(*) FILTER (WHERE state = 'done') AS done,
                    count(*) FILTER (WHERE state = 'failed') AS failed,
                    count(*) FILTER (WHERE final) AS final,
                    coalesce(sum(replaced_count), 0) AS replaced,
                    coalesce(sum(copy_downloads_avoided), 0) AS avoided_copy,
                    coalesce(sum(reconcile_downloads_avoided), 0) AS avoided_reconcile,
                    min(hour) FILTER (WHERE state <> 'done') AS oldest_open
                FROM jobs GROUP BY source, domain
                """, on: connection)
            {
                let counts = StateCounts(
                    pending: try row.get("pending"), running: try row.get("running"), done: try row.get("done"), failed: try row.get("failed"))
                let settled = SettleCounts(final: try row.get("final"), replaced: try row.get("replaced"))
                let avoidedHere = AvoidedDownloads(copy: try row.get("avoided_copy"), reconcile: try row.get("avoided_reconcile"))
                let key = "\(try row.get("source", as: String.self))\u{0}\(try row.get("domain", as: String.self))"
                perDomain[key] = (counts, settled, avoidedHere, try row.get("oldest_open", as: Int64?.self).map(Date.init(unixSeconds:)))
                for state in JobState.allCases { totals[state] += counts[state] }
                settling.final += settled.final
                settling.replaced += settled.replaced
                avoided.copy += avoidedHere.copy
                avoided.reconcile += avoidedHere.reconcile
            }
            let domains = try await self.rows("""
                SELECT source, domain, active, planned_until, skipped_hours FROM domains
                ORDER BY source COLLATE "C", domain COLLATE "C"
                """, on: connection).map { row in
                let source: String = try row.get("source")
                let domain: String = try row.get("domain")
                let tallies = perDomain["\(source)\u{0}\(domain)"]
                return DomainStatus(
                    source: source, domain: domain, active: try row.get("active"),
                    counts: tallies?.counts ?? StateCounts(),
                    oldestOpenHour: tallies?.oldestOpen,
                    plannedUntil: try row.get("planned_until", as: Int64?.self).map(Date.init(unixSeconds:)),
                    settling: tallies?.settling ?? SettleCounts(),
                    skippedHours: try row.get("skipped_hours"),
                    downloadsAvoided: tallies?.avoided ?? AvoidedDownloads())
            }
            let failures = try await self.rows("""
                SELECT source, domain, hour, attempts, last_error_code, last_error_message, updated_at
                FROM jobs WHERE state = 'failed' ORDER BY updated_at DESC LIMIT \(recentFailureLimit)
                """, on: connection).map { row in
                FailureSummary(
                    window: Window(source: try row.get("source"), domain: try row.get("domain"), hour: Date(unixSeconds: try row.get("hour", as: Int64.self))),
                    attempts: try row.get("attempts"),
                    error: JobError(
                        code: try row.get("last_error_code", as: String?.self) ?? "unknown",
                        message: try row.get("last_error_message", as: String?.self) ?? ""),
                    failedAt: Date(unixSeconds: try row.get("updated_at", as: Int64.self)))
            }
            let outages = try await self.outageHistory(limit: 10, on: connection)
            return StatusReport(
                totals: totals, settling: settling, domains: domains, recentFailures: failures,
                dependencies: try await self.dependencyStates(on: connection), recentOutages: outages.recent,
                outageCount: outages.count, downloadsAvoided: avoided)
        }
    }

    /// The SQL condition selecting `filter`'s windows, its values appended to `binds` as `$n`.
    static func whereClause(for filter: JobFilter, binds: inout PostgresBindings) -> String {
        var conditions = ["true"]
        if let state = filter.state {
            binds.append(state.rawValue)
            conditions.append("state = $\(binds.count)")
        }
        if let domain = filter.domain {
            binds.append(domain)
            conditions.append("domain = $\(binds.count)")
        }
        if let since = filter.since {
            binds.append(since.databaseSeconds)
            conditions.append("hour >= $\(binds.count)")
        }
        if let until = filter.until {
            binds.append(until.databaseSeconds)
            conditions.append("hour < $\(binds.count)")
        }
        return conditions.joined(separator: " AND ")
    }

    static func summary(from row: PostgresRandomAccessRow) throws -> JobSummary {
        let errorCode: String? = try row.get("last_error_code")
        var summary = JobSummary(
            id: try row.get("id"),
            window: Window(source: try row.get("source"), domain: try row.get("domain"), hour: Date(unixSeconds: try row.get("hour", as: Int64.self))),
            state: JobState(rawValue: try row.get("state")) ?? .pending,
            attempts: try row.get("attempts"), runAt: Date(unixSeconds: try row.get("run_at", as: Int64.self)),
            lastError: try errorCode.map { JobError(code: $0, message: try row.get("last_error_message", as: String?.self) ?? "") },
            fileCount: try row.get("file_count"), byteCount: try row.get("byte_count"),
            updatedAt: Date(unixSeconds: try row.get("updated_at", as: Int64.self)))
        summary.pass = WindowPass(rawValue: try row.get("pass")) ?? .copy
        summary.final = try row.get("final")
        summary.createdAt = Date(unixSeconds: try row.get("created_at", as: Int64.self))
        summary.finishedAt = try row.get("finished_at", as: Int64?.self).map(Date.init(unixSeconds:))
        summary.leaseOwner = try row.get("lease_owner")
        summary.leaseUntil = try row.get("lease_until", as: Int64?.self).map(Date.init(unixSeconds:))
        summary.replacedCount = try row.get("replaced_count")
        return summary
    }

    public func pruneDoneWindows(hoursBefore cutoff: Date, limit: Int) async throws -> Int {
        try await transaction { connection in
            let deleted = try await self.rows("""
                WITH deleted AS (
                    DELETE FROM jobs WHERE id IN (
                        SELECT id FROM jobs WHERE state = 'done' AND final AND hour < \(cutoff.databaseSeconds)
                        ORDER BY hour LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    RETURNING 1
                )
                SELECT count(*) AS deleted FROM deleted
                """, on: connection).first?.get("deleted", as: Int.self) ?? 0
            try await self.rows("DELETE FROM dependency_outages WHERE ended_at < \(cutoff.databaseSeconds)", on: connection)
            return deleted
        }
    }
}
