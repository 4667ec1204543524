import AsyncHTTPClient
import Core
import Foundation
import Hummingbird
@testable import Jobs
import Logging
import NIOCore
import Synchronization
@testable import TencentCloud
import TestSupport
import Testing

/// The CDN API client against a real HTTP server on loopback that answers canned Tencent JSON.
@Suite struct TencentCDNClientTests {
    static let credentials = TencentCredentials(
        secretID: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        token: "temporary-session-token")
    /// 2019-09-04 15:00 UTC, which is 23:00 in Beijing.
    static let hour = Date(timeIntervalSince1970: 1_567_609_200)

    /// A client of `endpoint` on a clock that does not really sleep (its deadlines and rate windows on the
    /// real one), logging into `logs`.
    static func client(
        _ endpoint: String, pageSize: Int = 1000, clock: ManualWallClock = ManualWallClock(now: Date(), advancesOnSleep: true), logs: TencentLogCapture = TencentLogCapture(),
        timeout: Duration = .seconds(10), minimumBytesPerSecond: Int = TencentCDNConfiguration.defaultMinimumBytesPerSecond,
        stallWindow: Duration = TencentCDNConfiguration.defaultStallWindow
    ) -> TencentCDNClient {
        TencentCDNClient(
            configuration: TencentCDNConfiguration(
                endpoint: endpoint, credentials: credentials, pageSize: pageSize, requestTimeout: timeout,
                minimumBytesPerSecond: minimumBytesPerSecond, stallWindow: stallWindow),
            httpClient: .shared, logger: logs.logger, clock: clock)
    }

    @Test func sendsSignedJSONPostWithTencentHeaders() async throws {
        try await CannedTencentServer.serve({ _, _ in (200, tencentLogsPage(total: 0, [])) }) { endpoint, server in
            let packages = try await Self.client(endpoint).packages(domain: "www.test.com", hour: Self.hour)
            #expect(packages.isEmpty)
            let request = try #require(server.requests.first)
            #expect(request.method == "POST" && request.path == "/")
            #expect(request.headers["content-type"] == "application/json; charset=utf-8")
            #expect(request.host == endpoint.replacingOccurrences(of: "http://", with: ""))
            #expect(request.headers["x-tc-action"] == "DescribeCdnDomainLogs")
            #expect(request.headers["x-tc-version"] == "2018-06-06")
            #expect(request.headers["x-tc-token"] == "temporary-session-token")
            let timestamp = try #require(request.headers["x-tc-timestamp"].flatMap { Int($0) })
            #expect(abs(timestamp - Int(Date().timeIntervalSince1970)) < 300)
            let expected = TC3Signer(credentials: Self.credentials, service: "cdn").authorization(
                method: "POST", host: request.host, contentType: "application/json; charset=utf-8", canonicalQuery: "",
                payload: request.body, timestamp: timestamp)
            #expect(request.headers["authorization"] == expected)

            let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            #expect(body["Domain"] as? String == "www.test.com")
            #expect(body["StartTime"] as? String == "2019-09-04 23:00:00")
            #expect(body["EndTime"] as? String == "2019-09-04 23:59:59")
            #expect(body["Area"] as? String == "global")
            #expect(body["LogType"] as? String == "access")
            #expect(body["Offset"] as? Int == 0 && body["Limit"] as? Int == 1000)
        }
    }

