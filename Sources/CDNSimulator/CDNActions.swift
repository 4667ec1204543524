import Foundation
import TencentCloud

/// The API actions the simulator implements, as pure functions of the parameters and the time.
///
/// - `DescribeDomains`: `Offset`, `Limit` (1...1000, default 100); `Filters` are accepted and ignored.
///   Answers `Domains[]` and `TotalNumber`.
/// - `DescribeCdnDomainLogs`: `Domain` (required), `StartTime`/`EndTime` (required, Beijing time
///   `YYYY-MM-DD HH:MM:SS`), `Offset`, `Limit` (1...1000, default 100), `Area` (`mainland` default,
///   `overseas`, `global`), `LogType` (`access` or absent). Answers `DomainLogs[]` and `TotalCount`. Hours
///   older than the retention are silently left out (the query is not refused), like unpublished and
///   empty hours.
struct CDNActions: Sendable {
    /// The account's domains and the package settings.
    let configuration: CDNSimulatorConfiguration
    /// Which packages exist.
    let catalog: PackageCatalog
    /// Signs the listed `LogPath` links.
    let links: DownloadLinkSigner

    /// The actions of `configuration`'s account.
    init(configuration: CDNSimulatorConfiguration) {
        self.configuration = configuration
        catalog = PackageCatalog(configuration: configuration)
        links = DownloadLinkSigner(configuration: configuration)
    }

    /// The `Response` fields (without `RequestId`) of `action`; `host` (with port) is where links point.
    func respond(to action: String, parameters: ActionParameters, host: String, now: Date) throws(APIError) -> [String: JSONValue] {
        switch action {
        case "DescribeDomains": return try describeDomains(parameters)
        case "DescribeCdnDomainLogs": return try describeCdnDomainLogs(parameters, host: host, now: now)
        default: throw APIError("InvalidAction", "The action '\(action)' does not exist or is not supported by this simulator.")
        }
    }

    private func describeDomains(_ parameters: ActionParameters) throws(APIError) -> [String: JSONValue] {
        let (offset, limit) = try parameters.paging()
        let page = configuration.domains.dropFirst(offset).prefix(limit)
        let domains = page.map { domain -> JSONValue in
            let created = "2019-09-04 12:00:00"
            return .object([
                "ResourceId": .string("cdn-\(String(stableHash([domain]) % 100_000_000, radix: 36))"),
                "AppId": .int(1_250_000_000),
                "Domain": .string(domain),
                "Cname": .string("\(domain).cdn.dnsv1.com"),
                "Status": .string("online"),
                "ProjectId": .int(0),
                "ServiceType": .string("web"),
                "CreateTime": .string(created),
                "UpdateTime": .string(created),
                "Origin": .object(["Origins": .array([.string("origin.\(domain)")]), "OriginType": .string("domain")]),
                "Disable": .string("normal"),
                "Area": .string("global"),
                "Readonly": .string("normal"),
            ])
        }
        return ["Domains": .array(domains), "TotalNumber": .int(configuration.domains.count)]
    }

    private func describeCdnDomainLogs(_ parameters: ActionParameters, host: String, now: Date) throws(APIError) -> [String: JSONValue] {
        guard let domain = try parameters.string("Domain"), !domain.isEmpty else {
            throw APIError("MissingParameter", "The request is missing a required parameter `Domain`.")
        }
        guard let startText = try parameters.string("StartTime"), let endText = try parameters.string("EndTime") else {
            throw APIError("MissingParameter", "The request is missing a required parameter `StartTime` or `EndTime`.")
        }
        guard let start = BeijingTime.date(from: startText), let end = BeijingTime.date(from: endText) else {
            throw .invalidParameter("StartTime and EndTime must be YYYY-MM-DD HH:MM:SS.")
        }
        guard start <= end else { throw .invalidParameter("StartTime must not be after EndTime.") }
        let (offset, limit) = try parameters.paging()
        let areas: [LogArea]
        switch try parameters.string("Area") ?? "mainland" {
        case "mainland": areas = [.mainland]
        case "overseas": areas = [.overseas]
        case "global": areas = [.mainland, .overseas]
        default: throw .invalidParameter("Area must be mainland, overseas or global.")
        }
        guard (try parameters.string("LogType") ?? "access") == "access" else {
            throw .invalidParameter("LogType must be access.")
        }
        guard configuration.domains.contains(domain) else {
            throw APIError("ResourceNotFound.CdnHostNotExists", "The domain \(domain) does not exist in this account.")
        }

        let keys = catalog.packages(domain: domain, areas: areas, from: start, through: end, at: now)
        let issued = Int(now.timeIntervalSince1970.rounded(.down))
        let expires = issued + configuration.linkLifetime.wholeSeconds
        let logs = keys.dropFirst(offset).prefix(limit).map { key -> JSONValue in
            let path = catalog.path(of: key)
            let query = links.query(path: path, area: key.area, version: key.version, issued: issued, expires: expires)
            let startTime = BeijingTime.string(from: key.hour)
            return .object([
                "StartTime": .string(startTime),
                "EndTime": .string(BeijingTime.string(from: key.hour.addingTimeInterval(3599))),
                "LogPath": .string("http://\(host)\(path)?\(query)"),
                "Area": .string(key.area.rawValue),
                "LogName": .string(PackageCatalog.beijingDigits(key.hourStart)),
                "FileSize": .int(catalog.size(of: key)),
            ])
        }
        return ["DomainLogs": .array(logs), "TotalCount": .int(keys.count)]
    }
}
