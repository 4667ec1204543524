import Core
import Foundation
import JobModel
import PostgresNIO

extension PostgresJobStore {
    /// One statement, so one transaction per batch: the due windows are locked with
    /// `FOR UPDATE SKIP LOCKED` (windows another host is leasing at this moment are passed over, not
    /// waited for) and leased under one new token.
    public func claimDueJobs(owner: String, limit: Int, leaseDuration: TimeInterval, now: Date) async throws -> [LeasedJob] {
        guard limit > 0 else { return [] }
        let token = leaseTokens.next()
        let leaseUntil = now.addingTimeInterval(leaseDuration)
        let seconds = now.databaseSeconds
        let claimed = try await rows("""
            WITH due AS (
                SELECT id FROM jobs WHERE state = 'pending' AND run_at <= \(seconds)
                ORDER BY fair_tag LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE jobs SET
                state = 'running', attempts = jobs.attempts + 1,
                lease_owner = \(owner), lease_token = \(token), lease_until = \(leaseUntil.databaseSeconds), updated_at = \(seconds)
            FROM due WHERE jobs.id = due.id
            RETURNING jobs.id, jobs.source, jobs.domain, jobs.hour, jobs.attempts, jobs.pass, jobs.fair_tag
            """)
        return try claimed.map { row in
            (tag: try row.get("fair_tag", as: Int64.self), job: LeasedJob(
                id: try row.get("id"),
                window: Window(source: try row.get("source"), domain: try row.get("domain"), hour: Date(unixSeconds: try row.get("hour", as: Int64.self))),
                attempts: try row.get("attempts"), leaseToken: token, leaseUntil: leaseUntil,
                pass: WindowPass(rawValue: try row.get("pass")) ?? .copy))
        }.sorted { $0.tag < $1.tag }.map(\.job)
    }

    @discardableResult
    public func beginReconcilePasses(hoursBefore cutoff: Date, doneBefore: Date, now: Date) async throws -> Int {
        let seconds = now.databaseSeconds
        return try await transaction { connection in
            try await self.rows("SELECT pg_advisory_xact_lock(\(Self.planningLockKey))", on: connection)
            // New fair tags, as if the windows were planned now (see the SQLite store): each domain's
            // reopened windows continue from max(its newest tag, the queue's virtual time), oldest hour
            // first, and the domain's tag advances past them.
            let counted = try await self.rows("""
                WITH virtual_time AS (\(unescaped: Self.virtualTimeSQL)),
                settled AS (
                    SELECT jobs.id, jobs.source, jobs.domain,
                        greatest(domains.fair_tag, (SELECT tag FROM virtual_time))
                            + row_number() OVER (PARTITION BY jobs.source, jobs.domain ORDER BY jobs.hour) AS tag
                    FROM jobs JOIN domains ON domains.source = jobs.source AND domains.domain = jobs.domain
                    WHERE jobs.state = 'done' AND NOT jobs.final AND jobs.hour < \(cutoff.databaseSeconds)
                        AND jobs.updated_at <= \(doneBefore.databaseSeconds)
                ),
                reopened AS (
                    UPDATE jobs SET state = 'pending', pass = 'reconcile', attempts = 0, run_at = \(seconds),
                        updated_at = \(seconds), fair_tag = settled.tag
                    FROM settled WHERE jobs.id = settled.id
                    RETURNING jobs.source, jobs.domain, jobs.fair_tag
                ),
                advanced AS (
                    UPDATE domains SET fair_tag = newest.tag
                    FROM (SELECT source, domain, max(fair_tag) AS tag FROM reopened GROUP BY source, domain) AS newest
                    WHERE domains.source = newest.source AND domains.domain = newest.domain
                    RETURNING 1
                )
                SELECT count(*) AS reopened FROM reopened
                """, on: connection)
            return try counted.first?.get("reopened", as: Int.self) ?? 0
        }
    }

    public func heartbeat(_ job: LeasedJob, until: Date, now: Date) async throws -> Bool {
        try await !rows("""
            UPDATE jobs SET lease_until = \(until.databaseSeconds)
            WHERE id = \(job.id) AND state = 'running' AND lease_token = \(job.leaseToken)
            RETURNING id
            """).isEmpty
    }

