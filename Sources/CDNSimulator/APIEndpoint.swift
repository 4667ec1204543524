import Foundation
import Hummingbird

/// Answers Tencent CDN API 3.0 calls: `POST /` with a JSON body, or `GET /` with the parameters in the
/// query, both signed with TC3-HMAC-SHA256 and naming the action in `X-TC-Action`.
///
/// Every answer is HTTP 200 `{"Response": {..., "RequestId": "<uuid>"}}`, an error adding
/// `"Error": {"Code", "Message"}`, except the injected HTTP 500 faults. Faults are drawn before the
/// signature is checked, as a front-end would fail before reaching the service.
struct APIEndpoint: Sendable {
    /// The only API version the simulator speaks.
    static let apiVersion = "2018-06-06"

    /// What the simulator serves, its clock and fault rates.
    let configuration: CDNSimulatorConfiguration
    /// Where calls, faults and refusals are counted.
    let counters: SimulatorCounters
    /// The actions behind the checks.
    let actions: CDNActions
    /// The signature check.
    let verifier: TC3RequestVerifier

    /// An endpoint for `configuration`, counting into `counters`.
    init(configuration: CDNSimulatorConfiguration, counters: SimulatorCounters) {
        self.configuration = configuration
        self.counters = counters
        actions = CDNActions(configuration: configuration)
        verifier = TC3RequestVerifier(configuration: configuration)
    }

    /// Handles one API request.
    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let ordinal = counters.countAPICall()
        let body = try await request.body.collect(upTo: 1 << 20)
        if configuration.latency > .zero { try await configuration.clock.sleep(for: configuration.latency) }
        let requestID = UUID().uuidString.lowercased()
        if configuration.isOutage(.api, at: configuration.clock.now) {
            counters.countFault()
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "Service Unavailable")))
        }
        switch InjectedFault.forAPICall(ordinal, configuration: configuration) {
        case .httpServerError?:
            counters.countFault()
            return Self.response(error: APIError("InternalError", "Injected HTTP 500."), requestID: requestID, status: .internalServerError)
        case .internalError?:
            counters.countFault()
            return Self.response(error: APIError("InternalError", "An internal error has occurred. Retry your request."), requestID: requestID)
        case .throttled?:
            counters.countFault()
            return Self.response(error: APIError("RequestLimitExceeded", "Your request frequency has exceeded the limit."), requestID: requestID)
        default:
            break
        }
        do throws(APIError) {
            let fields = try respond(to: request, body: Array(body.readableBytesView))
            return Self.response(fields, requestID: requestID)
        } catch {
            return Self.response(error: error, requestID: requestID)
        }
    }

    private func respond(to request: Request, body: [UInt8]) throws(APIError) -> [String: JSONValue] {
        let now = configuration.clock.now
        let rawQuery = request.uri.query ?? ""
        let host = request.head.authority ?? ""
        let signed = TC3RequestVerifier.SignedRequest(
            method: request.method.rawValue, authorization: request.header("Authorization"),
            timestamp: request.header("X-TC-Timestamp"), contentType: request.header("Content-Type") ?? "",
            host: host, canonicalQuery: request.method == .get ? rawQuery : "", body: body)
        do throws(APIError) {
            try verifier.verify(signed, now: now)
        } catch {
            counters.countRejected()
            throw error
        }
        guard let action = request.header("X-TC-Action"), !action.isEmpty else {
            throw APIError("MissingParameter", "The request is missing the X-TC-Action header.")
        }
        guard let version = request.header("X-TC-Version") else {
            throw APIError("MissingParameter", "The request is missing the X-TC-Version header.")
        }
        guard version == Self.apiVersion else {
            throw APIError("NoSuchVersion", "The API version \(version) does not exist; use \(Self.apiVersion).")
        }
        let parameters = request.method == .get
            ? ActionParameters(query: Self.decodeQuery(rawQuery))
            : try ActionParameters(jsonBody: body)
        return try actions.respond(to: action, parameters: parameters, host: host, now: now)
    }

    /// `{"Response": {fields..., "RequestId": ...}}` as HTTP `status`.
    static func response(_ fields: [String: JSONValue], requestID: String, status: HTTPResponse.Status = .ok) -> Response {
        var fields = fields
        fields["RequestId"] = .string(requestID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(JSONValue.object(["Response": .object(fields)]))) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    /// The Tencent error shape: `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`.
    static func response(error: APIError, requestID: String, status: HTTPResponse.Status = .ok) -> Response {
        response(["Error": .object(["Code": .string(error.code), "Message": .string(error.message)])], requestID: requestID, status: status)
    }

    /// Splits `a=1&b=x+y%21` into decoded pairs (`+` is a space, as form encoding and the SDKs write it).
    static func decodeQuery(_ query: String) -> [String: String] {
        var values: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            values[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return values
    }
}

extension Request {
    /// The value of the header `name` (case-insensitive), or nil.
    func header(_ name: String) -> String? {
        let lowercased = name.lowercased()
        return headers.first { $0.name.canonicalName == lowercased }?.value
    }
}
