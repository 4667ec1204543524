import AsyncHTTPClient
import Core
import Foundation
import Logging
import NIOCore

/// A low-level client of one bucket of an S3-compatible store or of Tencent COS: HEAD, PUT, and the
/// multipart calls, each one signed request (SigV4 or the native COS signature, per the dialect).
///
/// It does not retry: every failure is a `ObjectStoreError` classified retryable or permanent (see
/// `ObjectStoreErrorClassifier`) for the caller's retry policy, or `CancellationError`. Bodies of uploads stream
/// from a file region in 1 MiB chunks, so memory stays bounded whatever the size. Requests are logged at
/// debug with `store.method`, `store.key`, `http.status` and `cloud.request_id`; nothing logged or thrown
/// ever holds the secret or the session token. Thread-safe: every stored property is immutable and
/// `Sendable`.
public struct ObjectStoreClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: ObjectStoreConfiguration
    /// The parsed endpoint; nil when the configuration's endpoint is unusable (every call then fails
    /// with the permanent `store.endpoint_invalid`).
    let address: ObjectStoreAddress?
    /// Sends the requests; owned by the caller, who shuts it down.
    let httpClient: HTTPClient
    /// Receives routine traffic at debug.
    let logger: Logger
    /// The time signed into each request; stores reject one more than about 15 minutes off.
    let clock: any WallClock

    /// The largest answer body read (a page of 1000 listed uploads is a few hundred KiB).
    static let maxResponseBytes = 16 << 20

    /// Creates a client; nothing is sent until the first call.
    ///
    /// - Parameters:
    ///   - httpClient: the HTTP client to send with; the caller keeps ownership and shuts it down.
    ///   - logger: routine calls are logged at debug.
    ///   - clock: the time signed into each request.
    public init(
        configuration: ObjectStoreConfiguration, httpClient: HTTPClient, logger: Logger, clock: any WallClock = SystemWallClock()
    ) {
        self.clock = clock
        self.configuration = configuration
        self.address = ObjectStoreAddress(configuration)
        self.httpClient = httpClient
        var logger = logger
        logger[metadataKey: "store.bucket"] = "\(configuration.bucket)"
        self.logger = logger
    }

    /// The bucket for messages, e.g. `s3 bucket logs at http://127.0.0.1:9000`.
    public var bucketDescription: String {
        var endpoint = configuration.effectiveEndpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return "\(configuration.dialect.rawValue) bucket \(configuration.bucket) at \(endpoint)"
    }

    /// The size, ETag and CRC64 of the object under `key`, or nil when there is none (404).
    ///
    /// A missing bucket also answers a HEAD with a bare 404, so it reads as nil here; the upload that
    /// follows fails with `NoSuchBucket`.
    public func head(key: String) async throws -> ObjectHead? {
        let response = try await send(.head(key: key))
        if response.status == 404 { return nil }
        try response.requireSuccess()
        guard let size = response.headers["content-length"].flatMap({ Int64($0) }) else {
            throw response.malformed("the HEAD answer has no Content-Length")
        }
        return ObjectHead(size: size, etag: response.etag, crc64: try response.crc64())
    }

    /// Streams `length` bytes of the file at `path` from `offset` (bounded memory: read in chunks of
    /// 1 MiB, never the whole file) as the body of a simple PUT to `key`; sends `Content-Length` and
    /// `Content-MD5` (base64 of `contentMD5`, which must be the 16-byte MD5 of those bytes).
    ///
    /// The store rejects a body whose MD5 differs (`BadDigest`, retryable), so a body altered in flight
    /// is never stored.
    public func putObject(
        key: String, filePath: String, offset: Int64, length: Int64, contentMD5: [UInt8]
    ) async throws -> UploadResult {
        let response = try await send(
            .putObject(key: key, filePath: filePath, offset: offset, length: length, contentMD5: contentMD5))
        try response.requireSuccess()
        return UploadResult(etag: response.etag, crc64: try response.crc64())
    }

    // MARK: - Sending

    /// Signs and sends `request` and reads the answer body (up to `maxResponseBytes`).
    ///
    /// Throws only for failures to get an answer (and for a file body shorter than announced): the caller
    /// judges the status.
    func send(_ request: ObjectStoreRequest) async throws -> ObjectStoreResponse {
        let context = errorContext(for: request)
        var logger = logger
        logger[metadataKey: "store.method"] = "\(request.method)"
        if let key = request.key { logger[metadataKey: "store.key"] = "\(key)" }
        guard let address else {
            throw ObjectStoreError.permanent(
                "store.endpoint_invalid",
                "sink.endpoint \"\(configuration.effectiveEndpoint)\" (with sink.bucket \"\(configuration.bucket)\") "
                    + "is not an http:// or https:// URL with a host")
        }
        try request.checkFileBody()
        let signed = request.signed(for: address, configuration: configuration, at: clock.now)
        var httpRequest = HTTPClientRequest(url: signed.url)
        httpRequest.method = .init(rawValue: request.method)
        for header in signed.headers { httpRequest.headers.add(name: header.name, value: header.value) }
        switch request.body {
        case .empty: break
        case .bytes(let bytes): httpRequest.body = .bytes(bytes)
        case .file(let path, let offset, let length):
            let slice = FileSliceBody(path: path, offset: offset, length: length)
            httpRequest.body = .stream(slice, length: .known(length))
        }

        let response: ObjectStoreResponse
        do {
            // No logger passed to the HTTP client: its trace logs would show the Authorization header.
            let answer = try await httpClient.execute(
                httpRequest, timeout: .nanoseconds(configuration.requestTimeout.saturatingNanoseconds))
            let body = try await answer.body.collect(upTo: Self.maxResponseBytes)
            var headers: [String: String] = [:]
            for (name, value) in answer.headers { headers[name.lowercased()] = value }
            response = ObjectStoreResponse(
                status: Int(answer.status.code), headers: headers, body: Array(body.readableBytesView),
                context: context)
        } catch {
            let failure = ObjectStoreErrorClassifier.transport(error, context: context)
            if let failure = failure as? ObjectStoreError {
                logger.debug("object store request failed", metadata: ["error.code": "\(failure.code)"])
            }
            throw failure
        }
        logger.debug(
            "Object store answered",
            metadata: ["http.status": "\(response.status)", "cloud.request_id": "\(response.requestID ?? "")"])
        return response
    }

    /// The context of errors about `request`.
    func errorContext(for request: ObjectStoreRequest) -> ObjectStoreErrorClassifier.Context {
        ObjectStoreErrorClassifier.Context(
            method: request.method, key: request.key, bucketDescription: bucketDescription,
            credentials: configuration.credentials, timeout: configuration.requestTimeout)
    }
}

