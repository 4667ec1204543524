import AsyncHTTPClient
import Core
import Foundation
import Jobs
import Logging

/// `check-config --probe`: asks the CDN API and the sink whether they answer with the configured
/// credentials, through the same clients the service builds, and changes nothing in either.
///
/// - The CDN API: `DescribeDomains`, which any key allowed to read the account's logs may call.
/// - COS or S3: a HEAD of a key that need not exist (reaching the store and the signature accepted),
///   then listing the bucket's multipart uploads under that key (the bucket exists and may be read).
/// - A local directory: a file created and removed in it (or in its nearest existing parent, which
///   `run` creates it under).
struct ConfigurationProbe {
    /// What one probe found.
    struct Finding {
        /// `cdn` or `sink`.
        var subject: String
        /// What was asked, and the answer or the error (code and message, never a credential).
        var text: String
        /// Whether it answered as it should.
        var succeeded: Bool
    }

    let configuration: OrchestratorConfiguration
    var clock: any WallClock = SystemWallClock()
    let logger: Logger

    /// Runs both probes.
    func run() async -> [Finding] {
        let httpClient = HTTPClients.signedCalls(connectTimeout: .seconds(10), readTimeout: .seconds(30))
        var findings = [await probeCDN(httpClient: httpClient)]
        findings.append(await probeSink(httpClient: httpClient))
        try? await httpClient.shutdown()
        return findings
    }

    private func probeCDN(httpClient: HTTPClient) async -> Finding {
        let client = ServiceAssembly.makeCDNClient(configuration.cdn, httpClient: httpClient, clock: clock, logger: logger)
        let subject = "cdn \(configuration.cdn.endpoint)"
        do {
            let domains = try await client.domains()
            return Finding(subject: "cdn", text: "\(subject): DescribeDomains answered (\(domains.count) domain\(domains.count == 1 ? "" : "s"))", succeeded: true)
        } catch {
            return Finding(subject: "cdn", text: "\(subject): DescribeDomains failed: \(Self.describe(error))", succeeded: false)
        }
    }

    private func probeSink(httpClient: HTTPClient) async -> Finding {
        let sink = configuration.sink
        switch sink.kind {
        case .local:
            return probeDirectory(sink.directory)
        case .cos, .s3:
            let client = ServiceAssembly.makeObjectStoreClient(sink, httpClient: httpClient, clock: clock, logger: logger)
            let key = "orchestrator-probe/\(UUID().uuidString)"
            let subject = "sink \(sink.kind.rawValue) bucket \(sink.bucket)"
            do {
                _ = try await client.head(key: key)
                _ = try await client.listMultipartUploads(prefix: key)
                return Finding(subject: "sink", text: "\(subject): HEAD of \(key) and listing uploads answered", succeeded: true)
            } catch {
                return Finding(subject: "sink", text: "\(subject): \(Self.describe(error))", succeeded: false)
            }
        }
    }

    /// Whether a file can be created in `directory`, or in its nearest existing parent.
    private func probeDirectory(_ directory: String) -> Finding {
        var existing = URL(fileURLWithPath: directory).standardizedFileURL
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            existing.deleteLastPathComponent()
        }
        let probe = existing.appendingPathComponent(".orchestrator-probe-\(UUID().uuidString)")
        let subject = "sink local \(directory)"
        guard FileManager.default.createFile(atPath: probe.path, contents: Data()) else {
            return Finding(subject: "sink", text: "\(subject): cannot create a file in \(existing.path) (check its owner and mode)", succeeded: false)
        }
        try? FileManager.default.removeItem(at: probe)
        let note = existing.path == URL(fileURLWithPath: directory).standardizedFileURL.path ? "" : " (\(existing.path), where run creates it)"
        return Finding(subject: "sink", text: "\(subject): writable\(note)", succeeded: true)
    }

    /// An error as an operator reads it: its code and message when it is classified.
    private static func describe(_ error: any Error) -> String {
        if let classified = error as? any ClassifiedError { return "\(classified.code): \(classified.message)" }
        return "\(error)"
    }
}
