import Foundation

/// One hourly log package as a source lists it: a gzip file for one domain, hour and area.
///
/// The download link is short-lived (Tencent's expire after a day): list again rather than keep one.
public struct LogPackage: Sendable, Hashable, Codable {
    /// The package's file name, e.g. `2019090423-www.test.com.gz`; unique within a window and area.
    public var name: String
    /// `mainland` or `overseas` for Tencent packages.
    public var area: String
    /// The start of the hour the package covers (UTC).
    public var hour: Date
    /// Where to download it from.
    public var url: String
    /// The size the source announces, when it does (Tencent's `FileSize` may be null).
    public var announcedSize: Int64?

    /// Creates a package description.
    public init(name: String, area: String, hour: Date, url: String, announcedSize: Int64?) {
        self.name = name
        self.area = area
        self.hour = hour
        self.url = url
        self.announcedSize = announcedSize
    }
}

/// Where log packages come from: lists a domain's packages for one hour, and the account's domains.
public protocol LogSource: Sendable {
    /// The source's name in the job table (`source` of its windows), e.g. `tencent-cdn`.
    var sourceName: String { get }

    /// Every package of `domain` for the hour starting at `hour` (UTC), across the configured areas.
    ///
    /// An empty array means the source has nothing for that hour (yet).
    func packages(domain: String, hour: Date) async throws -> [LogPackage]

    /// Every domain of the account (used when no domains are configured).
    func domains() async throws -> [String]
}
