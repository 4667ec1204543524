import Core
import Foundation

/// Everything that shapes what the CDN simulator serves: the account, the packages and the faults.
///
/// Two simulators with equal configurations (apart from the clock) serve byte-identical packages, in this
/// process or any other. All rates are fractions in `0...1`; `validate()` reports values out of range.
public struct CDNSimulatorConfiguration: Sendable {
    /// The account's domains, in the order `DescribeDomains` lists them.
    public var domains: [String]
    /// The only SecretId the API accepts.
    public var secretID: String
    /// The secret key requests must be signed with (TC3-HMAC-SHA256); it also keys the download links.
    public var secretKey: String
    /// The typical compressed size of one package, in bytes. Each package's size is derived
    /// deterministically from it: between 50 % and 150 % of it (at least 1 KiB).
    public var packageBytes: Int
    /// The fraction of API calls that fail: half of them with HTTP 500, half with HTTP 200 and `InternalError`.
    public var apiErrorRate: Double
    /// The fraction of API calls answered with `RequestLimitExceeded`.
    public var throttleRate: Double
    /// The fraction of downloads that announce the full `Content-Length` but end after about half the bytes.
    public var truncateRate: Double
    /// The fraction of downloads that have one byte flipped (same length; the gzip CRC no longer matches).
    public var corruptRate: Double
    /// Added to every response, API or download.
    public var latency: Duration
    /// Seeds the package contents, the empty hours and the fault decisions.
    public var seed: UInt64
    /// How long after its hour ends a package is listed: the package for hour H appears at H + 1 h + delay.
    public var publicationDelay: Duration
    /// Packages of hours that started more than this many days ago are no longer listed or served.
    public var retentionDays: Int
    /// How long a listed download link (`LogPath`) stays valid.
    public var linkLifetime: Duration
    /// The fraction of mainland (domain, hour) pairs that have no package; overseas packages are missing
    /// three times as often (capped at 1), as overseas traffic is sparser.
    public var emptyHourRate: Double
    /// When true, a package grows for 24 hours after its hour ends (from half its final size, in hourly
    /// steps, the shorter versions being prefixes of the final log lines), so a later listing shows a
    /// larger `FileSize`. When false (the default) a package never changes.
    public var growingPackages: Bool
    /// When true, the overseas package is named `<yyyymmddhh00>-<domain>-overseas.gz`; when false (the
    /// default, as on Tencent) both areas' packages share the name `<yyyymmddhh00>-<domain>.gz` and differ
    /// only by the link's `area` query parameter.
    public var distinctOverseasNames: Bool
    /// How many bytes of generated packages the simulator keeps on disk (in a private temporary directory,
    /// least recently used evicted first) so repeated downloads do not regenerate them.
    public var packageCacheBytes: Int
    /// Periods, on the simulator's clock, in which part of the CDN fails every request: the chaos the
    /// outage tests and the chaos demo run the service through.
    public var outages: [SimulatedOutage]
    /// The simulator's clock: publication, retention, signature age and link expiry are judged against
    /// it, and `latency` is waited on it.
    public var clock: any WallClock

    /// Creates a configuration; every parameter has the documented default.
    public init(
        domains: [String] = ["a.example", "b.example"],
        secretID: String = "AKIDsimulator",
        secretKey: String = "simulator-secret-key",
        packageBytes: Int = 64 * 1024,
        apiErrorRate: Double = 0,
        throttleRate: Double = 0,
        truncateRate: Double = 0,
        corruptRate: Double = 0,
        latency: Duration = .zero,
        seed: UInt64 = 1,
        publicationDelay: Duration = .seconds(30 * 60),
        retentionDays: Int = 30,
        linkLifetime: Duration = .seconds(24 * 3600),
        emptyHourRate: Double = 0.1,
        growingPackages: Bool = false,
        distinctOverseasNames: Bool = false,
        packageCacheBytes: Int = 1 << 30,
        outages: [SimulatedOutage] = [],
        clock: any WallClock = SystemWallClock()
    ) {
        self.domains = domains
        self.secretID = secretID
        self.secretKey = secretKey
        self.packageBytes = packageBytes
        self.apiErrorRate = apiErrorRate
        self.throttleRate = throttleRate
        self.truncateRate = truncateRate
        self.corruptRate = corruptRate
        self.latency = latency
        self.seed = seed
        self.publicationDelay = publicationDelay
        self.retentionDays = retentionDays
        self.linkLifetime = linkLifetime
        self.emptyHourRate = emptyHourRate
        self.growingPackages = growingPackages
        self.distinctOverseasNames = distinctOverseasNames
        self.packageCacheBytes = packageCacheBytes
        self.outages = outages
        self.clock = clock
    }

