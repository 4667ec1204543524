import Core
import Foundation
import GRDB
import JobModel

extension SQLiteJobStore {
    public func claimDueJobs(owner: String, limit: Int, leaseDuration: TimeInterval, now: Date) async throws -> [LeasedJob] {
        guard limit > 0 else { return [] }
        let token = leaseTokens.next()
        // Through the group commit: a lease taken while other workers' outcomes are being recorded shares
        // their transaction.
        return try await groupCommit.perform { db in
            try self.claim(owner: owner, token: token, limit: limit, leaseDuration: leaseDuration, now: now, in: db)
        }
    }

    public func complete(
        _ job: LeasedJob, files: [FileRecord], final: Bool, now: Date,
        thenClaim limit: Int, owner: String, leaseDuration: TimeInterval
    ) async throws -> (completed: Bool, next: [LeasedJob]) {
        let token = leaseTokens.next()
        return try await groupCommit.perform { db in
            let completed = try Self.complete(job, files: files, final: final, now: now, in: db)
            guard limit > 0 else { return (completed, []) }
            return (completed, try self.claim(owner: owner, token: token, limit: limit, leaseDuration: leaseDuration, now: now, in: db))
        }
    }

    /// The statements a worker pool runs for every window: finding due windows, leasing, heartbeating,
    /// completing, rescheduling and failing one. None of them may make SQLite build a temporary b-tree
    /// (a subquery's result, `RETURNING`'s rows, an `IN` list of more than two constants, a sort):
    /// opening and closing one costs more than the row's change itself (a test checks each plan).
    enum WindowStatements {
        /// The due pending windows in fair order (the pending index's order, so no sort).
        static let due = """
            SELECT id, domain_id, hour, attempts, pass FROM jobs WHERE state = 'pending' AND run_at <= ?
            ORDER BY fair_tag LIMIT ?
            """
        /// Leases one window found by `due` in the same transaction (still guarded on its state).
        static let lease = """
            UPDATE jobs SET
                state = 'running', attempts = attempts + 1,
                lease_owner = ?, lease_token = ?, lease_until = ?, updated_at = ?
            WHERE id = ? AND state = 'pending'
            """
        static let heartbeat = "UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_token = ?"
        static let complete = """
            UPDATE jobs SET
                state = 'done', lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                file_count = ?, byte_count = ?, updated_at = ?, finished_at = ?,
                final = ?, replaced_count = replaced_count + ?,
                copy_downloads_avoided = copy_downloads_avoided + ?,
                reconcile_downloads_avoided = reconcile_downloads_avoided + ?
            WHERE id = ? AND state = 'running' AND lease_token = ?
            """
        /// Whether a window has file rows, of an earlier pass: only a window that was done before does.
        static let hasFiles = "SELECT 1 FROM job_files WHERE job_id = ? LIMIT 1"
        /// Not run for every window, only for one that `hasFiles`: with foreign keys on, SQLite collects
        /// the rows of a multi-row delete in a temporary b-tree first.
        static let forgetFiles = "DELETE FROM job_files WHERE job_id = ?"
        static let recordFile = """
            INSERT INTO job_files (job_id, area, name, size, crc64, md5, sha256, object_key, skipped, stored_at, etag, downloaded)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        static let reschedule = """
            UPDATE jobs SET
                state = 'pending', run_at = ?, attempts = attempts - ?,
                lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                last_error_code = ?, last_error_message = ?, updated_at = ?
            WHERE id = ? AND state = 'running' AND lease_token = ?
            """
        static let fail = """
            UPDATE jobs SET
                state = 'failed', lease_owner = NULL, lease_token = NULL, lease_until = NULL,
                last_error_code = ?, last_error_message = ?, updated_at = ?, finished_at = ?
            WHERE id = ? AND state = 'running' AND lease_token = ?
            """
        /// Every statement above that runs for every window, for the test of their plans.
        static let all = [due, lease, heartbeat, complete, hasFiles, recordFile, reschedule, fail]
    }

    /// Leases up to `limit` due pending windows in fair order under `token`: reads them, then leases
    /// each by id. The transaction holds SQLite's write lock, so nothing can lease them in between.
    private func claim(
        owner: String, token: String, limit: Int, leaseDuration: TimeInterval, now: Date, in db: Database
    ) throws -> [LeasedJob] {
        let leaseUntil = now.addingTimeInterval(leaseDuration)
        let due = try DirectStatement(WindowStatements.due, in: db)
        due.bind(1, now.databaseSeconds)
        due.bind(2, Int64(limit))
        var found: [(id: Int64, domainID: Int64, hour: Int64, attempts: Int64, pass: String)] = []
        try due.forEachRow { found.append((due.int64(0), due.int64(1), due.int64(2), due.int64(3), due.text(4))) }
        let lease = try DirectStatement(WindowStatements.lease, in: db)
        return try found.compactMap { row in
            lease.bind(1, owner)
            lease.bind(2, token)
            lease.bind(3, leaseUntil.databaseSeconds)
            lease.bind(4, now.databaseSeconds)
            lease.bind(5, row.id)
            guard try lease.execute() == 1 else { return nil }
            let name = try domainName(id: row.domainID, in: db)
            return LeasedJob(
                id: row.id,
                window: Window(source: name.source, domain: name.domain, hour: Date(unixSeconds: row.hour)),
                attempts: Int(row.attempts) + 1, leaseToken: token, leaseUntil: leaseUntil,
                pass: WindowPass(rawValue: row.pass) ?? .copy)
        }
    }

    /// The source and name of the domain with this id, read once per store.
    func domainName(id: Int64, in db: Database) throws -> (source: String, domain: String) {
        if let name = domainNames.withLock({ $0[id] }) { return name }
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT source, domain FROM domains WHERE id = ?"), arguments: [id]) else {
            throw StoreError("store.domain_missing", "no domain with id \(id), though a window refers to it")
        }
        let name: (source: String, domain: String) = (row[0], row[1])
        domainNames.withLock { $0[id] = name }
        return name
    }

    @discardableResult
    public func beginReconcilePasses(hoursBefore cutoff: Date, doneBefore: Date, now: Date) async throws -> Int {
        try await pool.write { db in
            // New fair tags, as if the windows were planned now: their old tags are far behind the
            // queue's virtual time and would put the reconcile passes ahead of every current hour.
            let virtualTime = try Self.virtualTime(in: db)
            let settled = try Row.fetchAll(db, sql: """
                SELECT jobs.id, jobs.domain_id, domains.fair_tag AS domain_tag
                FROM jobs JOIN domains ON domains.id = jobs.domain_id
                WHERE jobs.state = 'done' AND jobs.final = 0 AND jobs.hour < ? AND jobs.updated_at <= ?
                ORDER BY jobs.domain_id, jobs.hour
                """, arguments: [cutoff.databaseSeconds, doneBefore.databaseSeconds])
            var lastTag: [Int64: Int64] = [:]
            let reopen = try db.cachedStatement(sql: """
                UPDATE jobs SET state = 'pending', pass = 'reconcile', attempts = 0, run_at = ?, updated_at = ?, fair_tag = ?
                WHERE id = ?
                """)
            for row in settled {
                let domainID: Int64 = row["domain_id"]
                let tag = (lastTag[domainID] ?? max(row["domain_tag"] as Int64, virtualTime)) + 1
                lastTag[domainID] = tag
                try reopen.execute(arguments: [now.databaseSeconds, now.databaseSeconds, tag, row["id"] as Int64])
            }
            // Each domain's newest tag, so its next plan continues after its reconcile passes.
            let advanceDomain = try db.cachedStatement(sql: "UPDATE domains SET fair_tag = ? WHERE id = ?")
            for (domainID, tag) in lastTag {
                try advanceDomain.execute(arguments: [tag, domainID])
            }
            return settled.count
        }
    }

    public func heartbeat(_ job: LeasedJob, until: Date, now: Date) async throws -> Bool {
        try await groupCommit.perform { db in
            try db.cachedStatement(sql: WindowStatements.heartbeat).execute(arguments: [until.databaseSeconds, job.id, job.leaseToken])
            return db.changesCount == 1
        }
    }

    public func complete(_ job: LeasedJob, files: [FileRecord], final: Bool, now: Date) async throws -> Bool {
        try await groupCommit.perform { db in try Self.complete(job, files: files, final: final, now: now, in: db) }
    }

    /// Marks a leased window done with its files, guarded by its lease token; false when the lease was lost.
    private static func complete(_ job: LeasedJob, files: [FileRecord], final: Bool, now: Date, in db: Database) throws -> Bool {
        let seconds = now.databaseSeconds
        let replaced = job.pass == .reconcile ? files.filter { !$0.skipped }.count : 0
        let avoided = files.filter { !$0.downloaded }.count
        let update = try DirectStatement(WindowStatements.complete, in: db)
        update.bind(1, Int64(files.count))
        update.bind(2, files.reduce(0) { $0 + $1.size })
        update.bind(3, seconds)
        update.bind(4, seconds)
        update.bind(5, final ? 1 : 0)
        update.bind(6, Int64(replaced))
        update.bind(7, Int64(job.pass == .copy ? avoided : 0))
        update.bind(8, Int64(job.pass == .reconcile ? avoided : 0))
        update.bind(9, job.id)
        update.bind(10, job.leaseToken)
        guard try update.execute() == 1 else { return false }
        if replaced > 0 || avoided > 0 {
            // The domain's tallies; most completions have nothing to add and leave its row alone.
            try db.cachedStatement(sql: """
                UPDATE domains SET
                    replaced_count = replaced_count + ?,
                    copy_downloads_avoided = copy_downloads_avoided + ?,
                    reconcile_downloads_avoided = reconcile_downloads_avoided + ?
                WHERE id = (SELECT domain_id FROM jobs WHERE id = ?)
                """
            ).execute(arguments: [replaced, job.pass == .copy ? avoided : 0, job.pass == .reconcile ? avoided : 0, job.id])
        }
        // The rows describe this pass's outcome: an earlier pass's rows never outlive it.
        let probe = try DirectStatement(WindowStatements.hasFiles, in: db)
        probe.bind(1, job.id)
        var hasFiles = false
        try probe.forEachRow { hasFiles = true }
        if hasFiles {
            try db.cachedStatement(sql: WindowStatements.forgetFiles).execute(arguments: [job.id])
        }
        guard !files.isEmpty else { return true }
        let insert = try db.cachedStatement(sql: WindowStatements.recordFile)
        for file in files {
            try insert.execute(arguments: [
                job.id, file.area, file.name, file.size, String(file.crc64), file.md5, file.sha256,
                file.objectKey, file.skipped, seconds, file.etag.flatMap { $0.isEmpty ? nil : $0 }, file.downloaded,
            ])
        }
        return true
    }

    public func reschedule(_ job: LeasedJob, runAt: Date, error: JobError, consumeAttempt: Bool, now: Date) async throws -> Bool {
        try await groupCommit.perform { db in
            try db.cachedStatement(sql: WindowStatements.reschedule).execute(arguments: [
                runAt.databaseSeconds, consumeAttempt ? 0 : 1, error.code, error.message,
                now.databaseSeconds, job.id, job.leaseToken,
            ])
            return db.changesCount == 1
        }
    }

    public func fail(_ job: LeasedJob, error: JobError, now: Date) async throws -> Bool {
        try await groupCommit.perform { db in
            try db.cachedStatement(sql: WindowStatements.fail).execute(arguments: [
                error.code, error.message, now.databaseSeconds, now.databaseSeconds, job.id, job.leaseToken,
            ])
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
