import Core
import Foundation
import JobModel
import Logging
import Synchronization
import Metrics

/// The pull transfer: lists a window's packages at the source and copies each into the sink, verified
/// and idempotent.
///
/// Per package: compute the key; if an earlier pass of the window recorded the package at that key
/// with its announced size, and the sink still holds an object of that size and ETag there, carry the
/// record forward without downloading; if the sink reports an object of the announced size with the
/// CRC64 and MD5 (COS), skip without downloading too; otherwise download to the spool (size, gzip
/// trailer and checksums verified on the way), and store it unless the sink already holds exactly those
/// bytes. A corrupt or truncated download never becomes a stored object: with a `PipelinedObjectSink`
/// and an announced size at or above its multipart threshold (and no object of that size at the key),
/// the parts go up while the download runs and the sink completes the object only after the download
/// verified, aborting the upload when it did not; otherwise the download verifies before anything
/// reaches the sink.
public struct LogPackageTransfer: WindowTransfer {
    private let source: any LogSource
    private let downloader: PackageDownloader
    private let sink: any ObjectSink
    private let keyTemplate: KeyTemplate
    /// What earlier passes recorded; nil to decide by what the sink reports alone.
    private let recordedFiles: (any RecordedFileLookup)?
    private let logger: Logger
    /// Told how the source, the downloads, the spool and the sink answered, for outage detection.
    private let observer: (any DependencyObserver)?
    /// Keys whose upload started but did not finish, per window, so a window that fails for good can
    /// discard them. In memory: after a restart the sink's daily cleanup catches what is left.
    private let unfinished = UnfinishedUploads()

    /// Creates the transfer.
    ///
    /// - Parameters:
    ///   - recordedFiles: the window's records of earlier passes (the job store), so a package whose
    ///     stored object is unchanged since is not downloaded again on stores that report no checksums
    ///     (S3, COS multipart objects, a local directory without reading it).
    ///   - observer: told how the source, the downloads, the spool and the sink answered.
    public init(
        source: any LogSource, downloader: PackageDownloader, sink: any ObjectSink, keyTemplate: KeyTemplate,
        recordedFiles: (any RecordedFileLookup)? = nil, logger: Logger, observer: (any DependencyObserver)? = nil
    ) {
        self.source = source
        self.downloader = downloader
        self.sink = sink
        self.keyTemplate = keyTemplate
        self.recordedFiles = recordedFiles
        self.logger = logger
        self.observer = observer
    }

    public func transfer(_ window: Window) async throws -> TransferOutcome {
        let packages = try await calling(.cdnAPI) { try await source.packages(domain: window.domain, hour: window.hour) }
        guard !packages.isEmpty else { return .nothingPublished }
        let recorded = await recordedPackages(of: window)
        var records: [FileRecord] = []
        for (package, key) in try keyed(packages, of: window) {
            try Task.checkCancellation()
            records.append(try await copy(package, to: key, of: window, recorded: recorded[PackageName(package)]))
        }
        return .stored(records)
    }

    /// A package's identity within a window.
    private struct PackageName: Hashable {
        var area: String
        var name: String

        init(_ package: LogPackage) { (area, name) = (package.area, package.name) }
        init(_ record: FileRecord) { (area, name) = (record.area, record.name) }
    }