    /// An entry that cannot be read might be a package: it is an error of the window (retried, then
    /// visible in `status`), never a package silently dropped.
    @Test(arguments: [
        tencentLogEntry("04/09/2019 23:00", "http://log.example/20190904/23/201909042300-www.test.com.gz", area: "mainland"),
        tencentLogEntry("2019-09-04 23:00:00", "", area: "mainland", name: ""),
    ])
    func anUnreadableEntryIsAnErrorOfTheWindow(entry: String) async throws {
        let fine = tencentLogEntry("2019-09-04 23:00:00", "http://log.example/20190904/23/201909042300-www.test.com-1.gz", area: "mainland")
        try await CannedTencentServer.serve({ _, _ in (200, tencentLogsPage(total: 2, [fine, entry])) }) { endpoint, _ in
            let error = await #expect(throws: TencentCloudError.self) {
                _ = try await Self.client(endpoint).packages(domain: "www.test.com", hour: Self.hour)
            }
            #expect(error?.code == "cdn.malformed_entry")
            #expect(error?.isRetryable == true)
        }
    }

    @Test func pagesUntilTotalCountAndMapsEntriesToPackagesOfTheHour() async throws {
        let path = "http://log.example/20190904/23"
        let entries = [
            tencentLogEntry("2019-09-04 23:00:00", "\(path)/201909042300-www.test.com.gz?st=x&e=1", area: "mainland", size: "9999"),
            tencentLogEntry("2019-09-04 23:00:00", "\(path)/201909042300-www.test.com.gz?st=y&e=1", area: "overseas", size: "null"),
            tencentLogEntry("2019-09-04 22:00:00", "http://log.example/20190904/22/201909042200-www.test.com.gz", area: "mainland"),
            tencentLogEntry("2019-09-04 23:00:00", "\(path)/?st=z", area: "mainland", name: "2019090423-extra"),
            tencentLogEntry("2019-09-04 23:00:00", "\(path)/201909042300-www.test.com-1.gz", area: "mainland", size: "5"),
        ]
        let responder: CannedTencentServer.Responder = { request, _ in
            let offset = request.json["Offset"] as? Int ?? -1
            let limit = request.json["Limit"] as? Int ?? 0
            return (200, tencentLogsPage(total: entries.count, Array(entries.dropFirst(offset).prefix(limit))))
        }
        try await CannedTencentServer.serve(responder) { endpoint, server in
            let packages = try await Self.client(endpoint, pageSize: 2).packages(domain: "www.test.com", hour: Self.hour)
            #expect(server.requests.map { $0.json["Offset"] as? Int } == [0, 2, 4])
            #expect(server.requests.allSatisfy { $0.json["Limit"] as? Int == 2 })
            #expect(packages.map(\.name) == [
                "201909042300-www.test.com.gz", "201909042300-www.test.com.gz", "2019090423-extra",
                "201909042300-www.test.com-1.gz",
            ])
            #expect(packages.map(\.area) == ["mainland", "overseas", "mainland", "mainland"])
            #expect(packages.map(\.announcedSize) == [9999, nil, nil, 5])
            #expect(packages.allSatisfy { $0.hour == Self.hour })
            #expect(packages[0].url == "\(path)/201909042300-www.test.com.gz?st=x&e=1")
        }
    }

    @Test func domainsPagesUntilTotalNumberAndSkipsRejected() async throws {
        let domains = [("a.example", "online"), ("b.example", "rejected"), ("c.example", "offline")]
        let responder: CannedTencentServer.Responder = { request, _ in
            let offset = request.json["Offset"] as? Int ?? -1
            let page = domains.dropFirst(offset).prefix(request.json["Limit"] as? Int ?? 0)
                .map { #"{"Domain":"\#($0.0)","Status":"\#($0.1)","Area":"global"}"# }
            return (200, #"{"Response":{"Domains":[\#(page.joined(separator: ","))],"TotalNumber":3,"RequestId":"r"}}"#)
        }
        try await CannedTencentServer.serve(responder) { endpoint, server in
            let names = try await Self.client(endpoint, pageSize: 2).domains()
            #expect(names == ["a.example", "c.example"])
            #expect(server.requests.map { $0.headers["x-tc-action"] } == ["DescribeDomains", "DescribeDomains"])
        }
    }

    @Test func signatureFailureIsPermanentNamesTheKeysAndLeaksNoSecret() async throws {
        let logs = TencentLogCapture()
        try await CannedTencentServer.serve({ _, _ in
            (200, tencentErrorBody("AuthFailure.SignatureFailure", "The provided credentials could not be validated."))
        }) { endpoint, server in
            let error = await #expect(throws: TencentCloudError.self) {
                try await Self.client(endpoint, logs: logs).packages(domain: "www.test.com", hour: Self.hour)
            }
            #expect(error?.code == "AuthFailure.SignatureFailure")
            #expect(error?.disposition == .permanent)
            #expect(error?.requestID == "request-1")
            #expect(error?.message.contains("cdn.secret_id / cdn.secret_key") == true)
            #expect(server.requests.count == 1)
        }
        let everything = logs.lines.joined(separator: "\n")
        #expect(logs.lines.contains { $0.contains("cdn.action=DescribeCdnDomainLogs") && $0.contains("cloud.request_id=request-1") })
        #expect(!everything.contains(Self.credentials.secretKey))
    }

    @Test(arguments: [
        ("AuthFailure.SignatureExpire", "host clock is off"),
        ("ResourceNotFound.CdnHostNotExists", "domain www.test.com is not a CDN domain of this Tencent Cloud account"),
        ("UnauthorizedOperation.CdnAccountUnauthorized", "lacks CDN permission"),
        ("InvalidParameter.CdnParamError", "rejected a parameter"),
        ("InvalidParameterValue", "rejected a parameter"),
    ])
    func permanentErrorsSayWhatToCheck(code: String, hint: String) async throws {
        try await CannedTencentServer.serve({ _, _ in (200, tencentErrorBody(code, "details")) }) { endpoint, server in
            let error = await #expect(throws: TencentCloudError.self) {
                try await Self.client(endpoint).packages(domain: "www.test.com", hour: Self.hour)
            }
            #expect(error?.code == code && error?.disposition == .permanent)
            #expect(error?.message.contains(hint) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains(Self.credentials.secretKey) == false)
            #expect(server.requests.count == 1)
        }
    }

    @Test(arguments: ["InternalError", "InternalError.CdnDbError", "FailedOperation.SomethingNew", "ResourceUnavailable"])
    func internalAndUnknownErrorsAreRetryableWithoutInternalRetry(code: String) async throws {
        try await CannedTencentServer.serve({ _, _ in (200, tencentErrorBody(code, "details")) }) { endpoint, server in
            let error = await #expect(throws: TencentCloudError.self) { try await Self.client(endpoint).domains() }
            // Tencent's internal errors say the API is unwell (an outage if they go on); an unknown code is
            // about this request.
            #expect(error?.code == code && error?.disposition == (code.hasPrefix("InternalError") ? .unavailable : .retryable))
            #expect(server.requests.count == 1)
        }
    }

    @Test func throttlingIsRetriedAfterADelayThenSucceeds() async throws {
        let clock = ManualWallClock(now: Date(), advancesOnSleep: true)
        let entry = tencentLogEntry("2019-09-04 23:00:00", "http://log.example/a/201909042300-www.test.com.gz", area: "mainland")
        let responder: CannedTencentServer.Responder = { _, index in
            index == 0 ? (200, tencentErrorBody("RequestLimitExceeded", "slow down")) : (200, tencentLogsPage(total: 1, [entry]))
        }
        try await CannedTencentServer.serve(responder) { endpoint, server in
            let packages = try await Self.client(endpoint, clock: clock).packages(domain: "www.test.com", hour: Self.hour)
            #expect(packages.map(\.name) == ["201909042300-www.test.com.gz"])
            #expect(server.requests.count == 2)
            #expect(clock.elapsed >= .milliseconds(125), "waited \(clock.elapsed) before retrying")
        }
    }

    @Test func throttlingThatPersistsGivesUpRetryableAfterThreeRetries() async throws {
        let responder: CannedTencentServer.Responder = { _, _ in
            (200, tencentErrorBody("RequestLimitExceeded.UinLimitExceeded", "slow down"))
        }
        try await CannedTencentServer.serve(responder) { endpoint, server in
            let error = await #expect(throws: TencentCloudError.self) {
                try await Self.client(endpoint).packages(domain: "www.test.com", hour: Self.hour)
            }
            #expect(error?.code == "RequestLimitExceeded.UinLimitExceeded" && error?.disposition == .unavailable)
            #expect(server.requests.count == 4)
        }
    }

    @Test func httpErrorStatusIsRetryable() async throws {
        try await CannedTencentServer.serve({ _, _ in (500, "oops") }) { endpoint, server in
            let error = await #expect(throws: TencentCloudError.self) { try await Self.client(endpoint).domains() }
            #expect(error?.code == "cdn.http_status" && error?.httpStatus == 500 && error?.disposition == .unavailable)
            #expect(server.requests.count == 1)
        }
    }

    @Test(arguments: ["<html>busy</html>", #"{"Response":{"RequestId":"r"}}"#, #"{"Response":{"DomainLogs":"x"}}"#])
    func malformedAnswerIsRetryable(body: String) async throws {
        try await CannedTencentServer.serve({ _, _ in (200, body) }) { endpoint, _ in
            let error = await #expect(throws: TencentCloudError.self) {
                try await Self.client(endpoint).packages(domain: "www.test.com", hour: Self.hour)
            }
            #expect(error?.code == "cdn.malformed_response" && error?.disposition == .retryable)
        }
    }

    @Test func unansweredRequestTimesOutRetryable() async throws {
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let responder: CannedTencentServer.Responder = { _, _ in (200, tencentLogsPage(total: 0, [])) }
        try await CannedTencentServer.serve(responder, holdUntil: release) { endpoint, _ in
            let error = await #expect(throws: TencentCloudError.self) {
                try await Self.client(endpoint, timeout: .milliseconds(300)).domains()
            }
            #expect(error?.code == "cdn.timeout" && error?.disposition == .unavailable)
            releaseContinuation.finish()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func answerTricklingBelowTheFloorIsAbandonedAsStalledRetryable() async throws {
        // One byte every 50 ms is at most 20 B/s, far below the floor however loaded the machine.
        let responder: CannedTencentServer.Responder = { _, _ in (200, tencentLogsPage(total: 0, [])) }
        try await CannedTencentServer.serve(responder, trickle: .milliseconds(50)) { endpoint, _ in
            let started = ContinuousClock.now
            let error = await #expect(throws: TencentCloudError.self) {
                try await Self.client(endpoint, timeout: .seconds(30), minimumBytesPerSecond: 1000, stallWindow: .milliseconds(500)).domains()
            }
            #expect(error?.code == "cdn.stalled" && error?.disposition == .unavailable, "\(String(describing: error))")
            let message = error?.message ?? ""
            #expect(message.contains("below the floor of 1000 B/s"), "\(message)")
            #expect(ContinuousClock.now - started < .seconds(20), "stopped by the floor, long before the deadline")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func answerStillArrivingAtTheDeadlineTimesOutRetryable() async throws {
        // The headers come at once; the deadline must cover the body too. No floor here. The deadline leaves
        // the headers seconds to arrive on a loaded machine (CI once took over 1 s), and the body, about 70
        // bytes at 250 ms each, takes three times as long as the deadline.
        let responder: CannedTencentServer.Responder = { _, _ in (200, tencentLogsPage(total: 0, [])) }
        try await CannedTencentServer.serve(responder, trickle: .milliseconds(250)) { endpoint, _ in
            let error = await #expect(throws: TencentCloudError.self) {
                try await Self.client(endpoint, timeout: .seconds(5), minimumBytesPerSecond: 0).domains()
            }
            #expect(error?.code == "cdn.timeout" && error?.disposition == .unavailable, "\(String(describing: error))")
            let message = error?.message ?? ""
            #expect(message.contains("did not finish within 5 s"), "\(message)")
        }
    }

    @Test func unreachableEndpointIsRetryableNetworkError() async throws {
        // Nothing listens on port 1; AHC retries the connection until the deadline, so keep it short.
        let error = await #expect(throws: TencentCloudError.self) {
            try await Self.client("http://127.0.0.1:1", timeout: .milliseconds(500)).domains()
        }
        #expect(error?.code == "cdn.network" && error?.disposition == .unavailable, "\(String(describing: error))")
    }

    @Test func endpointWithoutSchemeIsPermanent() async throws {
        let error = await #expect(throws: TencentCloudError.self) { try await Self.client("cdn.tencentcloudapi.com").domains() }
        #expect(error?.code == "cdn.endpoint_invalid" && error?.disposition == .permanent)
    }
}

