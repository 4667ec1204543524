import Core
import Foundation
import Hummingbird

/// Serves log packages at the links `DescribeCdnDomainLogs` lists.
///
/// 403 when the link is altered, incomplete or expired; 404 when it names no package (an empty, unpublished
/// or expired hour); otherwise 200 with `Content-Length` and the package's deterministic bytes, streamed
/// from the package cache. Injected faults: a truncated body (the full `Content-Length` is announced, about
/// half the bytes are sent, then the connection is closed) or one flipped byte after the gzip header.
struct PackageDownloadEndpoint: Sendable {
    /// The clock, the latency and the fault rates.
    let configuration: CDNSimulatorConfiguration
    /// Where downloads, faults and refusals are counted.
    let counters: SimulatorCounters
    /// Which packages exist.
    let catalog: PackageCatalog
    /// Checks the links.
    let links: DownloadLinkSigner
    /// Where package files come from.
    let cache: PackageCache
    /// Streams files in chunks from NIO's thread pool.
    let fileIO = FileIO()

    /// An endpoint serving `cache`'s packages, counting into `counters`.
    init(configuration: CDNSimulatorConfiguration, counters: SimulatorCounters, cache: PackageCache) {
        self.configuration = configuration
        self.counters = counters
        self.cache = cache
        catalog = PackageCatalog(configuration: configuration)
        links = DownloadLinkSigner(configuration: configuration)
    }

    /// Handles one download request.
    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let ordinal = counters.countDownload()
        let arrived = ContinuousClock.now
        if configuration.latency > .zero { try await configuration.clock.sleep(for: configuration.latency) }
        let path = request.uri.path
        let now = configuration.clock.now
        if configuration.isOutage(.downloads, at: now) {
            counters.countFault()
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "Service Unavailable")))
        }
        let link: (area: LogArea, version: Int)
        do throws(DownloadLinkSigner.Refusal) {
            link = try links.verify(path: path, query: APIEndpoint.decodeQuery(request.uri.query ?? ""), now: now)
        } catch {
            counters.countRejected()
            let reason = error == .expired ? "Request has expired" : "Access Denied"
            return Response(status: .forbidden, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: reason)))
        }
        guard let key = catalog.key(forPath: path, area: link.area, version: link.version),
              catalog.isPublished(hourStart: key.hourStart, at: now),
              !catalog.isEmpty(domain: key.domain, hourStart: key.hourStart, area: key.area)
        else {
            return Response(status: .notFound, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: "Not Found")))
        }
        let fault = configuration.isOutage(.trickle, at: now) ? .trickled : InjectedFault.forDownload(ordinal, configuration: configuration)
        if fault != nil { counters.countFault() }
        let file = try await cache.checkout(key)
        do {
            let body = try await body(of: file.path, size: catalog.size(of: key), fault: fault, ordinal: ordinal, context: context)
            let cache = self.cache
            let counters = self.counters
            let released = ResponseBody(contentLength: body.contentLength) { writer in
                do {
                    try await body.write(writer)
                } catch {
                    counters.recordServed(key, from: arrived, to: .now)
                    await cache.release(key)
                    throw error
                }
                counters.recordServed(key, from: arrived, to: .now)
                await cache.release(key)
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: released)
        } catch {
            await cache.release(key)
            throw error
        }
    }

    /// The body for the package file at `path` of `size` bytes, with `fault` applied.
    private func body(of path: String, size: Int, fault: InjectedFault?, ordinal: Int, context: some RequestContext) async throws -> ResponseBody {
        switch fault {
        case .truncated?:
            let half = try await fileIO.loadFile(path: path, range: 0...(size / 2 - 1), context: context)
            return ResponseBody(contentLength: size) { writer in
                try await half.write(UnfinishedWriter(base: writer))
                // Throwing makes Hummingbird close the connection short of the announced length.
                throw SimulatorError("injected truncation")
            }
        case .corrupted?:
            let headerLength = try Self.gzipHeaderLength(path: path)
            let draw = stableUnit("corrupt-offset", String(configuration.seed), String(ordinal))
            let offset = headerLength + Int(draw * Double(size - headerLength))
            let before = try await fileIO.loadFile(path: path, range: 0...(offset - 1), context: context)
            let flipped = try Self.byte(at: offset, path: path) ^ 0xFF
            let after = offset + 1 < size ? try await fileIO.loadFile(path: path, range: (offset + 1)...(size - 1), context: context) : nil
            return ResponseBody(contentLength: size) { writer in
                try await before.write(UnfinishedWriter(base: writer))
                try await writer.write(ByteBuffer(bytes: [flipped]))
                if let after { try await after.write(UnfinishedWriter(base: writer)) }
                try await writer.finish(nil)
            }
        case .trickled?:
            guard let contents = FileManager.default.contents(atPath: path) else { throw SimulatorError("package \(path) is gone") }
            let clock = configuration.clock
            return ResponseBody(contentLength: size) { writer in
                var buffer = ByteBuffer(bytes: contents)
                while buffer.readableBytes > 0 {
                    let step = min(SimulatedOutage.trickleBytesPerSecond, buffer.readableBytes)
                    try await writer.write(buffer.readSlice(length: step)!)
                    try await clock.sleep(for: .seconds(1))
                }
                try await writer.finish(nil)
            }
        default:
            return try await fileIO.loadFile(path: path, context: context)
        }
    }

    /// The length of the package's gzip header: 10 fixed bytes, `XLEN` and the `FEXTRA` padding.
    private static func gzipHeaderLength(path: String) throws -> Int {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let header = Array(try handle.read(upToCount: 12) ?? Data())
        guard header.count == 12 else { throw SimulatorError("package \(path) is shorter than a gzip header") }
        return 12 + Int(header[10]) + Int(header[11]) << 8
    }

    private static func byte(at offset: Int, path: String) throws -> UInt8 {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        guard let byte = try handle.read(upToCount: 1)?.first else { throw SimulatorError("package \(path) is too short") }
        return byte
    }
}

/// Forwards writes to another writer but ignores `finish`, so several bodies can be written as one.
struct UnfinishedWriter: ResponseBodyWriter {
    /// The writer that receives the bytes.
    var base: any ResponseBodyWriter

    /// Writes `buffer` to `base`.
    mutating func write(_ buffer: ByteBuffer) async throws {
        try await base.write(buffer)
    }

    /// Does nothing: the owner of `base` finishes it (or abandons it).
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