    /// A description of the first invalid setting, or nil when the configuration is usable.
    ///
    /// Messages name the setting as the `simulate-cdn` flag does, e.g. `throttle rate must be in 0...1`.
    public func validate() -> String? {
        if domains.isEmpty { return "at least one domain is required" }
        if let bad = domains.first(where: { !Self.isValidDomain($0) }) {
            return "domain '\(bad)' is not a valid host name"
        }
        if Set(domains).count != domains.count { return "domains must be distinct" }
        if secretID.isEmpty || secretKey.isEmpty { return "secret id and secret key must not be empty" }
        if packageBytes < 1 { return "package bytes must be positive" }
        if packageBytes > 4 << 30 { return "package bytes must be at most 4 GiB" }
        let rates = [
            ("API error rate", apiErrorRate), ("throttle rate", throttleRate), ("truncate rate", truncateRate),
            ("corrupt rate", corruptRate), ("empty hour rate", emptyHourRate),
        ]
        if let (name, _) = rates.first(where: { !(0...1).contains($0.1) }) { return "\(name) must be in 0...1" }
        if apiErrorRate + throttleRate > 1 { return "API error rate plus throttle rate must be at most 1" }
        if truncateRate + corruptRate > 1 { return "truncate rate plus corrupt rate must be at most 1" }
        if latency < .zero { return "latency must not be negative" }
        if publicationDelay < .zero { return "publication delay must not be negative" }
        if retentionDays < 1 { return "retention days must be at least 1" }
        if packageCacheBytes < 0 { return "package cache bytes must not be negative" }
        if linkLifetime <= .zero { return "link lifetime must be positive" }
        if let bad = outages.first(where: { $0.until <= $0.from }) { return "outage \(bad) must end after it starts" }
        return nil
    }

    /// Host names only: letters, digits, `-` and `.`, as the download path `<...>-<domain>.gz` needs.
    static func isValidDomain(_ domain: String) -> Bool {
        !domain.isEmpty && domain.count <= 253 && !domain.hasPrefix(".") && !domain.hasPrefix("-")
            && domain.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || scalar == "-" || scalar == ".")
            }
    }
}

/// A period in which part of the simulated CDN fails every request.
public struct SimulatedOutage: Sendable, Hashable, CustomStringConvertible {
    /// What fails.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Every API call is answered HTTP 503.
        case api
        /// Every download is answered HTTP 503.
        case downloads
        /// Every download sends its headers, then its body at `trickleBytesPerSecond` of the simulator's
        /// clock: a link that stalls after the response head.
        case trickle
    }

    /// The bytes per second (simulator clock) of a trickling download.
    public static let trickleBytesPerSecond = 64

    /// What fails.
    public var kind: Kind
    /// The first instant it fails.
    public var from: Date
    /// The first instant it works again.
    public var until: Date

    /// Creates an outage of `kind` over `from ..< until`.
    public init(_ kind: Kind, from: Date, until: Date) {
        self.kind = kind
        self.from = from
        self.until = until
    }

    /// Whether it is under way at `now`.
    public func covers(_ now: Date) -> Bool { from <= now && now < until }

    /// `kind@from/until`, as `simulate-cdn --outage` takes it.
    public var description: String { "\(kind.rawValue)@\(from.formatted(.iso8601))/\(until.formatted(.iso8601))" }

    /// Parses `kind@from/until` (ISO 8601 instants).
    public init?(parsing text: String) {
        let parts = text.split(separator: "@", maxSplits: 1)
        guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else { return nil }
        let range = parts[1].split(separator: "/", maxSplits: 1)
        guard range.count == 2, let from = try? Date(String(range[0]), strategy: .iso8601),
              let until = try? Date(String(range[1]), strategy: .iso8601) else { return nil }
        self.init(kind, from: from, until: until)
    }
}

extension CDNSimulatorConfiguration {
    /// Whether an outage of `kind` is under way at `now`.
    func isOutage(_ kind: SimulatedOutage.Kind, at now: Date) -> Bool {
        outages.contains { $0.kind == kind && $0.covers(now) }
    }
}

extension Duration {
    /// The duration in whole seconds, rounded towards zero.
    var wholeSeconds: Int { Int(components.seconds) }
}
