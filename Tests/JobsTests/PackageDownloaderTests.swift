import AsyncHTTPClient
import Core
import Crypto
import Foundation
import Hummingbird
import JobModel
import Logging
import NIOCore
import Synchronization
import Testing

@testable import Jobs

/// Downloads against a real HTTP server on loopback.
@Suite struct PackageDownloaderTests {
    static let payload = gzipCompress(sampleLogLines(count: 3000))

    @Test func downloadsAndDigestsAPackage() async throws {
        try await withDownloadServer { downloader, base in
            let package = testPackage(base + "/ok?sign=secret", size: Int64(Self.payload.count))
            let file = try await downloader.download(package)
            #expect(file.size == Int64(Self.payload.count))
            #expect(file.crc64 == bitwiseCRC64(Self.payload))
            #expect(file.md5 == Insecure.MD5.hash(data: Self.payload).map { String(format: "%02x", $0) }.joined())
            #expect(file.sha256 == SHA256.hash(data: Self.payload).map { String(format: "%02x", $0) }.joined())
            #expect(FileManager.default.contents(atPath: file.path) == Data(Self.payload))
            #expect(file.path.hasPrefix(downloader.spoolDirectory + "/") && file.path.hasSuffix(".part"))
            let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test func logsThePathButNeverTheSignedQuery() async throws {
        let logs = LogCapture()
        try await withDownloadServer(logs: logs) { downloader, base in
            _ = try await downloader.download(testPackage(base + "/ok?sign=secret", size: nil))
            await #expect(throws: TransferError.self) {
                try await downloader.download(testPackage(base + "/missing?sign=secret", size: nil))
            }
        }
        let lines = logs.lines
        #expect(lines.contains { $0.contains("http.path=/ok") })
        #expect(lines.contains { $0.contains("error.code=download.http_status") })
        #expect(!lines.contains { $0.contains("secret") })
    }

    @Test func downloadsAChunkedBodyWithoutAnnouncedSize() async throws {
        try await withDownloadServer { downloader, base in
            let file = try await downloader.download(testPackage(base + "/chunked", size: nil))
            #expect(file.size == Int64(Self.payload.count))
            #expect(file.crc64 == bitwiseCRC64(Self.payload))
        }
    }

    @Test(arguments: [
        ("/truncated", Int64?.none, "download.truncated", Int?.none),
        ("/short", Int64?.some(Int64(PackageDownloaderTests.payload.count)), "download.size_mismatch", nil),
        ("/short", nil, "download.corrupt_gzip", nil),
        ("/ok", Int64?.some(12), "download.size_mismatch", nil),
        ("/corrupt", nil, "download.corrupt_gzip", nil),
        ("/plain", nil, "download.corrupt_gzip", nil),
        ("/missing", nil, "download.http_status", 404),
        ("/unavailable", nil, "download.http_status", 503),
    ])
    func rejectsABadDownloadAndLeavesNoFile(path: String, size: Int64?, code: String, status: Int?) async throws {
        try await withDownloadServer { downloader, base in
            let error = await #expect(throws: TransferError.self) {
                try await downloader.download(testPackage(base + path, size: size))
            }
            #expect(error?.code == code)
            #expect(error?.isRetryable == true)
            #expect(error?.httpStatus == status)
            let left = try FileManager.default.contentsOfDirectory(atPath: downloader.spoolDirectory)
            #expect(left.isEmpty)
        }
    }

