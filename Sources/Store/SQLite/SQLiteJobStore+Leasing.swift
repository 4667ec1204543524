import Core
import Foundation
import GRDB
import JobModel

extension SQLiteJobStore {
    public func claimDueJobs(owner: String, limit: Int, leaseDuration: TimeInterval, now: Date) async throws -> [LeasedJob] {
        guard limit > 0 else { return [] }
        let token = UUID().uuidString
        let leaseUntil = now.addingTimeInterval(leaseDuration)
        return try await pool.write { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    UPDATE jobs SET
                        state = 'running', attempts = attempts + 1,
                        lease_owner = ?, lease_token = ?, lease_until = ?, updated_at = ?
                    WHERE id IN (
                        SELECT id FROM jobs WHERE state = 'pending' AND run_at <= ?
                        ORDER BY fair_tag LIMIT ?
                    )
                    RETURNING id, source, domain, hour, attempts, pass
                    """),
                arguments: [owner, token, leaseUntil.databaseSeconds, now.databaseSeconds, now.databaseSeconds, limit]
            ).map { row in
                LeasedJob(
                    id: row["id"],
                    window: Window(source: row["source"], domain: row["domain"], hour: Date(unixSeconds: row["hour"])),
                    attempts: row["attempts"], leaseToken: token, leaseUntil: leaseUntil,
                    pass: WindowPass(rawValue: row["pass"]) ?? .copy)
            }
        }
    }

    @discardableResult
    public func beginReconcilePasses(hoursBefore cutoff: Date, doneBefore: Date, now: Date) async throws -> Int {
        try await pool.write { db in
            // New fair tags, as if the windows were planned now: their old tags are far behind the
            // queue's virtual time and would put the reconcile passes ahead of every current hour.
            let virtualTime = try Self.virtualTime(in: db)
            let settled = try Row.fetchAll(db, sql: """
                SELECT jobs.id, jobs.source, jobs.domain, domains.fair_tag AS domain_tag
                FROM jobs JOIN domains ON domains.source = jobs.source AND domains.domain = jobs.domain
                WHERE jobs.state = 'done' AND jobs.final = 0 AND jobs.hour < ? AND jobs.updated_at <= ?
                ORDER BY jobs.source, jobs.domain, jobs.hour
                """, arguments: [cutoff.databaseSeconds, doneBefore.databaseSeconds])
            var lastTag: [String: (source: String, domain: String, tag: Int64)] = [:]
            let reopen = try db.cachedStatement(sql: """
                UPDATE jobs SET state = 'pending', pass = 'reconcile', attempts = 0, run_at = ?, updated_at = ?, fair_tag = ?
                WHERE id = ?
                """)
            for row in settled {
                let source: String = row["source"]
                let domain: String = row["domain"]
                let key = source + "\u{0}" + domain
                let tag = (lastTag[key]?.tag ?? max(row["domain_tag"] as Int64, virtualTime)) + 1
                lastTag[key] = (source, domain, tag)
                try reopen.execute(arguments: [now.databaseSeconds, now.databaseSeconds, tag, row["id"] as Int64])
            }
            // Each domain's newest tag, so its next plan continues after its reconcile passes.
            let advanceDomain = try db.cachedStatement(sql: "UPDATE domains SET fair_tag = ? WHERE source = ? AND domain = ?")
            for last in lastTag.values {
                try advanceDomain.execute(arguments: [last.tag, last.source, last.domain])
            }
            return settled.count
        }
    }

    public func heartbeat(_ job: LeasedJob, until: Date, now: Date) async throws -> Bool {
        try await groupCommit.perform { db in
            try db.cachedStatement(sql: "UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_token = ?")
                .execute(arguments: [until.databaseSeconds, job.id, job.leaseToken])
            return db.changesCount == 1
        }
    }

    public func complete(_ job: LeasedJob, files: [FileRecord], final: Bool, now: Date) async throws -> Bool {
        let seconds = now.databaseSeconds
        let replaced = job.pass == .reconcile ? files.filter { !$0.skipped }.count : 0
        let avoided = files.filter { !$0.downloaded }.count
        return try await groupCommit.perform { db in
            try db.cachedStatement(sql: """
                UPDATE jobs SET
                    state = 'done', lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                    file_count = ?, byte_count = ?, updated_at = ?, finished_at = ?,
                    final = ?, replaced_count = replaced_count + ?,
                    copy_downloads_avoided = copy_downloads_avoided + ?,
                    reconcile_downloads_avoided = reconcile_downloads_avoided + ?
                WHERE id = ? AND state = 'running' AND lease_token = ?
                """
            ).execute(arguments: [
                files.count, files.reduce(0) { $0 + $1.size }, seconds, seconds, final, replaced,
                job.pass == .copy ? avoided : 0, job.pass == .reconcile ? avoided : 0, job.id, job.leaseToken,
            ])
            guard db.changesCount == 1 else { return false }
            // The rows describe this pass's outcome: an earlier pass's rows never outlive it.
            try db.cachedStatement(sql: "DELETE FROM job_files WHERE job_id = ?").execute(arguments: [job.id])
            guard !files.isEmpty else { return true }
            let insert = try db.cachedStatement(sql: """
                INSERT INTO job_files (job_id, area, name, size, crc64, md5, sha256, object_key, skipped, stored_at, etag, downloaded)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for file in files {
                try insert.execute(arguments: [
                    job.id, file.area, file.name, file.size, String(file.crc64), file.md5, file.sha256,
                    file.objectKey, file.skipped, seconds, file.etag.flatMap { $0.isEmpty ? nil : $0 }, file.downloaded,
                ])
            }
            return true
        }
    }

