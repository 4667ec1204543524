import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import JobModel
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The push receiver's HTTP(S) server: one POST route per configured endpoint, answered by an
/// `IngestReceiver`, and `GET /healthz`. A `Service`: it serves until graceful shutdown. It holds at most
/// `ingest.max_connections` connections (more wait in the listen backlog) and closes idle ones.
public struct IngestServer: Service {
    private let configuration: IngestConfiguration
    private let receiver: IngestReceiver
    private let logger: Logger
    private let discardPath: String?
    private let preparePath: String?
    private let flushRoute: FlushRoute?
    private let onListening: @Sendable (Int) async -> Void
    /// Bodies are collected into these, reused from request to request (`BodyBuffer`).
    private let bodyBuffers = ReusePool { BodyBuffer() }

    /// A benchmark route that prepares bodies as the first endpoint would and hands their compressed
    /// chunks to `write` instead of the spool, answering once `write` returns.
    public struct FlushRoute: Sendable {
        public var path: String
        public var write: @Sendable ([SpoolChunk]) async throws -> Void

        public init(path: String, write: @escaping @Sendable ([SpoolChunk]) async throws -> Void) {
            self.path = path
            self.write = write
        }
    }

    /// Creates the server. `discardPath`, when set, adds a route that reads and discards bodies on the
    /// same stack (the benchmark's ceiling); `preparePath` one that reads bodies and prepares them as
    /// the first endpoint would (filing, digest, compression) but stores nothing (the benchmark's
    /// measure of the durable route without the spool); `flushRoute` one that prepares them and writes
    /// them its own way (the benchmark's floor of a durable route). `onListening` is given the bound port.
    public init(
        configuration: IngestConfiguration, receiver: IngestReceiver, logger: Logger, discardPath: String? = nil, preparePath: String? = nil,
        flushRoute: FlushRoute? = nil, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.receiver = receiver
        self.logger = logger
        self.discardPath = discardPath
        self.preparePath = preparePath
        self.flushRoute = flushRoute
        self.onListening = onListening
    }

    public func run() async throws {
        let onListening = self.onListening
        let application = Application(
            router: makeRouter(),
            server: try serverBuilder(),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "orchestrator-ingest",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await application.run()
    }

    /// HTTP, or HTTPS when a certificate and key are configured; idle connections are closed after
    /// `ingest.idle_timeout_seconds`.
    private func serverBuilder() throws -> HTTPServerBuilder {
        let http = HTTPServerBuilder.http1(configuration: HTTP1Channel.Configuration(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds))))
        guard let certificate = configuration.tlsCertificate, let key = configuration.tlsKey else { return http }
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        return try .tls(http, tlsConfiguration: tls)
    }

    private func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let receiver = self.receiver
        let maxBody = configuration.maxBodyBytes
        let bodyBuffers = self.bodyBuffers
        for endpoint in configuration.endpoints {
            router.post(RouterPath(endpoint.path)) { request, _ -> Response in
                let reply = await Self.handle(request, endpoint: endpoint, receiver: receiver, maxBody: maxBody, bodyBuffers: bodyBuffers)
                IngestMetrics.record(reply)
                return Self.response(reply)
            }
        }
        // For a load balancer in front of the receiver: no credentials, and no request counted as refused.
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        if let discardPath {
            router.post(RouterPath(discardPath)) { request, _ -> Response in
                try await Self.withBodyBuffer(from: bodyBuffers) { try await Self.readBody(request, maxBody: maxBody, into: $0) }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
            }
        }
        if let preparePath, let endpoint = configuration.endpoints.first {
            router.post(RouterPath(preparePath)) { request, _ -> Response in
                let reply = try await Self.withBodyBuffer(from: bodyBuffers) { body in
                    try await Self.readBody(request, maxBody: maxBody, into: body)
                    return receiver.prepareWithoutStoring(body: body, gzip: Self.contentEncoding(request).hasSuffix("gzip"), endpoint: endpoint)
                }
                return Self.response(reply)
            }
        }
        if let flushRoute, let endpoint = configuration.endpoints.first {
            router.post(RouterPath(flushRoute.path)) { request, _ -> Response in
                let reply = try await Self.withBodyBuffer(from: bodyBuffers) { body in
                    try await Self.readBody(request, maxBody: maxBody, into: body)
                    return await receiver.prepareAndWrite(
                        body: body, gzip: Self.contentEncoding(request).hasSuffix("gzip"), endpoint: endpoint, write: flushRoute.write)
                }
                return Self.response(reply)
            }
        }
        return router
    }

    private struct BodyTooLarge: Error {}

    /// The HTTP response carrying `reply`.
    private static func response(_ reply: IngestReply) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = reply.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: reply.body)))
    }

    /// The request's `Content-Encoding`, trimmed and lower-cased; empty when absent.
    private static func contentEncoding(_ request: Request) -> String {
        request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
    }

    /// Reads the request's body into `buffer`, sized first by its `Content-Length` (no regrowing and
    /// copying as it arrives); throws `BodyTooLarge` past `maxBody`. Both the receiver and the
    /// benchmark's discard route read bodies this way.
    private static func readBody(_ request: Request, maxBody: Int, into buffer: BodyBuffer) async throws {
        let declared = request.headers[.contentLength].flatMap { Int($0) } ?? 0
        buffer.reset(expecting: min(max(declared, 0), maxBody))
        for try await fragment in request.body {
            guard try buffer.append(fragment, limit: maxBody) else { throw BodyTooLarge() }
        }
    }

    /// Runs `body` with a body buffer of `pool`, given back (trimmed) when it returns.
    private static func withBodyBuffer<Result>(from pool: ReusePool<BodyBuffer>, _ body: (BodyBuffer) async throws -> Result) async rethrows -> Result {
        let buffer = pool.take()
        defer {
            buffer.trim()
            pool.giveBack(buffer)
        }
        return try await body(buffer)
    }

    private static func handle(
        _ request: Request, endpoint: IngestEndpoint, receiver: IngestReceiver, maxBody: Int, bodyBuffers: ReusePool<BodyBuffer>
    ) async -> IngestReply {
        let authorized = receiver.isAuthorized(endpoint) { name in
            HTTPField.Name(name).flatMap { request.headers[$0] }
        }
        guard authorized else { return .error(401, "missing or wrong authentication header") }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBody {
            return .error(413, "body larger than \(maxBody) bytes")
        }
        let encoding = contentEncoding(request)
        guard ["", "identity", "gzip", "x-gzip"].contains(encoding) else {
            return .error(415, "unsupported Content-Encoding \(encoding); send identity or gzip")
        }
        guard receiver.enter() else { return receiver.busyReply }
        defer { receiver.leave() }
        return await withBodyBuffer(from: bodyBuffers) { body in
            do {
                try await readBody(request, maxBody: maxBody, into: body)
            } catch is BodyTooLarge {
                return .error(413, "body larger than \(maxBody) bytes")
            } catch is BodyBuffer.OutOfMemory {
                return receiver.unavailableReply("not enough memory for the body")
            } catch {
                return .error(400, "body not received whole")
            }
            return await receiver.accept(body: body, gzip: encoding.hasSuffix("gzip"), endpoint: endpoint)
        }
    }
}
