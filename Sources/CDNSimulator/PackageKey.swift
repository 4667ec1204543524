import Foundation

/// The two areas Tencent packages logs for separately.
public enum LogArea: String, Sendable, Hashable, CaseIterable, Codable {
    /// Requests served in the Chinese mainland (the API's default area).
    case mainland
    /// Requests served outside the Chinese mainland.
    case overseas
}

/// Names one version of one log package: a domain's log for one hour in one area.
///
/// The hour is a UTC instant on a whole hour. `version` counts growth steps (see
/// `CDNSimulatorConfiguration.growingPackages`); `PackageKey.finalVersion` is the settled package, and
/// the only version a simulator that does not grow packages ever serves.
public struct PackageKey: Sendable, Hashable, CustomStringConvertible {
    /// The last growth step: the package at its final size.
    public static let finalVersion = 24

    /// The domain the package logs.
    public var domain: String
    /// The UTC start of the hour, in whole seconds since 1970.
    public var hourStart: Int
    /// Mainland or overseas.
    public var area: LogArea
    /// The growth step, `0...finalVersion`.
    public var version: Int

    /// Creates a key; `hour` is rounded down to its whole hour.
    public init(domain: String, hour: Date, area: LogArea, version: Int = PackageKey.finalVersion) {
        self.init(domain: domain, hourStart: Int(hour.timeIntervalSince1970.rounded(.down)), area: area, version: version)
    }

    /// Creates a key from unix seconds; `hourStart` is rounded down to its whole hour.
    public init(domain: String, hourStart: Int, area: LogArea, version: Int = PackageKey.finalVersion) {
        self.domain = domain
        self.hourStart = hourStart - ((hourStart % 3600) + 3600) % 3600
        self.area = area
        self.version = min(max(version, 0), Self.finalVersion)
    }

    /// The start of the hour as a `Date`.
    public var hour: Date { Date(timeIntervalSince1970: TimeInterval(hourStart)) }

    /// E.g. `a.example 2024-05-01T16:00:00Z mainland v24`.
    public var description: String {
        "\(domain) \(hour.formatted(.iso8601)) \(area.rawValue) v\(version)"
    }
}
