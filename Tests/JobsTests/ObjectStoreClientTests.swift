import AsyncHTTPClient
import Core
import Crypto
import Foundation
@testable import Jobs
import Logging
@testable import ObjectStorage
import TestSupport
import Testing

/// The object store client end to end against a real `rclone serve s3` that checks SigV4 signatures.
@Suite struct ObjectStoreClientTests {
    /// A client of `configuration` logging into `logs`.
    static func client(_ configuration: ObjectStoreConfiguration, logs: TencentLogCapture = TencentLogCapture()) -> ObjectStoreClient {
        ObjectStoreClient(configuration: configuration, httpClient: .shared, logger: logs.logger)
    }

    /// A scratch file of `size` deterministic pseudo-random bytes; returns its path and bytes.
    static func scratchFile(size: Int, seed: UInt64 = 1) throws -> (path: String, bytes: [UInt8]) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var bytes = [UInt8](repeating: 0, count: size)
        for index in bytes.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("object-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return (path, bytes)
    }

    static func md5(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        Array(Insecure.MD5.hash(data: Array(bytes)))
    }

    /// Runs `body` against a fresh rclone with buckets `logs` and `other`, with a scratch file of `size` bytes.
    static func withStore(
        fileSize: Int = 256 << 10, _ body: (RcloneS3Server, ObjectStoreClient, (path: String, bytes: [UInt8])) async throws -> Void
    ) async throws {
        let file = try scratchFile(size: fileSize)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        try await RcloneS3Server.with(buckets: ["logs", "other"]) { server in
            try await body(server, client(server.configuration()), file)
        }
    }

    @Test func putStreamsAFileRegionAndHeadReportsSizeAndMD5ETag() async throws {
        try await Self.withStore(fileSize: 3 << 20 + 12345) { server, client, file in
            let region = (1 << 20) + 7..<file.bytes.count - 99
            let key = "cdnlog/www.test.com/20190904/201909042300-www.test.com.gz"
            let md5 = Self.md5(file.bytes[region])
            let result = try await client.putObject(
                key: key, filePath: file.path, offset: Int64(region.lowerBound), length: Int64(region.count),
                contentMD5: md5)
            #expect(result == UploadResult(etag: md5.hexString, crc64: nil))
            let stored = try #require(FileManager.default.contents(atPath: server.path(key: key)))
            #expect(Array(stored) == Array(file.bytes[region]))

            let head = try #require(try await client.head(key: key))
            #expect(head == ObjectHead(size: Int64(region.count), etag: md5.hexString, crc64: nil))
        }
    }

    @Test func keysWithReservedCharactersAreSignedAndStoredVerbatim() async throws {
        try await Self.withStore { server, client, file in
            let key = "cdnlog/a b+c/x$y(1)~=&腾讯.gz"
            _ = try await client.putObject(
                key: key, filePath: file.path, offset: 0, length: 10, contentMD5: Self.md5(file.bytes[0..<10]))
            #expect(FileManager.default.contents(atPath: server.path(key: key)).map(Array.init) == Array(file.bytes[0..<10]))
            #expect(try await client.head(key: key)?.size == 10)
        }
    }

    @Test func headOfAMissingKeyIsNil() async throws {
        try await Self.withStore { _, client, _ in
            let head = try await client.head(key: "cdnlog/none.gz")
            #expect(head == nil)
        }
    }

