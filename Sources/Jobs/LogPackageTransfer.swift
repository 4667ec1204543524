import Foundation
import Logging
import Store

/// The pull transfer: lists a window's packages at the source and copies each into the sink, verified
/// and idempotent.
///
/// Per package: compute the key; if the sink already holds an object of the announced size, skip
/// without downloading; otherwise download to the spool (size, gzip trailer and checksums verified on
/// the way), and store it unless the sink already holds exactly those bytes. A corrupt or truncated
/// download throws before anything reaches the sink.
public struct LogPackageTransfer: WindowTransfer {
    private let source: any LogSource
    private let downloader: PackageDownloader
    private let sink: any ObjectSink
    private let keyTemplate: KeyTemplate
    private let logger: Logger

    /// Creates the transfer.
    public init(source: any LogSource, downloader: PackageDownloader, sink: any ObjectSink, keyTemplate: KeyTemplate, logger: Logger) {
        self.source = source
        self.downloader = downloader
        self.sink = sink
        self.keyTemplate = keyTemplate
        self.logger = logger
    }

    public func transfer(_ window: Window) async throws -> TransferOutcome {
        let packages = try await source.packages(domain: window.domain, hour: window.hour)
        guard !packages.isEmpty else { return .nothingPublished }
        var records: [FileRecord] = []
        for package in packages {
            try Task.checkCancellation()
            records.append(try await copy(package, of: window))
        }
        return .stored(records)
    }

    private func copy(_ package: LogPackage, of window: Window) async throws -> FileRecord {
        let key = keyTemplate.key(domain: window.domain, hour: window.hour, area: package.area, filename: package.name)
        let metadata: Logger.Metadata = ["job.domain": "\(window.domain)", "package.name": "\(package.name)", "object.key": "\(key)"]
        let existing = try await sink.existingObject(at: key)
        if let existing, let announced = package.announcedSize, existing.size == announced, let crc64 = existing.crc64, let md5 = existing.md5 {
            // The source announces the size only; a stored object of that size came through this
            // pipeline verified, and a package that grows changes size (reconciling compares again).
            logger.debug("package already stored", metadata: metadata)
            return FileRecord(area: package.area, name: package.name, size: existing.size, crc64: crc64, md5: md5, sha256: "", objectKey: key, skipped: true)
        }
        let file = try await downloader.download(package)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        if let existing, existing.matches(file) {
            logger.debug("identical package already stored", metadata: metadata)
            return record(of: package, file: file, key: key, skipped: true)
        }
        try await sink.store(file, at: key)
        logger.debug("package stored", metadata: metadata.merging(["package.bytes": "\(file.size)"]) { $1 })
        return record(of: package, file: file, key: key, skipped: false)
    }

    private func record(of package: LogPackage, file: SpooledFile, key: String, skipped: Bool) -> FileRecord {
        FileRecord(
            area: package.area, name: package.name, size: file.size, crc64: file.crc64, md5: file.md5,
            sha256: file.sha256, objectKey: key, skipped: skipped)
    }
}
