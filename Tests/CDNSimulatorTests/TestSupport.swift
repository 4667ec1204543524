import AsyncHTTPClient
import CDNSimulator
import CZlib
import Core
import Foundation
import Logging
import Synchronization
import TencentCloud
import TestSupport

/// A configuration with small packages, no empty hours and no faults, on `clock`.
func testConfiguration(clock: ManualWallClock = ManualWallClock(), seed: UInt64 = 7) -> CDNSimulatorConfiguration {
    CDNSimulatorConfiguration(packageBytes: 8 * 1024, seed: seed, emptyHourRate: 0, clock: clock)
}

/// Runs `body` against a simulator started in-process on a free loopback port, and always stops it.
func withSimulator<Result>(
    _ configuration: CDNSimulatorConfiguration,
    _ body: (RunningSimulator, SignedClient) async throws -> Result
) async throws -> Result {
    var logger = Logger(label: "cdn-simulator-test")
    logger.logLevel = .warning
    let running = try await CDNSimulator.start(configuration: configuration, logger: logger)
    let client = SignedClient(
        baseURL: running.baseURL,
        credentials: TencentCredentials(secretID: configuration.secretID, secretKey: configuration.secretKey),
        clock: configuration.clock)
    do {
        let result = try await body(running, client)
        try await running.stop()
        return result
    } catch {
        try? await running.stop()
        throw error
    }
}

/// A minimal TC3-signing client for the simulator's API, with hooks to break the signature on purpose.
struct SignedClient: Sendable {
    let baseURL: URL
    let credentials: TencentCredentials
    let clock: any WallClock

    /// The decoded answer of one call.
    struct Answer {
        var status: Int
        var response: [String: Any]
        var errorCode: String? { (response["Error"] as? [String: Any])?["Code"] as? String }
        var requestID: String? { response["RequestId"] as? String }
        subscript(key: String) -> Any? { response[key] }
    }

    var host: String { "\(baseURL.host ?? "127.0.0.1"):\(baseURL.port ?? 80)" }

    /// Calls `action` with a JSON body, signed for `timestamp` (default: the clock), after `alter` edits the
    /// Authorization header.
    func call(
        _ action: String, _ parameters: [String: Any] = [:], timestamp: Int? = nil,
        method: String = "POST", alter: (String) -> String = { $0 }, headers extra: [String: String] = [:]
    ) async throws -> Answer {
        let timestamp = timestamp ?? Int(clock.now.timeIntervalSince1970)
        let signer = TC3Signer(credentials: credentials, service: "cdn")
        var request: HTTPClientRequest
        var authorization: String
        if method == "GET" {
            var components = URLComponents()
            components.queryItems = parameters.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: "\($0.value)") }
            let query = components.percentEncodedQuery ?? ""
            request = HTTPClientRequest(url: baseURL.absoluteString + "/?" + query)
            request.method = .GET
            authorization = signer.authorization(
                method: "GET", host: host, contentType: "application/x-www-form-urlencoded",
                canonicalQuery: query, payload: [], timestamp: timestamp)
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        } else {
            let body = Array(try JSONSerialization.data(withJSONObject: parameters))
            request = HTTPClientRequest(url: baseURL.absoluteString + "/")
            request.method = .POST
            request.body = .bytes(body)
            authorization = signer.authorization(
                method: "POST", host: host, contentType: "application/json",
                canonicalQuery: "", payload: body, timestamp: timestamp)
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        request.headers.add(name: "Authorization", value: alter(authorization))
        request.headers.add(name: "X-TC-Action", value: action)
        request.headers.add(name: "X-TC-Timestamp", value: String(timestamp))
        request.headers.add(name: "X-TC-Version", value: "2018-06-06")
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 16 << 20)
        let json = try JSONSerialization.jsonObject(with: Data(data.readableBytesView)) as? [String: Any]
        return Answer(status: Int(response.status.code), response: json?["Response"] as? [String: Any] ?? [:])
    }

    /// `DescribeCdnDomainLogs` for a Beijing-time range; the `DomainLogs` entries.
    func logs(domain: String = "a.example", from start: String, to end: String, area: String? = nil,
              offset: Int? = nil, limit: Int? = nil) async throws -> (answer: Answer, logs: [[String: Any]]) {
        var parameters: [String: Any] = ["Domain": domain, "StartTime": start, "EndTime": end]
        if let area { parameters["Area"] = area }
        if let offset { parameters["Offset"] = offset }
        if let limit { parameters["Limit"] = limit }
        let answer = try await call("DescribeCdnDomainLogs", parameters)
        return (answer, answer["DomainLogs"] as? [[String: Any]] ?? [])
    }
}

/// GETs `url`: status, `Content-Length` header and body. Throws when the body is cut short.
func download(_ url: String) async throws -> (status: Int, contentLength: Int?, body: [UInt8]) {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
    let body = try await response.body.collect(upTo: 1 << 30)
    return (Int(response.status.code), response.headers.first(name: "Content-Length").flatMap { Int($0) },
            Array(body.readableBytesView))
}

/// Decompresses a complete gzip file, or throws.
func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
    var stream = z_stream()
    guard inflateInit2_(&stream, 31, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw GunzipError()
    }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    var input = bytes
    var status: Int32 = Z_OK
    try input.withUnsafeMutableBufferPointer { inputPointer in
        stream.next_in = inputPointer.baseAddress
        stream.avail_in = uInt(inputPointer.count)
        repeat {
            let produced = chunk.withUnsafeMutableBufferPointer { chunkPointer in
                stream.next_out = chunkPointer.baseAddress
                stream.avail_out = uInt(chunkPointer.count)
                status = inflate(&stream, Z_NO_FLUSH)
                return chunkPointer.count - Int(stream.avail_out)
            }
            output += chunk[0..<produced]
            guard status == Z_OK || status == Z_STREAM_END else { throw GunzipError() }
            if status == Z_OK && produced == 0 && stream.avail_in == 0 { throw GunzipError() }  // truncated
        } while status != Z_STREAM_END
        guard stream.avail_in == 0 else { throw GunzipError() }  // trailing bytes
    }
    return output
}

struct GunzipError: Error {}
