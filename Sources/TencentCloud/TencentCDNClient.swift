import AsyncHTTPClient
import Core
import Foundation
import JobModel
import Logging

/// Lists log packages and domains through the Tencent CDN API 3.0 (`DescribeCdnDomainLogs`,
/// `DescribeDomains`), signing every request with TC3-HMAC-SHA256.
///
/// All calls of one instance share one client-side rate limit (`requestsPerSecond`); throttling answers
/// (`RequestLimitExceeded*`) are retried a few times after a short jittered delay. Every failure is a
/// `TencentCloudError` classified retryable or permanent. Each request is bounded as a whole, answer
/// included (`requestTimeout`), and an answer that trickles in below the rate floor is abandoned
/// (`cdn.stalled`). Thread-safe: every stored property is immutable
/// and `Sendable`, and the rate limiter is an actor.
public final class TencentCDNClient: LogSource {
    /// The configuration the client was created with.
    public let configuration: TencentCDNConfiguration
    /// The parsed endpoint, nil when `configuration.endpoint` is not a usable URL (each call then fails
    /// with the permanent `cdn.endpoint_invalid`).
    let endpoint: TencentEndpoint?
    /// Signs for service `cdn`.
    let signer: TC3Signer
    /// Sends the requests; owned by the caller, who shuts it down.
    let httpClient: HTTPClient
    /// Receives routine traffic at debug.
    let logger: Logger
    /// Shared by every call of this instance.
    let rateLimiter: RateLimiter
    /// The time signed into each request (`X-TC-Timestamp`), and the pacing of retries.
    let clock: any WallClock
    /// Times each request's total deadline and the rate windows of its answer.
    let deadlineClock: any WallClock

    /// The `source` of Tencent CDN windows in the job table.
    public static let sourceName = "tencent-cdn"

    /// The `source` of this client's windows: `tencent-cdn`.
    public var sourceName: String { Self.sourceName }

    /// How many times a throttled request is sent again before giving up with a retryable error.
    static let throttleRetries = 3
    /// The first throttling retry waits about this long (±50 %); each further one twice as long.
    static let throttleRetryDelay = Duration.milliseconds(250)

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - httpClient: the HTTP client to send with; the caller keeps ownership and shuts it down.
    ///   - logger: routine calls are logged at debug with `cdn.action`, `cdn.domain`, `http.status` and
    ///     `cloud.request_id`.
    ///   - clock: the time signed into each request, and the pacing of the rate limiter and the
    ///     throttling retries. Tencent rejects a timestamp more than five minutes off, so only a test that
    ///     also moves the server's clock passes anything but the system clock.
    ///   - deadlineClock: times each request's deadline and the rate floor of its answer
    ///     (`TencentCDNConfiguration.requestTimeout`, `minimumBytesPerSecond`). Kept apart from `clock`
    ///     so that a test whose clock advances on sleep (instant rate limiting and retries) does not
    ///     time every answer out at once.
    public init(
        configuration: TencentCDNConfiguration, httpClient: HTTPClient, logger: Logger,
        clock: any WallClock = SystemWallClock(), deadlineClock: any WallClock = SystemWallClock()
    ) {
        self.clock = clock
        self.deadlineClock = deadlineClock
        self.configuration = configuration
        self.endpoint = TencentEndpoint(configuration.endpoint)
        self.signer = TC3Signer(credentials: configuration.credentials, service: "cdn")
        self.httpClient = httpClient
        self.logger = logger
        self.rateLimiter = RateLimiter(requestsPerSecond: configuration.requestsPerSecond, clock: clock)
    }

    /// Every package of `domain` for the hour starting at `hour` (UTC), in the configured area.
    ///
    /// `hour` is rounded down to a whole hour. The API is asked for that hour in Beijing time and paged
    /// until `TotalCount` entries are read; entries of other hours are dropped. Packages with the same
    /// file name in two areas stay two packages, told apart by `area`.
    public func packages(domain: String, hour: Date) async throws -> [LogPackage] {
        let hourStart = Self.startOfHour(hour)
        let limit = configuration.effectivePageSize
        var entries: [DescribeCdnDomainLogsResponse.Entry] = []
        var offset = 0
        while true {
            let request = DescribeCdnDomainLogsRequest(
                domain: domain,
                startTime: BeijingTime.string(from: hourStart),
                endTime: BeijingTime.string(from: hourStart.addingTimeInterval(3599)),
                offset: offset, limit: limit, area: configuration.area)
            let page: DescribeCdnDomainLogsResponse = try await call(
                "DescribeCdnDomainLogs", parameters: request, domain: domain)
            let pageEntries = page.domainLogs ?? []
            entries += pageEntries
            offset += pageEntries.count
            if pageEntries.isEmpty || offset >= page.totalCount { break }
        }
        return try makePackages(from: entries, hour: hourStart, domain: domain)
    }

