import Core
import Foundation

/// How to reach the Tencent CDN API 3.0 (the `cdn.*` configuration keys).
public struct TencentCDNConfiguration: Sendable {
    /// The API base URL: `https://cdn.tencentcloudapi.com` by default, `http://127.0.0.1:PORT` for the
    /// simulator. Only scheme, host and port are used; requests always go to `/`. The `Host` header
    /// (and so the signature) carries the port only when the URL spells one out.
    public var endpoint: String
    /// The API key.
    public var credentials: TencentCredentials
    /// Which packages to list: `global` (mainland and overseas, the default), `mainland` or `overseas`.
    public var area: String
    /// The client-side request rate limit shared by all calls of one client (Tencent allows 20/s per API).
    public var requestsPerSecond: Double
    /// Entries per page (`Limit`); clamped to 1...1000, the API's maximum.
    public var pageSize: Int
    /// The time one HTTP request may take, from sending it to the last byte of the response body.
    public var requestTimeout: Duration
    /// The least an answer's body must average, in bytes per second, over every `stallWindow`; 0 turns
    /// the check off.
    public var minimumBytesPerSecond: Int
    /// The span the answer's rate is measured over.
    public var stallWindow: Duration

    /// Tencent's public API endpoint.
    public static let defaultEndpoint = "https://cdn.tencentcloudapi.com"
    /// Both areas, mainland and overseas.
    public static let defaultArea = "global"
    /// Tencent's per-API limit.
    public static let defaultRequestsPerSecond = 20.0
    /// An answer is a few hundred KiB at most and comes in well under a second; 30 s leaves room for a
    /// slow link without letting a stuck call hold its window for long.
    public static let defaultRequestTimeout = Duration.seconds(30)
    /// 1 KiB/s, as for package downloads: a working link delivers far more.
    public static let defaultMinimumBytesPerSecond = 1024
    /// Shorter than for downloads (a minute), which `requestTimeout` would always cut first: a trickling
    /// answer is told as stalled after 10 s rather than as timed out.
    public static let defaultStallWindow = Duration.seconds(10)

    /// Creates a configuration; every parameter but the credentials has a documented default.
    public init(
        endpoint: String = TencentCDNConfiguration.defaultEndpoint,
        credentials: TencentCredentials,
        area: String = TencentCDNConfiguration.defaultArea,
        requestsPerSecond: Double = TencentCDNConfiguration.defaultRequestsPerSecond,
        pageSize: Int = 1000,
        requestTimeout: Duration = TencentCDNConfiguration.defaultRequestTimeout,
        minimumBytesPerSecond: Int = TencentCDNConfiguration.defaultMinimumBytesPerSecond,
        stallWindow: Duration = TencentCDNConfiguration.defaultStallWindow
    ) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.area = area
        self.requestsPerSecond = requestsPerSecond
        self.pageSize = pageSize
        self.requestTimeout = requestTimeout
        self.minimumBytesPerSecond = minimumBytesPerSecond
        self.stallWindow = stallWindow
    }

    /// `pageSize` clamped to what the API accepts.
    var effectivePageSize: Int { min(max(pageSize, 1), 1000) }

    /// The bounds of each request: `requestTimeout` in all, the rate floor on the answer's body.
    var transferLimits: TransferLimits {
        TransferLimits(timeout: requestTimeout, minimumBytesPerSecond: minimumBytesPerSecond, stallWindow: stallWindow)
    }
}

/// The parts of an endpoint URL a request needs.
struct TencentEndpoint: Equatable {
    /// The URL requests are posted to: `<scheme>://<authority>/`.
    var url: String
    /// The `Host` header value: the URL's host, with `:port` when the URL has an explicit port.
    var host: String

    /// Parses `scheme://[userinfo@]host[:port][/path...]`; nil when there is no `http`/`https` scheme or
    /// no host.
    init?(_ endpoint: String) {
        let trimmed = endpoint.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = trimmed.range(of: "://") else { return nil }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = trimmed[schemeEnd.upperBound...]
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") {
            authority = authority[authority.index(after: at)...]
        }
        guard !authority.isEmpty, !authority.hasPrefix(":") else { return nil }
        host = String(authority)
        url = "\(scheme)://\(authority)/"
    }
}
