import AsyncHTTPClient
import Core
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import Metrics

extension TencentCDNClient {
    /// The API version every request names in `X-TC-Version`.
    static let apiVersion = "2018-06-06"
    /// The content type of every request (signed, so it must be sent exactly like this).
    static let contentType = "application/json; charset=utf-8"
    /// The largest answer accepted; a page of 1000 entries is well under 1 MiB.
    static let maxResponseBytes = 32 * 1024 * 1024

    /// Calls `action` with `parameters` as its JSON body and decodes the answer's payload, retrying
    /// throttled requests a few times after a short jittered delay.
    ///
    /// - Throws: `TencentCloudError` (classified), or `CancellationError` when the task is cancelled.
    func call<Payload: Decodable>(
        _ action: String, parameters: some Encodable, domain: String?
    ) async throws -> Payload {
        var logger = logger
        logger[metadataKey: "cdn.action"] = "\(action)"
        if let domain { logger[metadataKey: "cdn.domain"] = "\(domain)" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body: [UInt8]
        do {
            body = Array(try encoder.encode(parameters))
        } catch {
            throw TencentCloudError.permanent("cdn.request_encoding", "could not encode the \(action) parameters: \(error)")
        }
        var retries = 0
        while true {
            do {
                let started = ContinuousClock.now
                defer {
                    Metrics.Timer(label: "orchestrator_cdn_api_duration_seconds", dimensions: [("action", action)])
                        .recordNanoseconds((ContinuousClock.now - started).saturatingNanoseconds)
                }
                return try await send(action, body: body, domain: domain, logger: logger)
            } catch let error as TencentCloudError
                where TencentErrorClassifier.isThrottling(error.code) && retries < Self.throttleRetries
            {
                retries += 1
                let delay = Self.throttleRetryDelay * (1 << (retries - 1)) * Double.random(in: 0.5...1.5)
                logger.debug(
                    "CDN API throttled the request, retrying",
                    metadata: [
                        "cdn.retry": "\(retries)", "cdn.retry_delay": "\(delay)",
                        "cloud.request_id": "\(error.requestID ?? "")",
                    ])
                try await clock.sleep(for: delay)
            }
        }
    }

    /// Sends one signed request (after waiting for the rate limiter) and decodes its answer.
    private func send<Payload: Decodable>(
        _ action: String, body: [UInt8], domain: String?, logger: Logger
    ) async throws -> Payload {
        guard let endpoint else {
            throw TencentCloudError.permanent(
                "cdn.endpoint_invalid",
                "cdn.endpoint \"\(configuration.endpoint)\" is not an http:// or https:// URL with a host")
        }
        try await rateLimiter.acquire()
        // The signature must carry the real time: Tencent rejects a timestamp more than 5 minutes off.
        let timestamp = Int(clock.now.timeIntervalSince1970)
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: Self.contentType)
        request.headers.add(name: "Host", value: endpoint.host)
        request.headers.add(name: "X-TC-Action", value: action)
        request.headers.add(name: "X-TC-Timestamp", value: String(timestamp))
        request.headers.add(name: "X-TC-Version", value: Self.apiVersion)
        if let token = configuration.credentials.token {
            request.headers.add(name: "X-TC-Token", value: token)
        }
        request.headers.add(
            name: "Authorization",
            value: signer.authorization(
                method: "POST", host: endpoint.host, contentType: Self.contentType, canonicalQuery: "",
                payload: body, timestamp: timestamp))
        request.body = .bytes(body)

        let status: Int
        let answer: ByteBuffer
        let startedAt = deadlineClock.now
        do {
            // The client's deadline ends with the response head; the watchdog carries it through the body.
            let response = try await httpClient.execute(request, timeout: .nanoseconds(configuration.requestTimeout.saturatingNanoseconds))
            status = Int(response.status.code)
            answer = try await TransferWatchdog(limits: configuration.transferLimits, clock: deadlineClock).watch(startedAt: startedAt) { progress in
                try await Self.collect(response.body, upTo: Self.maxResponseBytes, progress: progress)
            }
        } catch {
            throw transportError(error, action: action, endpoint: endpoint)
        }
        return try decode(answer, status: status, action: action, domain: domain, logger: logger)
    }

