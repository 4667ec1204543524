import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One request as `CannedObjectStoreServer` received it.
struct RecordedStoreRequest: Sendable {
    /// `GET`, `PUT`, ...
    var method: String
    /// The path as sent (still percent-encoded).
    var path: String
    /// The query as sent (still percent-encoded), empty when none.
    var query: String
    /// Every header, names lower-cased.
    var headers: [String: String]
    /// The body exactly as received.
    var body: [UInt8]
}

/// A real HTTP server on 127.0.0.1 (ephemeral port) that records every request and answers what a test's
/// responder returns: a stand-in for an object store misbehaving in ways `rclone serve s3` never does
/// (errors inside a 200, paged listings, COS headers).
final class CannedObjectStoreServer: Sendable {
    /// An answer: status, extra headers, body.
    typealias Answer = (status: Int, headers: [String: String], body: String)
    /// Answers the `index`-th request (from 0).
    typealias Responder = @Sendable (_ request: RecordedStoreRequest, _ index: Int) -> Answer

    private let recorded = Mutex<[RecordedStoreRequest]>([])

    /// Every request so far, in arrival order.
    var requests: [RecordedStoreRequest] { recorded.withLock { $0 } }

    private func record(_ request: RecordedStoreRequest) -> Int {
        recorded.withLock { requests in
            requests.append(request)
            return requests.count - 1
        }
    }

    /// Runs `body` with the base URL of a running server, then stops the server.
    static func serve<Result: Sendable>(
        _ responder: @escaping Responder,
        _ body: (_ endpoint: String, _ server: CannedObjectStoreServer) async throws -> Result
    ) async throws -> Result {
        let server = CannedObjectStoreServer()
        let router = Router()
        for method in [HTTPRequest.Method.get, .head, .put, .post, .delete] {
            router.on("**", method: method) { request, _ -> Response in
                let buffer = try await request.body.collect(upTo: 16 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                if let authority = request.head.authority { headers["host"] = authority }
                let recorded = RecordedStoreRequest(
                    method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                    headers: headers, body: Array(buffer.readableBytesView))
                let answer = responder(recorded, server.record(recorded))
                var fields = HTTPFields()
                for (name, value) in answer.headers {
                    if let name = HTTPField.Name(name) { fields[name] = value }
                }
                return Response(
                    status: .init(code: answer.status), headers: fields,
                    body: .init(byteBuffer: ByteBuffer(string: answer.body)))
            }
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = Logger(label: "canned-object-store")
        quiet.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: quiet)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw CancellationError() }
            return try await body("http://127.0.0.1:\(port)", server)
        }
    }
}
