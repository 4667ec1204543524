import Foundation

/// One endpoint a sender POSTs to (the sender's `absPath`, `headers`, `protocol` and `port` map onto it).
public struct IngestEndpoint: Sendable, Hashable {
    /// The request path, e.g. `/logs/example.com`.
    public var path: String
    /// The domain every line of this endpoint is filed under; nil when `disidDomains` decides.
    public var domain: String?
    /// The domain of a line by its `x-disid` field (a property id), when one endpoint serves several.
    /// Used when `domain` is nil; a line whose `x-disid` is not listed is quarantined.
    public var disidDomains: [String: String]
    /// Headers every request must carry with exactly these values (names case-insensitive); compared in
    /// constant time.
    public var headers: [String: String]

    /// Creates an endpoint.
    public init(path: String, domain: String? = nil, disidDomains: [String: String] = [:], headers: [String: String] = [:]) {
        self.path = path
        self.domain = domain
        self.disidDomains = disidDomains
        self.headers = headers
    }
}

/// `ingest.*`: the push receiver.
public struct IngestConfiguration: Sendable {
    /// `ingest.listen` host part.
    public var host = "127.0.0.1"
    /// `ingest.listen` port part (0: any free port, for tests).
    public var port = 8080
    /// `ingest.tls.certificate`: a PEM certificate chain file; with `tlsKey`, the receiver speaks HTTPS.
    public var tlsCertificate: String?
    /// `ingest.tls.key`: the PEM private key file.
    public var tlsKey: String?
    /// `ingest.endpoints`.
    public var endpoints: [IngestEndpoint] = []
    /// `ingest.time_zone`: the zone of the lines' `date` and `time` fields.
    public var timeZone = TimeZone(identifier: "UTC")!
    /// `ingest.seal_grace_minutes`: an hour is sealed this long after its end.
    public var sealGraceMinutes = 15
    /// `ingest.max_body_bytes`: the largest request body as sent (compressed or not): 4 MiB.
    public var maxBodyBytes = 4 << 20
    /// `ingest.max_decompressed_bytes`: the largest body after `Content-Encoding: gzip` is undone: 32 MiB.
    public var maxDecompressedBytes = 32 << 20
    /// `ingest.spool_quota_bytes`: past this, requests are answered 503 with `Retry-After`: 10 GiB.
    public var spoolQuotaBytes: Int64 = 10 << 30
    /// `ingest.max_part_bytes`: a part is sealed before its NDJSON (uncompressed) would pass this, and
    /// the hour goes on in the next part: 1 GiB.
    public var maxPartBytes: Int64 = 1 << 30
    /// `ingest.quarantine_retention_hours`: quarantined lines older than this are deleted and stop
    /// counting toward the spool quota: a week.
    public var quarantineRetentionHours = 168
    /// `ingest.max_concurrent_requests`: requests being read and written at once; more are answered
    /// 503 at once, which bounds memory to about this many times the body limits.
    public var maxConcurrentRequests = 64
    /// `ingest.max_connections`: open connections the receiver holds; past it, new connections wait in
    /// the kernel's listen backlog (256) until one closes, and past that the kernel refuses them.
    public var maxConnections = 512
    /// `ingest.idle_timeout_seconds`: a connection with no request for this long is closed, so idle
    /// keep-alive connections do not hold the places of `maxConnections`.
    public var idleTimeoutSeconds = 60
    /// `ingest.retry_after_seconds`: the `Retry-After` of a 503.
    public var retryAfterSeconds = 5
    /// `ingest.key_template`: the object key of each part.
    public var keyTemplate = StreamKeyTemplate.defaultTemplate
    /// `ingest.seal_interval_seconds`: how often hours are looked at for sealing.
    public var sealIntervalSeconds = 30
    /// How long a body's digest is remembered to recognise a sender's retry: an hour.
    public var repeatWindow: TimeInterval = 3600

    /// A configuration with the defaults.
    public init() {}

    /// The quarantine retention in seconds.
    public var quarantineRetention: TimeInterval { TimeInterval(quarantineRetentionHours * 3600) }

    /// The grace period in seconds.
    public var sealGrace: TimeInterval { TimeInterval(sealGraceMinutes * 60) }
}
