import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// An HTTP proxy on 127.0.0.1 (ephemeral port) between an object store client and a real store: it
/// forwards every request as it came (the `Host` header too, so SigV4 signatures still verify), counts
/// what passes, and injects faults the way a bad network or a failing store would.
///
/// SigV4 with `UNSIGNED-PAYLOAD` signs the headers, not the body, so an altered body reaches the store
/// with a valid signature: only `Content-MD5` can catch it there.
public final class SinkFaultingProxy: Sendable {
    /// Faults to inject; they stay in force until changed.
    public struct Faults: Sendable {
        /// Flip one byte in the middle of the body of the `n`-th PUT from now (1 for the next one).
        public var corruptPut: Int?
        /// Replace the `ETag` of the answer to the `n`-th PUT from now with one of other bytes, as a store
        /// that kept something else would report.
        public var falseETagPut: Int?
        /// Remove the `ETag` from the answer to the `n`-th PUT from now.
        public var missingETagPut: Int?
        /// Forward this many more part uploads (`PUT ...?partNumber=`), then answer every later one with
        /// `partFailure` without forwarding it.
        public var partsBeforeFailure: Int?
        /// The answer to part uploads refused by `partsBeforeFailure`: HTTP status and S3 error code.
        public var partFailure: (status: Int, code: String)

        /// Faults as given; none by default, and refused parts answered 503 `ServiceUnavailable`.
        public init(
            corruptPut: Int? = nil, falseETagPut: Int? = nil, missingETagPut: Int? = nil, partsBeforeFailure: Int? = nil,
            partFailure: (status: Int, code: String) = (503, "ServiceUnavailable")
        ) {
            self.corruptPut = corruptPut
            self.falseETagPut = falseETagPut
            self.missingETagPut = missingETagPut
            self.partsBeforeFailure = partsBeforeFailure
            self.partFailure = partFailure
        }
    }

    /// What passed through so far.
    public struct Counters: Sendable, Equatable {
        /// Requests received, by method (`HEAD`, `PUT`, ...).
        public var requests: [String: Int] = [:]
        /// Body bytes of PUT requests received from the client.
        public var putBytesReceived: Int64 = 0
        /// Body bytes of PUT requests forwarded to the store.
        public var putBytesForwarded: Int64 = 0
        /// Part uploads forwarded to the store.
        public var partsForwarded = 0
        /// Requests answered by a fault instead of the store.
        public var refused = 0
        /// The most PUTs in progress at the same time.
        public var mostConcurrentPuts = 0

        /// All zero.
        public init() {}
    }

    private struct State {
        var counters = Counters()
        var faults = Faults()
        var putsSinceFaultsSet = 0
        var partsForwardedSinceFaultsSet = 0
        var putsInProgress = 0
    }

    private let state = Mutex(State())
    private let upstream: String
    private let httpClient: HTTPClient

    private init(upstream: String, httpClient: HTTPClient) {
        self.upstream = upstream
        self.httpClient = httpClient
    }

    /// The counters so far.
    public var counters: Counters { state.withLock { $0.counters } }

    /// Zeroes the counters.
    public func resetCounters() { state.withLock { $0.counters = Counters() } }

    /// Replaces the faults in force; `corruptPut` counts PUTs from this call on.
    public func inject(_ faults: Faults) {
        state.withLock {
            $0.faults = faults
            $0.putsSinceFaultsSet = 0
            $0.partsForwardedSinceFaultsSet = 0
        }
    }

