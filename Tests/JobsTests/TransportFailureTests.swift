import AsyncHTTPClient
import Core
import Testing

/// Connection failures read as one short, balanced phrase in every message that names them.
@Suite struct TransportFailureTests {
    private struct Described: Error, CustomStringConvertible {
        let description: String
    }

    @Test func anErrnoIsToldByTheSystemTextAlone() {
        let garbled = Described(description: "connection reset (error set): Connection refused) (errno: 111)")
        #expect(describeTransportFailure(garbled) == "connection refused")
    }

    @Test func httpClientCasesAreNamedInWords() {
        #expect(describeTransportFailure(HTTPClientError.connectTimeout) == "connection timed out")
        #expect(describeTransportFailure(HTTPClientError.remoteConnectionClosed) == "the server closed the connection")
    }

    @Test func aRefusedConnectionIsOneBalancedPhrase() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .milliseconds(300))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            _ = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:1/"), timeout: .seconds(2))
            Issue.record("a request to port 1 succeeded")
        } catch {
            let phrase = describeTransportFailure(error)
            #expect(["connection refused", "connection timed out", "the request took too long"].contains(phrase), "\(phrase)")
        }
        try await client.shutdown()
    }
}
