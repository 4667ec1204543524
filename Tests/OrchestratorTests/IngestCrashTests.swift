import AsyncHTTPClient
import CZlib
import Foundation
import NIOCore
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The push receiver in the real binary, killed with SIGKILL while senders keep posting: every line
/// acknowledged with a 2xx ends up in its domain-hour objects exactly once.
@Suite("Ingest crash recovery", .serialized)
struct IngestCrashTests {
    static let domains = ["www.example.com", "img.example.com"]

    @Test("SIGKILL under load, several times: every acknowledged line is stored exactly once, re-sent batches included")
    func killUnderLoad() async throws {
        let sandbox = try ServiceSandbox(name: "ingest-crash")
        let port = try freePort()
        try """
            database: ./state/orchestrator.sqlite
            workers:
              concurrency: 2
              lease_seconds: 6
              backoff_base_seconds: 1
              backoff_cap_seconds: 2
            sink:
              kind: local
              directory: ./bucket
            ingest:
              listen: 127.0.0.1:\(port)
              seal_grace_minutes: 0
              seal_interval_seconds: 1
              endpoints:
                - path: /logs/www.example.com
                  domain: www.example.com
                  headers: { X-Api-Key: crash-test }
                - path: /logs/img.example.com
                  domain: img.example.com
                  headers:
                    - { name: X-Api-Key, value: crash-test }
            log:
              level: info

            """.write(to: sandbox.config, atomically: true, encoding: .utf8)
        var service = try await sandbox.startServiceWhenReady()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let shared = SharedState()
        // Lines of two past hours, so each is sealed at once and late lines keep making new parts.
        let now = Int(Date().timeIntervalSince1970)
        let hours = [now / 3600 * 3600 - 7200, now / 3600 * 3600 - 3600]
        let senders = Task { [shared] in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sender in 0..<4 {
                    group.addTask { [shared] in
                        var batch = 0
                        while !shared.stopSending.withLock({ $0 }) {
                            let domain = Self.domains[sender % 2]
                            var lines: [String] = []
                            for index in 0..<120 {
                                let id = "s\(sender)-b\(batch)-l\(index)"
                                lines.append(SenderLog.line(at: Date(timeIntervalSince1970: TimeInterval(hours[(batch + index) % 2] + index)), id: id))
                            }
                            let body = Array((lines.joined(separator: "\n") + "\n").utf8)
                            // Like the sender: the same body again until a 2xx.
                            while true {
                                if let status = try? await Self.post(body, domain: domain, port: port, gzip: batch % 3 == 0, client: client), (200..<300).contains(status) {
                                    break
                                }
                                shared.ledger.withLock { $0.retries += 1 }
                                try await Task.sleep(for: .milliseconds(50))
                            }
                            shared.ledger.withLock { $0.acknowledged.formUnion(lines.map { SenderLog.id(of: $0) ?? $0 }) }
                            batch += 1
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        do {
            for round in 0..<4 {
                let before = shared.ledger.withLock { $0.acknowledged.count }
                try await waitUntil(timeout: 60, "more lines acknowledged (round \(round))") {
                    shared.ledger.withLock { $0.acknowledged.count } >= before + 2000
                }
                service.stop(with: SIGKILL)
                service = try await sandbox.startServiceWhenReady()
            }
            try await waitUntil(timeout: 60, "more lines acknowledged after the last restart") {
                shared.ledger.withLock { $0.acknowledged.count } >= 10_000
            }
            shared.stopSending.withLock { $0 = true }
            try await senders.value
            // Everything sealed and uploaded, nothing waiting, spool empty.
            try await waitUntil(timeout: 120, "every stream hour uploaded") {
                let status = try Binary.run(["status", "--json", "--config", sandbox.config.path])
                guard status.status == 0,
                      let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any],
                      let streams = object["streams"] as? [[String: Any]], streams.count == 2,
                      let jobs = object["jobs"] as? [String: Int]
                else { return false }
                return jobs["pending"] == 0 && jobs["running"] == 0 && jobs["failed"] == 0 && streams.allSatisfy {
                    ($0["spool_bytes"] as? Int) == 0 && ($0["open_hours"] as? Int) == 0 && ($0["sealed_hours_waiting"] as? Int) == 0
                }
            }
            service.stop(with: SIGTERM)
            try await client.shutdown()
            var stored: [String: Int] = [:]
            var misfiled = 0
            for relative in sandbox.files(under: sandbox.bucket, where: { $0.hasSuffix(".json.gz") }) {
                let data = try Data(contentsOf: sandbox.bucket.appendingPathComponent(relative))
                let text = String(decoding: try Gzip.decompress([UInt8](data)), as: UTF8.self)
                for line in text.split(separator: "\n") {
                    let id = SenderLog.id(of: line) ?? String(line)
                    stored[id, default: 0] += 1
                    let domain = Self.domains[Int(id.dropFirst().prefix { $0 != "-" })! % 2]
                    if !relative.hasPrefix("cdnlog/\(domain)/") { misfiled += 1 }
                }
            }
            let acknowledged = shared.ledger.withLock { $0.acknowledged }
            let lost = acknowledged.filter { stored[$0] == nil }
            let twice = stored.filter { $0.value > 1 }
            #expect(acknowledged.count >= 10_000)
            #expect(lost.isEmpty, "\(lost.count) acknowledged lines lost, e.g. \(lost.prefix(3))")
            #expect(twice.isEmpty, "\(twice.count) lines stored more than once, e.g. \(twice.prefix(3))")
            #expect(misfiled == 0)
            #expect(shared.ledger.withLock { $0.retries } > 0, "no request was interrupted by a kill")
        } catch {
            shared.stopSending.withLock { $0 = true }
            _ = try? await senders.value
            service.stop(with: SIGKILL)
            try? await client.shutdown()
            throw HarnessError("\(error)\n\(sandbox.logTail)")
        }
    }

    struct SentLines: Sendable {
        var acknowledged: Set<String> = []
        /// Requests sent again after an error or a non-2xx: the kills happened under load.
        var retries = 0
    }

    /// What the senders and the test share.
    final class SharedState: Sendable {
        let ledger = Mutex(SentLines())
        let stopSending = Mutex(false)
    }

    static func post(_ body: [UInt8], domain: String, port: Int, gzip: Bool, client: HTTPClient) async throws -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/logs/\(domain)")
        request.method = .POST
        request.headers.add(name: "X-Api-Key", value: "crash-test")
        if gzip {
            request.headers.add(name: "Content-Encoding", value: "gzip")
            request.body = .bytes(ByteBuffer(bytes: Gzip.compress(body)))
        } else {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }
}

/// A port nothing listens on right now.
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw HarnessError("cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

