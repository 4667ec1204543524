import Core
import Crypto
import Foundation

/// Signs COS XML API requests with the native COS signature (`q-sign-algorithm=sha1`).
///
/// Pure: the caller chooses the headers and query parameters to sign and passes the key time. The
/// client signs `host`, and `content-length`, `content-md5`, `content-type` and every `x-cos-*` header
/// when it sends them (the security token of temporary credentials included), and every query parameter.
///
/// The key time the client uses runs from 60 s before now (a host clock slightly ahead of COS's must not
/// make a fresh signature "not yet valid") to 3600 s after it (a part of several GiB on a slow link
/// must still be valid when its last byte arrives; COS checks the time when the request starts).
///
/// See `reference/tencent-cloud.md` section 4 for the algorithm and its test vectors.
public struct COSSigner: Sendable {
    /// The `q-sign-algorithm` value, also the first line of the string to sign.
    public static let algorithm = "sha1"
    /// How long before now a signature made by `keyTime(now:)` becomes valid.
    public static let validityBefore = 60
    /// How long after now a signature made by `keyTime(now:)` stays valid.
    public static let validityAfter = 3600

    /// The part of a request the signature covers.
    public struct Request: Sendable {
        /// `GET`, `PUT`, ... (lower-cased when signed).
        public var method: String
        /// The decoded path, e.g. `/exampleobject(腾讯云)`.
        public var path: String
        /// Query parameters, decoded, in any order; a nil value is a bare name (`uploads`).
        public var parameters: [(name: String, value: String?)]
        /// Every header to sign, `host` included; names in any case, values as sent.
        public var headers: [(name: String, value: String)]

        /// Creates the description of a request.
        public init(
            method: String, path: String, parameters: [(name: String, value: String?)] = [],
            headers: [(name: String, value: String)]
        ) {
            self.method = method
            self.path = path
            self.parameters = parameters
            self.headers = headers
        }
    }

    /// A computed signature with its intermediate texts (so tests can pin each step).
    public struct Signature: Sendable, Equatable {
        /// `<start>;<end>` in unix seconds.
        public var keyTime: String
        /// hex(HMAC-SHA1(secret, keyTime)).
        public var signKey: String
        /// Signed header names, lower-case, encoded, sorted, `;`-joined.
        public var headerList: String
        /// Signed parameter names, lower-case, encoded, sorted, `;`-joined.
        public var parameterList: String
        /// The HttpString, lines joined by `\n` (with a trailing `\n`).
        public var httpString: String
        /// hex(SHA1(httpString)).
        public var httpStringHash: String
        /// The string to sign.
        public var stringToSign: String
        /// The lower-case hex signature.
        public var signature: String
        /// The whole `Authorization` header value.
        public var authorization: String
    }

    /// The key pair that signs; only `accessKeyID` and `secretAccessKey` are used here.
    public let credentials: ObjectStoreCredentials

    /// Creates a signer.
    public init(credentials: ObjectStoreCredentials) {
        self.credentials = credentials
    }

    /// Signs `request` for `keyTime` (`<start>;<end>`, unix seconds; see `keyTime(now:)`).
    public func sign(_ request: Request, keyTime: String) -> Signature {
        let (parameterList, parameters) = Self.formatted(request.parameters.map { ($0.name, $0.value ?? "") })
        let (headerList, headers) = Self.formatted(request.headers.map { ($0.name, $0.value) })
        let httpString = "\(request.method.lowercased())\n\(request.path)\n\(parameters)\n\(headers)\n"
        let httpStringHash = Insecure.SHA1.hash(data: Array(httpString.utf8)).hexString
        let stringToSign = "\(Self.algorithm)\n\(keyTime)\n\(httpStringHash)\n"
        let signKey = Self.hmac(key: Array(credentials.secretAccessKey.utf8), message: keyTime).hexString
        let signature = Self.hmac(key: Array(signKey.utf8), message: stringToSign).hexString
        let authorization = [
            "q-sign-algorithm=\(Self.algorithm)", "q-ak=\(credentials.accessKeyID)", "q-sign-time=\(keyTime)",
            "q-key-time=\(keyTime)", "q-header-list=\(headerList)", "q-url-param-list=\(parameterList)",
            "q-signature=\(signature)",
        ].joined(separator: "&")
        return Signature(
            keyTime: keyTime, signKey: signKey, headerList: headerList, parameterList: parameterList,
            httpString: httpString, httpStringHash: httpStringHash, stringToSign: stringToSign,
            signature: signature, authorization: authorization)
    }

    /// The key time the client signs with: from `validityBefore` seconds before `now` to `validityAfter`
    /// seconds after it, as `<start>;<end>`.
    public static func keyTime(now: Date) -> String {
        let seconds = Int(now.timeIntervalSince1970.rounded(.down))
        return "\(seconds - validityBefore);\(seconds + validityAfter)"
    }

    /// The name list and the `name=value&...` text of `pairs`: names lower-cased then encoded, values
    /// encoded, sorted by encoded name (then value).
    static func formatted(_ pairs: [(String, String)]) -> (names: String, text: String) {
        let encoded: [URIEncoding.Pair] = pairs.map { name, value in
            URIEncoding.Pair(name: URIEncoding.encode(name.lowercased()), value: URIEncoding.encode(value))
        }.sorted()
        let names = encoded.map { pair in pair.name }.joined(separator: ";")
        let text = encoded.map { pair in "\(pair.name)=\(pair.value)" }.joined(separator: "&")
        return (names, text)
    }

    private static func hmac(key: [UInt8], message: String) -> [UInt8] {
        Array(HMAC<Insecure.SHA1>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }
}
