import Foundation

/// Where the requests of one bucket go: the origin, the `Host` header and the path of each key.
///
/// Built once from the configuration (see `ObjectStoreConfiguration` for the addressing rules). Paths are
/// kept decoded; `URIEncoding` encodes them the same way for the URL and for the signature.
struct ObjectStoreAddress: Sendable, Equatable {
    /// `http` or `https`.
    var scheme: String
    /// The `Host` header value: the host, with `:port` when it is not the scheme's default.
    var host: String
    /// The decoded path before a key: the endpoint's own path and, path-style, `/<bucket>`; no trailing `/`.
    var bucketPath: String

    /// `scheme://host`.
    var origin: String { "\(scheme)://\(host)" }

    /// Parses the configuration's effective endpoint; nil when it is not an http(s) URL with a host.
    init?(_ configuration: ObjectStoreConfiguration) {
        let endpoint = configuration.effectiveEndpoint
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", var hostName = url.host, !hostName.isEmpty,
            !configuration.bucket.isEmpty
        else { return nil }
        if hostName.contains(":") && !hostName.hasPrefix("[") { hostName = "[\(hostName)]" }
        var basePath = url.path
        while basePath.hasSuffix("/") { basePath.removeLast() }
        // The default COS endpoint already names the bucket in its host, whatever `pathStyle` says.
        let pathStyle = configuration.pathStyle && !(configuration.dialect == .cos && configuration.endpoint.isEmpty)
        // For COS, a given endpoint is the bucket's own URL (a custom or private domain, a test server),
        // used as it is; only the regional service endpoint `cos.<region>.myqcloud.com` lacks the bucket.
        let lowered = hostName.lowercased()
        let isCOSServiceEndpoint = lowered.hasPrefix("cos.") && lowered.hasSuffix(".myqcloud.com")
        let isCOSBucketURL = configuration.dialect == .cos && !configuration.endpoint.isEmpty && !isCOSServiceEndpoint
        if pathStyle {
            basePath += "/" + configuration.bucket
        } else if !isCOSBucketURL, !lowered.hasPrefix(configuration.bucket.lowercased() + ".") {
            hostName = configuration.bucket + "." + hostName
        }
        let defaultPort = scheme == "https" ? 443 : 80
        self.scheme = scheme
        self.host = url.port.map { $0 == defaultPort ? hostName : "\(hostName):\($0)" } ?? hostName
        self.bucketPath = basePath
    }

    /// The decoded path of `key`, or of the bucket itself when `key` is nil (`/` virtual-hosted).
    func path(forKey key: String?) -> String {
        guard let key else { return bucketPath.isEmpty ? "/" : bucketPath }
        return bucketPath + "/" + key
    }

    /// The URL to send: origin, encoded path, and the query in the given order.
    func url(path: String, query: [(name: String, value: String?)]) -> String {
        let encodedQuery = URIEncoding.query(query)
        return origin + SigV4Signer.canonicalURI(path) + (encodedQuery.isEmpty ? "" : "?" + encodedQuery)
    }
}
