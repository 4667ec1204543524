import AsyncHTTPClient
import Core
import Foundation
import Hummingbird
import JobModel
import Logging
import NIOCore
import ObjectStorage
import Synchronization
import TestSupport
import Testing

@testable import Jobs

/// `LogPackageTransfer` with the S3 sink against `rclone serve s3` (behind the counting proxy) and a
/// package served over loopback: the parts go up while the package downloads, and a package that turns
/// out corrupt, truncated or of another size never becomes an object and leaves no upload behind.
@Suite("Pipelined transfer into an object store")
struct PipelinedTransferTests {
    static let partSize: Int64 = 5 << 20
    /// 18 MiB that deflate cannot shrink: four parts of 5 MiB and a shorter fifth... of the gzip stream.
    static let package = gzipCompress(sinkTestBytes(18 << 20, seed: 11))
    static let window = Window(source: "tencent-cdn", domain: "www.test.com", hour: Date(timeIntervalSince1970: 1_567_609_200))

    @Test("the parts go up while the package downloads; the object is byte-identical and the ledger left empty")
    func partsGoUpWhileDownloading() async throws {
        try await SinkTestBed.run { bed in
            try await PackageServer.serve(Served(bytes: Self.package, gate: bed.proxy)) { url, server in
                let transfer = makeTransfer(bed, url: url, announcedSize: Int64(Self.package.count))
                let outcome = try await transfer.transfer(Self.window)
                guard case .stored(let records) = outcome, let record = records.first else {
                    Issue.record("nothing stored: \(outcome)")
                    return
                }
                #expect(server.partsSeenBeforeTheRest, "a part reached the store before the rest of the package was sent")
                #expect(record.size == Int64(Self.package.count))
                #expect(record.crc64 == CRC64.checksum(Self.package))
                #expect(record.etag != nil)
                #expect(bed.stored(record.objectKey) == Self.package)
                #expect(bed.proxy.counters.partsForwarded == 4)
                #expect(try await bed.ledger.multipartUpload(forKey: record.objectKey) == nil)
                #expect(try await bed.uploadsInProgress().isEmpty)
                #expect(bed.logs.lines.contains { $0.contains("package stored while downloading") })
            }
        }
    }

    /// Ways a package can be wrong, each found only after some of its parts were uploaded.
    enum Corruption: String, CaseIterable, Sendable {
        /// A byte of the gzip trailer's CRC32 flipped.
        case badTrailer
        /// A bit flipped in the middle of the compressed data.
        case bitFlipInTheMiddle
        /// The listing announces more bytes than the body (no Content-Length) has.
        case wrongSize
        /// Content-Length announces the whole package, the connection drops part-way.
        case truncated

        var expectedCode: String {
            switch self {
            case .badTrailer, .bitFlipInTheMiddle: "download.corrupt_gzip"
            case .wrongSize: "download.size_mismatch"
            case .truncated: "download.truncated"
            }
        }
    }

    @Test("a corrupt package never becomes an object, and its multipart upload is aborted", arguments: Corruption.allCases)
    func corruptPackageIsAborted(_ corruption: Corruption) async throws {
        var bytes = Self.package
        var served = Served(bytes: bytes, gate: nil)
        var announced = Int64(bytes.count)
        switch corruption {
        case .badTrailer: bytes[bytes.count - 8] ^= 0x01
        case .bitFlipInTheMiddle: bytes[bytes.count / 2] ^= 0x10
        case .wrongSize:
            announced += 4096
            served.chunked = true
        case .truncated: served.dropAfter = bytes.count * 3 / 4
        }
        served.bytes = bytes
        let announcedSize = announced
        try await SinkTestBed.run { bed in
            served.gate = bed.proxy
            try await PackageServer.serve(served) { url, server in
                let transfer = makeTransfer(bed, url: url, announcedSize: announcedSize)
                let failure = await #expect(throws: TransferError.self) { try await transfer.transfer(Self.window) }
                #expect(failure?.code == corruption.expectedCode, "\(String(describing: failure))")
                #expect(server.partsSeenBeforeTheRest, "parts were uploaded before the package was found wrong")
                #expect(bed.proxy.counters.partsForwarded >= 1)
                #expect(bed.proxy.counters.requests["POST"] == 1, "the upload was created, never completed")
                let key = "logs/www.test.com/2019090423-www.test.com.gz"
                let head = try await bed.client(throughProxy: false).head(key: key)
                #expect(head == nil, "no object at the key")
                #expect(storedFiles(bed).isEmpty, "the bucket lists no object")
                let uploads = try await bed.uploadsInProgress()
                #expect(uploads.isEmpty, "the multipart upload was aborted")
                let recorded = try await bed.ledger.multipartUpload(forKey: key)
                #expect(recorded == nil)
                #expect(bed.logs.lines.contains { $0.contains("multipart upload aborted") })
            }
        }
    }

