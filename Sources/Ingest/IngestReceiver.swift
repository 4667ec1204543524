import Core
import Crypto
import Foundation
import JobModel
import Logging
import NIOCore
import Synchronization

/// The answer to one POST.
public struct IngestReply: Sendable, Equatable {
    /// The HTTP status.
    public var status: Int
    /// A one-line JSON body saying what happened.
    public var body: String
    /// `Retry-After` seconds, on a 503.
    public var retryAfter: Int?
    /// Lines this request stored (on a 200 that was not a repeat).
    public var acceptedLines = 0
    /// Bytes of NDJSON this request stored.
    public var acceptedBytes = 0
    /// Lines this request had quarantined.
    public var quarantinedLines = 0
    /// The body was acknowledged again as a sender's retry, storing nothing.
    public var repeated = false

    /// Creates a reply.
    public init(status: Int, body: String, retryAfter: Int? = nil) {
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
    }

    static func error(_ status: Int, _ message: String, retryAfter: Int? = nil) -> IngestReply {
        IngestReply(status: status, body: "{\"error\":\"\(message)\"}", retryAfter: retryAfter)
    }
}

/// What the receiver does with one request, apart from HTTP framing: authentication, limits,
/// decompression, filing and the durable append. A 2xx is returned only once every accepted line of
/// the request is in the spool and fsync'd, or the same body was already accepted within the hour.
public final class IngestReceiver: Sendable {
    private let configuration: IngestConfiguration
    private let spool: any StreamSpool
    private let clock: any WallClock
    private let logger: Logger
    private let inFlight = Mutex(0)
    private let compressors = ReusePool { LineCompressor() }
    private let inflateBuffers = ReusePool { InflateBuffer() }
    private let bodyDigest: BodyDigest

    /// Creates a receiver appending to `spool`.
    public init(configuration: IngestConfiguration, spool: any StreamSpool, clock: any WallClock, logger: Logger) {
        self.configuration = configuration
        self.spool = spool
        self.clock = clock
        self.logger = logger
        bodyDigest = BodyDigest(key: spool.bodyDigestKey)
    }

    /// Whether `headers` (lower-cased names) carry every header `endpoint` requires. Every required
    /// header is compared, in constant time, even after a mismatch.
    public func isAuthorized(_ endpoint: IngestEndpoint, header: (String) -> String?) -> Bool {
        var authorized = true
        for (name, expected) in endpoint.headers.sorted(by: { $0.key < $1.key }) {
            let given = header(name) ?? ""
            authorized = ConstantTime.equals(Array(given.utf8), Array(expected.utf8)) && authorized
        }
        return authorized
    }

    /// Takes a slot among `ingest.max_concurrent_requests`; false when all are taken.
    public func enter() -> Bool {
        inFlight.withLock { count in
            guard count < configuration.maxConcurrentRequests else { return false }
            count += 1
            return true
        }
    }

    /// Gives a slot back.
    public func leave() {
        inFlight.withLock { $0 -= 1 }
    }

    /// The reply to a request that is over a limit before its body was read.
    public var busyReply: IngestReply {
        unavailableReply("too many requests at once")
    }

    /// A 503 saying `reason`, with the configured `Retry-After`.
    func unavailableReply(_ reason: String) -> IngestReply {
        .error(503, reason, retryAfter: configuration.retryAfterSeconds)
    }

    /// Files and stores one request body (as sent); `gzip` when its `Content-Encoding` says so.
    public func accept(body sent: [UInt8], gzip: Bool, endpoint: IngestEndpoint) async -> IngestReply {
        await accept(body: ByteBuffer(bytes: sent), gzip: gzip, endpoint: endpoint)
    }

    /// The lines of a body, filed and compressed, with its digest: everything before the append.
    private struct Prepared {
        var filed: FiledBatch
        var append: SpoolAppend
    }

    /// Files, digests and compresses the decompressed `body`, reading it in place, accepted at `now`.
    /// Each chunk's member is stamped (`StampedMember`): the spool can then take the body back from its
    /// part files alone.
    private func prepare(_ body: UnsafeBufferPointer<UInt8>, endpoint: IngestEndpoint, now: Date) -> Prepared {
        let filed = BatchFiler(endpoint: endpoint, timeZone: configuration.timeZone).file(body)
        let digest = bodyDigest.digest(of: UnsafeRawBufferPointer(body))
        let sha256 = spool.holdsSHA256Digests ? Array(SHA256.hash(data: UnsafeRawBufferPointer(body))) : nil
        let bodyNumber = UInt64.random(in: .min ... .max)
        // Compressed here, on the request's own task, so concurrent requests compress in parallel and the
        // shared commit only writes and fsyncs.
        let chunks = compressors.withItem { compressor in
            filed.chunks.enumerated().map { index, chunk in
                let stamp = SpoolChunkStamp(
                    body: bodyNumber, index: index, count: filed.chunks.count, lineCount: chunk.lineCount, byteCount: chunk.byteCount,
                    bodyDigest: digest, acceptedAt: now.unixSeconds)
                return SpoolChunk(
                    domain: chunk.domain, hour: chunk.hour, lineCount: chunk.lineCount, byteCount: chunk.byteCount,
                    data: compressor.compress(chunk.pieces, in: body, stamp: stamp), stamped: true)
            }
        }
        return Prepared(filed: filed, append: SpoolAppend(bodyDigest: digest, sha256: sha256, chunks: chunks, quarantined: filed.quarantined))
    }

