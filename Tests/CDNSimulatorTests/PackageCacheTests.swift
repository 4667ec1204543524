import CDNSimulator
import Foundation
import TestSupport
import Testing

@Suite("Package cache and growth")
struct PackageCacheTests {
    @Test("concurrent downloads of a multi-MiB package all get the same bytes, even with no cache room")
    func concurrentLargeDownloads() async throws {
        for cacheBytes in [1 << 30, 0] {
            var configuration = testConfiguration()
            configuration.packageBytes = 3 << 20
            configuration.packageCacheBytes = cacheBytes
            try await withSimulator(configuration) { running, client in
                let result = try await client.logs(from: "2024-05-02 00:00:00", to: "2024-05-02 00:59:59")
                let url = try #require(result.logs.first?["LogPath"] as? String)
                let size = try #require(result.logs.first?["FileSize"] as? Int)
                #expect(size > 1 << 20)
                let bodies = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                    for _ in 0..<4 { group.addTask { try await download(url).body } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let expected = try await running.simulator.packageBytes(domain: "a.example", hour: DownloadTests.hour, area: .mainland)
                #expect(expected.count == size)
                #expect(bodies.allSatisfy { $0 == expected })
                #expect(try await download(url).body == expected)
            }
        }
    }

    @Test("with growing packages a later listing announces a larger package, and old links keep their version")
    func growingPackagesThroughTheAPI() async throws {
        let clock = ManualWallClock()
        var configuration = testConfiguration(clock: clock)
        configuration.growingPackages = true
        try await withSimulator(configuration) { running, client in
            // Beijing 10:00 ends at 11:00 (now) and is published at 11:30.
            let range = ("2024-05-02 10:00:00", "2024-05-02 10:59:59")
            clock.advance(by: 1800)
            let early = try #require(try await client.logs(from: range.0, to: range.1).logs.first)
            clock.advance(by: 3 * 3600)
            let later = try #require(try await client.logs(from: range.0, to: range.1).logs.first)
            let earlySize = try #require(early["FileSize"] as? Int)
            let laterSize = try #require(later["FileSize"] as? Int)
            #expect(earlySize < laterSize)
            let earlyURL = try #require(early["LogPath"] as? String)
            #expect(earlyURL.contains("&v=0&"))
            #expect(try await download(earlyURL).body.count == earlySize)
            let laterURL = try #require(later["LogPath"] as? String)
            #expect(try await download(laterURL).body.count == laterSize)
            clock.advance(by: 24 * 3600)
            let settled = try #require(try await client.logs(from: range.0, to: range.1).logs.first)
            #expect(!(settled["LogPath"] as? String ?? "&v=").contains("&v="))
            #expect(running.counters.downloads == 2)
        }
    }
}