    public func complete(_ job: LeasedJob, files: [FileRecord], final: Bool, now: Date) async throws -> Bool {
        let seconds = now.databaseSeconds
        let replaced = job.pass == .reconcile ? files.filter { !$0.skipped }.count : 0
        let avoided = files.filter { !$0.downloaded }.count
        let byteCount = files.reduce(Int64(0)) { $0 + $1.size }
        return try await transaction { connection in
            let updated = try await self.rows("""
                UPDATE jobs SET
                    state = 'done', lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                    file_count = \(files.count), byte_count = \(byteCount), updated_at = \(seconds), finished_at = \(seconds),
                    final = \(final), replaced_count = replaced_count + \(replaced),
                    copy_downloads_avoided = copy_downloads_avoided + \(job.pass == .copy ? avoided : 0),
                    reconcile_downloads_avoided = reconcile_downloads_avoided + \(job.pass == .reconcile ? avoided : 0)
                WHERE id = \(job.id) AND state = 'running' AND lease_token = \(job.leaseToken)
                RETURNING id
                """, on: connection)
            guard !updated.isEmpty else { return false }
            // The rows describe this pass's outcome: an earlier pass's rows never outlive it.
            try await self.rows("DELETE FROM job_files WHERE job_id = \(job.id)", on: connection)
            for file in files {
                let etag = file.etag.flatMap { $0.isEmpty ? nil : $0 }
                try await self.rows("""
                    INSERT INTO job_files (job_id, area, name, size, crc64, md5, sha256, object_key, skipped, stored_at, etag, downloaded)
                    VALUES (\(job.id), \(file.area), \(file.name), \(file.size), \(String(file.crc64)), \(file.md5), \(file.sha256),
                        \(file.objectKey), \(file.skipped), \(seconds), \(etag), \(file.downloaded))
                    """, on: connection)
            }
            return true
        }
    }

    public func reschedule(_ job: LeasedJob, runAt: Date, error: JobError, consumeAttempt: Bool, now: Date) async throws -> Bool {
        try await !rows("""
            UPDATE jobs SET
                state = 'pending', run_at = \(runAt.databaseSeconds), attempts = attempts - \(consumeAttempt ? 0 : 1),
                lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                last_error_code = \(error.code), last_error_message = \(error.message), updated_at = \(now.databaseSeconds)
            WHERE id = \(job.id) AND state = 'running' AND lease_token = \(job.leaseToken)
            RETURNING id
            """).isEmpty
    }

    public func fail(_ job: LeasedJob, error: JobError, now: Date) async throws -> Bool {
        let seconds = now.databaseSeconds
        return try await !rows("""
            UPDATE jobs SET
                state = 'failed', lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                last_error_code = \(error.code), last_error_message = \(error.message), updated_at = \(seconds), finished_at = \(seconds)
            WHERE id = \(job.id) AND state = 'running' AND lease_token = \(job.leaseToken)
            RETURNING id
            """).isEmpty
    }

    /// Every host reaps: the expired windows are locked with `SKIP LOCKED`, so two reapers never wait
    /// on (or deadlock with) each other, and each window is rescued once.
    @discardableResult
    public func reapExpiredLeases(maxAttempts: Int, now: Date) async throws -> Int {
        let error = JobError(
            code: "lease.expired", message: "the worker holding this window stopped renewing its lease (crash, hang or lost database access)")
        let seconds = now.databaseSeconds
        return try await rows("""
            WITH expired AS (
                SELECT id FROM jobs WHERE state = 'running' AND lease_until < \(seconds) FOR UPDATE SKIP LOCKED
            ),
            rescued AS (
                UPDATE jobs SET
                    state = CASE WHEN jobs.attempts >= \(maxAttempts) THEN 'failed' ELSE 'pending' END,
                    finished_at = CASE WHEN jobs.attempts >= \(maxAttempts) THEN \(seconds) ELSE jobs.finished_at END,
                    run_at = \(seconds), lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                    last_error_code = \(error.code), last_error_message = \(error.message), updated_at = \(seconds)
                FROM expired WHERE jobs.id = expired.id
                RETURNING 1
            )
            SELECT count(*) AS rescued FROM rescued
            """).first?.get("rescued", as: Int.self) ?? 0
    }

    public func leaseOwners() async throws -> [String] {
        try await rows("SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running' ORDER BY 1")
            .map { try $0.get("lease_owner", as: String.self) }
    }

    @discardableResult
    public func releaseLeases(ownedBy owner: String, maxAttempts: Int, now: Date) async throws -> Int {
        let error = JobError(code: "lease.owner_gone", message: "the process holding this window (\(owner)) is gone")
        let seconds = now.databaseSeconds
        return try await rows("""
            WITH released AS (
                UPDATE jobs SET
                    state = CASE WHEN attempts >= \(maxAttempts) THEN 'failed' ELSE 'pending' END,
                    finished_at = CASE WHEN attempts >= \(maxAttempts) THEN \(seconds) ELSE finished_at END,
                    run_at = \(seconds), lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                    last_error_code = \(error.code), last_error_message = \(error.message), updated_at = \(seconds)
                WHERE state = 'running' AND lease_owner = \(owner)
                RETURNING 1
            )
            SELECT count(*) AS released FROM released
            """).first?.get("released", as: Int.self) ?? 0
    }
}