/// An answer of the store: status, headers and the whole (small) body.
struct ObjectStoreResponse: Sendable {
    /// The HTTP status code.
    var status: Int
    /// The response headers, names lower-case (the last of repeated names).
    var headers: [String: String]
    /// The body (empty for HEAD).
    var body: [UInt8]
    /// What the request was, for error messages.
    var context: ObjectStoreErrorClassifier.Context

    /// `x-amz-request-id` or `x-cos-request-id`.
    var requestID: String? {
        headers["x-cos-request-id"] ?? headers["x-amz-request-id"]
    }

    /// The `ETag` header without quotes.
    var etag: String? {
        headers["etag"].flatMap(ObjectStoreMessages.unquotedETag)
    }

    /// `x-cos-hash-crc64ecma` as a number; nil when absent, an error when unreadable.
    func crc64() throws(ObjectStoreError) -> UInt64? {
        guard let text = headers["x-cos-hash-crc64ecma"] else { return nil }
        guard let value = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
            throw malformed("x-cos-hash-crc64ecma \"\(text)\" is not an unsigned decimal")
        }
        return value
    }

    /// Throws the classified error unless the status is 2xx.
    func requireSuccess() throws(ObjectStoreError) {
        guard (200..<300).contains(status) else { throw failure() }
    }

    /// The classified error this answer carries (status, `<Error>` body, request id).
    func failure() -> ObjectStoreError {
        ObjectStoreErrorClassifier.classify(
            status: status, document: ObjectStoreMessages.error(in: body), requestID: requestID, context: context)
    }

    /// A `store.malformed_response` error about this answer.
    func malformed(_ reason: String) -> ObjectStoreError {
        ObjectStoreErrorClassifier.malformed(reason, status: status, requestID: requestID, context: context)
    }
}
