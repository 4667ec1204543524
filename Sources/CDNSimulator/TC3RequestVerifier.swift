import Foundation
import TencentCloud

/// Checks a received API request's TC3-HMAC-SHA256 signature the way Tencent does, with `TC3Signer`.
///
/// Order of checks (the first failure is the answer): the `Authorization` header parses
/// (`AuthFailure.InvalidAuthorization`), names the configured SecretId (`AuthFailure.SecretIdNotFound`),
/// the `cdn` service and `content-type;host` as signed headers (`AuthFailure.InvalidAuthorization`); the
/// credential date is the UTC date of `X-TC-Timestamp` (`AuthFailure.InvalidAuthorization`); the timestamp is
/// within 5 minutes of now (`AuthFailure.SignatureExpire`); the signature recomputed over the received
/// method, `Content-Type`, `Host`, query (GET) and body matches, compared in constant time
/// (`AuthFailure.SignatureFailure`).
struct TC3RequestVerifier: Sendable {
    /// How far a request's timestamp may be from now, either way.
    static let allowedClockSkew = 300

    /// The only SecretId accepted.
    let secretID: String
    /// Recomputes signatures with the configured key.
    let signer: TC3Signer

    /// A verifier for `configuration`'s key pair and the `cdn` service.
    init(configuration: CDNSimulatorConfiguration) {
        secretID = configuration.secretID
        signer = TC3Signer(
            credentials: TencentCredentials(secretID: configuration.secretID, secretKey: configuration.secretKey),
            service: "cdn")
    }

    /// The received parts of a request that the signature covers, plus the headers that carry it.
    struct SignedRequest {
        /// `POST` or `GET`.
        var method: String
        /// The `Authorization` header, if any.
        var authorization: String?
        /// The `X-TC-Timestamp` header, if any.
        var timestamp: String?
        /// The `Content-Type` header exactly as received (empty when absent).
        var contentType: String
        /// The `Host` header exactly as received, port included.
        var host: String
        /// The raw query string for GET, empty for POST.
        var canonicalQuery: String
        /// The body exactly as received.
        var body: [UInt8]
    }

    /// Throws the Tencent error for the first check the request fails.
    func verify(_ request: SignedRequest, now: Date) throws(APIError) {
        guard let authorization = request.authorization, !authorization.isEmpty else {
            throw APIError("AuthFailure.InvalidAuthorization", "The Authorization header is missing.")
        }
        let fields = try Self.parse(authorization)
        let scope = fields.credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 4, scope[3] == "tc3_request" else {
            throw APIError("AuthFailure.InvalidAuthorization", "Credential must be <SecretId>/<date>/cdn/tc3_request.")
        }
        guard scope[0] == secretID else {
            throw APIError("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct.")
        }
        guard scope[2] == "cdn" else {
            throw APIError("AuthFailure.InvalidAuthorization", "The credential scope names service '\(scope[2])', expected 'cdn'.")
        }
        guard fields.signedHeaders == TC3Signer.signedHeaders else {
            throw APIError("AuthFailure.InvalidAuthorization", "SignedHeaders must be \(TC3Signer.signedHeaders).")
        }
        guard let text = request.timestamp, let timestamp = Int(text) else {
            throw APIError("AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing or not a unix time in seconds.")
        }
        guard scope[1] == Self.utcDate(of: timestamp) else {
            throw APIError("AuthFailure.InvalidAuthorization", "The credential date is not the UTC date of X-TC-Timestamp.")
        }
        let nowSeconds = Int(now.timeIntervalSince1970.rounded(.down))
        guard abs(nowSeconds - timestamp) <= Self.allowedClockSkew else {
            throw APIError("AuthFailure.SignatureExpire", "Signature expired. Timestamp \(timestamp) is more than 5 minutes from the server time \(nowSeconds).")
        }
        let expected = signer.signature(
            method: request.method, host: request.host, contentType: request.contentType,
            canonicalQuery: request.canonicalQuery, payload: request.body, timestamp: timestamp)
        guard Self.constantTimeEqual(Array(expected.utf8), Array(fields.signature.utf8)) else {
            throw APIError("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.")
        }
    }

    /// `TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`, split into its three values.
    private static func parse(_ authorization: String) throws(APIError) -> (credential: String, signedHeaders: String, signature: String) {
        let prefix = TC3Signer.algorithm + " "
        guard authorization.hasPrefix(prefix) else {
            throw APIError("AuthFailure.InvalidAuthorization", "The Authorization header must start with \(prefix).")
        }
        var values: [String: String] = [:]
        for part in authorization.dropFirst(prefix.count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            values[String(pair[0])] = String(pair[1])
        }
        guard let credential = values["Credential"], let signedHeaders = values["SignedHeaders"],
              let signature = values["Signature"]
        else {
            throw APIError("AuthFailure.InvalidAuthorization", "The Authorization header must carry Credential, SignedHeaders and Signature.")
        }
        return (credential, signedHeaders, signature)
    }

    /// `YYYY-MM-DD` of a unix time in UTC.
    static func utcDate(of timestamp: Int) -> String {
        let shifted = Date(timeIntervalSince1970: TimeInterval(timestamp - BeijingTime.offsetSeconds))
        return String(BeijingTime.string(from: shifted).prefix(10))
    }

    /// Compares without an early exit, so the time taken does not reveal how many leading bytes matched.
    static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}