    /// The window's records of its last completed pass by package; empty when there are none or they
    /// cannot be read (the packages are then checked as on a first pass).
    private func recordedPackages(of window: Window) async -> [PackageName: FileRecord] {
        guard let recordedFiles else { return [:] }
        do {
            let records = try await recordedFiles.recordedFiles(of: window)
            return Dictionary(records.map { (PackageName($0), $0) }) { first, _ in first }
        } catch {
            logger.warning(
                "cannot read the window's earlier file records; its packages are checked without them",
                metadata: ["job.domain": "\(window.domain)", "job.hour": "\(window.hour.formatted(.iso8601))", "error.message": "\(error)"])
            return [:]
        }
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

    private func copy(_ package: LogPackage, to key: String, of window: Window, recorded: FileRecord?) async throws -> FileRecord {
        let metadata: Logger.Metadata = ["job.domain": "\(window.domain)", "package.name": "\(package.name)", "object.key": "\(key)"]
        if let recorded, let carried = try await carriedForward(recorded, of: package, at: key) {
            logger.debug("package unchanged since the window's last pass", metadata: metadata)
            observer?.answered(.sink)
            return carried
        }
        // A look-up that answers does not show the sink can store (a full disk, a store refusing writes
        // answer it): the sink counts as answering when a package is stored or found stored.
        let existing = try await calling(.sink, answering: false) { try await sink.existingObject(at: key) }
        if let existing, let announced = package.announcedSize, existing.size == announced, let crc64 = existing.crc64, let md5 = existing.md5,
            Self.agree(crc64: crc64, md5: md5, with: recorded, at: key)
        {
            // The source announces the size only; a stored object of that size came through this
            // pipeline verified, and a package that grows changes size (reconciling compares again).
            logger.debug("package already stored", metadata: metadata)
            observer?.answered(.sink)
            return FileRecord(
                area: package.area, name: package.name, size: existing.size, crc64: crc64, md5: md5, sha256: "", objectKey: key,
                skipped: true, etag: existing.etag, downloaded: false)
        }
        if let pipelined = sink as? any PipelinedObjectSink, let announced = package.announcedSize,
            pipelined.storesWhileDownloading(size: announced), existing?.size != announced
        {
            // Nothing of that size is stored there, so nothing to compare: upload while downloading.
            return try await copyWhileDownloading(package, size: announced, to: key, of: window, into: pipelined, metadata: metadata)
        }
        let file = try await calling(.cdnDownloads, orSpoolWhen: "download.spool") { try await downloader.download(package) }
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        if let existing, existing.matches(file) {
            logger.debug("identical package already stored", metadata: metadata)
            observer?.answered(.sink)
            return record(of: package, file: file, key: key, skipped: true, etag: existing.etag)
        }
        unfinished.insert(key, for: window)
        let etag = try await calling(.sink) { try await sink.store(file, at: key) }
        Counter(label: "orchestrator_uploaded_bytes_total").increment(by: Int64(file.size))
        unfinished.remove(key, for: window)
        logger.debug("package stored", metadata: metadata.merging(["package.bytes": "\(file.size)"]) { $1 })
        return record(of: package, file: file, key: key, skipped: false, etag: etag)
    }

    /// Downloads `package` (announced as `size` bytes) into `sink`, whose parts go up while the download
    /// goes on; the sink completes the object only after the download verified.
    ///
    /// The download's failures are told as the CDN downloads' (or the spool's), the sink's as the sink's:
    /// a failure of the download is passed through the sink's call untold again.
    private func copyWhileDownloading(
        _ package: LogPackage, size: Int64, to key: String, of window: Window, into sink: any PipelinedObjectSink,
        metadata: Logger.Metadata
    ) async throws -> FileRecord {
        let attempt = DownloadAttempt()
        unfinished.insert(key, for: window)
        let stored: (file: SpooledFile, etag: String?)
        do {
            stored = try await calling(.sink, unlessFailedElsewhere: attempt.failed) {
                try await sink.store(size: size, at: key) { cutting in
                    do {
                        let file = try await calling(.cdnDownloads, orSpoolWhen: "download.spool") {
                            try await downloader.download(package, cutting: cutting)
                        }
                        attempt.spooled(at: file.path)
                        return file
                    } catch {
                        // Cancelled because an upload failed: that failure is the sink's to tell.
                        if !Task.isCancelled { attempt.fail() }
                        throw error
                    }
                }
            }
        } catch {
            attempt.removeSpoolFile()
            throw error
        }
        attempt.removeSpoolFile()
        Counter(label: "orchestrator_uploaded_bytes_total").increment(by: Int64(stored.file.size))
        unfinished.remove(key, for: window)
        logger.debug("package stored while downloading", metadata: metadata.merging(["package.bytes": "\(stored.file.size)"]) { $1 })
        return record(of: package, file: stored.file, key: key, skipped: false, etag: stored.etag)
    }

    /// `recorded`, carried forward as skipped and not downloaded, when it describes what `key` still
    /// holds for `package`: recorded under the same key with the size the source now announces, and the
    /// sink reports an object of that size and the recorded ETag there. Else nil (nothing recorded to
    /// compare, a package that changed size, an object replaced or deleted since).
    ///
    /// The record was written only after the package was downloaded, verified and stored (or found
    /// stored); an unchanged ETag says the object is still that one, so its checksums still hold.
    private func carriedForward(_ recorded: FileRecord, of package: LogPackage, at key: String) async throws -> FileRecord? {
        guard let announced = package.announcedSize, recorded.size == announced, recorded.objectKey == key,
            let etag = recorded.etag, !etag.isEmpty
        else { return nil }
        let identity = try await calling(.sink, answering: false) { try await sink.identity(ofObjectAt: key) }
        guard identity == ObjectIdentity(size: recorded.size, etag: etag) else { return nil }
        var carried = recorded
        carried.skipped = true
        carried.downloaded = false
        return carried
    }

    /// Whether an object's checksums agree with what the window recorded under `key`: an object found
    /// changed since (another ETag) is trusted only with the recorded bytes. True when nothing was
    /// recorded there.
    private static func agree(crc64: UInt64, md5: String, with recorded: FileRecord?, at key: String) -> Bool {
        guard let recorded, recorded.objectKey == key else { return true }
        return recorded.crc64 == crc64 && recorded.md5 == md5
    }

    /// Runs one call to `dependency` and tells the observer how it answered (unless `answering` is
    /// false: then only a failure is told). An error saying the dependency is unavailable is thrown as
    /// `DependencyUnavailable`; an error whose code starts with `spoolPrefix` is the spool's rather than
    /// the dependency's.
    ///
    /// `failedElsewhere` says whether the error came from a call nested in `body` that was already told
    /// (the download inside a pipelined store): it is then thrown as it is.
    private func calling<Result>(
        _ dependency: Dependency, orSpoolWhen spoolPrefix: String? = nil, answering: Bool = true,
        unlessFailedElsewhere failedElsewhere: @Sendable () -> Bool = { false }, _ body: () async throws -> Result
    ) async throws -> Result {
        do {
            let result = try await body()
            if answering { observer?.answered(dependency) }
            if spoolPrefix != nil { observer?.answered(.spool) }
            return result
        } catch let error as any ClassifiedError where !failedElsewhere() {
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

    private func record(of package: LogPackage, file: SpooledFile, key: String, skipped: Bool, etag: String?) -> FileRecord {
        FileRecord(
            area: package.area, name: package.name, size: file.size, crc64: file.crc64, md5: file.md5,
            sha256: file.sha256, objectKey: key, skipped: skipped, etag: etag)
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

/// What became of the download inside a pipelined store: whether it failed (so the sink's call passes its
/// error on untold), and the spool file it wrote, deleted once the store is over.
private final class DownloadAttempt: Sendable {
    private struct State {
        var failed = false
        var path: String?
    }

    private let state = Mutex(State())

    /// Whether the download failed (not counting a cancellation).
    var failed: @Sendable () -> Bool { { self.state.withLock { $0.failed } } }

    func fail() { state.withLock { $0.failed = true } }

    func spooled(at path: String) { state.withLock { $0.path = path } }

    /// Deletes the spool file, if the download got that far.
    func removeSpoolFile() {
        if let path = state.withLock({ $0.path }) { try? FileManager.default.removeItem(atPath: path) }
    }
}
