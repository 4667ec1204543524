import Core
import Foundation
import GRDB
import JobModel
import Synchronization

/// The push spool: each part's lines in an append-only file (`StreamPartFiles`), and in the database
/// only the index (each part's state, committed file length, line and NDJSON byte counts), the body
/// digests, the quarantined lines and the totals. The spool writes each chunk's `data` as given (the
/// receiver hands it gzip members) and looks inside only through the `StampReader` it is given.
///
/// An append writes its lines into the part files at their committed lengths inside a shared
/// transaction, and the part files it wrote are fsync'd before that transaction commits, so the index
/// never commits ahead of the data it points to; a body's digest commits with the lengths that make
/// its lines visible. Every line is written once, to its part file.
///
/// One fsync per batch, not two: when every chunk of a batch is stamped (`SpoolChunk.stamped`: its data
/// carries the body's digest, its line counts and its place among the body's chunks) and the batch
/// only added to parts that already existed, the index commits without an fsync of its own
/// (`synchronous = NORMAL`). A crash of the process loses nothing of such a commit; a power loss may
/// take its index entries back, but never the data, which was fsync'd before the 2xx. Opening the spool
/// takes them back from the files: past each part's committed length it reads the stamped chunks
/// that follow (`StampReader`), keeps every body whose chunks are all there, in every part file's
/// order, and records them as the lost commits would have. Anything else commits fsync'd before its
/// callers are answered: a batch that made or sealed a part, quarantined a line or carried an unstamped
/// chunk, and any batch a tenth of a second or more after the last fsync'd commit, which bounds what an
/// opening has to read and how much of the log one fsync writes out.
///
/// Open it once per process, under the instance lock, before the receiver starts: opening repairs
/// what a crash left (see `init`). Thread-safe.
public final class SQLiteStreamSpool: StreamSpool {
    /// The database holding the index.
    public let store: SQLiteJobStore
    /// Part files cut back and removed by the start-up repair (for the start-up log).
    public let repaired: (cut: Int, removed: Int)
    public let bodyDigestKey: [UInt8]
    /// Bodies taken back from the part files at opening (for the start-up log): their count and lines.
    public let recovered: (bodies: Int, lines: Int)
    private let files: StreamPartFiles
    private let commit: GroupCommit
    private let sha256Digests: Atomic<Bool>
    private let syncPolicy: SyncPolicy

    /// Which commits are fsync'd (see the type's description); used on the writer only.
    private final class SyncPolicy: Sendable {
        private struct State {
            /// An append of the batch being written needs its commit fsync'd.
            var requested = false
            /// When a commit was last fsync'd.
            var last = ContinuousClock.now
        }

        /// The longest a stamped commit goes without an fsync'd one after it. That fsync writes out the
        /// log the commits since the last one added (by estimate, about 10 MB a second at full rate): every second,
        /// it held the writer for 18 to 39 ms, which made the half-rate p99 about 20 ms; a tenth of a
        /// second makes it about 6 ms, with the same throughput.
        static let interval = Duration.milliseconds(100)
        /// Without a stamp reader nothing could be taken back: every commit is fsync'd.
        let always: Bool
        private let state = Mutex(State())

        init(always: Bool) { self.always = always }

        func request() { state.withLock { $0.requested = true } }

        /// Whether the batch just committed must be fsync'd; if so, it counts as done.
        func takeDue() -> Bool {
            state.withLock { state in
                let now = ContinuousClock.now
                guard always || state.requested || now - state.last >= Self.interval else { return false }
                state.requested = false
                state.last = now
                return true
            }
        }
    }

