import AsyncHTTPClient
import CZlib
import Core
import Foundation
import Ingest
import JobModel
import Jobs
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Store
import TestSupport

/// A real receiver on a loopback port over a real SQLite spool in a temporary directory, with a local
/// directory sink and a manual clock; `stop()` it at the end of each test.
final class IngestTestBed: Sendable {
    let directory: URL
    let store: SQLiteJobStore
    let clock: ManualWallClock
    let configuration: IngestConfiguration
    let sink: any ObjectSink
    let transfer: StreamTransfer
    let sealer: StreamSealer
    let port: Int
    let client: HTTPClient
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// The endpoint every test posts to unless it configures its own.
    static let endpoint = IngestEndpoint(path: "/logs/www.example.com", domain: "www.example.com", headers: ["X-Api-Key": "s3cret"])
    static let authorization = ["X-Api-Key": "s3cret"]

    /// 2026-11-01T10:00:00Z: the clock's start; lines of `eventHour` happen an hour before.
    static let start = Date(timeIntervalSince1970: 1_793_527_200)
    static let eventHour = start.addingTimeInterval(-3600)

    init(sink injected: (any ObjectSink)? = nil, configure: (inout IngestConfiguration) -> Void = { _ in }) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteJobStore(path: directory.appendingPathComponent("orchestrator.sqlite").path)
        clock = ManualWallClock(now: Self.start)
        var configuration = IngestConfiguration()
        configuration.port = 0
        configuration.endpoints = [Self.endpoint]
        configure(&configuration)
        self.configuration = configuration
        let logger = Logger(label: "ingest-tests")
        sink = try injected ?? LocalDirectorySink(directory: directory.appendingPathComponent("bucket").path)
        transfer = StreamTransfer(
            spool: store, sink: sink, keyTemplate: try StreamKeyTemplate(configuration.keyTemplate), workDirectory: directory.path,
            clock: clock, logger: logger)
        sealer = StreamSealer(spool: store, configuration: configuration, clock: clock, logger: logger)
        let receiver = IngestReceiver(configuration: configuration, spool: store, clock: clock, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = IngestServer(configuration: configuration, receiver: receiver, logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: logger))
        self.group = group
        task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var bound = 0
        for await port in ports { bound = port }
        guard bound > 0 else {
            try await task.value
            throw CancellationError()
        }
        port = bound
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
    }

    /// Stops the server and removes the directory.
    func stop() async {
        try? await client.shutdown()
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// POSTs `body` to `path` and returns the status, the `Retry-After` header and the body text.
    func post(
        _ body: [UInt8], path: String = IngestTestBed.endpoint.path, headers: [String: String] = IngestTestBed.authorization, gzip: Bool = false
    ) async throws -> (status: Int, retryAfter: String?, text: String) {
        let scheme = configuration.tlsCertificate == nil ? "http" : "https"
        var request = HTTPClientRequest(url: "\(scheme)://127.0.0.1:\(port)\(path)")
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        var payload = body
        if gzip {
            payload = Gzip.compress(body)
            request.headers.add(name: "Content-Encoding", value: "gzip")
        }
        request.body = .bytes(ByteBuffer(bytes: payload))
        let response = try await client.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), response.headers.first(name: "Retry-After"), text)
    }

    /// Seals what is due at the clock's time and runs every pending stream window the way the worker
    /// pool does (lease, transfer, complete), returning the windows it ran.
    @discardableResult
    func sealAndUpload() async throws -> [Window] {
        try await sealer.sealDueHours()
        var ran: [Window] = []
        for job in try await store.claimDueJobs(owner: "tests", limit: 100, leaseDuration: 60, now: clock.now) {
            guard case .stored(let files) = try await transfer.transfer(job.window) else { continue }
            _ = try await store.complete(job, files: files, final: false, now: clock.now)
            ran.append(job.window)
        }
        return ran
    }

    /// The decompressed bytes of the stored object at `key`, or nil.
    func object(_ key: String) throws -> [UInt8]? {
        let path = directory.appendingPathComponent("bucket").appendingPathComponent(key).path
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try Gzip.decompress([UInt8](data))
    }

    /// The raw (compressed) bytes stored at `key`.
    func rawObject(_ key: String) -> Data? {
        FileManager.default.contents(atPath: directory.appendingPathComponent("bucket").appendingPathComponent(key).path)
    }

    /// The default key of `part` of the event hour.
    func key(hour: Date = IngestTestBed.eventHour, part: Int) throws -> String {
        try StreamKeyTemplate(configuration.keyTemplate).key(domain: "www.example.com", hour: hour, part: part)
    }
}

/// A realistic CDN log line (about 660 bytes in the sender's shape) at `time` on `date`.
func logLine(date: String = "2026-11-01", time: String = "09:27:10", uri: String = "/index.html?a=1\\u0026b=2", extra: String = "") -> String {
    #"{"date":"\#(date)","time":"\#(time)","cs-ip":"203.0.113.7","cs-method":"get","cs-uri":"\#(uri)","status":200,"sc-bytes":5120,"time-taken":0.012,"cs(Referer)":"https://www.example.com/\u003cpage\u003e","cs(User-Agent)":"Mozilla/5.0 (X11; Linux x86_64) \u2028 AppleWebKit/537.36","cs(Cookie)":"-","x-disid":12345,"x-headersize":312,"cached":1,"cs(Range)":"-","x-tcwait":0.001,"x-tdwait":0.002,"x-tcpinfo_rtt":1200,"x-tcpinfo_rttvar":300,"x-tcpinfo_snd_cwnd":10,"x-tcpinfo_rcv_space":14600,"sc(Content-Type)":"text/html","cs-version":"HTTP/1.1"\#(extra)}"#
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