    @Test("a pipelined upload cut short resumes with the parts the ledger has, verified against the new download")
    func interruptedUploadResumes() async throws {
        try await SinkTestBed.run { bed in
            try await PackageServer.serve(Served(bytes: Self.package, gate: nil)) { url, _ in
                bed.proxy.inject(.init(partsBeforeFailure: 2))
                let transfer = makeTransfer(bed, url: url, announcedSize: Int64(Self.package.count))
                await #expect(throws: (any Error).self) { try await transfer.transfer(Self.window) }
                let key = "logs/www.test.com/2019090423-www.test.com.gz"
                let record = try #require(try await bed.ledger.multipartUpload(forKey: key))
                #expect(record.parts.count == 2)
                #expect(try await bed.uploadsInProgress().map(\.uploadID) == [record.uploadID])

                bed.proxy.inject(.init())
                bed.proxy.resetCounters()
                let again = makeTransfer(bed, url: url, announcedSize: Int64(Self.package.count))
                _ = try await again.transfer(Self.window)
                let counters = bed.proxy.counters
                #expect(counters.requests["POST"] == 1, "no new upload: only Complete")
                #expect(counters.partsForwarded == 2, "parts 3 and 4 only")
                #expect(counters.putBytesForwarded == Int64(Self.package.count) - record.parts.reduce(0) { $0 + $1.size })
                #expect(bed.stored(key) == Self.package)
                #expect(try await bed.ledger.multipartUpload(forKey: key) == nil)
                #expect(try await bed.uploadsInProgress().isEmpty)
                #expect(bed.logs.lines.contains { $0.contains("resuming a multipart upload") && $0.contains("upload.parts_done=2") })
            }
        }
    }

    /// The transfer of the one package at `url`, into the bed's sink in 5 MiB parts (multipart from 5 MiB).
    private func makeTransfer(_ bed: SinkTestBed, url: String, announcedSize: Int64) -> LogPackageTransfer {
        let downloader = PackageDownloader(
            httpClient: bed.httpClient, spoolDirectory: bed.directory + "/spool", logger: bed.logs.logger,
            limits: TransferLimits(timeout: .seconds(120)))
        let package = LogPackage(
            name: "2019090423-www.test.com.gz", area: "mainland", hour: Self.window.hour, url: url, announcedSize: announcedSize)
        return LogPackageTransfer(
            source: OnePackage(package: package), downloader: downloader,
            sink: bed.sink(multipartThreshold: Self.partSize, minimumPartSize: Self.partSize, partConcurrency: 2),
            keyTemplate: try! KeyTemplate("logs/{domain}/{filename}"), logger: bed.logs.logger)
    }

    /// Every file under the bucket's directory: the objects rclone holds.
    private func storedFiles(_ bed: SinkTestBed) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: bed.objectsDirectory) else { return [] }
        return walker.compactMap { $0 as? String }.filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: bed.objectsDirectory + name, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }
}

/// A source listing one package whatever the window.
private struct OnePackage: LogSource {
    let package: LogPackage
    var sourceName: String { "tencent-cdn" }
    func packages(domain: String, hour: Date) async throws -> [LogPackage] { [package] }
    func domains() async throws -> [String] { ["www.test.com"] }
}

/// How the package server answers.
private struct Served: Sendable {
    var bytes: [UInt8]
    /// When set, the first part's bytes are sent, then the rest only once this proxy forwarded a part
    /// (or after a minute): the proof that parts go up while the package downloads.
    var gate: SinkFaultingProxy?
    /// Without Content-Length.
    var chunked = false
    /// Drop the connection after this many bytes (Content-Length announces them all).
    var dropAfter: Int?
}

/// A loopback HTTP server answering every GET with the package as `Served` says.
private final class PackageServer: Sendable {
    private let sawPart = Mutex(false)

    /// Whether a part had reached the store when the server went on past the first part.
    var partsSeenBeforeTheRest: Bool { sawPart.withLock { $0 } }

    static func serve(_ served: Served, _ body: @Sendable (String, PackageServer) async throws -> Void) async throws {
        let server = PackageServer()
        let router = Router()
        router.get("package") { _, _ in server.response(served) }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = Logger(label: "test.package-server")
        quiet.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body("http://127.0.0.1:\(port)/package?sign=secret", server)
            group.cancelAll()
        }
    }

    private func response(_ served: Served) -> Response {
        let bytes = served.bytes
        let firstPart = Int(PipelinedTransferTests.partSize) + 4096
        return Response(
            status: .ok,
            body: ResponseBody(contentLength: served.chunked ? nil : bytes.count) { writer in
                var sent = 0
                let end = served.dropAfter ?? bytes.count
                while sent < end {
                    let next = min(end, sent + (64 << 10))
                    try await writer.write(ByteBuffer(bytes: bytes[sent..<next]))
                    if sent < firstPart && next >= firstPart, let gate = served.gate {
                        try await self.waitForAPart(through: gate)
                    }
                    sent = next
                }
                if served.dropAfter != nil { throw CancellationError() }
                try await writer.finish(nil)
            })
    }

    /// Waits until `proxy` forwarded a part, up to a minute; notes whether it did.
    private func waitForAPart(through proxy: SinkFaultingProxy) async throws {
        for _ in 0..<3000 {
            if proxy.counters.partsForwarded > 0 {
                sawPart.withLock { $0 = true }
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
