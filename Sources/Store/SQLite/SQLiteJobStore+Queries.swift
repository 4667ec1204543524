import Core
import Foundation
import GRDB
import JobModel

extension SQLiteJobStore {
    public func requeueFailed(matching filter: JobFilter, now: Date) async throws -> Int {
        var failedOnly = filter
        failedOnly.state = .failed
        let (condition, arguments) = Self.whereClause(for: failedOnly)
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE jobs SET state = 'pending', attempts = 0, run_at = ?, finished_at = NULL, updated_at = ? WHERE \(condition)",
                arguments: [now.databaseSeconds, now.databaseSeconds] + arguments)
            return db.changesCount
        }
    }

    public func jobs(matching filter: JobFilter, limit: Int) async throws -> [JobSummary] {
        let (condition, arguments) = Self.whereClause(for: filter)
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.summaryColumns)
                    FROM jobs WHERE \(condition) ORDER BY hour DESC, domain LIMIT ?
                    """,
                arguments: arguments + [limit]
            ).map(Self.summary(from:))
        }
    }

    public func job(id: Int64) async throws -> JobSummary? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.summaryColumns) FROM jobs WHERE id = ?", arguments: [id]).map(Self.summary(from:))
        }
    }

    /// The columns `summary(from:)` reads.
    static let summaryColumns = """
        id, source, domain, hour, state, attempts, run_at, last_error_code, last_error_message,
        file_count, byte_count, created_at, updated_at, finished_at, lease_owner, lease_until, pass, final, replaced_count
        """

    public func files(ofJob id: Int64) async throws -> [FileRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM job_files WHERE job_id = ? ORDER BY area, name",
                arguments: [id]
            ).map(Self.fileRecord(from:))
        }
    }

    public func recordedFiles(of window: Window) async throws -> [FileRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT job_files.* FROM jobs JOIN job_files ON job_files.job_id = jobs.id
                    WHERE jobs.source = ? AND jobs.domain = ? AND jobs.hour = ?
                    ORDER BY job_files.area, job_files.name
                    """),
                arguments: [window.source, window.domain, window.hour.databaseSeconds]
            ).map(Self.fileRecord(from:))
        }
    }

    /// A `job_files` row as a record.
    private static func fileRecord(from row: Row) -> FileRecord {
        FileRecord(
            area: row["area"], name: row["name"], size: row["size"],
            crc64: UInt64(row["crc64"] as String) ?? 0, md5: row["md5"], sha256: row["sha256"],
            objectKey: row["object_key"], skipped: row["skipped"], etag: row["etag"], downloaded: row["downloaded"])
    }

    public func status(recentFailureLimit: Int) async throws -> StatusReport {
        try await pool.read { db in
            var countsByDomain: [String: StateCounts] = [:]
            var settlingByDomain: [String: SettleCounts] = [:]
            var totals = StateCounts()
            var settling = SettleCounts()
            var avoidedByDomain: [String: AvoidedDownloads] = [:]
            var avoided = AvoidedDownloads()
            for row in try Row.fetchAll(db, sql: "SELECT source, domain, state, count FROM job_counts") {
                let key = "\(row["source"] as String)\u{0}\(row["domain"] as String)"
                let count: Int = row["count"]
                let tally: String = row["state"]
                if let state = JobState(rawValue: tally) {
                    countsByDomain[key, default: StateCounts()][state] += count
                    totals[state] += count
                } else if tally == "final" {
                    settlingByDomain[key, default: SettleCounts()].final += count
                    settling.final += count
                } else if tally == "replaced" {
                    settlingByDomain[key, default: SettleCounts()].replaced += count
                    settling.replaced += count
                } else if tally == "avoided_copy" {
                    avoidedByDomain[key, default: AvoidedDownloads()].copy += count
                    avoided.copy += count
                } else if tally == "avoided_reconcile" {
                    avoidedByDomain[key, default: AvoidedDownloads()].reconcile += count
                    avoided.reconcile += count
                }
            }
            let domains = try Row.fetchAll(
                db,
                sql: """
                    SELECT source, domain, active, planned_until, skipped_hours,
                        (SELECT min(hour) FROM jobs j
                         WHERE j.source = d.source AND j.domain = d.domain AND j.state <> 'done') AS oldest_open
                    FROM domains d ORDER BY source, domain
                    """
            ).map { row in
                let source: String = row["source"]
                let domain: String = row["domain"]
                return DomainStatus(
                    source: source, domain: domain, active: row["active"],
                    counts: countsByDomain["\(source)\u{0}\(domain)"] ?? StateCounts(),
                    oldestOpenHour: (row["oldest_open"] as Int64?).map(Date.init(unixSeconds:)),
                    plannedUntil: (row["planned_until"] as Int64?).map(Date.init(unixSeconds:)),
                    settling: settlingByDomain["\(source)\u{0}\(domain)"] ?? SettleCounts(),
                    skippedHours: row["skipped_hours"],
                    downloadsAvoided: avoidedByDomain["\(source)\u{0}\(domain)"] ?? AvoidedDownloads())
            }
            let failures = try Row.fetchAll(
                db,
                sql: """
                    SELECT source, domain, hour, attempts, last_error_code, last_error_message, updated_at
                    FROM jobs WHERE state = 'failed' ORDER BY updated_at DESC LIMIT ?
                    """,
                arguments: [recentFailureLimit]
            ).map { row in
                FailureSummary(
                    window: Window(source: row["source"], domain: row["domain"], hour: Date(unixSeconds: row["hour"])),
                    attempts: row["attempts"],
                    error: JobError(code: row["last_error_code"] ?? "unknown", message: row["last_error_message"] ?? ""),
                    failedAt: Date(unixSeconds: row["updated_at"]))
            }
            let outages = try Self.outageHistory(db, limit: 10)
            return StatusReport(
                totals: totals, settling: settling, domains: domains, recentFailures: failures,
                dependencies: try Self.dependencyStates(db), recentOutages: outages.recent, outageCount: outages.count,
                downloadsAvoided: avoided)
        }
    }

    /// The SQL condition and arguments selecting `filter`'s windows.
    static func whereClause(for filter: JobFilter) -> (String, StatementArguments) {
        var conditions = ["1 = 1"]
        var arguments = StatementArguments()
        if let state = filter.state {
            conditions.append("state = ?")
            arguments += [state.rawValue]
        }
        if let domain = filter.domain {
            conditions.append("domain = ?")
            arguments += [domain]
        }
        if let since = filter.since {
            conditions.append("hour >= ?")
            arguments += [since.databaseSeconds]
        }
        if let until = filter.until {
            conditions.append("hour < ?")
            arguments += [until.databaseSeconds]
        }
        return (conditions.joined(separator: " AND "), arguments)
    }

    static func summary(from row: Row) -> JobSummary {
        let errorCode: String? = row["last_error_code"]
        var summary = JobSummary(
            id: row["id"],
            window: Window(source: row["source"], domain: row["domain"], hour: Date(unixSeconds: row["hour"])),
            state: JobState(rawValue: row["state"]) ?? .pending,
            attempts: row["attempts"], runAt: Date(unixSeconds: row["run_at"]),
            lastError: errorCode.map { JobError(code: $0, message: row["last_error_message"] ?? "") },
            fileCount: row["file_count"], byteCount: row["byte_count"],
            updatedAt: Date(unixSeconds: row["updated_at"]))
        summary.pass = WindowPass(rawValue: row["pass"]) ?? .copy
        summary.final = row["final"]
        summary.createdAt = Date(unixSeconds: row["created_at"])
        summary.finishedAt = (row["finished_at"] as Int64?).map(Date.init(unixSeconds:))
        summary.leaseOwner = row["lease_owner"]
        summary.leaseUntil = (row["lease_until"] as Int64?).map(Date.init(unixSeconds:))
        summary.replacedCount = row["replaced_count"]
        return summary
    }
}
