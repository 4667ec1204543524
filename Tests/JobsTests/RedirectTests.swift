import AsyncHTTPClient
import Foundation
import Jobs
import TestSupport
import Testing

@testable import TencentCloud

/// Signed calls never follow a redirect: their credentials would go wherever the answer points.
@Suite struct RedirectTests {
    @Test func aSignedCallRefusesARedirectAndTheOtherHostHearsNothing() async throws {
        try await CannedTencentServer.serve({ _, _ in (200, #"{"Response":{"RequestId":"t","Domains":[],"TotalNumber":0}}"#) }) { target, other in
            try await CannedTencentServer.serve({ _, _ in (307, "") }, location: target + "/") { endpoint, redirecting in
                let httpClient = HTTPClients.signedCalls()
                let client = TencentCDNClient(
                    configuration: TencentCDNConfiguration(endpoint: endpoint, credentials: TencentCDNClientTests.credentials),
                    httpClient: httpClient, logger: TencentLogCapture().logger, clock: ManualWallClock(now: Date(), advancesOnSleep: true))
                let error = await #expect(throws: TencentCloudError.self) { try await client.domains() }
                #expect(error?.httpStatus == 307)
                #expect(redirecting.requests.count == 1)
                #expect(other.requests.isEmpty, "the signed request was not sent on to the other host")
                try await httpClient.shutdown()
            }
        }
    }
}
