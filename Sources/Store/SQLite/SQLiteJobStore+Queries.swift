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
                    FROM jobs JOIN domains ON domains.id = jobs.domain_id
                    WHERE \(condition) ORDER BY jobs.hour DESC, domains.domain LIMIT ?
                    """,
                arguments: arguments + [limit]
            ).map(Self.summary(from:))
        }
    }

    public func job(id: Int64) async throws -> JobSummary? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.summaryColumns) FROM jobs JOIN domains ON domains.id = jobs.domain_id WHERE jobs.id = ?",
                arguments: [id]
            ).map(Self.summary(from:))
        }
    }

    /// The columns `summary(from:)` reads, from `jobs JOIN domains`.
    static let summaryColumns = """
        jobs.id, domains.source, domains.domain, jobs.hour, jobs.state, jobs.attempts, jobs.run_at, jobs.last_error_code,
        jobs.last_error_message, jobs.file_count, jobs.byte_count, jobs.created_at, jobs.updated_at, jobs.finished_at,
        jobs.lease_owner, jobs.lease_until, jobs.pass, jobs.final, jobs.replaced_count
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
                    SELECT job_files.* FROM domains
                    JOIN jobs ON jobs.hour = ? AND jobs.domain_id = domains.id
                    JOIN job_files ON job_files.job_id = jobs.id
                    WHERE domains.source = ? AND domains.domain = ?
                    ORDER BY job_files.area, job_files.name
                    """),
                arguments: [window.hour.databaseSeconds, window.source, window.domain]
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
            // Open windows (pending, running, failed) per domain and state, with the oldest open hour, from
            // the covering index `jobs_open`; provisional ones from `jobs_provisional_by_hour`. Done windows
            // are the domain's windows less its open ones, final ones the done less the provisional.
            // Summed here rather than by SQL's GROUP BY, which would sort every open window first: a plain
            // scan of the index, integers only, stepped through SQLite's C interface, is several times faster.
            // The sums go to slots indexed by domain id: domains are never deleted, so their ids run from 1
            // to about their number (a dictionary's hashing cost as much as SQLite's step).
            var slots: [DomainSlot] = []
            func slot(_ domainID: Int64) -> Int {
                let index = Int(domainID)
                if index >= slots.count { slots.append(contentsOf: repeatElement(DomainSlot(), count: index + 1 - slots.count)) }
                return index
            }
            let domainRows = try DirectStatement("""
                SELECT id, source, domain, active, planned_until, skipped_hours, window_count, replaced_count,
                    copy_downloads_avoided, reconcile_downloads_avoided
                FROM domains ORDER BY source, domain
                """, in: db)
            var rows: [(id: Int64, row: DomainRow)] = []
            try domainRows.forEachRow {
                let domainID = domainRows.int64(0)
                _ = slot(domainID)
                rows.append((domainID, DomainRow(
                    source: domainRows.text(1), domain: domainRows.text(2), active: domainRows.int64(3) != 0,
                    plannedUntil: domainRows.isNull(4) ? nil : domainRows.int64(4), skippedHours: Int(domainRows.int64(5)),
                    windowCount: Int(domainRows.int64(6)), replaced: Int(domainRows.int64(7)),
                    avoided: AvoidedDownloads(copy: Int(domainRows.int64(8)), reconcile: Int(domainRows.int64(9))))))
            }
            let openWindows = try DirectStatement("""
                SELECT domain_id, hour, state FROM jobs INDEXED BY jobs_open WHERE state <> 'done'
                """, in: db)
            // The state told by its first letter (the table's check allows only the four): a third faster
            // than SQLite comparing the strings.
            try openWindows.forEachRow {
                let index = slot(openWindows.int64(0))
                let hour = openWindows.int64(1)
                let state: JobState = switch openWindows.firstByte(2) {
                case UInt8(ascii: "p"): .pending
                case UInt8(ascii: "r"): .running
                default: .failed
                }
                slots[index].open[state] += 1
                slots[index].oldestOpen = min(slots[index].oldestOpen ?? hour, hour)
            }
            let provisionalWindows = try DirectStatement("""
                SELECT domain_id FROM jobs INDEXED BY jobs_provisional_by_hour WHERE state = 'done' AND final = 0
                """, in: db)
            try provisionalWindows.forEachRow { slots[slot(provisionalWindows.int64(0))].provisional += 1 }
            var totals = StateCounts()
            var settling = SettleCounts()
            var avoided = AvoidedDownloads()
            let domains = rows.map { domainID, row in
                let entry = slots[Int(domainID)]
                var counts = entry.open
                counts.done = max(0, row.windowCount - counts.pending - counts.running - counts.failed)
                let domainSettling = SettleCounts(final: max(0, counts.done - entry.provisional), replaced: row.replaced)
                for state in JobState.allCases { totals[state] += counts[state] }
                settling.final += domainSettling.final
                settling.replaced += domainSettling.replaced
                avoided.copy += row.avoided.copy
                avoided.reconcile += row.avoided.reconcile
                return DomainStatus(
                    source: row.source, domain: row.domain, active: row.active, counts: counts,
                    oldestOpenHour: entry.oldestOpen.map(Date.init(unixSeconds:)),
                    plannedUntil: row.plannedUntil.map(Date.init(unixSeconds:)),
                    settling: domainSettling, skippedHours: row.skippedHours, downloadsAvoided: row.avoided)
            }
            let failures = try Row.fetchAll(
                db,
                sql: """
                    SELECT domains.source, domains.domain, jobs.hour, jobs.attempts, jobs.last_error_code,
                        jobs.last_error_message, jobs.updated_at
                    FROM jobs JOIN domains ON domains.id = jobs.domain_id
                    WHERE jobs.state = 'failed' ORDER BY jobs.updated_at DESC LIMIT ?
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

    /// A `domains` row as `status` reads it.
    private struct DomainRow {
        var source: String
        var domain: String
        var active: Bool
        var plannedUntil: Int64?
        var skippedHours: Int
        var windowCount: Int
        var replaced: Int
        var avoided: AvoidedDownloads
    }

    /// What `status` sums about one domain's open and provisional windows.
    private struct DomainSlot {
        var open = StateCounts()
        var oldestOpen: Int64?
        var provisional = 0
    }

    /// The SQL condition and arguments selecting `filter`'s windows.
    static func whereClause(for filter: JobFilter) -> (String, StatementArguments) {
        var conditions = ["1 = 1"]
        var arguments = StatementArguments()
        if let state = filter.state {
            conditions.append("jobs.state = ?")
            arguments += [state.rawValue]
        }
        if let domain = filter.domain {
            conditions.append("jobs.domain_id IN (SELECT id FROM domains WHERE domain = ?)")
            arguments += [domain]
        }
        if let since = filter.since {
            conditions.append("jobs.hour >= ?")
            arguments += [since.databaseSeconds]
        }
        if let until = filter.until {
            conditions.append("jobs.hour < ?")
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