    /// Runs `body` with the base URL of a proxy to `upstream` (`http://host:port`), then stops it.
    public static func serve<Result: Sendable>(
        upstream: String, _ body: (_ endpoint: String, _ proxy: SinkFaultingProxy) async throws -> Result
    ) async throws -> Result {
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let proxy = SinkFaultingProxy(upstream: upstream, httpClient: httpClient)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = Logger(label: "sink-faulting-proxy")
        quiet.logLevel = .critical
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in try await proxy.forward(request) },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: quiet)
        do {
            let result = try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
                group.addTask { try await app.runService(gracefulShutdownSignals: []) }
                defer { group.cancelAll() }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next(), port > 0 else { throw CancellationError() }
                return try await body("http://127.0.0.1:\(port)", proxy)
            }
            try await httpClient.shutdown()
            return result
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
    }

    /// What to do with one request, decided under the lock.
    private enum Decision {
        case forward(corrupt: Bool, etag: ETagFault?)
        case refuse(status: Int, code: String)
    }

    private enum ETagFault {
        case replace, remove
    }

    private func forward(_ request: Request) async throws -> Response {
        let method = request.method.rawValue
        if method == "PUT" {
            state.withLock {
                $0.putsInProgress += 1
                $0.counters.mostConcurrentPuts = max($0.counters.mostConcurrentPuts, $0.putsInProgress)
            }
        }
        defer { if method == "PUT" { state.withLock { $0.putsInProgress -= 1 } } }
        let collected = try await request.body.collect(upTo: 256 << 20)
        var body = Array(collected.readableBytesView)
        let isPart = method == "PUT" && (request.uri.query ?? "").contains("partNumber=")
        let decision = state.withLock { state -> Decision in
            state.counters.requests[method, default: 0] += 1
            guard method == "PUT" else { return .forward(corrupt: false, etag: nil) }
            state.counters.putBytesReceived += Int64(body.count)
            state.putsSinceFaultsSet += 1
            if isPart, let allowed = state.faults.partsBeforeFailure {
                if state.partsForwardedSinceFaultsSet >= allowed {
                    state.counters.refused += 1
                    return .refuse(status: state.faults.partFailure.status, code: state.faults.partFailure.code)
                }
            }
            if isPart {
                state.counters.partsForwarded += 1
                state.partsForwardedSinceFaultsSet += 1
            }
            state.counters.putBytesForwarded += Int64(body.count)
            let etag: ETagFault? =
                state.faults.falseETagPut == state.putsSinceFaultsSet ? .replace
                : state.faults.missingETagPut == state.putsSinceFaultsSet ? .remove : nil
            return .forward(corrupt: state.faults.corruptPut == state.putsSinceFaultsSet, etag: etag)
        }
        switch decision {
        case .refuse(let status, let code):
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>injected by the test proxy</Message></Error>"
            return Response(
                status: .init(code: status), headers: [.contentType: "application/xml"],
                body: .init(byteBuffer: ByteBuffer(string: xml)))
        case .forward(let corrupt, let etag):
            if corrupt, !body.isEmpty { body[body.count / 2] ^= 0xFF }
            var response = try await send(request, body: body)
            switch etag {
            case .replace: response.headers[.eTag] = "\"0123456789abcdef0123456789abcdef\""
            case .remove: response.headers[.eTag] = nil
            case nil: break
            }
            return response
        }
    }

    /// Sends `request` with `body` to the store and relays the answer.
    private func send(_ request: Request, body: [UInt8]) async throws -> Response {
        var outgoing = HTTPClientRequest(url: upstream + request.uri.string)
        outgoing.method = .init(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        // HTTP/1 `Host` arrives as the authority; the signature covers it, so it must reach the store as is.
        if let authority = request.head.authority { outgoing.headers.replaceOrAdd(name: "Host", value: authority) }
        if request.method != .get && request.method != .head {
            outgoing.body = .bytes(ByteBuffer(bytes: body))
        }
        let answer = try await httpClient.execute(outgoing, timeout: .seconds(120))
        let answerBody = try await answer.body.collect(upTo: 256 << 20)
        var headers = HTTPFields()
        for header in answer.headers where !Self.hopByHop.contains(header.name.lowercased()) {
            guard let name = HTTPField.Name(header.name) else { continue }
            headers.append(HTTPField(name: name, value: header.value))
        }
        if request.method == .head {
            // Relay the object's Content-Length; a HEAD answer has no body.
            if let length = answer.headers.first(name: "Content-Length") { headers[.contentLength] = length }
            return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init())
        }
        headers[.contentLength] = nil
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: answerBody))
    }

    private static let hopByHop: Set<String> = ["connection", "keep-alive", "transfer-encoding", "content-length", "expect", "upgrade"]
}