    /// Every domain of the account except those in status `rejected`.
    ///
    /// A rejected domain failed Tencent's review and never served traffic, so it has no logs; offline
    /// and closing domains are kept because they may have logs from before they stopped.
    public func domains() async throws -> [String] {
        let limit = configuration.effectivePageSize
        var names: [String] = []
        var seen: Set<String> = []
        var offset = 0
        while true {
            let page: DescribeDomainsResponse = try await call(
                "DescribeDomains", parameters: DescribeDomainsRequest(offset: offset, limit: limit), domain: nil)
            let pageDomains = page.domains ?? []
            for entry in pageDomains where entry.status?.lowercased() != "rejected" {
                if seen.insert(entry.domain).inserted { names.append(entry.domain) }
            }
            offset += pageDomains.count
            if pageDomains.isEmpty || offset >= page.totalNumber { break }
        }
        return names
    }

    /// Maps listed entries to packages of `hour`, dropping other hours and repeats.
    ///
    /// - Throws: the retryable `cdn.malformed_entry` for an entry without a readable `StartTime`, or of
    ///   this hour without a download link or name: it may be a package, so the window is not done.
    func makePackages(from entries: [DescribeCdnDomainLogsResponse.Entry], hour: Date, domain: String) throws(TencentCloudError) -> [LogPackage] {
        var logger = logger
        logger[metadataKey: "cdn.action"] = "DescribeCdnDomainLogs"
        logger[metadataKey: "cdn.domain"] = "\(domain)"
        let fallbackArea = configuration.area == "global" ? "mainland" : configuration.area
        var packages: [LogPackage] = []
        var seen: Set<String> = []
        for entry in entries {
            guard let entryHour = BeijingTime.date(from: entry.startTime) else {
                throw .retryable(
                    "cdn.malformed_entry",
                    "DescribeCdnDomainLogs listed an entry for \(domain) with an unreadable StartTime \"\(entry.startTime)\"; the hour is looked at again later")
            }
            guard entryHour == hour else {
                logger.debug("skipping a CDN log entry of another hour", metadata: ["cdn.start_time": "\(entry.startTime)"])
                continue
            }
            guard let url = entry.logPath, !url.isEmpty,
                  let name = Self.fileName(fromLogPath: url) ?? entry.logName.flatMap({ $0.isEmpty ? nil : $0 })
            else {
                throw .retryable(
                    "cdn.malformed_entry",
                    "DescribeCdnDomainLogs listed an entry for \(domain) at \(entry.startTime) without a download link or name; the hour is looked at again later")
            }
            let area = entry.area.flatMap { $0.isEmpty ? nil : $0 } ?? fallbackArea
            guard seen.insert("\(area)/\(name)").inserted else { continue }
            packages.append(LogPackage(name: name, area: area, hour: hour, url: url, announcedSize: entry.fileSize))
        }
        return packages
    }

    /// The file name at the end of a download link's path (percent-decoded), nil when the path ends in `/`
    /// or is empty.
    ///
    /// `http://host/20190904/23/201909042300-www.test.com.gz?st=...` gives `201909042300-www.test.com.gz`.
    static func fileName(fromLogPath link: String) -> String? {
        var rest = Substring(link)
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            guard let pathStart = rest.firstIndex(of: "/") else { return nil }
            rest = rest[pathStart...]
        }
        let last = rest.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard !last.isEmpty else { return nil }
        return last.removingPercentEncoding ?? String(last)
    }

    /// `date` rounded down to a whole UTC hour.
    static func startOfHour(_ date: Date) -> Date {
        let seconds = date.timeIntervalSince1970
        return Date(timeIntervalSince1970: (seconds / 3600).rounded(.down) * 3600)
    }
}
