import AsyncHTTPClient
import Foundation
import JobModel
@testable import Jobs
@testable import ObjectStorage
@testable import Store
import TestSupport
import Testing

/// A later pass over a window does not download again what the database recorded as stored and the
/// sink still holds unchanged (same size and ETag), whatever the store reports of checksums; what was
/// deleted or replaced in between is downloaded and stored again.
@Suite("Downloads avoided on later passes", .serialized)
struct DownloadAvoidanceTests {
    static let bucket = "archive"

    /// An S3 sink on `server` (rclone: no CRC64, and a multipart object's ETag is no MD5); with
    /// `multipart`, every package goes up in 32 KiB parts.
    static func s3Sink(_ server: RcloneS3Server, multipart: Bool) -> (SQLiteJobStore, HTTPClient) -> any ObjectSink {
        { store, httpClient in
            ObjectStoreSink(
                client: ObjectStoreClient(configuration: server.configuration(bucket: bucket), httpClient: httpClient, logger: quietLogger),
                ledger: store, multipartThreshold: multipart ? 32 << 10 : 64 << 20, minimumPartSize: multipart ? 32 << 10 : 8 << 20,
                logger: quietLogger)
        }
    }

    @Test("a reconcile pass over an S3 store downloads nothing, and status counts the downloads avoided", arguments: [false, true])
    func reconcileOverS3DownloadsNothing(multipart: Bool) async throws {
        try await RcloneS3Server.with(buckets: [Self.bucket]) { server in
            try await PassPipeline.run(sink: Self.s3Sink(server, multipart: multipart)) { pipeline in
                try await pipeline.copy()
                let copied = try await pipeline.records()
                #expect(copied.count == 3)
                #expect(pipeline.downloads == 3)
                #expect(copied.allSatisfy { $0.etag != nil && $0.downloaded && !$0.skipped })

                try await pipeline.reconcile()
                #expect(pipeline.downloads == 3, "the reconcile pass downloads nothing")
                let reconciled = try await pipeline.records()
                #expect(reconciled.map(\.objectKey) == copied.map(\.objectKey))
                #expect(reconciled.allSatisfy { $0.skipped && !$0.downloaded })
                #expect(reconciled.map(\.sha256) == copied.map(\.sha256), "the records carry the verified checksums forward")
                #expect(reconciled.map(\.etag) == copied.map(\.etag))
                let status = try await pipeline.store.status(recentFailureLimit: 0)
                #expect(status.downloadsAvoided == AvoidedDownloads(copy: 0, reconcile: 3))
                #expect(status.domains.first?.downloadsAvoided.total == 3)
                #expect(status.settling == SettleCounts(final: 3, replaced: 0))
            }
        }
    }

    @Test("an object deleted or replaced in an S3 store between passes is downloaded and stored again")
    func changedObjectsInS3AreDownloadedAgain() async throws {
        try await RcloneS3Server.with(buckets: [Self.bucket]) { server in
            try await PassPipeline.run(sink: Self.s3Sink(server, multipart: false)) { pipeline in
                try await pipeline.copy()
                let copied = try await pipeline.records()
                let deleted = copied[0].objectKey
                let replaced = copied[1].objectKey
                let original = try #require(FileManager.default.contents(atPath: server.path(bucket: Self.bucket, key: replaced)))
                let client = ObjectStoreClient(
                    configuration: server.configuration(bucket: Self.bucket), httpClient: pipeline.httpClient, logger: quietLogger)
                try await client.send(ObjectStoreRequest(method: "DELETE", key: deleted)).requireSuccess()
                #expect(try await client.head(key: deleted) == nil)
                try await Self.put(Self.altered(original), at: replaced, client: client)

                try await pipeline.reconcile()
                #expect(pipeline.downloads == 3 + 2, "the deleted and the replaced package are downloaded again, the third is not")
                let reconciled = try await pipeline.records()
                #expect(reconciled.map(\.downloaded) == [true, true, false])
                #expect(FileManager.default.contents(atPath: server.path(bucket: Self.bucket, key: deleted)) != nil)
                #expect(FileManager.default.contents(atPath: server.path(bucket: Self.bucket, key: replaced)) == original)
                let status = try await pipeline.store.status(recentFailureLimit: 0)
                #expect(status.downloadsAvoided == AvoidedDownloads(copy: 0, reconcile: 1))
                #expect(status.settling.replaced == 2)
            }
        }
    }

    @Test("a reconcile pass over a local directory downloads nothing, and status counts the downloads avoided")
    func reconcileOverLocalDirectoryDownloadsNothing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("avoided-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await PassPipeline.run(sink: { _, _ in try LocalDirectorySink(directory: directory) }) { pipeline in
            try await pipeline.copy()
            let copied = try await pipeline.records()
            #expect(copied.count == 3 && pipeline.downloads == 3)
            #expect(copied.allSatisfy { $0.etag != nil && $0.downloaded })

            try await pipeline.reconcile()
            #expect(pipeline.downloads == 3, "the reconcile pass downloads nothing")
            let reconciled = try await pipeline.records()
            #expect(reconciled.allSatisfy { $0.skipped && !$0.downloaded })
            #expect(reconciled.map(\.sha256) == copied.map(\.sha256))
            #expect(try await pipeline.store.status(recentFailureLimit: 0).downloadsAvoided == AvoidedDownloads(reconcile: 3))
        }
    }

    @Test("a file deleted or replaced by one of the same size in a local directory between passes is downloaded and stored again")
    func changedFilesInLocalDirectoryAreDownloadedAgain() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("avoided-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await PassPipeline.run(sink: { _, _ in try LocalDirectorySink(directory: directory) }) { pipeline in
            try await pipeline.copy()
            let copied = try await pipeline.records()
            let deleted = directory + "/" + copied[0].objectKey
            let replaced = directory + "/" + copied[1].objectKey
            let original = try #require(FileManager.default.contents(atPath: replaced))
            try FileManager.default.removeItem(atPath: deleted)
            try Data(Self.altered(original)).write(to: URL(fileURLWithPath: replaced))

            try await pipeline.reconcile()
            #expect(pipeline.downloads == 3 + 2, "the deleted and the replaced package are downloaded again, the third is not")
            #expect(try await pipeline.records().map(\.downloaded) == [true, true, false])
            #expect(FileManager.default.contents(atPath: replaced) == original)
            #expect(FileManager.default.fileExists(atPath: deleted))
            let status = try await pipeline.store.status(recentFailureLimit: 0)
            #expect(status.downloadsAvoided == AvoidedDownloads(reconcile: 1))
            #expect(status.settling.replaced == 2)
        }
    }

    /// `bytes` with the first one flipped: the same size, other content.
    static func altered(_ bytes: Data) -> [UInt8] {
        var altered = Array(bytes)
        altered[0] ^= 0xFF
        return altered
    }

    /// Stores `bytes` under `key` with one verified PUT, as another writer would.
    static func put(_ bytes: [UInt8], at key: String, client: ObjectStoreClient) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("replacement-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var digests = StreamingDigests()
        bytes.withUnsafeBytes { digests.update($0) }
        let file = digests.spooledFile(at: path)
        let md5 = try #require(ObjectStoreSink.bytes(ofHex: file.md5))
        _ = try await client.putObject(key: key, filePath: path, offset: 0, length: file.size, contentMD5: md5)
    }
}