    public func reschedule(_ job: LeasedJob, runAt: Date, error: JobError, consumeAttempt: Bool, now: Date) async throws -> Bool {
        try await groupCommit.perform { db in
            try db.cachedStatement(sql: """
                UPDATE jobs SET
                    state = 'pending', run_at = ?, attempts = attempts - ?,
                    lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                    last_error_code = ?, last_error_message = ?, updated_at = ?
                WHERE id = ? AND state = 'running' AND lease_token = ?
                """
            ).execute(arguments: [
                runAt.databaseSeconds, consumeAttempt ? 0 : 1, error.code, error.message,
                now.databaseSeconds, job.id, job.leaseToken,
            ])
            return db.changesCount == 1
        }
    }

    public func fail(_ job: LeasedJob, error: JobError, now: Date) async throws -> Bool {
        try await groupCommit.perform { db in
            try db.cachedStatement(sql: """
                UPDATE jobs SET
                    state = 'failed', lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                    last_error_code = ?, last_error_message = ?, updated_at = ?, finished_at = ?
                WHERE id = ? AND state = 'running' AND lease_token = ?
                """
            ).execute(arguments: [error.code, error.message, now.databaseSeconds, now.databaseSeconds, job.id, job.leaseToken])
            return db.changesCount == 1
        }
    }

    @discardableResult
    public func reapExpiredLeases(maxAttempts: Int, now: Date) async throws -> Int {
        try await expireLeases(
            where: "lease_until < ?", arguments: [now.databaseSeconds], maxAttempts: maxAttempts,
            error: JobError(code: "lease.expired", message: "the worker holding this window stopped renewing its lease (crash, hang or lost database access)"),
            now: now)
    }

    public func leaseOwners() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running' ORDER BY 1")
        }
    }

    @discardableResult
    public func releaseLeases(ownedBy owner: String, maxAttempts: Int, now: Date) async throws -> Int {
        try await expireLeases(
            where: "lease_owner = ?", arguments: [owner], maxAttempts: maxAttempts,
            error: JobError(code: "lease.owner_gone", message: "the process holding this window (\(owner)) is gone"),
            now: now)
    }

    /// Ends the matching running leases: back to `pending`, or `failed` once `maxAttempts` are used.
    private func expireLeases(where condition: String, arguments: StatementArguments, maxAttempts: Int, error: JobError, now: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET
                        state = CASE WHEN attempts >= ? THEN 'failed' ELSE 'pending' END,
                        finished_at = CASE WHEN attempts >= ? THEN ? ELSE finished_at END,
                        run_at = ?, lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                        last_error_code = ?, last_error_message = ?, updated_at = ?
                    WHERE state = 'running' AND \(condition)
                    """,
                arguments: [maxAttempts, maxAttempts, now.databaseSeconds, now.databaseSeconds, error.code, error.message, now.databaseSeconds] + arguments)
            return db.changesCount
        }
    }
}
