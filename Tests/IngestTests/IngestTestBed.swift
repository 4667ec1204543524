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
    let spool: SQLiteStreamSpool
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

    /// `beforeSpoolOpens` gets the migrated store before the spool opens on it, to leave what an
    /// earlier version would have left. `reopening` starts on the directory of a bed stopped with
    /// `stop(keepingFiles: true)`, as a restarted service would.
    init(
        reopening existing: URL? = nil, sink injected: (any ObjectSink)? = nil, configure: (inout IngestConfiguration) -> Void = { _ in },
        beforeSpoolOpens: (SQLiteJobStore) async throws -> Void = { _ in }
    ) async throws {
        directory = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("ingest-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteJobStore(path: directory.appendingPathComponent("orchestrator.sqlite").path)
        try await beforeSpoolOpens(store)
        spool = try SQLiteStreamSpool(
            store: store, directory: directory.appendingPathComponent("spool/stream").path, encode: GzipMember.compress, readStamps: StampedMember.read)
        clock = ManualWallClock(now: Self.start)
        var configuration = IngestConfiguration()
        configuration.port = 0
        configuration.endpoints = [Self.endpoint]
        configure(&configuration)
        self.configuration = configuration
        let logger = Logger(label: "ingest-tests")
        sink = try injected ?? LocalDirectorySink(directory: directory.appendingPathComponent("bucket").path)
        transfer = StreamTransfer(
            spool: spool, sink: sink, keyTemplate: try StreamKeyTemplate(configuration.keyTemplate), workDirectory: directory.path,
            clock: clock, logger: logger)
        sealer = StreamSealer(spool: spool, configuration: configuration, clock: clock, logger: logger)
        let receiver = IngestReceiver(configuration: configuration, spool: spool, clock: clock, logger: logger)
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

    /// Stops the server and removes the directory, unless `keepingFiles`.
    func stop(keepingFiles: Bool = false) async {
        try? await client.shutdown()
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        spool.close()
        try? store.close()
        if !keepingFiles { try? FileManager.default.removeItem(at: directory) }
    }

    /// The part file of `part` of `hour`.
    func partFile(hour: Date = IngestTestBed.eventHour, part: Int = 1) -> URL {
        directory.appendingPathComponent("spool/stream/\(hour.unixSeconds)-part\(part)-www.example.com.ndjson.gz")
    }

    /// POSTs `body` to `path` and returns the status, the `Retry-After` header and the body text.
    func post(
        _ body: [UInt8], path: String = IngestTestBed.endpoint.path, headers: [String: String] = IngestTestBed.authorization, gzip: Bool = false,
        timeout: TimeAmount = .seconds(30)
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
        let response = try await client.execute(request, timeout: timeout)
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

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