    /// Files and stores one request body (as sent, read in place unless it must be inflated); `gzip`
    /// when its `Content-Encoding` says so.
    public func accept(body sent: ByteBuffer, gzip: Bool, endpoint: IngestEndpoint) async -> IngestReply {
        let now = clock.now
        return await store(sent.withUnsafeReadableBytes { prepare(sent: $0, gzip: gzip, endpoint: endpoint, now: now) }, endpoint: endpoint, now: now)
    }

    /// Files and stores the body collected in `sent`, read in place: the server's way, whose buffers
    /// are reused from request to request.
    func accept(body sent: BodyBuffer, gzip: Bool, endpoint: IngestEndpoint) async -> IngestReply {
        let now = clock.now
        return await store(sent.withBytes { prepare(sent: $0, gzip: gzip, endpoint: endpoint, now: now) }, endpoint: endpoint, now: now)
    }

    /// Files, digests and compresses the body collected in `sent` as `accept` would, and stores nothing:
    /// the benchmark's measure of the durable route without the spool.
    func prepareWithoutStoring(body sent: BodyBuffer, gzip: Bool, endpoint: IngestEndpoint) -> IngestReply {
        let now = clock.now
        switch sent.withBytes({ prepare(sent: $0, gzip: gzip, endpoint: endpoint, now: now) }) {
        case .ready(let prepared):
            return IngestReply(status: 200, body: "{\"prepared\":\(prepared.filed.acceptedLines),\"bytes\":\(prepared.append.chunks.reduce(0) { $0 + $1.data.count })}")
        case .refused(let reply):
            return reply
        }
    }

    /// Files, digests and compresses the body collected in `sent` as `accept` would, and hands the
    /// compressed chunks to `write` instead of the spool, answering 200 once it returns: the benchmark's
    /// floor of a durable route (see `IngestServer`'s `flushRoute`).
    func prepareAndWrite(
        body sent: BodyBuffer, gzip: Bool, endpoint: IngestEndpoint, write: @Sendable ([SpoolChunk]) async throws -> Void
    ) async -> IngestReply {
        let now = clock.now
        switch sent.withBytes({ prepare(sent: $0, gzip: gzip, endpoint: endpoint, now: now) }) {
        case .ready(let prepared):
            do {
                try await write(prepared.append.chunks)
            } catch {
                return .error(503, "the write failed")
            }
            return IngestReply(status: 200, body: "{\"written\":\(prepared.filed.acceptedLines)}")
        case .refused(let reply):
            return reply
        }
    }

    /// A body filed, digested and compressed, or the reply refusing it.
    private enum Preparation {
        case ready(Prepared)
        case refused(IngestReply)
    }

    /// Inflates the body as sent when it is gzip, then prepares it; after this nothing reads `sent`.
    private func prepare(sent: UnsafeRawBufferPointer, gzip: Bool, endpoint: IngestEndpoint, now: Date) -> Preparation {
        if gzip {
            do {
                return .ready(
                    try inflateBuffers.withItem { (buffer) throws(GzipInflater.Failure) in
                        try GzipInflater.inflate(sent, limit: configuration.maxDecompressedBytes, into: buffer) { prepare($0, endpoint: endpoint, now: now) }
                    })
            } catch GzipInflater.Failure.tooLarge {
                return .refused(.error(413, "decompressed body larger than \(configuration.maxDecompressedBytes) bytes"))
            } catch {
                return .refused(.error(400, "body is not valid gzip"))
            }
        }
        guard sent.count <= configuration.maxDecompressedBytes else {
            return .refused(.error(413, "body larger than \(configuration.maxDecompressedBytes) bytes"))
        }
        return .ready(prepare(sent.assumingMemoryBound(to: UInt8.self), endpoint: endpoint, now: now))
    }

    /// Appends a prepared body, accepted at `now`, to the spool and says how it went.
    private func store(_ preparation: Preparation, endpoint: IngestEndpoint, now: Date) async -> IngestReply {
        let prepared: Prepared
        switch preparation {
        case .ready(let ready): prepared = ready
        case .refused(let reply): return reply
        }
        let filed = prepared.filed
        guard filed.acceptedLines > 0 else {
            return .error(400, filed.quarantined.isEmpty ? "no log line in the body" : "no valid log line in the body")
        }
        let append = prepared.append
        do {
            switch try await spool.append(
                append, limits: SpoolLimits(quotaBytes: configuration.spoolQuotaBytes, maxPartBytes: configuration.maxPartBytes),
                repeatedSince: now.addingTimeInterval(-configuration.repeatWindow), now: now)
            {
            case .stored:
                var reply = IngestReply(status: 200, body: "{\"accepted\":\(filed.acceptedLines),\"quarantined\":\(filed.quarantined.count)}")
                reply.acceptedLines = filed.acceptedLines
                reply.acceptedBytes = filed.chunks.reduce(0) { $0 + $1.byteCount }
                reply.quarantinedLines = filed.quarantined.count
                return reply
            case .repeated:
                logger.debug("body repeated; acknowledged without storing", metadata: ["ingest.path": "\(endpoint.path)"])
                var reply = IngestReply(status: 200, body: "{\"accepted\":0,\"repeated\":true}")
                reply.repeated = true
                return reply
            case .overQuota:
                logger.warning("spool quota reached; refusing", metadata: ["ingest.quota_bytes": "\(configuration.spoolQuotaBytes)"])
                return .error(503, "spool full", retryAfter: configuration.retryAfterSeconds)
            }
        } catch {
            logger.error("spool write failed", metadata: ["error.message": "\(error)"])
            return .error(503, "spool unavailable", retryAfter: configuration.retryAfterSeconds)
        }
    }
}
