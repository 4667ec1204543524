import CDNSimulator
import Foundation
import Testing

@Suite("Package generation")
struct PackageCatalogTests {
    static let hour = Date(timeIntervalSince1970: 1_714_579_200)

    @Test("packages have exactly the announced size, 50-150 % of packageBytes", arguments: [1024, 10_000, 1 << 20])
    func exactSize(packageBytes: Int) throws {
        let catalog = PackageCatalog(configuration: CDNSimulatorConfiguration(packageBytes: packageBytes))
        for area in LogArea.allCases {
            let key = PackageKey(domain: "a.example", hour: Self.hour, area: area)
            let size = catalog.size(of: key)
            #expect(size >= max(1024, packageBytes / 2) && size <= max(1024, packageBytes * 3 / 2))
            let bytes = try catalog.packageBytes(key)
            #expect(bytes.count == size)
            #expect(try gunzip(bytes).count > size)
        }
    }

    @Test("a growing package gets larger each hour and its lines extend the earlier versions'")
    func growingPackages() throws {
        let configuration = CDNSimulatorConfiguration(packageBytes: 32 * 1024, emptyHourRate: 0, growingPackages: true)
        let catalog = PackageCatalog(configuration: configuration)
        let hourStart = Int(Self.hour.timeIntervalSince1970)
        let justPublished = Self.hour.addingTimeInterval(3600 + 1800)
        #expect(catalog.version(hourStart: hourStart, at: justPublished) == 0)
        #expect(catalog.version(hourStart: hourStart, at: Self.hour.addingTimeInterval(3600 * 26)) == PackageKey.finalVersion)
        let early = PackageKey(domain: "a.example", hour: Self.hour, area: .mainland, version: 0)
        let late = PackageKey(domain: "a.example", hour: Self.hour, area: .mainland, version: 12)
        #expect(catalog.size(of: early) < catalog.size(of: late))
        let earlyText = try gunzip(catalog.packageBytes(early))
        let lateText = try gunzip(catalog.packageBytes(late))
        #expect(lateText.count > earlyText.count)
        #expect(Array(lateText.prefix(earlyText.count)) == earlyText)
    }

    @Test("a configuration with a rate out of range is invalid")
    func validation() {
        #expect(CDNSimulatorConfiguration().validate() == nil)
        #expect(CDNSimulatorConfiguration(throttleRate: 1.5).validate() != nil)
        #expect(CDNSimulatorConfiguration(domains: ["bad domain"]).validate() != nil)
        #expect(CDNSimulatorConfiguration(packageBytes: 0).validate() != nil)
    }
}