    /// The whole of `body`, counted into `progress` as it arrives; throws `NIOTooManyBytesError` past
    /// `maxBytes`.
    private static func collect(_ body: HTTPClientResponse.Body, upTo maxBytes: Int, progress: TransferProgress) async throws -> ByteBuffer {
        var answer = ByteBuffer()
        for try await chunk in body {
            guard answer.readableBytes + chunk.readableBytes <= maxBytes else { throw NIOTooManyBytesError(maxBytes: maxBytes) }
            answer.writeImmutableBuffer(chunk)
            progress.add(chunk.readableBytes)
        }
        return answer
    }

    /// Checks the HTTP status, then decodes the envelope and classifies an API error.
    private func decode<Payload: Decodable>(
        _ answer: ByteBuffer, status: Int, action: String, domain: String?, logger: Logger
    ) throws -> Payload {
        var logger = logger
        logger[metadataKey: "http.status"] = "\(status)"
        guard status == 200 else {
            logger.debug("CDN API answered with an HTTP error status")
            // 5xx and 429 say the API is down or overloaded; any other status is about this request.
            throw TencentCloudError(
                code: "cdn.http_status", message: "the CDN API answered \(action) with HTTP \(status)",
                disposition: status >= 500 || status == 429 ? .unavailable : .retryable, httpStatus: status)
        }
        let response: TencentAPIResponse<Payload>
        do {
            response = try JSONDecoder().decode(TencentAPIResponse<Payload>.self, from: Data(buffer: answer))
        } catch {
            logger.debug("CDN API answer is not the expected JSON", metadata: ["error.message": "\(error)"])
            throw TencentCloudError.retryable(
                "cdn.malformed_response",
                "the CDN API answered \(action) with a body that is not the expected JSON "
                    + "(\(answer.readableBytes) bytes)",
                httpStatus: status)
        }
        if let requestID = response.requestID { logger[metadataKey: "cloud.request_id"] = "\(requestID)" }
        if let error = response.error {
            logger.debug("CDN API answered with an error", metadata: ["error.code": "\(error.code)"])
            throw TencentErrorClassifier.classify(
                code: error.code, message: error.message, requestID: response.requestID, httpStatus: status,
                context: .init(action: action, domain: domain, credentials: configuration.credentials))
        }
        guard let payload = response.payload else {
            throw TencentCloudError.retryable("cdn.malformed_response", "the CDN API answered \(action) with no payload")
        }
        logger.debug("CDN API call succeeded")
        return payload
    }

    /// Classifies a failure to get an answer at all: retryable, unless the task was cancelled.
    private func transportError(_ error: any Error, action: String, endpoint: TencentEndpoint) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let exceeded = error as? TransferLimitExceeded, case .stalled = exceeded {
            return TencentCloudError.unavailable(
                "cdn.stalled", "the answer from \(endpoint.url) to \(action) stalled: \(exceeded); check the network")
        }
        if let error = error as? HTTPClientError,
           error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            return TencentCloudError.unavailable(
                "cdn.timeout",
                "no answer from \(endpoint.url) to \(action) within \(configuration.requestTimeout): check the network")
        }
        if let exceeded = error as? TransferLimitExceeded, case .deadline = exceeded {
            return TencentCloudError.unavailable(
                "cdn.timeout",
                "the answer from \(endpoint.url) to \(action) \(exceeded): check the network")
        }
        if error is NIOTooManyBytesError {
            return TencentCloudError.retryable(
                "cdn.response_too_large", "the answer to \(action) is larger than \(Self.maxResponseBytes) bytes")
        }
        return TencentCloudError.unavailable(
            "cdn.network",
            "could not reach \(endpoint.url) for \(action): \(describeTransportFailure(error)); check the network and cdn.endpoint")
    }

}
