import CDNSimulator
import Foundation
import TestSupport
import Testing

@Suite("TC3 request verification")
struct AuthenticationTests {
    @Test("a correctly signed POST succeeds in Tencent's response shape")
    func signedRequestSucceeds() async throws {
        try await withSimulator(testConfiguration()) { running, client in
            let answer = try await client.call("DescribeDomains")
            #expect(answer.status == 200)
            #expect(answer.errorCode == nil)
            #expect(answer["TotalNumber"] as? Int == 2)
            let domains = answer["Domains"] as? [[String: Any]] ?? []
            #expect(domains.compactMap { $0["Domain"] as? String } == ["a.example", "b.example"])
            #expect(domains.allSatisfy { $0["Status"] as? String == "online" && $0["ServiceType"] as? String == "web" })
            #expect(UUID(uuidString: answer.requestID ?? "") != nil)
            #expect(running.counters.apiCalls == 1)
        }
    }

    @Test("a correctly signed GET, with the query as the canonical query, succeeds")
    func signedGetSucceeds() async throws {
        try await withSimulator(testConfiguration()) { _, client in
            let answer = try await client.call(
                "DescribeCdnDomainLogs",
                ["Domain": "a.example", "StartTime": "2024-05-02 00:00:00", "EndTime": "2024-05-02 00:59:59"],
                method: "GET")
            #expect(answer.errorCode == nil)
            #expect(answer["TotalCount"] as? Int == 1)
        }
    }

    @Test("a signature off by one character is AuthFailure.SignatureFailure")
    func tamperedSignatureFails() async throws {
        try await withSimulator(testConfiguration()) { running, client in
            let answer = try await client.call("DescribeDomains") { authorization in
                let last = authorization.last == "0" ? "1" : "0"
                return String(authorization.dropLast()) + last
            }
            #expect(answer.status == 200)
            #expect(answer.errorCode == "AuthFailure.SignatureFailure")
            #expect(answer["Domains"] == nil)
            #expect(running.counters.rejected == 1)
        }
    }

    @Test("a request sent with another Host than it was signed for is AuthFailure.SignatureFailure")
    func signatureCoversHost() async throws {
        try await withSimulator(testConfiguration()) { _, client in
            let answer = try await client.call("DescribeDomains", headers: ["Host": "cdn.tencentcloudapi.com"])
            #expect(answer.errorCode == "AuthFailure.SignatureFailure")
        }
    }

    @Test("a timestamp more than 5 minutes off is AuthFailure.SignatureExpire", arguments: [-301, 301])
    func expiredTimestampFails(offset: Int) async throws {
        let clock = ManualWallClock()
        try await withSimulator(testConfiguration(clock: clock)) { _, client in
            let timestamp = Int(clock.now.timeIntervalSince1970) + offset
            let answer = try await client.call("DescribeDomains", timestamp: timestamp)
            #expect(answer.errorCode == "AuthFailure.SignatureExpire")
            let withinSkew = try await client.call("DescribeDomains", timestamp: timestamp - offset.signum() * 2)
            #expect(withinSkew.errorCode == nil)
        }
    }

    @Test("missing or malformed credentials are refused with the matching AuthFailure code")
    func malformedAuthorizationFails() async throws {
        try await withSimulator(testConfiguration()) { _, client in
            let missing = try await client.call("DescribeDomains", alter: { _ in "" })
            #expect(missing.errorCode == "AuthFailure.InvalidAuthorization")
            let garbled = try await client.call("DescribeDomains", alter: { _ in "TC3-HMAC-SHA256 nonsense" })
            #expect(garbled.errorCode == "AuthFailure.InvalidAuthorization")
            let otherKey = try await client.call("DescribeDomains") {
                $0.replacingOccurrences(of: "AKIDsimulator", with: "AKIDsomeoneelse")
            }
            #expect(otherKey.errorCode == "AuthFailure.SecretIdNotFound")
            let wrongDate = try await client.call("DescribeDomains") {
                $0.replacingOccurrences(of: "/2024-05-02/", with: "/2024-05-01/")
            }
            #expect(wrongDate.errorCode == "AuthFailure.InvalidAuthorization")
        }
    }

    @Test("an unknown action is InvalidAction, a wrong version NoSuchVersion")
    func unknownActionFails() async throws {
        try await withSimulator(testConfiguration()) { _, client in
            #expect(try await client.call("DescribeInstances").errorCode == "InvalidAction")
            let version = try await client.call("DescribeDomains", headers: ["X-TC-Version": "2017-03-12"])
            #expect(version.errorCode == "NoSuchVersion")
        }
    }
}
