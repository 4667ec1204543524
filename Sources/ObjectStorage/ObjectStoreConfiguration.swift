/// Which request signature and which conventions an object store speaks.
public enum ObjectStoreDialect: String, Sendable {
    /// AWS Signature V4 (header-signed): AWS S3, COS's S3-compatible endpoints, MinIO, rclone, ...
    case s3
    /// Tencent COS's native signature (`q-sign-algorithm=sha1`) on the COS XML API.
    case cos
}

/// An object store key pair (`sink.secret_id` / `sink.secret_key`), optionally temporary.
///
/// Every textual form of this value (`description`, `debugDescription`, `dump`) hides the secret and the
/// session token, so credentials interpolated into a log line or an error by mistake leak nothing.
public struct ObjectStoreCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The key's public identifier; it names the key in every signed request.
    public var accessKeyID: String
    /// The signing secret. Never sent, logged or put in an error message.
    public var secretAccessKey: String
    /// The session token of temporary credentials (sent as `x-amz-security-token` or
    /// `x-cos-security-token`); nil for a permanent key.
    public var sessionToken: String?

    /// Creates credentials; pass `sessionToken` only for temporary credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// The access key ID shortened to its first and last four characters, e.g. `AKIA…MPLE`.
    ///
    /// Enough to tell keys apart in messages, too little to be mistaken for the whole ID.
    public var redactedAccessKeyID: String {
        guard accessKeyID.count > 8 else { return "…" }
        return "\(accessKeyID.prefix(4))…\(accessKeyID.suffix(4))"
    }

    /// E.g. `AKIA…MPLE (secret redacted)`; mentions a session token without showing it.
    public var description: String {
        "\(redactedAccessKeyID) (secret redacted\(sessionToken == nil ? "" : ", temporary token"))"
    }

    /// The same as `description`.
    public var debugDescription: String { description }

    /// A mirror without the secret or token, so `dump` and debuggers show no secret either.
    public var customMirror: Mirror {
        Mirror(
            self, children: ["accessKeyID": redactedAccessKeyID, "hasSessionToken": sessionToken != nil],
            displayStyle: .struct)
    }
}

/// Where and how to reach one bucket.
///
/// Addressing:
/// - `endpoint` empty: COS uses `https://<bucket>.cos.<region>.myqcloud.com` (the bucket name includes
///   its `-<appid>` suffix, and is already in the host, so `pathStyle` is ignored); S3 uses
///   `https://s3.<region>.amazonaws.com` (`us-east-1` when `region` is empty).
/// - `endpoint` given (`http(s)://host[:port][/base-path]`): with `pathStyle` the object URL is
///   `<endpoint>/<bucket>/<key>`; without it the bucket becomes the first label of the host,
///   `<scheme>://<bucket>.<host>/<key>`, unless the host already starts with `<bucket>.`. For COS a
///   given endpoint is the bucket's own URL (a custom or private domain) and is used as it is, except
///   the regional service endpoint `cos.<region>.myqcloud.com`, which gets the bucket in front.
///
/// An endpoint that is not an `http://` or `https://` URL with a host makes every call fail with the
/// permanent `store.endpoint_invalid`.
public struct ObjectStoreConfiguration: Sendable {
    /// The signature and conventions to use.
    public var dialect: ObjectStoreDialect
    /// The store's base URL; empty for the dialect's default (see the type's documentation).
    public var endpoint: String
    /// The bucket name (for COS with its `-<appid>` suffix, e.g. `logs-1250000000`).
    public var bucket: String
    /// The region, e.g. `ap-beijing` or `us-east-1`; part of the SigV4 credential scope (`us-east-1` when
    /// empty) and of the default endpoints.
    public var region: String
    /// Path-style (`host/bucket/key`) rather than virtual-hosted (`bucket.host/key`) addressing.
    public var pathStyle: Bool
    /// The key pair that signs every request.
    public var credentials: ObjectStoreCredentials
    /// The longest one request may take, body included; parts are large, so the default is 10 minutes.
    public var requestTimeout: Duration

    /// Creates a configuration; see the properties for the meaning and defaults of each parameter.
    public init(
        dialect: ObjectStoreDialect, endpoint: String = "", bucket: String, region: String,
        pathStyle: Bool = false, credentials: ObjectStoreCredentials, requestTimeout: Duration = .seconds(600)
    ) {
        self.dialect = dialect
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.pathStyle = pathStyle
        self.credentials = credentials
        self.requestTimeout = requestTimeout
    }

    /// The region for the SigV4 credential scope: `region`, or `us-east-1` when it is empty.
    var signingRegion: String { region.isEmpty ? "us-east-1" : region }

    /// The endpoint actually used: `endpoint`, or the dialect's default when it is empty.
    var effectiveEndpoint: String {
        guard endpoint.isEmpty else { return endpoint }
        switch dialect {
        case .cos: return "https://\(bucket).cos.\(region).myqcloud.com"
        case .s3: return "https://s3.\(signingRegion).amazonaws.com"
        }
    }
}
