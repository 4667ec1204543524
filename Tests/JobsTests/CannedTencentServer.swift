import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One request as `CannedTencentServer` received it.
struct RecordedTencentRequest: Sendable {
    /// `POST`, `GET`, ...
    var method: String
    /// The request path, e.g. `/`.
    var path: String
    /// The `Host` header (HTTP/1 `Host` becomes the request's authority).
    var host: String
    /// Every other header, names lower-cased.
    var headers: [String: String]
    /// The body exactly as received.
    var body: [UInt8]

    /// The body parsed as a JSON object, empty when it is not one.
    var json: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:]
    }
}

/// A real HTTP server on 127.0.0.1 (ephemeral port) that records every `POST /` and answers with what a
/// test's responder returns: a stand-in for the Tencent CDN API that knows nothing but canned JSON.
final class CannedTencentServer: Sendable {
    /// Answers the `index`-th request (from 0) with an HTTP status and a JSON body.
    typealias Responder = @Sendable (_ request: RecordedTencentRequest, _ index: Int) -> (status: Int, body: String)

    private let recorded = Mutex<[RecordedTencentRequest]>([])

    /// Every request so far, in arrival order.
    var requests: [RecordedTencentRequest] { recorded.withLock { $0 } }

    private func record(_ request: RecordedTencentRequest) -> Int {
        recorded.withLock { requests in
            requests.append(request)
            return requests.count - 1
        }
    }

    /// Runs `body` with the base URL of a running server, then stops the server.
    ///
    /// - Parameters:
    ///   - holdUntil: when given, every answer waits until this stream ends (to test timeouts).
    ///   - location: a `Location` header for every answer (to answer with a redirect).
    ///   - trickle: when given, every answer's body is sent one byte at a time with this pause after each
    ///     (headers at once, with the full `Content-Length`).
    static func serve<Result: Sendable>(
        _ responder: @escaping Responder, holdUntil: AsyncStream<Void>? = nil, location: String? = nil,
        trickle: Duration? = nil,
        _ body: (_ endpoint: String, _ server: CannedTencentServer) async throws -> Result
    ) async throws -> Result {
        let server = CannedTencentServer()
        let router = Router()
        router.post("/") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let recorded = RecordedTencentRequest(
                method: request.method.rawValue, path: request.uri.path,
                host: request.head.authority ?? headers["host"] ?? "", headers: headers,
                body: Array(buffer.readableBytesView))
            let index = server.record(recorded)
            if let holdUntil { for await _ in holdUntil {} }
            let (status, json) = responder(recorded, index)
            var answerHeaders: HTTPFields = [.contentType: "application/json"]
            if let location { answerHeaders[.location] = location }
            let answer = ByteBuffer(string: json)
            if let trickle {
                return Response(
                    status: .init(code: status), headers: answerHeaders,
                    body: ResponseBody(contentLength: answer.readableBytes) { writer in
                        for byte in answer.readableBytesView {
                            try await writer.write(ByteBuffer(bytes: [byte]))
                            try await Task.sleep(for: trickle)
                        }
                        try await writer.finish(nil)
                    })
            }
            return Response(status: .init(code: status), headers: answerHeaders, body: .init(byteBuffer: answer))
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = Logger(label: "canned-tencent-server")
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

/// Collects log lines as `level message key=value ...` (metadata sorted) instead of printing them.
final class TencentLogCapture: Sendable {
    private let storage = Mutex<[String]>([])

    /// Every line so far.
    var lines: [String] { storage.withLock { $0 } }

    /// A logger at trace level writing into this capture.
    var logger: Logger {
        Logger(label: "test") { _ in CapturingLogHandler(capture: self) }
    }

    fileprivate func append(_ line: String) { storage.withLock { $0.append(line) } }
}

private struct CapturingLogHandler: LogHandler {
    let capture: TencentLogCapture
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        capture.append((["\(event.level)", "\(event.message)"] + pairs).joined(separator: " "))
    }
}

/// A `DescribeCdnDomainLogs` answer with `entries` (JSON objects) on this page and `total` over all pages.
func tencentLogsPage(total: Int, _ entries: [String]) -> String {
    #"{"Response":{"DomainLogs":[\#(entries.joined(separator: ","))],"TotalCount":\#(total),"RequestId":"request-1"}}"#
}

/// One `DomainLogs` entry; `size` is the raw JSON of `FileSize` (`"null"`, `"42"`), absent when nil.
func tencentLogEntry(_ start: String, _ path: String, area: String, name: String = "2019090423", size: String? = nil) -> String {
    let end = String(start.prefix(13)) + ":59:59"
    let fileSize = size.map { #","FileSize":\#($0)"# } ?? ""
    return #"{"Area":"\#(area)","StartTime":"\#(start)","EndTime":"\#(end)","LogPath":"\#(path)","LogName":"\#(name)"\#(fileSize)}"#
}

/// An API error answer (HTTP 200, as Tencent sends them) with request id `request-1`.
func tencentErrorBody(_ code: String, _ message: String) -> String {
    #"{"Response":{"Error":{"Code":"\#(code)","Message":"\#(message)"},"RequestId":"request-1"}}"#
}
