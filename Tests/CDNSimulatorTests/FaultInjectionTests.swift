import CDNSimulator
import Foundation
import Testing

@Suite("Fault injection")
struct FaultInjectionTests {
    @Test("truncateRate 1 always cuts the body short of its Content-Length")
    func truncation() async throws {
        var configuration = testConfiguration()
        configuration.truncateRate = 1
        try await withSimulator(configuration) { running, client in
            let url = try #require(try await client.logs(from: "2024-05-02 00:00:00", to: "2024-05-02 02:59:59").logs
                .compactMap { $0["LogPath"] as? String }.first)
            for _ in 0..<3 {
                await #expect(throws: (any Error).self) { try await download(url) }
            }
            #expect(running.counters.faultsInjected == 3)
        }
    }

    @Test("corruptRate 1 flips exactly one byte after the gzip header, which the gzip check catches")
    func corruption() async throws {
        var configuration = testConfiguration()
        configuration.corruptRate = 1
        try await withSimulator(configuration) { running, client in
            let result = try await DownloadTests.listAndDownload(client)
            let expected = try await running.simulator.packageBytes(domain: "a.example", hour: DownloadTests.hour, area: .mainland)
            #expect(result.status == 200)
            #expect(result.body.count == expected.count)
            #expect(zip(result.body, expected).filter { $0 != $1 }.count == 1)
            #expect(throws: GunzipError.self) { try gunzip(result.body) }
            #expect(running.counters.faultsInjected == 1)
        }
    }

    @Test("apiErrorRate 1 answers every call with HTTP 500 or InternalError, about half each")
    func apiErrors() async throws {
        var configuration = testConfiguration()
        configuration.apiErrorRate = 1
        try await withSimulator(configuration) { running, client in
            var serverErrors = 0
            for _ in 0..<40 {
                let answer = try await client.call("DescribeDomains")
                #expect(answer.errorCode == "InternalError")
                if answer.status == 500 { serverErrors += 1 } else { #expect(answer.status == 200) }
            }
            #expect((8...32).contains(serverErrors))
            #expect(running.counters.faultsInjected == 40)
        }
    }

    @Test("throttleRate 0.5 throttles about half the calls, and a retried call can succeed")
    func throttling() async throws {
        var configuration = testConfiguration()
        configuration.throttleRate = 0.5
        try await withSimulator(configuration) { running, client in
            var throttled = 0
            for _ in 0..<100 {
                let code = try await client.call("DescribeDomains").errorCode
                if code == "RequestLimitExceeded" { throttled += 1 } else { #expect(code == nil) }
            }
            #expect((30...70).contains(throttled))
            #expect(running.counters.apiCalls == 100)
        }
    }
}
