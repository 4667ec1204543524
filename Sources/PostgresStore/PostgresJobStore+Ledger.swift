import Core
import Foundation
import JobModel
import PostgresNIO

extension PostgresJobStore {
    public func multipartUpload(forKey key: String) async throws -> MultipartUploadRecord? {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { connection in
            guard let row = try await self.rows("SELECT * FROM multipart_uploads WHERE object_key = \(key)", on: connection).first
            else { return nil }
            return try await self.uploadRecord(from: row, on: connection)
        }
    }

    public func beginMultipartUpload(
        key: String, uploadID: String, fileSize: Int64, fileCRC64: UInt64, partSize: Int64, now: Date
    ) async throws {
        try await transaction { connection in
            // Deleting first lets the foreign key's cascade drop the replaced upload's parts.
            try await self.rows("DELETE FROM multipart_uploads WHERE object_key = \(key)", on: connection)
            try await self.rows("""
                INSERT INTO multipart_uploads (object_key, upload_id, file_size, file_crc64, part_size, created_at)
                VALUES (\(key), \(uploadID), \(fileSize), \(String(fileCRC64)), \(partSize), \(now.databaseSeconds))
                """, on: connection)
        }
    }

    public func recordPart(_ part: UploadedPart, key: String, uploadID: String) async throws {
        let recorded = try await rows("""
            INSERT INTO multipart_upload_parts (object_key, upload_id, part_number, size, etag, md5, crc64)
            SELECT object_key, upload_id, \(part.number), \(part.size), \(part.etag), \(part.md5), \(String(part.crc64))
            FROM multipart_uploads WHERE object_key = \(key) AND upload_id = \(uploadID)
            ON CONFLICT (object_key, upload_id, part_number)
            DO UPDATE SET size = excluded.size, etag = excluded.etag, md5 = excluded.md5, crc64 = excluded.crc64
            RETURNING 1
            """)
        guard recorded.count == 1 else {
            throw PostgresStoreError("store.upload_unknown", "no multipart upload \(uploadID) is recorded for \(key); it was ended or replaced")
        }
    }

    public func endMultipartUpload(key: String, uploadID: String) async throws {
        try await rows("DELETE FROM multipart_uploads WHERE object_key = \(key) AND upload_id = \(uploadID)")
    }

    public func multipartUploads(startedBefore: Date) async throws -> [MultipartUploadRecord] {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { connection in
            var records: [MultipartUploadRecord] = []
            for row in try await self.rows("""
                SELECT * FROM multipart_uploads WHERE created_at < \(startedBefore.databaseSeconds)
                ORDER BY created_at, object_key COLLATE "C"
                """, on: connection)
            {
                records.append(try await self.uploadRecord(from: row, on: connection))
            }
            return records
        }
    }

    private func uploadRecord(from row: PostgresRandomAccessRow, on connection: PostgresConnection) async throws -> MultipartUploadRecord {
        let key: String = try row.get("object_key")
        let uploadID: String = try row.get("upload_id")
        let parts = try await rows("""
            SELECT part_number, size, etag, md5, crc64 FROM multipart_upload_parts
            WHERE object_key = \(key) AND upload_id = \(uploadID) ORDER BY part_number
            """, on: connection).map { part in
            UploadedPart(
                number: try part.get("part_number"), size: try part.get("size"), etag: try part.get("etag"), md5: try part.get("md5"),
                crc64: try Self.decimalCRC64(try part.get("crc64")))
        }
        return MultipartUploadRecord(
            key: key, uploadID: uploadID, fileSize: try row.get("file_size"), fileCRC64: try Self.decimalCRC64(try row.get("file_crc64")),
            partSize: try row.get("part_size"), createdAt: Date(unixSeconds: try row.get("created_at", as: Int64.self)), parts: parts)
    }

    private static func decimalCRC64(_ text: String) throws -> UInt64 {
        guard let value = UInt64(text) else { throw PostgresStoreError("store.malformed", "the database holds a malformed CRC64 \"\(text)\"") }
        return value
    }

    // MARK: Dependency health

    public func saveDependencyHealth(_ states: [DependencyState], endedOutages: [OutagePeriod], now: Date) async throws {
        try await transaction { connection in
            for state in states {
                try await self.rows("""
                    INSERT INTO dependency_health
                        (dependency, outage_since, failures, last_error_code, last_error_message, last_answered_at, last_failure_at, updated_at)
                    VALUES (\(state.dependency.rawValue), \(state.outageSince?.databaseSeconds), \(state.failures),
                        \(state.lastError?.code), \(state.lastError?.message), \(state.lastAnsweredAt?.databaseSeconds),
                        \(state.lastFailureAt?.databaseSeconds), \(now.databaseSeconds))
                    ON CONFLICT (dependency) DO UPDATE SET
                        outage_since = excluded.outage_since, failures = excluded.failures,
                        last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
                        last_answered_at = excluded.last_answered_at, last_failure_at = excluded.last_failure_at,
                        updated_at = excluded.updated_at
                    """, on: connection)
            }
            for outage in endedOutages {
                try await self.rows("""
                    INSERT INTO dependency_outages (dependency, started_at, ended_at, failures)
                    VALUES (\(outage.dependency.rawValue), \(outage.started.databaseSeconds), \(outage.ended.databaseSeconds), \(outage.failures))
                    """, on: connection)
            }
        }
    }

    public func dependencyHealth() async throws -> [DependencyState] {
        try await dependencyStates(on: nil)
    }

    func dependencyStates(on connection: PostgresConnection?) async throws -> [DependencyState] {
        var saved: [Dependency: DependencyState] = [:]
        for row in try await rows("SELECT * FROM dependency_health", on: connection) {
            guard let dependency = Dependency(rawValue: try row.get("dependency")) else { continue }
            let code: String? = try row.get("last_error_code")
            saved[dependency] = DependencyState(
                dependency: dependency,
                outageSince: try row.get("outage_since", as: Int64?.self).map(Date.init(unixSeconds:)),
                failures: try row.get("failures"),
                lastError: try code.map { JobError(code: $0, message: try row.get("last_error_message", as: String?.self) ?? "") },
                lastAnsweredAt: try row.get("last_answered_at", as: Int64?.self).map(Date.init(unixSeconds:)),
                lastFailureAt: try row.get("last_failure_at", as: Int64?.self).map(Date.init(unixSeconds:)))
        }
        return Dependency.allCases.map { saved[$0] ?? DependencyState(dependency: $0) }
    }

    func outageHistory(limit: Int, on connection: PostgresConnection) async throws -> (recent: [OutagePeriod], count: Int) {
        let count = try await rows("SELECT count(*) AS outages FROM dependency_outages", on: connection).first?.get("outages", as: Int.self) ?? 0
        let recent = try await rows("""
            SELECT * FROM dependency_outages ORDER BY ended_at DESC, id DESC LIMIT \(limit)
            """, on: connection).compactMap { row -> OutagePeriod? in
            guard let dependency = Dependency(rawValue: try row.get("dependency")) else { return nil }
            return OutagePeriod(
                dependency: dependency, started: Date(unixSeconds: try row.get("started_at", as: Int64.self)),
                ended: Date(unixSeconds: try row.get("ended_at", as: Int64.self)), failures: try row.get("failures"))
        }
        return (recent, count)
    }
}
