import Foundation
import GRDB
import JobModel
import Testing

@testable import Store

/// The multipart upload ledger on a real SQLite store.
@Suite("Upload ledger")
struct UploadLedgerTests {
    let key = "cdnlog/www.test.com/20261101/2026110100-www.test.com.gz"

    private func part(_ number: Int, size: Int64 = 8 << 20) -> UploadedPart {
        UploadedPart(
            number: number, size: size, etag: "etag-\(number)", md5: String(repeating: "\(number % 10)", count: 32),
            crc64: UInt64.max - UInt64(number))
    }

    @Test("an upload is recorded with its parts, in part order, CRC64 values beyond Int64 intact", arguments: StoreKind.allCases)
    func recordsAnUploadAndItsParts(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let ledger: any UploadLedger = temporary.store
        #expect(try await ledger.multipartUpload(forKey: key) == nil)
        try await ledger.beginMultipartUpload(
            key: key, uploadID: "u1", fileSize: 20 << 20, fileCRC64: UInt64.max, partSize: 8 << 20, now: hour(1))
        try await ledger.recordPart(part(3, size: 4 << 20), key: key, uploadID: "u1")
        try await ledger.recordPart(part(1), key: key, uploadID: "u1")
        let record = try #require(try await ledger.multipartUpload(forKey: key))
        #expect(record == MultipartUploadRecord(
            key: key, uploadID: "u1", fileSize: 20 << 20, fileCRC64: UInt64.max, partSize: 8 << 20,
            createdAt: hour(1), parts: [part(1), part(3, size: 4 << 20)]))
    }

    @Test("recording a part number again replaces it", arguments: StoreKind.allCases)
    func recordingAPartAgainReplacesIt(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let ledger = temporary.store
        try await ledger.beginMultipartUpload(key: key, uploadID: "u1", fileSize: 100, fileCRC64: 7, partSize: 50, now: hour(1))
        try await ledger.recordPart(part(1, size: 50), key: key, uploadID: "u1")
        var again = part(1, size: 50)
        again.etag = "second"
        try await ledger.recordPart(again, key: key, uploadID: "u1")
        #expect(try await ledger.multipartUpload(forKey: key)?.parts == [again])
    }

    @Test("beginning a new upload for a key replaces the old one and drops its parts", arguments: StoreKind.allCases)
    func beginReplacesTheOldUpload(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let ledger = temporary.store
        try await ledger.beginMultipartUpload(key: key, uploadID: "old", fileSize: 100, fileCRC64: 7, partSize: 50, now: hour(1))
        try await ledger.recordPart(part(1, size: 50), key: key, uploadID: "old")
        try await ledger.beginMultipartUpload(key: key, uploadID: "new", fileSize: 200, fileCRC64: 8, partSize: 100, now: hour(2))
        let record = try #require(try await ledger.multipartUpload(forKey: key))
        #expect(record.uploadID == "new")
        #expect(record.parts.isEmpty)
        let orphans = try await temporary.rowCount("multipart_upload_parts")
        #expect(orphans == 0, "the replaced upload's parts are gone from the table, not only from the record")
    }

    @Test("a part of an upload that is not recorded (ended or replaced) is refused", arguments: StoreKind.allCases)
    func refusesAPartOfAnUnknownUpload(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let ledger = temporary.store
        let unknown = await #expect(throws: (any Error).self) { try await ledger.recordPart(part(1), key: key, uploadID: "none") }
        #expect(unknown.flatMap(StoreUnderTest.code(of:)) == "store.upload_unknown")
        try await ledger.beginMultipartUpload(key: key, uploadID: "new", fileSize: 100, fileCRC64: 7, partSize: 50, now: hour(1))
        let replaced = await #expect(throws: (any Error).self) { try await ledger.recordPart(part(1), key: key, uploadID: "old") }
        #expect(replaced.flatMap(StoreUnderTest.code(of:)) == "store.upload_unknown")
        #expect(try await ledger.multipartUpload(forKey: key)?.parts == [])
    }

    @Test("ending an upload forgets it and its parts; ending another id of the key changes nothing", arguments: StoreKind.allCases)
    func endForgetsTheUpload(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let ledger = temporary.store
        try await ledger.beginMultipartUpload(key: key, uploadID: "u1", fileSize: 100, fileCRC64: 7, partSize: 50, now: hour(1))
        try await ledger.recordPart(part(1, size: 50), key: key, uploadID: "u1")
        try await ledger.endMultipartUpload(key: key, uploadID: "other")
        #expect(try await ledger.multipartUpload(forKey: key)?.uploadID == "u1")
        try await ledger.endMultipartUpload(key: key, uploadID: "u1")
        #expect(try await ledger.multipartUpload(forKey: key) == nil)
        try await ledger.endMultipartUpload(key: key, uploadID: "u1")  // idempotent
        let parts = try await temporary.rowCount("multipart_upload_parts")
        #expect(parts == 0)
    }

    @Test("uploads started before a cutoff are listed oldest first, with their parts", arguments: StoreKind.allCases)
    func listsUploadsStartedBeforeACutoff(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let ledger = temporary.store
        try await ledger.beginMultipartUpload(key: "b", uploadID: "ub", fileSize: 100, fileCRC64: 1, partSize: 50, now: hour(2))
        try await ledger.beginMultipartUpload(key: "a", uploadID: "ua", fileSize: 100, fileCRC64: 2, partSize: 50, now: hour(1))
        try await ledger.beginMultipartUpload(key: "c", uploadID: "uc", fileSize: 100, fileCRC64: 3, partSize: 50, now: hour(3))
        try await ledger.recordPart(part(2, size: 50), key: "b", uploadID: "ub")
        let stale = try await ledger.multipartUploads(startedBefore: hour(3))
        #expect(stale.map(\.key) == ["a", "b"])
        #expect(stale.map(\.parts) == [[], [part(2, size: 50)]])
        #expect(try await ledger.multipartUploads(startedBefore: hour(1)).isEmpty, "the cutoff is exclusive")
    }

    @Test("the schema refuses impossible rows", arguments: StoreKind.allCases)
    func schemaRefusesImpossibleRows(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        let ledger = temporary.store
        await #expect(throws: (any Error).self) {
            try await ledger.beginMultipartUpload(key: key, uploadID: "", fileSize: 100, fileCRC64: 7, partSize: 50, now: hour(1))
        }
        await #expect(throws: (any Error).self) {
            try await ledger.beginMultipartUpload(key: key, uploadID: "u", fileSize: 100, fileCRC64: 7, partSize: 0, now: hour(1))
        }
        try await ledger.beginMultipartUpload(key: key, uploadID: "u", fileSize: 100, fileCRC64: 7, partSize: 50, now: hour(1))
        await #expect(throws: (any Error).self) {
            try await ledger.recordPart(part(10_001, size: 50), key: key, uploadID: "u")
        }
        await #expect(throws: (any Error).self) {
            var bad = part(1, size: 50)
            bad.md5 = "short"
            try await ledger.recordPart(bad, key: key, uploadID: "u")
        }
        #expect(try await ledger.multipartUpload(forKey: key)?.parts == [])
    }

    @Test("the ledger survives reopening the database", arguments: StoreKind.allCases)
    func survivesReopening(kind: StoreKind) async throws {
        let temporary = try await StoreUnderTest(kind)
        try await temporary.store.beginMultipartUpload(
            key: key, uploadID: "u1", fileSize: 100, fileCRC64: 7, partSize: 50, now: hour(1))
        try await temporary.store.recordPart(part(1, size: 50), key: key, uploadID: "u1")
        let reopened = try await temporary.reopened()
        #expect(try await reopened.multipartUpload(forKey: key)?.parts == [part(1, size: 50)])
    }
}
