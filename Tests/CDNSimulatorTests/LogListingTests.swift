import CDNSimulator
import Foundation
import TencentCloud
import TestSupport
import Testing

@Suite("DescribeCdnDomainLogs")
struct LogListingTests {
    @Test("the package of UTC hour 16:00 is listed under Beijing 00:00 of the next day")
    func beijingTimeBoundary() async throws {
        try await withSimulator(testConfiguration()) { running, client in
            let (answer, logs) = try await client.logs(from: "2024-05-02 00:00:00", to: "2024-05-02 00:59:59")
            #expect(answer.errorCode == nil)
            #expect(answer["TotalCount"] as? Int == 1)
            let log = try #require(logs.first)
            #expect(log["StartTime"] as? String == "2024-05-02 00:00:00")
            #expect(log["EndTime"] as? String == "2024-05-02 00:59:59")
            #expect(log["Area"] as? String == "mainland")
            #expect(log["LogName"] as? String == "2024050200")
            let path = try #require(log["LogPath"] as? String)
            #expect(path.hasPrefix("\(running.baseURL.absoluteString)/20240502/00/202405020000-a.example.gz?area=mainland&st="))
            let hour = Date(timeIntervalSince1970: 1_714_579_200)  // 2024-05-01 16:00:00 UTC
            #expect(BeijingTime.string(from: hour) == "2024-05-02 00:00:00")
            let key = PackageKey(domain: "a.example", hour: hour, area: .mainland)
            #expect(log["FileSize"] as? Int == running.simulator.catalog.size(of: key))
        }
    }

    @Test("an hour is listed only once it has ended and the publication delay has passed")
    func publicationDelay() async throws {
        // 03:00 UTC is 11:00 Beijing: the hour 10:00 Beijing ended at 11:00 and appears at 11:30.
        let clock = ManualWallClock()
        try await withSimulator(testConfiguration(clock: clock)) { _, client in
            let range = ("2024-05-02 09:00:00", "2024-05-02 11:59:59")
            #expect(try await client.logs(from: range.0, to: range.1).answer["TotalCount"] as? Int == 1)
            clock.advance(by: 30 * 60 - 1)
            #expect(try await client.logs(from: range.0, to: range.1).answer["TotalCount"] as? Int == 1)
            clock.advance(by: 1)
            let (_, logs) = try await client.logs(from: range.0, to: range.1)
            #expect(logs.compactMap { $0["StartTime"] as? String } == ["2024-05-02 09:00:00", "2024-05-02 10:00:00"])
        }
    }

    @Test("paging: TotalCount covers every page, Offset and Limit select, Limit is at most 1000")
    func paging() async throws {
        try await withSimulator(testConfiguration()) { _, client in
            // Two whole Beijing days, long published, both areas: 48 hours x 2 packages.
            let range = ("2024-04-29 00:00:00", "2024-04-30 23:59:59")
            let all = try await client.logs(from: range.0, to: range.1, area: "global", limit: 1000)
            #expect(all.answer["TotalCount"] as? Int == 96)
            #expect(all.logs.count == 96)
            let firstPage = try await client.logs(from: range.0, to: range.1, area: "global")
            #expect(firstPage.logs.count == 96)  // default Limit 100
            let tail = try await client.logs(from: range.0, to: range.1, area: "global", offset: 90, limit: 10)
            #expect(tail.answer["TotalCount"] as? Int == 96)
            #expect(tail.logs.count == 6)
            #expect(tail.logs.compactMap { $0["LogPath"] as? String } == all.logs[90...].compactMap { $0["LogPath"] as? String })
            let areas = all.logs.prefix(2).compactMap { $0["Area"] as? String }
            #expect(areas == ["mainland", "overseas"])
            for limit in [0, 1001] {
                let refused = try await client.logs(from: range.0, to: range.1, limit: limit)
                #expect(refused.answer.errorCode == "InvalidParameter")
            }
            #expect(try await client.logs(from: range.0, to: range.1, offset: -1).answer.errorCode == "InvalidParameter")
        }
    }

    @Test("mainland and overseas packages have different, separately valid links")
    func areas() async throws {
        try await withSimulator(testConfiguration()) { _, client in
            let range = ("2024-05-02 00:00:00", "2024-05-02 00:59:59")
            let mainland = try await client.logs(from: range.0, to: range.1).logs
            let overseas = try await client.logs(from: range.0, to: range.1, area: "overseas").logs
            let global = try await client.logs(from: range.0, to: range.1, area: "global").logs
            #expect(mainland.count == 1 && overseas.count == 1 && global.count == 2)
            let mainlandPath = try #require(mainland.first?["LogPath"] as? String)
            let overseasPath = try #require(overseas.first?["LogPath"] as? String)
            #expect(mainlandPath != overseasPath)
            #expect(overseasPath.contains("/202405020000-a.example.gz?area=overseas&"))
            #expect(overseas.first?["Area"] as? String == "overseas")
        }
    }

    @Test("empty hours are the same in every simulator with the same seed, and overseas is emptier")
    func emptyHoursAreDeterministic() async throws {
        var configuration = testConfiguration()
        configuration.emptyHourRate = 0.2
        let range = ("2024-04-03 00:00:00", "2024-05-01 23:59:59")
        func listing() async throws -> [String] {
            try await withSimulator(configuration) { _, client in
                try await client.logs(from: range.0, to: range.1, area: "global", limit: 1000).logs
                    .compactMap { log in (log["StartTime"] as? String).map { "\($0) \(log["Area"] ?? "")" } }
            }
        }
        let first = try await listing()
        let second = try await listing()
        #expect(first == second)
        let mainland = first.filter { $0.hasSuffix("mainland") }.count
        let overseas = first.filter { $0.hasSuffix("overseas") }.count
        // 29 days: 696 hours; about 20 % of mainland and 60 % of overseas hours are empty.
        #expect((480...630).contains(mainland))
        #expect((200...360).contains(overseas))
    }

    @Test("hours older than the retention are left out, unknown domains are refused")
    func retentionAndUnknownDomain() async throws {
        try await withSimulator(testConfiguration()) { _, client in
            // Now is 2024-05-02 11:00 Beijing; 30 days before is 2024-04-02 11:00.
            let (answer, logs) = try await client.logs(from: "2024-04-02 00:00:00", to: "2024-04-02 23:59:59")
            #expect(answer.errorCode == nil)
            #expect(logs.first?["StartTime"] as? String == "2024-04-02 11:00:00")
            #expect(logs.count == 13)
            let unknown = try await client.logs(domain: "c.example", from: "2024-05-01 00:00:00", to: "2024-05-01 00:59:59")
            #expect(unknown.answer.errorCode == "ResourceNotFound.CdnHostNotExists")
            let badTime = try await client.logs(from: "2024-05-01T00:00:00", to: "2024-05-01 00:59:59")
            #expect(badTime.answer.errorCode == "InvalidParameter")
        }
    }
}
