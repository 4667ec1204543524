import Core
import Foundation
import GRDB
import JobModel

/// What opening the spool does before the receiver starts: lines of the previous layout moved into
/// part files, and bodies a power loss took from the index taken back from the part files.
extension SQLiteStreamSpool {
    /// Takes back the stamped bodies past the committed lengths of the open parts (see the type's
    /// description), records them, and advances `committed` over them. A body is taken back when every
    /// one of its chunks follows, whole and in order, what each of its part files already took; never
    /// when its digest was recorded at or after its own acceptance (then this copy is what a batch that
    /// failed left behind, and the sender's retry was stored). Returns the bodies and lines taken back.
    static func recoverStampedBodies(
        store: SQLiteJobStore, files: StreamPartFiles, committed: inout [StreamPartKey: Int64], readStamps: StampReader
    ) throws -> (bodies: Int, lines: Int) {
        let openParts = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT domain, hour, part FROM stream_parts WHERE state = 'open'").map {
                StreamPartKey(domain: $0["domain"], hour: $0["hour"], part: $0["part"])
            }
        }
        var tails: [StreamPartKey: [StampedChunk]] = [:]
        for key in openParts {
            guard let length = committed[key], let size = try FileIO.regularFileSize(files.path(of: key)), size > length else { continue }
            let bytes = try files.read(key, from: length, maxBytes: Int(size - length), committed: size)
            let found = bytes.withUnsafeBytes { readStamps($0) }
            if !found.isEmpty { tails[key] = found }
        }
        guard !tails.isEmpty else { return (0, 0) }
        let digests = Set(tails.values.joined().map { Data($0.stamp.bodyDigest) })
        let recordedAt = try store.pool.read { db in
            try digests.reduce(into: [Data: Int64]()) { map, digest in
                map[digest] = try Int64.fetchOne(db, sql: "SELECT accepted_at FROM stream_body_digests WHERE digest = ?", arguments: [digest])
            }
        }
        // Each file keeps the longest run of chunks whose bodies are whole within what all files keep;
        // cutting one file can break a body another file kept, so this runs until nothing changes.
        var kept = tails.mapValues { $0[...] }
        while true {
            var found: [UInt64: Set<Int>] = [:]
            for chunk in kept.values.joined() { found[chunk.stamp.body, default: []].insert(chunk.stamp.index) }
            var changed = false
            for (key, chunks) in kept {
                let whole = chunks.prefix { chunk in
                    let stamp = chunk.stamp
                    guard found[stamp.body]?.count == stamp.count else { return false }
                    guard let recorded = recordedAt[Data(stamp.bodyDigest)] else { return true }
                    return recorded < stamp.acceptedAt
                }
                if whole.count < chunks.count {
                    kept[key] = whole
                    changed = true
                }
            }
            if !changed { break }
        }
        kept = kept.filter { !$0.value.isEmpty }
        guard !kept.isEmpty else { return (0, 0) }
        let adopted = kept
        try store.pool.writeWithoutTransaction { db in
            try inDurableTransaction(db) { db in
                var bodies: [UInt64: SpoolChunkStamp] = [:]
                for (key, chunks) in adopted {
                    let lines = chunks.reduce(0) { $0 + $1.stamp.lineCount }, bytes = chunks.reduce(0) { $0 + $1.stamp.byteCount }
                    try db.execute(
                        sql: """
                            UPDATE stream_parts SET line_count = line_count + ?, byte_count = byte_count + ?, file_bytes = file_bytes + ?
                            WHERE domain = ? AND hour = ? AND part = ?
                            """,
                        arguments: [lines, bytes, chunks.reduce(0) { $0 + $1.length }, key.domain, key.hour, key.part])
                    try SQLiteJobStore.addTotals(domain: key.domain, accepted: Int64(lines), bytes: Int64(bytes), in: db)
                    for chunk in chunks { bodies[chunk.stamp.body] = chunk.stamp }
                }
                for stamp in bodies.values {
                    try db.execute(
                        sql: """
                            INSERT INTO stream_body_digests (digest, accepted_at) VALUES (?, ?)
                            ON CONFLICT (digest) DO UPDATE SET accepted_at = max(accepted_at, excluded.accepted_at)
                            """,
                        arguments: [Data(stamp.bodyDigest), stamp.acceptedAt])
                }
            }
        }
        for (key, chunks) in adopted { committed[key, default: 0] += Int64(chunks.reduce(0) { $0 + $1.length }) }
        let stamps = adopted.values.joined().map(\.stamp)
        return (Set(stamps.map(\.body)).count, stamps.reduce(0) { $0 + $1.lineCount })
    }

    /// Moves lines spooled in the database by earlier versions (`stream_chunks`) into part files, one
    /// part at a time, each chunk through `encode`: the file is written from its start and fsync'd
    /// before the part's rows are deleted and its length recorded, so an interrupted move is simply
    /// done again.
    static func moveChunksIntoFiles(store: SQLiteJobStore, files: StreamPartFiles, encode: ([UInt8]) -> [UInt8]) throws {
        let parts = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT DISTINCT domain, hour, part FROM stream_chunks").map {
                StreamPartKey(domain: $0["domain"], hour: $0["hour"], part: $0["part"])
            }
        }
        for key in parts {
            try store.pool.write { db in
                var offset: Int64 = 0
                let chunks = try Row.fetchCursor(
                    db, sql: "SELECT lines FROM stream_chunks WHERE domain = ? AND hour = ? AND part = ? ORDER BY id",
                    arguments: [key.domain, key.hour, key.part])
                while let chunk = try chunks.next() {
                    let data = encode([UInt8](chunk["lines"] as Data))
                    try files.write(data, to: key, at: offset)
                    offset += Int64(data.count)
                }
                try files.synchronizeWritten()
                try db.execute(
                    sql: "DELETE FROM stream_chunks WHERE domain = ? AND hour = ? AND part = ?", arguments: [key.domain, key.hour, key.part])
                try db.execute(
                    sql: "UPDATE stream_parts SET file_bytes = ? WHERE domain = ? AND hour = ? AND part = ?",
                    arguments: [offset, key.domain, key.hour, key.part])
            }
            files.close(key)
        }
    }
}
