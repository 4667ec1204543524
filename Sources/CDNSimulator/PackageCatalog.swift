import Core
import Foundation
import TencentCloud

/// Which packages exist, when they are published, how large they are and what they are called: the pure,
/// deterministic part of the simulator, a function of the configuration and the time only.
///
/// A package's size is fixed before any byte of it is generated (the gzip writer pads to it exactly), so a
/// listing never has to generate the packages it lists.
public struct PackageCatalog: Sendable {
    /// The configuration the catalogue is derived from.
    public let configuration: CDNSimulatorConfiguration

    /// Creates the catalogue of a configuration.
    public init(configuration: CDNSimulatorConfiguration) {
        self.configuration = configuration
    }

    /// Whether the domain had no traffic in that hour and area, so no package exists. Deterministic.
    public func isEmpty(domain: String, hourStart: Int, area: LogArea) -> Bool {
        let rate = area == .mainland ? configuration.emptyHourRate : min(1, 3 * configuration.emptyHourRate)
        return stableUnit("empty", String(configuration.seed), domain, String(hourStart), area.rawValue) < rate
    }

    /// Whether the package of the hour starting at `hourStart` is listed at `now`: the hour has ended, the
    /// publication delay has passed, and the hour is within retention.
    public func isPublished(hourStart: Int, at now: Date) -> Bool {
        let nowSeconds = Int(now.timeIntervalSince1970.rounded(.down))
        let publishedAt = hourStart + 3600 + configuration.publicationDelay.wholeSeconds
        let retentionStart = nowSeconds - configuration.retentionDays * 86_400
        return nowSeconds >= publishedAt && hourStart >= retentionStart
    }

    /// The growth step of the hour's package at `now`: `PackageKey.finalVersion` unless packages grow, else
    /// one step per full hour since the hour ended, up to the final version.
    public func version(hourStart: Int, at now: Date) -> Int {
        guard configuration.growingPackages else { return PackageKey.finalVersion }
        let elapsed = Int(now.timeIntervalSince1970.rounded(.down)) - (hourStart + 3600)
        return min(max(elapsed / 3600, 0), PackageKey.finalVersion)
    }

    /// The exact size in bytes of the package `key` names.
    ///
    /// The final size is 50 %–150 % of `packageBytes` (at least 1 KiB), chosen by a deterministic coin
    /// per domain, hour and area; a growing package's version `v` is `(24 + v) / 48` of it.
    public func size(of key: PackageKey) -> Int {
        let final = finalSize(of: key)
        let scaled = Int((Double(final) * Double(PackageKey.finalVersion + key.version)
            / Double(2 * PackageKey.finalVersion)).rounded(.down))
        return max(Self.minimumSize, scaled)
    }

    /// The size of the final version of `key`'s package.
    func finalSize(of key: PackageKey) -> Int {
        let factor = 0.5 + stableUnit("size", String(configuration.seed), key.domain, String(key.hourStart), key.area.rawValue)
        return max(Self.minimumSize, Int((Double(configuration.packageBytes) * factor).rounded(.down)))
    }

    /// The smallest package the writer produces: the gzip framing plus a few log lines.
    static let minimumSize = 1024

    /// Every package of `domain` whose hour overlaps `[start, end]` (both inclusive, so an hour is included
    /// when it starts at or before `end` and ends after `start`), in `areas`, listed at `now`: hour
    /// ascending, mainland before overseas. Hours not yet published, out of retention or empty are left out.
    public func packages(domain: String, areas: [LogArea], from start: Date, through end: Date, at now: Date) -> [PackageKey] {
        // Clamped to what can be published, so an absurd range costs no more than the retention.
        let nowSeconds = Int(now.timeIntervalSince1970.rounded(.down))
        let startSeconds = max(Int(start.timeIntervalSince1970.rounded(.down)), nowSeconds - (configuration.retentionDays + 1) * 86_400)
        let endSeconds = min(Int(end.timeIntervalSince1970.rounded(.down)), nowSeconds)
        guard endSeconds >= startSeconds else { return [] }
        var hour = startSeconds - ((startSeconds % 3600) + 3600) % 3600
        var keys: [PackageKey] = []
        while hour <= endSeconds {
            if isPublished(hourStart: hour, at: now) {
                let version = version(hourStart: hour, at: now)
                for area in areas where !isEmpty(domain: domain, hourStart: hour, area: area) {
                    keys.append(PackageKey(domain: domain, hourStart: hour, area: area, version: version))
                }
            }
            hour += 3600
        }
        return keys
    }

