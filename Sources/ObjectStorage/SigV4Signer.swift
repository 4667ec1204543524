import Core
import Crypto
import Foundation

/// Signs S3 requests with AWS Signature Version 4, in the `Authorization` header.
///
/// Pure: the caller chooses the headers to sign and the payload hash, and passes the time. Every header
/// in `Request.headers` is signed (the client puts `host`, `x-amz-date`, `x-amz-content-sha256`, and
/// `x-amz-security-token`, `content-md5`, `content-type` when sent); anything else travels unsigned.
/// Paths follow the S3 rule: each segment URI-encoded once, `/` kept (other AWS services encode twice).
///
/// See `reference/tencent-cloud.md` section 5 for the algorithm and its test vectors.
public struct SigV4Signer: Sendable {
    /// The algorithm name at the start of the `Authorization` header and of the string to sign.
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash of a body that is streamed without being hashed first.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The part of a request the signature covers.
    public struct Request: Sendable {
        /// `GET`, `PUT`, ... upper case.
        public var method: String
        /// The path, not yet encoded (`/test$file.text`); encoded here once per segment.
        public var path: String
        /// Query parameters, not yet encoded, in any order; a nil value is a bare name (`uploads`).
        public var query: [(name: String, value: String?)]
        /// Every header to sign, `host` and `x-amz-date` included; names in any case.
        public var headers: [(name: String, value: String)]
        /// hex(sha256(body)) or `unsignedPayload`, as sent in `x-amz-content-sha256`.
        public var payloadHash: String

        /// Creates the description of a request.
        public init(
            method: String, path: String, query: [(name: String, value: String?)] = [],
            headers: [(name: String, value: String)], payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// A computed signature with its intermediate texts (so tests can pin each step).
    public struct Signature: Sendable, Equatable {
        /// The canonical request, lines joined by `\n`.
        public var canonicalRequest: String
        /// hex(sha256(canonicalRequest)).
        public var canonicalRequestHash: String
        /// The string to sign.
        public var stringToSign: String
        /// Lower-case signed header names, sorted, `;`-joined.
        public var signedHeaders: String
        /// The lower-case hex signature.
        public var signature: String
        /// The whole `Authorization` header value.
        public var authorization: String
    }

    /// The key pair that signs; only `accessKeyID` and `secretAccessKey` are used here.
    public let credentials: ObjectStoreCredentials
    /// The region of the credential scope, e.g. `us-east-1`.
    public let region: String
    /// The service of the credential scope: `s3`.
    public let service: String

    /// Creates a signer for one region and service.
    public init(credentials: ObjectStoreCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs `request` at `amzDate` (`YYYYMMDDTHHMMSSZ`, the value of the signed `x-amz-date` header).
    public func sign(_ request: Request, amzDate: String) -> Signature {
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        let canonicalRequest = [
            request.method,
            Self.canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        let requestHash = SHA256.hash(data: Array(canonicalRequest.utf8)).hexString
        let date = String(amzDate.prefix(8))
        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let stringToSign = "\(Self.algorithm)\n\(amzDate)\n\(scope)\n\(requestHash)"

        let dateKey = Self.hmac(key: Array("AWS4\(credentials.secretAccessKey)".utf8), message: date)
        let regionKey = Self.hmac(key: dateKey, message: region)
        let serviceKey = Self.hmac(key: regionKey, message: service)
        let signingKey = Self.hmac(key: serviceKey, message: "aws4_request")
        let signature = Self.hmac(key: signingKey, message: stringToSign).hexString
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(
            canonicalRequest: canonicalRequest, canonicalRequestHash: requestHash, stringToSign: stringToSign,
            signedHeaders: signedHeaders, signature: signature, authorization: authorization)
    }

    /// The `x-amz-date` value of `date`: `YYYYMMDDTHHMMSSZ` in UTC.
    public static func amzDate(for date: Date) -> String {
        let time = CivilTime(unixSeconds: Int(date.timeIntervalSince1970.rounded(.down)))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(time.year)\(two(time.month))\(two(time.day))T\(two(time.hour))\(two(time.minute))\(two(time.second))Z"
    }

    /// The canonical URI of `path`: each segment URI-encoded once, `/` kept; `/` for an empty path.
    public static func canonicalURI(_ path: String) -> String {
        path.isEmpty ? "/" : URIEncoding.encode(path, keepingSlash: true)
    }

    /// The canonical query: names and values URI-encoded, sorted by name then value, `name=value` pairs
    /// `&`-joined; a bare name signs as `name=`.
    public static func canonicalQuery(_ items: [(name: String, value: String?)]) -> String {
        let pairs: [URIEncoding.Pair] = items.map { item in
            URIEncoding.Pair(name: URIEncoding.encode(item.name), value: URIEncoding.encode(item.value ?? ""))
        }
        return pairs.sorted().map { pair in "\(pair.name)=\(pair.value)" }.joined(separator: "&")
    }

    /// The canonical headers block (`name:value\n` each, names lower-case and sorted, values trimmed with
    /// inner runs of spaces collapsed, repeated names comma-joined) and the signed header list.
    public static func canonicalHeaders(
        _ headers: [(name: String, value: String)]
    ) -> (canonical: String, signed: String) {
        var merged: [String: String] = [:]
        for header in headers {
            let name = header.name.lowercased()
            let value = header.value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name] = merged[name].map { "\($0),\(value)" } ?? value
        }
        let names = merged.keys.sorted()
        let canonical = names.map { "\($0):\(merged[$0] ?? "")\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    private static func hmac(key: [UInt8], message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }
}