    /// Opens the spool of `store` with its part files in `directory`, and repairs it: lines of the
    /// previous layout (`stream_chunks`, raw NDJSON) are moved into part files through `encode` (the
    /// encoding the receiver gives new chunks); the stamped chunks past each part's committed length
    /// are read with `readStamps` and the bodies found whole are recorded; each part file is cut back
    /// to its committed length, and files of no open or sealed part are removed. Without `readStamps`,
    /// every commit is fsync'd.
    public init(store: SQLiteJobStore, directory: String, encode: @Sendable ([UInt8]) -> [UInt8], readStamps: StampReader? = nil) throws {
        self.store = store
        let files = try StreamPartFiles(directory: directory)
        self.files = files
        let syncPolicy = SyncPolicy(always: readStamps == nil)
        self.syncPolicy = syncPolicy
        commit = GroupCommit(
            writer: store.pool, durable: true, beforeCommit: { try files.synchronizeWritten() },
            afterCommit: { db in
                guard syncPolicy.takeDue() else { return }
                do {
                    try Self.synchronize(db)
                } catch {
                    // Not durable yet: the next batch tries again before it is answered.
                    syncPolicy.request()
                    throw error
                }
            })
        try Self.moveChunksIntoFiles(store: store, files: files, encode: encode)
        var committed = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT domain, hour, part, file_bytes FROM stream_parts WHERE state IN ('open', 'sealed')")
                .reduce(into: [StreamPartKey: Int64]()) { map, row in
                    map[StreamPartKey(domain: row["domain"], hour: row["hour"], part: row["part"])] = row["file_bytes"]
                }
        }
        recovered = try readStamps.map { try Self.recoverStampedBodies(store: store, files: files, committed: &committed, readStamps: $0) } ?? (0, 0)
        repaired = try files.repair(committed: committed)
        let (key, holdsSHA256) = try store.pool.read { db in
            guard let key = try Data.fetchOne(db, sql: "SELECT key FROM stream_digest_key WHERE id = 1") else {
                throw StoreError("store.missing_digest_key", "the spool of \(store.path) has no body digest key")
            }
            return (Array(key), try Self.holdsSHA256Digests(db))
        }
        bodyDigestKey = key
        sha256Digests = Atomic(holdsSHA256)
    }

    /// Makes every commit so far durable: one small transaction fsync'd at its commit, which fsyncs the
    /// write-ahead log and with it the commits before it.
    private static func synchronize(_ db: Database) throws {
        try inDurableTransaction(db) { db in
            try db.cachedStatement(sql: "UPDATE stream_digest_key SET id = id WHERE id = 1").execute()
        }
    }

    /// `updates` in a transaction fsync'd at its commit (`synchronous = FULL` for it alone).
    static func inDurableTransaction<T>(_ db: Database, _ updates: (Database) throws -> T) throws -> T {
        try db.execute(sql: "PRAGMA synchronous = FULL")
        defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
        var result: T?
        try db.inTransaction(.immediate) {
            result = try updates(db)
            return .commit
        }
        return result!
    }

    public var holdsSHA256Digests: Bool {
        sha256Digests.load(ordering: .relaxed)
    }

    /// Whether `stream_bodies` (the SHA-256 digests of the version before migration 0010) has a row.
    private static func holdsSHA256Digests(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM stream_bodies)") ?? false
    }

    /// Closes the cached part file descriptors (the store is closed by its owner).
    public func close() {
        files.closeAll()
    }

    public func append(_ append: SpoolAppend, limits: SpoolLimits, repeatedSince: Date, now: Date) async throws -> SpoolAppendResult {
        let files = self.files, syncPolicy = self.syncPolicy
        return try await commit.perform { db in
            let (result, needsSync) = try Self.write(append, limits: limits, repeatedSince: repeatedSince, now: now, files: files, in: db)
            if needsSync { syncPolicy.request() }
            return result
        }
    }

    /// One request's append inside a shared transaction; earlier appends of the same batch are visible,
    /// so two identical bodies in one batch store once and the quota counts what the batch already took.
    /// `needsSync` when the opening's recovery could not take the append back from the part files alone
    /// (a part made or sealed, a line quarantined, a chunk without a stamp): its commit must be fsync'd.
    private static func write(
        _ append: SpoolAppend, limits: SpoolLimits, repeatedSince: Date, now: Date, files: StreamPartFiles, in db: Database
    ) throws -> (result: SpoolAppendResult, needsSync: Bool) {
        let seconds = now.databaseSeconds
        let digest = Data(append.bodyDigest)
        let domainOfBody = append.chunks.first?.domain ?? append.quarantined.first?.domain ?? ""
        var acceptedAt = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT accepted_at FROM stream_body_digests WHERE digest = ?"), arguments: [digest])
        if acceptedAt == nil, let sha256 = append.sha256 {
            acceptedAt = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT accepted_at FROM stream_bodies WHERE sha256 = ?"), arguments: [Data(sha256)])
        }
        if let acceptedAt, acceptedAt >= repeatedSince.databaseSeconds {
            try SQLiteJobStore.addTotals(domain: domainOfBody, repeated: 1, in: db)
            return (.repeated, false)
        }
        let held = try Int64.fetchOne(db.cachedStatement(sql: "SELECT total(spool_bytes) FROM stream_totals")) ?? 0
        guard held + append.byteCount <= limits.quotaBytes else { return (.overQuota, false) }
        var needsSync = !append.quarantined.isEmpty
        try db.cachedStatement(sql: """
            INSERT INTO stream_body_digests (digest, accepted_at) VALUES (?, ?)
            ON CONFLICT (digest) DO UPDATE SET accepted_at = excluded.accepted_at
            """).execute(arguments: [digest, seconds])
        for chunk in append.chunks where chunk.lineCount > 0 {
            needsSync = needsSync || !chunk.stamped
            let hour = chunk.hour.databaseSeconds
            var key: StreamPartKey?
            var length: Int64 = 0
            if let open = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT part, byte_count, file_bytes FROM stream_parts WHERE domain = ? AND hour = ? AND state = 'open'"),
                arguments: [chunk.domain, hour])
            {
                let openKey = StreamPartKey(domain: chunk.domain, hour: hour, part: open["part"])
                let lineBytes: Int64 = open["byte_count"]
                length = open["file_bytes"]
                if lineBytes > 0 && lineBytes + Int64(chunk.byteCount) > limits.maxPartBytes {
                    // Full: sealed now (the sealer plans its window on its next pass); the lines open the next part.
                    try db.cachedStatement(sql: """
                        UPDATE stream_parts SET state = 'sealed', sealed_at = ? WHERE domain = ? AND hour = ? AND part = ? AND state = 'open'
                        """).execute(arguments: [seconds, chunk.domain, hour, openKey.part])
                    length = 0
                    needsSync = true
                } else {
                    key = openKey
                }
            }
            if key == nil {
                let next = (try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT max(part) FROM stream_parts WHERE domain = ? AND hour = ?"),
                    arguments: [chunk.domain, hour]) ?? 0) + 1
                try db.cachedStatement(sql: "INSERT INTO stream_parts (domain, hour, part, created_at) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [chunk.domain, hour, next, seconds])
                key = StreamPartKey(domain: chunk.domain, hour: hour, part: next)
                needsSync = true
            }
            guard let key else { continue }
            try files.write(chunk.data, to: key, at: length)
            try db.cachedStatement(sql: """
                UPDATE stream_parts SET line_count = line_count + ?, byte_count = byte_count + ?, file_bytes = file_bytes + ?
                WHERE domain = ? AND hour = ? AND part = ?
                """).execute(arguments: [chunk.lineCount, chunk.byteCount, chunk.data.count, chunk.domain, hour, key.part])
            try SQLiteJobStore.addTotals(domain: chunk.domain, accepted: Int64(chunk.lineCount), bytes: Int64(chunk.byteCount), in: db)
        }
        for line in append.quarantined {
            try db.cachedStatement(sql: "INSERT INTO stream_quarantine (domain, received_at, reason, line) VALUES (?, ?, ?, ?)")
                .execute(arguments: [line.domain, seconds, line.reason, Data(line.bytes)])
            try SQLiteJobStore.addTotals(domain: line.domain, quarantined: 1, bytes: Int64(line.bytes.count), in: db)
        }
        return (.stored, needsSync)
    }

    @discardableResult
    public func sealParts(
        hoursBefore cutoff: Date, source: String, forgetBodiesBefore: Date, forgetQuarantineBefore: Date, now: Date
    ) async throws -> Int {
        let sealed = try await writeSynchronously { db in
            let seconds = now.databaseSeconds
            try db.execute(
                sql: "UPDATE stream_parts SET state = 'sealed', sealed_at = ? WHERE state = 'open' AND hour < ?",
                arguments: [seconds, cutoff.databaseSeconds])
            let sealed = db.changesCount
            try db.execute(sql: "DELETE FROM stream_body_digests WHERE accepted_at < ?", arguments: [forgetBodiesBefore.databaseSeconds])
            try db.execute(sql: "DELETE FROM stream_bodies WHERE accepted_at < ?", arguments: [forgetBodiesBefore.databaseSeconds])
            let holdsSHA256 = try Self.holdsSHA256Digests(db)
            try Self.forgetQuarantine(before: forgetQuarantineBefore.databaseSeconds, in: db)
            try Self.planSealedHours(source: source, now: now, in: db)
            return (count: sealed, holdsSHA256: holdsSHA256)
        }
        sha256Digests.store(sealed.holdsSHA256, ordering: .relaxed)
        files.closeParts(before: cutoff.databaseSeconds)
        return sealed.count
    }

    /// A write transaction fsync'd at its commit, and with it every commit before it: recording an
    /// upload (after which the part file is removed) must not be lost to a power loss, and neither must
    /// sealing (the recovery reads only open parts).
    private func writeSynchronously<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await store.pool.writeWithoutTransaction { db in try Self.inDurableTransaction(db, updates) }
    }

    /// Deletes the lines quarantined before `before`, taking their bytes off their domains' spool bytes.
    private static func forgetQuarantine(before: Int64, in db: Database) throws {
        let expired = try Row.fetchAll(
            db, sql: "SELECT domain, sum(length(line)) AS bytes FROM stream_quarantine WHERE received_at < ? GROUP BY domain",
            arguments: [before])
        guard !expired.isEmpty else { return }
        for row in expired {
            try SQLiteJobStore.addTotals(domain: row["domain"], bytes: -(row["bytes"] as Int64), in: db)
        }
        try db.execute(sql: "DELETE FROM stream_quarantine WHERE received_at < ?", arguments: [before])
    }

    /// Level-triggered: every hour with a sealed part gets a window that will run, whether the part
    /// was sealed just now, before a crash, or while an earlier run of its window was finishing.
    private static func planSealedHours(source: String, now: Date, in db: Database) throws {
        let seconds = now.databaseSeconds
        let waiting = try Row.fetchAll(db, sql: """
            SELECT DISTINCT stream_parts.domain, stream_parts.hour, jobs.state
            FROM stream_parts
            LEFT JOIN domains ON domains.source = ? AND domains.domain = stream_parts.domain
            LEFT JOIN jobs ON jobs.hour = stream_parts.hour AND jobs.domain_id = domains.id
            WHERE stream_parts.state = 'sealed' AND (jobs.state IS NULL OR jobs.state = 'done')
            ORDER BY stream_parts.hour, stream_parts.domain
            """, arguments: [source])
        for row in waiting {
            let domain: String = row["domain"]
            let hour: Int64 = row["hour"]
            let (domainID, domainTag) = try SQLiteJobStore.knownDomain(source: source, domain: domain, now: now, in: db)
            let tag = max(domainTag, try SQLiteJobStore.virtualTime(in: db)) + 1
            if (row["state"] as String?) == nil {
                try db.execute(
                    sql: "INSERT INTO jobs (domain_id, hour, fair_tag, run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [domainID, hour, tag, seconds, seconds, seconds])
                try db.execute(sql: "UPDATE domains SET window_count = window_count + 1 WHERE id = ?", arguments: [domainID])
            } else {
                try db.execute(
                    sql: """
                        UPDATE jobs SET state = 'pending', pass = 'copy', final = 0, attempts = 0, run_at = ?, updated_at = ?,
                            fair_tag = ?
                        WHERE hour = ? AND domain_id = ? AND state = 'done'
                        """,
                    arguments: [seconds, seconds, tag, hour, domainID])
            }
            try db.execute(
                sql: "UPDATE domains SET fair_tag = ?, updated_at = ? WHERE id = ?",
                arguments: [tag, seconds, domainID])
        }
    }

    public func parts(domain: String, hour: Date) async throws -> [StreamPart] {
        try await store.parts(domain: domain, hour: hour)
    }

    public func read(_ part: StreamPart, from offset: Int64, maxBytes: Int) async throws -> [UInt8] {
        let key = StreamPartKey(domain: part.domain, hour: part.hour.databaseSeconds, part: Int64(part.part))
        let committed = try await store.pool.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT file_bytes FROM stream_parts WHERE domain = ? AND hour = ? AND part = ? AND state <> 'uploaded'",
                arguments: [key.domain, key.hour, key.part])
        }
        guard let committed else {
            throw StoreError("store.spool_part_gone", "part \(part.part) of \(part.domain) at \(key.hour) is not in the spool (already uploaded?)")
        }
        let files = self.files
        return try files.read(key, from: offset, maxBytes: maxBytes, committed: committed)
    }

    @discardableResult
    public func markUploaded(_ part: StreamPart, objectKey: String, objectSize: Int64, now: Date) async throws -> Bool {
        let key = StreamPartKey(domain: part.domain, hour: part.hour.databaseSeconds, part: Int64(part.part))
        let recorded = try await writeSynchronously { db in
            guard let bytes = try Int64.fetchOne(
                db, sql: "SELECT byte_count FROM stream_parts WHERE domain = ? AND hour = ? AND part = ? AND state = 'sealed'",
                arguments: [key.domain, key.hour, key.part])
            else { return false }
            try db.execute(
                sql: """
                    UPDATE stream_parts SET state = 'uploaded', object_key = ?, object_size = ?, uploaded_at = ?
                    WHERE domain = ? AND hour = ? AND part = ?
                    """,
                arguments: [objectKey, objectSize, now.databaseSeconds, key.domain, key.hour, key.part])
            try SQLiteJobStore.addTotals(domain: key.domain, uploaded: 1, bytes: -bytes, in: db)
            return true
        }
        // After the commit: a crash before this removal leaves a file the next start-up removes.
        if recorded { files.remove(key) }
        return recorded
    }

    public func spoolBytes() async throws -> Int64 {
        try await store.spoolBytes()
    }

    public func streamStatus() async throws -> [StreamDomainStatus] {
        try await store.streamStatus()
    }
}

extension SQLiteJobStore {
    /// The sealed and uploaded parts of one stream domain-hour, by part number.
    public func parts(domain: String, hour: Date) async throws -> [StreamPart] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT part, state, line_count, object_key, object_size FROM stream_parts
                WHERE domain = ? AND hour = ? AND state <> 'open' ORDER BY part
                """, arguments: [domain, hour.databaseSeconds]
            ).map { row in
                StreamPart(
                    domain: domain, hour: hour, part: row["part"], state: row["state"], lineCount: row["line_count"],
                    objectKey: row["object_key"], objectSize: row["object_size"])
            }
        }
    }
}
