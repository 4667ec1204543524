import AsyncHTTPClient

/// The HTTP clients the service sends with, one per kind of peer, so that credentials never follow a
/// redirect.
///
/// The CDN API and the object store are called with signed headers (`Authorization`, `X-TC-Token`,
/// `x-amz-security-token`); a redirect there is refused, and its 3xx answer is reported as the error it
/// is. Package downloads carry no credentials (their links are signed in the query) and may follow a
/// few redirects, as CDN download links do.
public enum HTTPClients {
    /// How many redirects a download follows.
    public static let downloadRedirectLimit = 5

    /// A client for signed API and object store calls: never follows a redirect.
    public static func signedCalls(connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(60)) -> HTTPClient {
        var configuration = configuration(connectTimeout: connectTimeout, readTimeout: readTimeout)
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A client for package downloads: follows up to `downloadRedirectLimit` redirects.
    public static func downloads(connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(60)) -> HTTPClient {
        var configuration = configuration(connectTimeout: connectTimeout, readTimeout: readTimeout)
        configuration.redirectConfiguration = .follow(max: downloadRedirectLimit, allowCycles: false)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A refused or unroutable connection fails within the connect timeout instead of being retried for
    /// the whole request deadline; the job's own retry policy takes over from there.
    private static func configuration(connectTimeout: Duration, readTimeout: Duration) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: .nanoseconds(connectTimeout.saturatingNanoseconds), read: .nanoseconds(readTimeout.saturatingNanoseconds))
        return configuration
    }
}
