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
    /// The time one HTTP request may take, from connecting to the last byte of the response.
    public var requestTimeout: Duration

    /// Tencent's public API endpoint.
    public static let defaultEndpoint = "https://cdn.tencentcloudapi.com"
    /// Both areas, mainland and overseas.
    public static let defaultArea = "global"
    /// Tencent's per-API limit.
    public static let defaultRequestsPerSecond = 20.0

    /// Creates a configuration; every parameter but the credentials has a documented default.
    public init(
        endpoint: String = TencentCDNConfiguration.defaultEndpoint,
        credentials: TencentCredentials,
        area: String = TencentCDNConfiguration.defaultArea,
        requestsPerSecond: Double = TencentCDNConfiguration.defaultRequestsPerSecond,
        pageSize: Int = 1000,
        requestTimeout: Duration = .seconds(30)
    ) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.area = area
        self.requestsPerSecond = requestsPerSecond
        self.pageSize = pageSize
        self.requestTimeout = requestTimeout
    }

    /// `pageSize` clamped to what the API accepts.
    var effectivePageSize: Int { min(max(pageSize, 1), 1000) }
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
