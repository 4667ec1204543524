import Core
import Foundation
import GRDB
import JobModel

extension SQLiteJobStore: StreamSpool {
    public func append(_ append: SpoolAppend, quotaBytes: Int64, repeatedSince: Date, now: Date) async throws -> SpoolAppendResult {
        try await spoolCommit.perform { db in try Self.write(append, quotaBytes: quotaBytes, repeatedSince: repeatedSince, now: now, in: db) }
    }

    /// One request's append inside a shared transaction; earlier appends of the same batch are visible,
    /// so two identical bodies in one batch store once and the quota counts what the batch already took.
    private static func write(_ append: SpoolAppend, quotaBytes: Int64, repeatedSince: Date, now: Date, in db: Database) throws -> SpoolAppendResult {
        let seconds = now.databaseSeconds
        let digest = Data(append.bodyDigest)
        let domainOfBody = append.chunks.first?.domain ?? append.quarantined.first?.domain ?? ""
        if let acceptedAt = try Int64.fetchOne(db, sql: "SELECT accepted_at FROM stream_bodies WHERE sha256 = ?", arguments: [digest]),
           acceptedAt >= repeatedSince.databaseSeconds {
            try addTotals(domain: domainOfBody, repeated: 1, in: db)
            return .repeated
        }
        let held = try Int64.fetchOne(db, sql: "SELECT total(spool_bytes) FROM stream_totals") ?? 0
        guard held + append.byteCount <= quotaBytes else { return .overQuota }
        try db.cachedStatement(sql: """
            INSERT INTO stream_bodies (sha256, accepted_at) VALUES (?, ?)
            ON CONFLICT (sha256) DO UPDATE SET accepted_at = excluded.accepted_at
            """).execute(arguments: [digest, seconds])
        for chunk in append.chunks where chunk.lineCount > 0 {
            let hour = chunk.hour.databaseSeconds
            var part = try Int64.fetchOne(
                db, sql: "SELECT part FROM stream_parts WHERE domain = ? AND hour = ? AND state = 'open'",
                arguments: [chunk.domain, hour])
            if part == nil {
                let next = (try Int64.fetchOne(
                    db, sql: "SELECT max(part) FROM stream_parts WHERE domain = ? AND hour = ?", arguments: [chunk.domain, hour]) ?? 0) + 1
                try db.cachedStatement(sql: "INSERT INTO stream_parts (domain, hour, part, created_at) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [chunk.domain, hour, next, seconds])
                part = next
            }
            try db.cachedStatement(sql: "INSERT INTO stream_chunks (domain, hour, part, line_count, lines) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [chunk.domain, hour, part, chunk.lineCount, Data(chunk.lines)])
            try db.cachedStatement(sql: """
                UPDATE stream_parts SET line_count = line_count + ?, byte_count = byte_count + ?
                WHERE domain = ? AND hour = ? AND part = ?
                """).execute(arguments: [chunk.lineCount, chunk.lines.count, chunk.domain, hour, part])
            try addTotals(domain: chunk.domain, accepted: Int64(chunk.lineCount), bytes: Int64(chunk.lines.count), in: db)
        }
        for line in append.quarantined {
            try db.cachedStatement(sql: "INSERT INTO stream_quarantine (domain, received_at, reason, line) VALUES (?, ?, ?, ?)")
                .execute(arguments: [line.domain, seconds, line.reason, Data(line.bytes)])
            try addTotals(domain: line.domain, quarantined: 1, bytes: Int64(line.bytes.count), in: db)
        }
        return .stored
    }

    private static func addTotals(
        domain: String, accepted: Int64 = 0, quarantined: Int64 = 0, repeated: Int64 = 0, uploaded: Int64 = 0, bytes: Int64 = 0,
        in db: Database
    ) throws {
        try db.cachedStatement(sql: """
            INSERT INTO stream_totals (domain, lines_accepted, lines_quarantined, bodies_repeated, parts_uploaded, spool_bytes)
            VALUES (?, ?, ?, ?, ?, max(0, ?))
            ON CONFLICT (domain) DO UPDATE SET
                lines_accepted = lines_accepted + excluded.lines_accepted,
                lines_quarantined = lines_quarantined + excluded.lines_quarantined,
                bodies_repeated = bodies_repeated + excluded.bodies_repeated,
                parts_uploaded = parts_uploaded + excluded.parts_uploaded,
                spool_bytes = max(0, spool_bytes + ?)
            """).execute(arguments: [domain, accepted, quarantined, repeated, uploaded, bytes, bytes])
    }

    @discardableResult
    public func sealParts(hoursBefore cutoff: Date, source: String, forgetBodiesBefore: Date, now: Date) async throws -> Int {
        try await pool.write { db in
            let seconds = now.databaseSeconds
            try db.execute(
                sql: "UPDATE stream_parts SET state = 'sealed', sealed_at = ? WHERE state = 'open' AND hour < ?",
                arguments: [seconds, cutoff.databaseSeconds])
            let sealed = db.changesCount
            try db.execute(sql: "DELETE FROM stream_bodies WHERE accepted_at < ?", arguments: [forgetBodiesBefore.databaseSeconds])
            // Level-triggered: every hour with a sealed part gets a window that will run, whether the part
            // was sealed just now, before a crash, or while an earlier run of its window was finishing.
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
                let (domainID, domainTag) = try Self.knownDomain(source: source, domain: domain, now: now, in: db)
                let tag = max(domainTag, try Self.virtualTime(in: db)) + 1
                if (row["state"] as String?) == nil {
                    try db.execute(
                        sql: """
                            INSERT INTO jobs (domain_id, hour, fair_tag, run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                            """,
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
            return sealed
        }
    }

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

    public func chunks(of part: StreamPart, after: Int64, limit: Int) async throws -> [(id: Int64, lines: [UInt8])] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, lines FROM stream_chunks WHERE domain = ? AND hour = ? AND part = ? AND id > ? ORDER BY id LIMIT ?
                """, arguments: [part.domain, part.hour.databaseSeconds, part.part, after, limit]
            ).map { row in (id: row["id"] as Int64, lines: [UInt8](row["lines"] as Data)) }
        }
    }

    @discardableResult
    public func markUploaded(_ part: StreamPart, objectKey: String, objectSize: Int64, now: Date) async throws -> Bool {
        try await pool.write { db in
            let hour = part.hour.databaseSeconds
            guard let bytes = try Int64.fetchOne(
                db, sql: "SELECT byte_count FROM stream_parts WHERE domain = ? AND hour = ? AND part = ? AND state = 'sealed'",
                arguments: [part.domain, hour, part.part])
            else { return false }
            try db.execute(
                sql: """
                    UPDATE stream_parts SET state = 'uploaded', object_key = ?, object_size = ?, uploaded_at = ?
                    WHERE domain = ? AND hour = ? AND part = ?
                    """,
                arguments: [objectKey, objectSize, now.databaseSeconds, part.domain, hour, part.part])
            try db.execute(
                sql: "DELETE FROM stream_chunks WHERE domain = ? AND hour = ? AND part = ?", arguments: [part.domain, hour, part.part])
            try Self.addTotals(domain: part.domain, uploaded: 1, bytes: -bytes, in: db)
            return true
        }
    }

    public func spoolBytes() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT total(spool_bytes) FROM stream_totals") ?? 0 }
    }

    public func streamStatus() async throws -> [StreamDomainStatus] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT t.domain, t.lines_accepted, t.lines_quarantined, t.bodies_repeated, t.parts_uploaded, t.spool_bytes,
                    (SELECT count(DISTINCT hour) FROM stream_parts p WHERE p.domain = t.domain AND p.state = 'open') AS open_hours,
                    (SELECT count(DISTINCT hour) FROM stream_parts p WHERE p.domain = t.domain AND p.state = 'sealed') AS sealed_hours
                FROM stream_totals t ORDER BY t.domain
                """
            ).map { row in
                StreamDomainStatus(
                    domain: row["domain"], openHours: row["open_hours"], sealedHoursWaiting: row["sealed_hours"],
                    uploadedParts: row["parts_uploaded"], linesAccepted: row["lines_accepted"],
                    linesQuarantined: row["lines_quarantined"], bodiesRepeated: row["bodies_repeated"], spoolBytes: row["spool_bytes"])
            }
        }
    }
}
