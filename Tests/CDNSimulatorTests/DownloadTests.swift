import CDNSimulator
import Foundation
import Jobs
import TestSupport
import Testing

@Suite("Package downloads")
struct DownloadTests {
    static let hourRange = ("2024-05-02 00:00:00", "2024-05-02 00:59:59")
    static let hour = Date(timeIntervalSince1970: 1_714_579_200)  // 2024-05-01 16:00 UTC

    /// Lists the 2024-05-02 00:00 Beijing package of a.example and downloads it.
    static func listAndDownload(_ client: SignedClient, area: String = "mainland") async throws -> (log: [String: Any], status: Int, contentLength: Int?, body: [UInt8]) {
        let log = try #require(try await client.logs(from: hourRange.0, to: hourRange.1, area: area).logs.first)
        let url = try #require(log["LogPath"] as? String)
        let (status, contentLength, body) = try await download(url)
        return (log, status, contentLength, body)
    }

    @Test("a listed package downloads with its FileSize, as valid gzip of 16-field log lines")
    func downloadIsValidGzip() async throws {
        try await withSimulator(testConfiguration()) { running, client in
            let result = try await Self.listAndDownload(client)
            #expect(result.status == 200)
            #expect(result.contentLength == result.log["FileSize"] as? Int)
            #expect(result.body.count == result.log["FileSize"] as? Int)
            let expected = try await running.simulator.packageBytes(domain: "a.example", hour: Self.hour, area: .mainland)
            #expect(result.body == expected)

            var verifier = try GzipVerifier()
            try result.body.withUnsafeBytes { try verifier.update($0) }
            try verifier.finish()
            let text = String(decoding: try gunzip(result.body), as: UTF8.self)
            let lines = text.split(separator: "\n")
            #expect(lines.count > 10)
            #expect(text.hasSuffix("\n"))
            for line in lines {
                let fields = line.split(separator: " ", omittingEmptySubsequences: false)
                #expect(fields.count == 16, "\(line)")
                #expect(fields[0].hasPrefix("2024050200") && fields[0].count == 14)
                #expect(fields[2] == "a.example")
                #expect(["HIT", "MISS"].contains(fields[14]))
            }
            #expect(running.counters.downloads == 1)
        }
    }

    @Test("two simulators with the same seed serve byte-identical packages; another seed differs")
    func downloadsAreDeterministic() async throws {
        let first = try await withSimulator(testConfiguration(seed: 42)) { _, client in try await Self.listAndDownload(client).body }
        let second = try await withSimulator(testConfiguration(seed: 42)) { _, client in try await Self.listAndDownload(client).body }
        let other = try await withSimulator(testConfiguration(seed: 43)) { _, client in try await Self.listAndDownload(client).body }
        #expect(first == second)
        #expect(first != other)
        let offline = try PackageCatalog(configuration: testConfiguration(seed: 42))
            .packageBytes(PackageKey(domain: "a.example", hour: Self.hour, area: .mainland))
        #expect(offline == first)
    }

    @Test("the overseas package is a different file at a different link")
    func overseasDiffers() async throws {
        try await withSimulator(testConfiguration()) { _, client in
            let mainland = try await Self.listAndDownload(client)
            let overseas = try await Self.listAndDownload(client, area: "overseas")
            #expect(overseas.status == 200)
            #expect(overseas.body != mainland.body)
            let text = String(decoding: try gunzip(overseas.body), as: UTF8.self)
            #expect(text.split(separator: "\n").allSatisfy { $0.split(separator: " ")[6] == "-1" })
        }
    }

    @Test("an expired or altered link is 403")
    func expiredLinkIsForbidden() async throws {
        let clock = ManualWallClock()
        try await withSimulator(testConfiguration(clock: clock)) { running, client in
            let log = try #require(try await client.logs(from: Self.hourRange.0, to: Self.hourRange.1).logs.first)
            let url = try #require(log["LogPath"] as? String)
            #expect(try await download(url + "x").status == 403)
            #expect(try await download(url.replacingOccurrences(of: "area=mainland", with: "area=overseas")).status == 403)
            #expect(try await download(url.replacingOccurrences(of: "a.example", with: "b.example")).status == 403)
            clock.advance(by: 24 * 3600)
            #expect(try await download(url).status == 200)
            clock.advance(by: 1)
            let expired = try await download(url)
            #expect(expired.status == 403)
            #expect(running.counters.rejected == 4)
        }
    }

    @Test("a valid link to a package that has left the retention is 404")
    func retiredPackageIsNotFound() async throws {
        let clock = ManualWallClock()
        var configuration = testConfiguration(clock: clock)
        configuration.linkLifetime = .seconds(40 * 86_400)
        try await withSimulator(configuration) { _, client in
            // Now is 2024-05-02 11:00 Beijing: 2024-04-02 11:00 is the oldest hour kept.
            let log = try #require(try await client.logs(from: "2024-04-02 11:00:00", to: "2024-04-02 11:59:59").logs.first)
            let url = try #require(log["LogPath"] as? String)
            #expect(try await download(url).status == 200)
            clock.advance(by: 3600)
            #expect(try await download(url).status == 404)
        }
    }
}
