import Core
import Foundation
import GRDB
import JobModel

extension SQLiteJobStore: UploadLedger {
    public func multipartUpload(forKey key: String) async throws -> MultipartUploadRecord? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM multipart_uploads WHERE object_key = ?", arguments: [key])
            else { return nil }
            return try Self.uploadRecord(from: row, db)
        }
    }

    public func beginMultipartUpload(
        key: String, uploadID: String, fileSize: Int64, fileCRC64: UInt64, partSize: Int64, now: Date
    ) async throws {
        try await pool.write { db in
            // Deleting first lets the foreign key's cascade drop the replaced upload's parts.
            try db.execute(sql: "DELETE FROM multipart_uploads WHERE object_key = ?", arguments: [key])
            try db.execute(
                sql: """
                    INSERT INTO multipart_uploads (object_key, upload_id, file_size, file_crc64, part_size, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [key, uploadID, fileSize, String(fileCRC64), partSize, now.databaseSeconds])
        }
    }

    public func recordPart(_ part: UploadedPart, key: String, uploadID: String) async throws {
        let recorded = try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO multipart_upload_parts (object_key, upload_id, part_number, size, etag, md5, crc64)
                    SELECT object_key, upload_id, ?, ?, ?, ?, ? FROM multipart_uploads
                    WHERE object_key = ? AND upload_id = ?
                    ON CONFLICT (object_key, upload_id, part_number)
                    DO UPDATE SET size = excluded.size, etag = excluded.etag, md5 = excluded.md5, crc64 = excluded.crc64
                    """,
                arguments: [part.number, part.size, part.etag, part.md5, String(part.crc64), key, uploadID])
            return db.changesCount
        }
        guard recorded == 1 else {
            throw StoreError("store.upload_unknown", "no multipart upload \(uploadID) is recorded for \(key); it was ended or replaced")
        }
    }

    public func endMultipartUpload(key: String, uploadID: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM multipart_uploads WHERE object_key = ? AND upload_id = ?", arguments: [key, uploadID])
        }
    }

    public func multipartUploads(startedBefore: Date) async throws -> [MultipartUploadRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM multipart_uploads WHERE created_at < ? ORDER BY created_at, object_key",
                arguments: [startedBefore.databaseSeconds]
            ).map { try Self.uploadRecord(from: $0, db) }
        }
    }

    /// The record of an upload row, with its parts read in the same transaction.
    private static func uploadRecord(from row: Row, _ db: Database) throws -> MultipartUploadRecord {
        let key: String = row["object_key"]
        let uploadID: String = row["upload_id"]
        let parts = try Row.fetchAll(
            db,
            sql: """
                SELECT part_number, size, etag, md5, crc64 FROM multipart_upload_parts
                WHERE object_key = ? AND upload_id = ? ORDER BY part_number
                """,
            arguments: [key, uploadID]
        ).map { part in
            UploadedPart(
                number: part["part_number"], size: part["size"], etag: part["etag"], md5: part["md5"],
                crc64: try decimalCRC64(part["crc64"]))
        }
        return MultipartUploadRecord(
            key: key, uploadID: uploadID, fileSize: row["file_size"], fileCRC64: try decimalCRC64(row["file_crc64"]),
            partSize: row["part_size"], createdAt: Date(unixSeconds: row["created_at"]), parts: parts)
    }

    /// Parses a CRC64 stored as decimal text; a malformed value means a damaged database.
    private static func decimalCRC64(_ text: String) throws -> UInt64 {
        guard let value = UInt64(text) else { throw StoreError("store.malformed", "the database holds a malformed CRC64 \"\(text)\"") }
        return value
    }
}