    /// The package's file name, e.g. `201909042300-www.test.com.gz` (Beijing time, as on Tencent), with
    /// `-overseas` before `.gz` for overseas packages when `distinctOverseasNames` is set.
    public func fileName(of key: PackageKey) -> String {
        let suffix = configuration.distinctOverseasNames && key.area == .overseas ? "-overseas" : ""
        return "\(Self.beijingDigits(key.hourStart))00-\(key.domain)\(suffix).gz"
    }

    /// The download path, e.g. `/20190904/23/201909042300-www.test.com.gz`.
    public func path(of key: PackageKey) -> String {
        let digits = Self.beijingDigits(key.hourStart)
        return "/\(digits.prefix(8))/\(digits.suffix(2))/\(fileName(of: key))"
    }

    /// The key a download path names (at the final version), or nil when the path is not one of ours.
    ///
    /// The area comes from the link's query, so it is an input here; the path must match `path(of:)` exactly.
    func key(forPath path: String, area: LogArea, version: Int) -> PackageKey? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, parts[1].count == 8, parts[2].count == 2 else { return nil }
        let name = parts[3]
        guard name.count > 13, name.hasSuffix(".gz") else { return nil }
        let digits = name.prefix(10)
        guard let hourStart = Self.hourStart(beijingDigits: String(digits)) else { return nil }
        var domain = String(name.dropFirst(13).dropLast(3))
        if configuration.distinctOverseasNames && area == .overseas {
            guard domain.hasSuffix("-overseas") else { return nil }
            domain = String(domain.dropLast(9))
        }
        guard configuration.domains.contains(domain) else { return nil }
        let key = PackageKey(domain: domain, hourStart: hourStart, area: area, version: version)
        return self.path(of: key) == path ? key : nil
    }

    /// `yyyyMMddHH` of the Beijing wall-clock time at `unixSeconds`.
    static func beijingDigits(_ unixSeconds: Int) -> String {
        let text = BeijingTime.string(from: Date(timeIntervalSince1970: TimeInterval(unixSeconds)))
        return String(text.unicodeScalars.filter { ("0"..."9").contains($0) }.prefix(10).map(Character.init))
    }

    /// The UTC start of the hour written `yyyyMMddHH` in Beijing time.
    static func hourStart(beijingDigits digits: String) -> Int? {
        guard digits.count == 10, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        let d = Array(digits)
        let text = "\(String(d[0..<4]))-\(String(d[4..<6]))-\(String(d[6..<8])) \(String(d[8..<10])):00:00"
        return BeijingTime.date(from: text).map { Int($0.timeIntervalSince1970) }
    }
}

extension PackageCatalog {
    /// Writes the exact bytes of `key`'s package to `destination` (replacing it), as the simulator serves
    /// them. Blocking and CPU-bound (about as long as compressing the package's content); memory stays small
    /// whatever the size.
    public func writePackage(_ key: PackageKey, to destination: URL) throws {
        var lines = LogLineGenerator(key: key, seed: configuration.seed, finalSize: finalSize(of: key))
        try GzipPackageWriter.write(size: size(of: key), lines: &lines, to: destination)
    }

    /// The exact bytes of `key`'s package, as the simulator serves them. Holds the whole package in memory:
    /// for large packages prefer `writePackage(_:to:)`.
    public func packageBytes(_ key: PackageKey) throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("cdn-simulator-package-\(UUID().uuidString).gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try writePackage(key, to: file)
        return Array(try Data(contentsOf: file))
    }
}
