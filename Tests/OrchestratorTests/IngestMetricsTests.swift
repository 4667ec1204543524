import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TestSupport

extension EndToEndTests {
@Suite("Ingest metrics (real binary)")
struct IngestMetricsTests {
    @Test("/metrics counts the receiver's accepted lines and bytes, quarantined lines, repeats, refusals by status, and the spool's bytes; /healthz answers on the receiver's port")
    func ingestMetrics() async throws {
        let sandbox = try ServiceSandbox(name: "ingest-metrics")
        let port = try freePort()
        try """
            database: ./state/orchestrator.sqlite
            sink:
              kind: local
              directory: ./bucket
            ingest:
              listen: 127.0.0.1:\(port)
              max_body_bytes: 4096
              endpoints:
                - path: /logs/www.example.com
                  domain: www.example.com
                  headers: { X-Api-Key: metrics-test }
            log:
              level: info

            """.write(to: sandbox.config, atomically: true, encoding: .utf8)
        let environment = [
            "ORCHESTRATOR_METRICS_LISTEN": "127.0.0.1:0", "ORCHESTRATOR_LOG_FORMAT": "json", "TENCENTCLOUD_SECRET_ID": "",
            "TENCENTCLOUD_SECRET_KEY": "",
        ]
        let service = try await sandbox.startServiceWhenReady(environment: environment)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let address = try await sandbox.loggedMetricsAddress()
            // Lines of the current hour: nothing is sealed or uploaded while the test runs.
            let now = Date()
            let lines = [SenderLog.line(at: now, id: "m1"), SenderLog.line(at: now, id: "m2")]
            let bad = "{not json"
            let body = Array((lines[0] + "\n" + bad + "\n" + lines[1]).utf8)
            func post(_ body: [UInt8], key: String = "metrics-test") async throws -> Int {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/logs/www.example.com")
                request.method = .POST
                request.headers.add(name: "X-Api-Key", value: key)
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 16)
                return Int(response.status.code)
            }
            #expect(try await post(body) == 200)
            #expect(try await post(body) == 200, "the same body again: a repeat")
            #expect(try await post(body, key: "wrong") == 401)
            #expect(try await post(Array("garbage".utf8)) == 400)
            #expect(try await post([UInt8](repeating: UInt8(ascii: " "), count: 5000)) == 413)
            // A load balancer in front of the receiver checks it on the receiver's own port, without the
            // endpoints' headers; the check is no refused request.
            let health = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(10))
            #expect(health.status.code == 200)
            #expect(String(buffer: try await health.body.collect(upTo: 1024)) == "ok\n")

            let response = try await client.execute(HTTPClientRequest(url: "http://\(address)/metrics"), timeout: .seconds(10))
            let metrics = String(buffer: try await response.body.collect(upTo: 1 << 22))
            func value(_ sample: String) -> Double? {
                metrics.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            let acceptedBytes = lines.reduce(0) { $0 + $1.utf8.count + 1 }
            #expect(value("orchestrator_ingest_lines_accepted_total") == 2, "\(metrics)")
            #expect(value("orchestrator_ingest_bytes_accepted_total") == Double(acceptedBytes))
            #expect(value("orchestrator_ingest_lines_quarantined_total") == 1)
            #expect(value("orchestrator_ingest_bodies_repeated_total") == 1)
            #expect(value("orchestrator_ingest_requests_refused_total{status=\"401\"}") == 1)
            #expect(value("orchestrator_ingest_requests_refused_total{status=\"400\"}") == 1)
            #expect(value("orchestrator_ingest_requests_refused_total{status=\"413\"}") == 1)
            #expect(value("orchestrator_ingest_spool_bytes{domain=\"www.example.com\"}") == Double(acceptedBytes + bad.utf8.count))
            #expect(service.stop(with: SIGTERM) == 0)
        } catch {
            service.stop(with: SIGKILL)
            try? await client.shutdown()
            throw HarnessError("\(error)\n\(sandbox.logTail)")
        }
        try await client.shutdown()
    }
}
}
