import AsyncHTTPClient
import Core
import Foundation
import Ingest
import Jobs
import Logging
import ObjectStorage
import Store
import Testing
import TestSupport

/// The receiver over HTTPS, and stream parts stored through the S3 sink.
@Suite("Ingest transports")
struct TransportTests {
    @Test("with ingest.tls the receiver speaks HTTPS with the configured certificate")
    func https() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1",
            "-keyout", key, "-out", certificate,
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        try #require(openssl.waitForExit() == 0)
        let bed = try await IngestTestBed { configuration in
            configuration.tlsCertificate = certificate
            configuration.tlsKey = key
        }
        do {
            #expect(try await bed.post(SenderLog.line().bytes).status == 200)
            // Plain HTTP to the HTTPS port gets no HTTP answer.
            var plain = HTTPClientRequest(url: "http://127.0.0.1:\(bed.port)\(IngestTestBed.endpoint.path)")
            plain.method = .POST
            await #expect(throws: (any Error).self) { _ = try await bed.client.execute(plain, timeout: .seconds(10)) }
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("a sealed hour is stored through the S3 sink (rclone serve s3, signatures checked), byte for byte")
    func s3Sink() async throws {
        try await RcloneS3Server.with { server in
            let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
            // The store checks signature times against the real time; the receiver's clock is a manual one.
            let clock = SystemWallClock()
            let logger = Logger(label: "ingest-s3")
            let ledgerPath = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-ledger-\(UUID().uuidString).sqlite").path
            let ledger = try SQLiteJobStore(path: ledgerPath)
            defer {
                try? ledger.close()
                try? FileManager.default.removeItem(atPath: ledgerPath)
            }
            let sink = ObjectStoreSink(
                client: ObjectStoreClient(configuration: server.configuration(), httpClient: httpClient, logger: logger, clock: clock),
                ledger: ledger, multipartThreshold: 64 << 20, minimumPartSize: 8 << 20, partConcurrency: 2, clock: clock, logger: logger)
            let bed = try await IngestTestBed(sink: sink)
            do {
                let lines = [SenderLog.line(time: "09:01:00"), SenderLog.line(time: "09:02:00", uri: "/\\u003cscript\\u003e")]
                #expect(try await bed.post(lines.joined(separator: "\n").bytes).status == 200)
                bed.clock.advance(by: 15 * 60)
                try await bed.sealAndUpload()
                let stored = try #require(FileManager.default.contents(atPath: server.path(key: try bed.key(part: 1))))
                #expect(try Gzip.decompress([UInt8](stored)) == (lines.joined(separator: "\n") + "\n").bytes)
                #expect(try await bed.store.streamStatus().first?.spoolBytes == 0)
            } catch {
                await bed.stop()
                try? await httpClient.shutdown()
                throw error
            }
            await bed.stop()
            try await httpClient.shutdown()
        }
    }
}
