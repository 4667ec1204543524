import AsyncHTTPClient
import Core
import Foundation
import Jobs
import Logging
import ObjectStorage
import Store
import TestSupport

/// Everything a sink test needs: a real S3 store (`RcloneS3Server`), the counting and faulting proxy in
/// front of it, a real SQLite ledger, a scratch directory for spool files, and captured logs.
struct SinkTestBed: Sendable {
    /// The bucket every test uses.
    static let bucket = "archive"

    /// The store's configuration, straight to rclone.
    let storeConfiguration: ObjectStoreConfiguration
    /// Where rclone keeps the bucket's objects, as files named by their keys; ends with `/`.
    let objectsDirectory: String
    let proxy: SinkFaultingProxy
    let proxyEndpoint: String
    let httpClient: HTTPClient
    let ledger: SQLiteJobStore
    /// Scratch space, removed afterwards.
    let directory: String
    let logs: LogCapture

    /// Runs `body` in a fresh test bed and tears it down.
    static func run(_ body: (SinkTestBed) async throws -> Void) async throws {
        try await RcloneS3Server.with(buckets: [bucket]) { server in
            let storeConfiguration = server.configuration(bucket: bucket)
            let objectsDirectory = server.path(bucket: bucket, key: "")
            try await SinkFaultingProxy.serve(upstream: server.endpoint) { endpoint, proxy in
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sink-bed-\(UUID().uuidString)").path
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let ledger = try SQLiteJobStore(path: directory + "/ledger.sqlite")
                defer { try? ledger.close() }
                let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
                let bed = SinkTestBed(
                    storeConfiguration: storeConfiguration, objectsDirectory: objectsDirectory, proxy: proxy,
                    proxyEndpoint: endpoint, httpClient: httpClient, ledger: ledger,
                    directory: directory, logs: LogCapture())
                do {
                    try await body(bed)
                } catch {
                    try? await httpClient.shutdown()
                    throw error
                }
                try await httpClient.shutdown()
            }
        }
    }

    /// A client of the bucket, through the proxy (counted, faulted) or straight to the store.
    func client(throughProxy: Bool = true) -> ObjectStoreClient {
        var configuration = storeConfiguration
        if throughProxy { configuration.endpoint = proxyEndpoint }
        return ObjectStoreClient(configuration: configuration, httpClient: httpClient, logger: logs.logger)
    }

    /// A sink through the proxy, recording in the bed's ledger.
    func sink(
        multipartThreshold: Int64 = 64 << 20, minimumPartSize: Int64 = 8 << 20, partConcurrency: Int = 3,
        clock: any WallClock = SystemWallClock()
    ) -> ObjectStoreSink {
        ObjectStoreSink(
            client: client(), ledger: ledger, multipartThreshold: multipartThreshold, minimumPartSize: minimumPartSize,
            partConcurrency: partConcurrency, clock: clock, logger: logs.logger)
    }

    /// `bytes` written to a new spool file, with their digests.
    func spool(_ bytes: [UInt8]) throws -> SpooledFile {
        let path = directory + "/spooled-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var digests = StreamingDigests()
        bytes.withUnsafeBytes { digests.update($0) }
        return digests.spooledFile(at: path)
    }

    /// The bytes the store holds under `key`, nil when none.
    func stored(_ key: String) -> [UInt8]? {
        FileManager.default.contents(atPath: objectsDirectory + key).map { Array($0) }
    }

    /// The multipart uploads the store has in progress, asked directly.
    func uploadsInProgress() async throws -> [MultipartUploadListing] {
        try await client(throughProxy: false).listMultipartUploads(prefix: "")
    }
}

/// `count` bytes that look random (xorshift64), the same for the same seed.
func sinkTestBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state.littleEndian) { word in
                let length = min(8, count - offset)
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + length)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: word[..<length]))
            }
            offset += 8
        }
    }
    return bytes
}