    @Test func reportsARefusedConnectionAsANetworkError() async throws {
        try await withDownloadServer { downloader, _ in
            // AsyncHTTPClient keeps retrying a refused connection until the deadline: keep it short.
            let impatient = PackageDownloader(
                httpClient: downloader.httpClient, spoolDirectory: downloader.spoolDirectory,
                logger: Logger(label: "test.downloader"), timeout: .milliseconds(200))
            let error = await #expect(throws: TransferError.self) {
                try await impatient.download(testPackage("http://127.0.0.1:1/x.gz", size: nil))
            }
            #expect(error?.code == "download.network")
            let left = try FileManager.default.contentsOfDirectory(atPath: downloader.spoolDirectory)
            #expect(left.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func abandonsABodyThatTricklesBelowTheFloorAsStalled() async throws {
        // 16 bytes every 50 ms is at most 320 B/s, far below the floor however loaded the machine.
        let limits = TransferLimits(timeout: .seconds(30), minimumBytesPerSecond: 1000, stallWindow: .milliseconds(500))
        try await withDownloadServer(limits: limits) { downloader, base in
            let started = ContinuousClock.now
            let error = await #expect(throws: TransferError.self) {
                try await downloader.download(testPackage(base + "/trickle", size: Int64(Self.payload.count)))
            }
            #expect(error?.code == "download.stalled")
            #expect(error?.isRetryable == true)
            let message = error?.message ?? ""
            #expect(message.contains("below the floor of 1000 B/s"), "\(message)")
            #expect(ContinuousClock.now - started < .seconds(20), "stopped by the floor, long before the deadline")
            let left = try FileManager.default.contentsOfDirectory(atPath: downloader.spoolDirectory)
            #expect(left.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func endsABodyStillArrivingAtTheTotalDeadline() async throws {
        // No floor: only the total deadline, which must cover the body and not just the headers. The
        // deadline leaves the headers seconds to arrive on a loaded machine; the trickled body takes minutes.
        let limits = TransferLimits(timeout: .seconds(5), minimumBytesPerSecond: 0)
        try await withDownloadServer(limits: limits) { downloader, base in
            let error = await #expect(throws: TransferError.self) {
                try await downloader.download(testPackage(base + "/trickle", size: nil))
            }
            #expect(error?.code == "download.timeout")
            #expect(error?.isRetryable == true)
            let message = error?.message ?? ""
            #expect(message.contains("did not finish within 5 s"), "\(message)")
            let left = try FileManager.default.contentsOfDirectory(atPath: downloader.spoolDirectory)
            #expect(left.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func stopsReadingABodyThatGoesOnPastTheListedSize() async throws {
        // The server sends the package twice (valid gzip both times) and then holds the connection open:
        // only stopping at the listed size ends this download.
        try await withDownloadServer { downloader, base in
            let error = await #expect(throws: TransferError.self) {
                try await downloader.download(testPackage(base + "/overlong", size: Int64(Self.payload.count)))
            }
            #expect(error?.code == "download.size_mismatch")
            let message = error?.message ?? ""
            #expect(message.contains("past the listing's size of \(Self.payload.count) bytes"), "\(message)")
            let left = try FileManager.default.contentsOfDirectory(atPath: downloader.spoolDirectory)
            #expect(left.isEmpty)
        }
    }

    @Test func keepsAFastDownloadUnderATightFloor() async throws {
        let limits = TransferLimits(timeout: .seconds(30), minimumBytesPerSecond: 1000, stallWindow: .milliseconds(500))
        try await withDownloadServer(limits: limits) { downloader, base in
            let file = try await downloader.download(testPackage(base + "/chunked", size: Int64(Self.payload.count)))
            #expect(file.crc64 == bitwiseCRC64(Self.payload))
        }
    }

    @Test func rejectsALinkThatIsNotHTTPForGood() async throws {
        try await withDownloadServer { downloader, _ in
            let error = await #expect(throws: TransferError.self) {
                try await downloader.download(testPackage("ftp://example.com/x.gz", size: nil))
            }
            #expect(error?.code == "download.invalid_url")
            #expect(error?.isRetryable == false)
        }
    }

    @Test func removesLeftoverPartFilesOnly() async throws {
        try await withDownloadServer { downloader, _ in
            let spool = downloader.spoolDirectory
            try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
            for name in ["a.part", "b.part", "keep.txt"] {
                #expect(FileManager.default.createFile(atPath: spool + "/" + name, contents: Data([1])))
            }
            try downloader.removeLeftovers()
            let left = try FileManager.default.contentsOfDirectory(atPath: spool)
            #expect(left == ["keep.txt"])
        }
    }

    /// The router: every way a package download can go.
    static func router() -> Router<BasicRequestContext> {
        let router = Router()
        let payload = Self.payload
        router.get("ok") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: payload))) }
        router.get("chunked") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                for start in stride(from: 0, to: payload.count, by: 1000) {
                    try await writer.write(ByteBuffer(bytes: payload[start..<min(payload.count, start + 1000)]))
                }
                try await writer.finish(nil)
            })
        }
        router.get("truncated") { _, _ in
            // Announces the whole length, sends half, then drops the connection.
            Response(status: .ok, body: ResponseBody(contentLength: payload.count) { writer in
                try await writer.write(ByteBuffer(bytes: payload[..<(payload.count / 2)]))
                throw CancellationError()
            })
        }
        router.get("short") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: payload[..<(payload.count - 9)])))
        }
        router.get("corrupt") { _, _ in
            var bytes = payload
            bytes[bytes.count / 2] ^= 0x55
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("trickle") { _, _ in
            // Headers at once, then the package 16 bytes at a time, every 50 ms.
            Response(status: .ok, body: ResponseBody(contentLength: payload.count) { writer in
                for start in stride(from: 0, to: payload.count, by: 16) {
                    try await writer.write(ByteBuffer(bytes: payload[start..<min(payload.count, start + 16)]))
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await writer.finish(nil)
            })
        }
        router.get("overlong") { _, _ in
            // Chunked, so only the listing tells the size; the body never ends.
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(bytes: payload))
                try await writer.write(ByteBuffer(bytes: payload))
                while true {
                    try await Task.sleep(for: .milliseconds(50))
                    try await writer.write(ByteBuffer(bytes: [0]))
                }
            })
        }
        router.get("plain") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "hello\n"))) }
        router.get("missing") { _, _ in Response(status: .notFound) }
        router.get("unavailable") { _, _ in Response(status: .serviceUnavailable) }
        return router
    }
}

/// A package of www.test.com at `url`.
private func testPackage(_ url: String, size: Int64?) -> LogPackage {
    LogPackage(name: "2019090423-www.test.com.gz", area: "mainland", hour: Date(timeIntervalSince1970: 1_567_609_200),
               url: url, announcedSize: size)
}

/// Runs `body` with a downloader (bounded by `limits`, on the real clock) spooling into a fresh directory
/// and the base URL of a live test server.
private func withDownloadServer(
    logs: LogCapture = LogCapture(),
    limits: TransferLimits = TransferLimits(timeout: .seconds(30)),
    _ body: @Sendable (PackageDownloader, String) async throws -> Void
) async throws {
    let spool = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: spool) }
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    var quiet = Logger(label: "test.server")
    quiet.logLevel = .critical
    let app = Application(
        router: PackageDownloaderTests.router(),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        },
        logger: quiet
    )
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let downloader = PackageDownloader(
                httpClient: client, spoolDirectory: spool, logger: logs.logger, limits: limits)
            try await body(downloader, "http://127.0.0.1:\(port)")
            group.cancelAll()
        }
    } catch {
        try await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

/// Collects log lines in memory instead of printing them.
final class LogCapture: Sendable {
    private let storage = Mutex<[String]>([])

    /// Every line so far, as `level message key=value ...` with the metadata sorted.
    var lines: [String] { storage.withLock { $0 } }

    /// A logger at trace level that writes here.
    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) { storage.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = merged.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(fields)")
        }
    }
}
