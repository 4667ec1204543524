import Core
import Foundation
import GRDB
import JobModel

/// The push spool's counts, read from the database alone (what `status` shows; no spool files needed).
extension SQLiteJobStore {
    /// Adds to a stream domain's totals (creating its row); `bytes` may be negative.
    static func addTotals(
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

    /// Bytes the spool holds, all domains.
    public func spoolBytes() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT total(spool_bytes) FROM stream_totals") ?? 0 }
    }

    /// Per stream domain counts for `status`, sorted by domain.
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