    @Test func aWrongSecretIsAPermanentSignatureDoesNotMatch() async throws {
        try await Self.withStore { server, _, file in
            let logs = TencentLogCapture()
            let client = Self.client(server.configuration(secret: "not-the-secret-at-all"), logs: logs)
            let error = try await #require(throws: ObjectStoreError.self) {
                try await client.putObject(
                    key: "a.gz", filePath: file.path, offset: 0, length: 10, contentMD5: Self.md5(file.bytes[0..<10]))
            }
            #expect(error.code == "SignatureDoesNotMatch" && error.disposition == .permanent && error.httpStatus == 403)
            #expect(error.message.contains("bucket logs") && error.message.contains("sink.secret_key"))
            #expect(!error.description.contains("not-the-secret-at-all"))
            #expect(!logs.lines.joined().contains("not-the-secret-at-all"))
            #expect(!FileManager.default.fileExists(atPath: server.path(key: "a.gz")))
        }
    }

    @Test func anUnknownAccessKeyIsAPermanentInvalidAccessKeyId() async throws {
        try await Self.withStore { server, _, file in
            let client = Self.client(server.configuration(accessKeyID: "AKIDUNKNOWNKEY000000"))
            let error = try await #require(throws: ObjectStoreError.self) {
                try await client.putObject(
                    key: "a.gz", filePath: file.path, offset: 0, length: 10, contentMD5: Self.md5(file.bytes[0..<10]))
            }
            #expect(error.code == "InvalidAccessKeyId" && !error.isRetryable)
            #expect(error.message.contains("AKID…0000") && error.message.contains("sink.secret_id"))
            // HEAD answers carry no error body: the status alone makes it permanent.
            let headError = try await #require(throws: ObjectStoreError.self) { try await client.head(key: "a.gz") }
            #expect(headError.code == "store.http_status" && headError.httpStatus == 403 && !headError.isRetryable)
        }
    }

    @Test func aMissingBucketIsAPermanentNoSuchBucket() async throws {
        try await Self.withStore { server, _, file in
            let client = Self.client(server.configuration(bucket: "missing"))
            let error = try await #require(throws: ObjectStoreError.self) {
                try await client.putObject(
                    key: "a.gz", filePath: file.path, offset: 0, length: 10, contentMD5: Self.md5(file.bytes[0..<10]))
            }
            #expect(error.code == "NoSuchBucket" && !error.isRetryable && error.httpStatus == 404)
            #expect(error.message.contains("s3 bucket missing at \(server.endpoint)") && error.message.contains("sink.bucket"))
            #expect(error.requestID != nil)
        }
    }

    @Test func aBodyNotMatchingItsContentMD5IsARetryableBadDigestAndNothingIsStored() async throws {
        try await Self.withStore { server, client, file in
            let error = try await #require(throws: ObjectStoreError.self) {
                try await client.putObject(
                    key: "a.gz", filePath: file.path, offset: 0, length: 100, contentMD5: Self.md5(file.bytes[1..<101]))
            }
            #expect(error.code == "BadDigest" && error.isRetryable && error.requestID != nil)
            #expect(!FileManager.default.fileExists(atPath: server.path(key: "a.gz")))
        }
    }

    @Test func aFileShorterThanTheRegionFailsBeforeSending() async throws {
        try await Self.withStore { _, client, file in
            let error = try await #require(throws: ObjectStoreError.self) {
                try await client.putObject(
                    key: "a.gz", filePath: file.path, offset: 1, length: Int64(file.bytes.count), contentMD5: Self.md5([]))
            }
            #expect(error.code == "store.file" && error.isRetryable)
        }
    }

    /// rclone enforces no minimum part size (S3 and COS want 5 MiB / 1 MB except for the last part), so
    /// 1 MiB parts keep this fast; it streams parts in ascending order, which is how they are sent here.
    @Test func multipartUploadAssemblesThePartsInOrder() async throws {
        try await Self.withStore(fileSize: 2 << 20 + 4321) { server, client, file in
            let key = "cdnlog/big.gz"
            let uploadID = try await client.createMultipartUpload(key: key)
            let bounds = [0, 1 << 20, 2 << 20, file.bytes.count]
            var parts: [(number: Int, etag: String)] = []
            for number in 1...3 {
                let range = bounds[number - 1]..<bounds[number]
                let md5 = Self.md5(file.bytes[range])
                let result = try await client.uploadPart(
                    key: key, uploadID: uploadID, partNumber: number, filePath: file.path,
                    offset: Int64(range.lowerBound), length: Int64(range.count), contentMD5: md5)
                #expect(result.etag == md5.hexString)
                parts.append((number, try #require(result.etag)))
            }
            let listed = try await client.listMultipartUploads(prefix: "cdnlog/")
            #expect(listed.map(\.uploadID) == [uploadID] && listed.first?.key == key)
            #expect(abs(try #require(listed.first).initiated.timeIntervalSinceNow) < 300)

            let result = try await client.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts.reversed())
            #expect(result.etag?.hasSuffix("-3") == true)
            #expect(FileManager.default.contents(atPath: server.path(key: key)).map(Array.init) == file.bytes)
            #expect(try await client.head(key: key)?.size == Int64(file.bytes.count))
            #expect(try await client.listMultipartUploads(prefix: "cdnlog/").isEmpty)
        }
    }

    @Test func abortDiscardsTheUploadAndCountsAnUnknownUploadAsDone() async throws {
        try await Self.withStore { server, client, file in
            let uploadID = try await client.createMultipartUpload(key: "cdnlog/aborted.gz")
            _ = try await client.uploadPart(
                key: "cdnlog/aborted.gz", uploadID: uploadID, partNumber: 1, filePath: file.path, offset: 0,
                length: 1000, contentMD5: Self.md5(file.bytes[0..<1000]))
            try await client.abortMultipartUpload(key: "cdnlog/aborted.gz", uploadID: uploadID)
            #expect(try await client.listMultipartUploads(prefix: "").isEmpty)
            try await client.abortMultipartUpload(key: "cdnlog/aborted.gz", uploadID: uploadID)

            let error = try await #require(throws: ObjectStoreError.self) {
                try await client.uploadPart(
                    key: "cdnlog/aborted.gz", uploadID: uploadID, partNumber: 2, filePath: file.path, offset: 0,
                    length: 10, contentMD5: Self.md5(file.bytes[0..<10]))
            }
            #expect(error.code == "NoSuchUpload" && !error.isRetryable)
            #expect(!FileManager.default.fileExists(atPath: server.path(key: "cdnlog/aborted.gz")))
        }
    }

    @Test func listingFiltersUploadsByPrefix() async throws {
        try await Self.withStore { _, client, _ in
            let first = try await client.createMultipartUpload(key: "cdnlog/a.example/1.gz")
            let second = try await client.createMultipartUpload(key: "cdnlog/b.example/2.gz")
            _ = try await client.createMultipartUpload(key: "elsewhere/3.gz")
            let listed = try await client.listMultipartUploads(prefix: "cdnlog/")
            #expect(Set(listed.map(\.uploadID)) == [first, second])
            #expect(Set(listed.map(\.key)) == ["cdnlog/a.example/1.gz", "cdnlog/b.example/2.gz"])
            #expect(try await client.listMultipartUploads(prefix: "").count == 3)
        }
    }
}
