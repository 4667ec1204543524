import Core
import Foundation
import JobModel
import Logging
import Synchronization
import Metrics

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
    /// Told how the source, the downloads, the spool and the sink answered, for outage detection.
    private let observer: (any DependencyObserver)?
    /// Keys whose upload started but did not finish, per window, so a window that fails for good can
    /// discard them. In memory: after a restart the sink's daily cleanup catches what is left.
    private let unfinished = UnfinishedUploads()

    /// Creates the transfer.
    public init(
        source: any LogSource, downloader: PackageDownloader, sink: any ObjectSink, keyTemplate: KeyTemplate, logger: Logger,
        observer: (any DependencyObserver)? = nil
    ) {
        self.source = source
        self.downloader = downloader
        self.sink = sink
        self.keyTemplate = keyTemplate
        self.logger = logger
        self.observer = observer
    }

    public func transfer(_ window: Window) async throws -> TransferOutcome {
        let packages = try await calling(.cdnAPI) { try await source.packages(domain: window.domain, hour: window.hour) }
        guard !packages.isEmpty else { return .nothingPublished }
        var records: [FileRecord] = []
        for (package, key) in try keyed(packages, of: window) {
            try Task.checkCancellation()
            records.append(try await copy(package, to: key, of: window))
        }
        return .stored(records)
    }

    /// Each package with its object key. A package listed twice (same area and name) is copied once;
    /// two different packages whose keys are the same fail the window, naming both, since one would
    /// overwrite the other.
    private func keyed(_ packages: [LogPackage], of window: Window) throws(TransferError) -> [(LogPackage, String)] {
        var byKey: [String: LogPackage] = [:]
        var result: [(LogPackage, String)] = []
        for package in packages {
            let key = keyTemplate.key(domain: window.domain, hour: window.hour, area: package.area, filename: package.name)
            if let earlier = byKey[key] {
                if earlier.area == package.area && earlier.name == package.name { continue }
                throw .permanent(
                    "transfer.key_collision",
                    "packages \(earlier.area)/\(earlier.name) and \(package.area)/\(package.name) of \(window) both map to the key \(key); "
                        + "sink.key_template cannot tell them apart (names differing only in characters that keys replace)")
            }
            byKey[key] = package
            result.append((package, key))
        }
        return result
    }

    private func copy(_ package: LogPackage, to key: String, of window: Window) async throws -> FileRecord {
        let metadata: Logger.Metadata = ["job.domain": "\(window.domain)", "package.name": "\(package.name)", "object.key": "\(key)"]
        // A look-up that answers does not show the sink can store (a full disk, a store refusing writes
        // answer it): the sink counts as answering when a package is stored or found stored.
        let existing = try await calling(.sink, answering: false) { try await sink.existingObject(at: key) }
        if let existing, let announced = package.announcedSize, existing.size == announced, let crc64 = existing.crc64, let md5 = existing.md5 {
            // The source announces the size only; a stored object of that size came through this
            // pipeline verified, and a package that grows changes size (reconciling compares again).
            logger.debug("package already stored", metadata: metadata)
            observer?.answered(.sink)
            return FileRecord(area: package.area, name: package.name, size: existing.size, crc64: crc64, md5: md5, sha256: "", objectKey: key, skipped: true)
        }
        let file = try await calling(.cdnDownloads, orSpoolWhen: "download.spool") { try await downloader.download(package) }
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        if let existing, existing.matches(file) {
            logger.debug("identical package already stored", metadata: metadata)
            observer?.answered(.sink)
            return record(of: package, file: file, key: key, skipped: true)
        }
        unfinished.insert(key, for: window)
        try await calling(.sink) { try await sink.store(file, at: key) }
        Counter(label: "orchestrator_uploaded_bytes_total").increment(by: Int64(file.size))
        unfinished.remove(key, for: window)
        logger.debug("package stored", metadata: metadata.merging(["package.bytes": "\(file.size)"]) { $1 })
        return record(of: package, file: file, key: key, skipped: false)
    }

    /// Runs one call to `dependency` and tells the observer how it answered (unless `answering` is
    /// false: then only a failure is told). An error saying the dependency is unavailable is thrown as
    /// `DependencyUnavailable`; an error whose code starts with `spoolPrefix` is the spool's rather than
    /// the dependency's.
    private func calling<Result>(
        _ dependency: Dependency, orSpoolWhen spoolPrefix: String? = nil, answering: Bool = true, _ body: () async throws -> Result
    ) async throws -> Result {
        do {
            let result = try await body()
            if answering { observer?.answered(dependency) }
            if spoolPrefix != nil { observer?.answered(.spool) }
            return result
        } catch let error as any ClassifiedError {
            let culprit = spoolPrefix.map { error.code.hasPrefix($0) } == true ? Dependency.spool : dependency
            guard error.isUnavailability else {
                // It answered; what it said is about this window.
                if answering { observer?.answered(culprit) }
                throw error
            }
            observer?.unavailable(culprit, error)
            throw DependencyUnavailable(culprit, error)
        }
    }

    public func abandon(_ window: Window) async {
        for key in unfinished.removeAll(for: window) {
            await sink.discardUpload(forKey: key)
        }
    }

    private func record(of package: LogPackage, file: SpooledFile, key: String, skipped: Bool) -> FileRecord {
        FileRecord(
            area: package.area, name: package.name, size: file.size, crc64: file.crc64, md5: file.md5,
            sha256: file.sha256, objectKey: key, skipped: skipped)
    }
}

/// The keys of uploads in progress or interrupted, per window.
private final class UnfinishedUploads: Sendable {
    private let keys = Mutex<[Window: Set<String>]>([:])

    func insert(_ key: String, for window: Window) {
        keys.withLock { _ = $0[window, default: []].insert(key) }
    }

    func remove(_ key: String, for window: Window) {
        keys.withLock { keys in
            keys[window]?.remove(key)
            if keys[window]?.isEmpty == true { keys[window] = nil }
        }
    }

    func removeAll(for window: Window) -> Set<String> {
        keys.withLock { $0.removeValue(forKey: window) ?? [] }
    }
}
