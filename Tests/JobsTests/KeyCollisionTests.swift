import AsyncHTTPClient
import Foundation
import JobModel
import Jobs
import Logging
import Testing

/// Two different packages of one window never share an object key: the second would overwrite the
/// first, and the size-only skip would record one file's checksums for the other.
@Suite struct KeyCollisionTests {
    private struct TwoPackages: LogSource {
        let packages: [LogPackage]
        var sourceName: String { "tencent-cdn" }
        func packages(domain: String, hour: Date) async throws -> [LogPackage] { packages }
        func domains() async throws -> [String] { ["c.example"] }
    }

    @Test func packagesWhoseKeysCollideFailTheWindowNamingBoth() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("collision-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let hour = Date(timeIntervalSince1970: 1_567_609_200)
        // `/` in a name becomes `_` in the key, so these two names make one key.
        let source = TwoPackages(packages: [
            LogPackage(name: "a/b.gz", area: "mainland", hour: hour, url: "http://127.0.0.1:1/one", announcedSize: 10),
            LogPackage(name: "a_b.gz", area: "mainland", hour: hour, url: "http://127.0.0.1:1/two", announcedSize: 10),
        ])
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let transfer = LogPackageTransfer(
            source: source,
            downloader: PackageDownloader(httpClient: .shared, spoolDirectory: directory.appendingPathComponent("spool").path, logger: quiet),
            sink: try LocalDirectorySink(directory: directory.appendingPathComponent("bucket").path),
            keyTemplate: try KeyTemplate(KeyTemplate.defaultTemplate), logger: quiet)
        let error = await #expect(throws: TransferError.self) {
            _ = try await transfer.transfer(Window(source: "tencent-cdn", domain: "c.example", hour: hour))
        }
        #expect(error?.code == "transfer.key_collision")
        #expect(error?.isRetryable == false)
        #expect(error?.message.contains("a/b.gz") == true && error?.message.contains("a_b.gz") == true, "\(error?.message ?? "")")
    }
}