/// The pure helpers behind the client: endpoint parsing, file names from links, hour alignment.
@Suite struct TencentCDNClientHelperTests {
    @Test(arguments: [
        ("https://cdn.tencentcloudapi.com", "https://cdn.tencentcloudapi.com/", "cdn.tencentcloudapi.com"),
        ("https://cdn.tencentcloudapi.com/", "https://cdn.tencentcloudapi.com/", "cdn.tencentcloudapi.com"),
        ("https://cdn.tencentcloudapi.com:443", "https://cdn.tencentcloudapi.com:443/", "cdn.tencentcloudapi.com:443"),
        ("http://127.0.0.1:8080/some/path?x=1", "http://127.0.0.1:8080/", "127.0.0.1:8080"),
        ("HTTP://user@[::1]:9000", "http://[::1]:9000/", "[::1]:9000"),
    ])
    func endpointKeepsAnExplicitPortInTheHost(endpoint: String, url: String, host: String) {
        let parsed = TencentEndpoint(endpoint)
        #expect(parsed?.url == url && parsed?.host == host)
    }

    @Test(arguments: ["cdn.tencentcloudapi.com", "ftp://cdn.tencentcloudapi.com", "http://", "https:///x", "http://:80"])
    func endpointWithoutHTTPSchemeOrHostIsRejected(endpoint: String) {
        #expect(TencentEndpoint(endpoint) == nil)
    }

    @Test(arguments: [
        ("http://www.test.qcloud.com/20190904/23/201909042300-www.test.com.gz?st=abc&e=123", "201909042300-www.test.com.gz"),
        ("https://log.example/a/b/file%20name.gz#frag", "file name.gz"),
        ("/relative/only.gz", "only.gz"),
        ("http://log.example/a/b/", nil),
        ("http://log.example", nil),
        ("http://log.example?x=/y.gz", nil),
    ])
    func fileNameIsTheLastPathComponentOfTheLink(link: String, name: String?) {
        #expect(TencentCDNClient.fileName(fromLogPath: link) == name)
    }

    @Test func hourIsRoundedDownToAWholeUTCHour() {
        let hour = Date(timeIntervalSince1970: 1_567_609_200)
        #expect(TencentCDNClient.startOfHour(hour.addingTimeInterval(3599.5)) == hour)
        #expect(TencentCDNClient.startOfHour(hour) == hour)
        #expect(TencentCDNClient.startOfHour(Date(timeIntervalSince1970: -1)) == Date(timeIntervalSince1970: -3600))
    }
}
