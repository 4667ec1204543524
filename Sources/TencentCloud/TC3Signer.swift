import Core
import Crypto

/// Signs Tencent Cloud API 3.0 requests with TC3-HMAC-SHA256.
///
/// Only `content-type` and `host` are signed, as the official SDKs do; the other `X-TC-*` headers travel
/// unsigned. The path is always `/`. The same type verifies requests on the server side: recompute
/// `authorization(...)` from the received headers and body and compare.
///
/// See `reference/tencent-cloud.md` section 3 for the algorithm and its test vectors.
public struct TC3Signer: Sendable {
    /// The algorithm name at the start of the `Authorization` header and of the string to sign.
    public static let algorithm = "TC3-HMAC-SHA256"
    /// The headers covered by the signature, lower-case, sorted, `;`-joined.
    public static let signedHeaders = "content-type;host"

    /// The key pair that signs.
    public let credentials: TencentCredentials
    /// The API service name, e.g. `cdn` (part of the credential scope and of the key derivation).
    public let service: String

    /// Creates a signer for one service.
    public init(credentials: TencentCredentials, service: String) {
        self.credentials = credentials
        self.service = service
    }

    /// hex(sha256(canonical request)) — exposed for the test vectors
    ///
    /// - Parameters:
    ///   - method: `POST` or `GET`, upper case.
    ///   - host: the `Host` header value, with `:port` when the request carries one.
    ///   - contentType: the `Content-Type` header value exactly as sent.
    ///   - canonicalQuery: empty for POST; the URL-encoded query string for GET.
    ///   - payload: the request body exactly as sent (empty for GET).
    public func canonicalRequestHash(
        method: String, host: String, contentType: String, canonicalQuery: String, payload: [UInt8]
    ) -> String {
        let canonicalRequest = [
            method,
            "/",
            canonicalQuery,
            "content-type:\(contentType)\nhost:\(host)\n",
            Self.signedHeaders,
            SHA256.hash(data: payload).hexString,
        ].joined(separator: "\n")
        return SHA256.hash(data: Array(canonicalRequest.utf8)).hexString
    }

    /// lower-case hex signature
    ///
    /// `timestamp` is the request's `X-TC-Timestamp` (unix seconds); its UTC date is part of the
    /// credential scope. The parameters are otherwise those of `canonicalRequestHash`.
    public func signature(
        method: String, host: String, contentType: String, canonicalQuery: String, payload: [UInt8], timestamp: Int
    ) -> String {
        let date = Self.utcDate(of: timestamp)
        let requestHash = canonicalRequestHash(
            method: method, host: host, contentType: contentType, canonicalQuery: canonicalQuery, payload: payload)
        let stringToSign = "\(Self.algorithm)\n\(timestamp)\n\(credentialScope(date: date))\n\(requestHash)"

        let dateKey = hmac(key: Array("TC3\(credentials.secretKey)".utf8), message: date)
        let serviceKey = hmac(key: dateKey, message: service)
        let signingKey = hmac(key: serviceKey, message: "tc3_request")
        return hmac(key: signingKey, message: stringToSign).hexString
    }

    /// The full `Authorization` header value.
    ///
    /// `TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request, SignedHeaders=content-type;host,
    /// Signature=<hex>`; the parameters are those of `signature`.
    public func authorization(
        method: String, host: String, contentType: String, canonicalQuery: String, payload: [UInt8], timestamp: Int
    ) -> String {
        let signature = signature(
            method: method, host: host, contentType: contentType, canonicalQuery: canonicalQuery,
            payload: payload, timestamp: timestamp)
        let scope = credentialScope(date: Self.utcDate(of: timestamp))
        return "\(Self.algorithm) Credential=\(credentials.secretID)/\(scope), "
            + "SignedHeaders=\(Self.signedHeaders), Signature=\(signature)"
    }

    /// `<date>/<service>/tc3_request`.
    private func credentialScope(date: String) -> String {
        "\(date)/\(service)/tc3_request"
    }

    /// The UTC calendar date (`YYYY-MM-DD`) of a unix timestamp.
    static func utcDate(of timestamp: Int) -> String {
        CivilTime(unixSeconds: timestamp).dateString
    }

    private func hmac(key: [UInt8], message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }
}
