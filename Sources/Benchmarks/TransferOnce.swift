import AsyncHTTPClient
import Core
import Foundation
import JobModel
import Jobs
import Logging
import ObjectStorage
import Store
import Synchronization
import TencentCloud

/// One orchestrator round of the `transfer` benchmark (`orchestrator-bench transfer-once`): the real
/// pipeline, `LogPackageTransfer` over a one-package source with `PackageDownloader` and
/// `ObjectStoreSink`, wired as `orchestrator run` wires them.
///
/// Production settings, not tuned for the benchmark: the service's HTTP client timeouts, SigV4 with
/// path-style addressing, the sink's defaults (multipart from 64 MiB, 8 MiB parts, 3 in flight, the
/// same as the configuration's `sink.*` defaults) and an `UploadLedger` in a SQLite database.
///
/// Runs in its own process so the peak RSS measured around it is the pipeline's.
struct TransferOnce {
    /// The package's download link.
    var url: String
    /// The S3 endpoint, e.g. `http://127.0.0.1:PORT`.
    var endpoint: String
    /// The bucket.
    var bucket: String
    /// The object key; its last segment is the package's file name.
    var key: String
    /// The access key ID the store accepts.
    var accessKeyID: String
    /// The secret of that key.
    var secretAccessKey: String
    /// Where the download is spooled.
    var spoolDirectory: String
    /// The SQLite database holding the upload ledger (created when missing).
    var ledgerPath: String
    /// The sink's minimum part size in MiB (`sink.part_size_mib`); for experiments with other values.
    var partSizeMiB = Self.defaultPartSizeMiB
    /// Parts in flight (`sink.part_concurrency`); for experiments with other values.
    var partConcurrency = Self.defaultPartConcurrency
    /// The size the listing announces (`--size`), as the CDN's `FileSize`; nil for a listing without one,
    /// which stores after the download instead of while it runs.
    var announcedSize: Int64?

    /// The service's default `sink.part_size_mib`.
    static let defaultPartSizeMiB = 8
    /// The service's default `sink.part_concurrency`.
    static let defaultPartConcurrency = 3

    /// The window the package belongs to; any fixed hour does.
    private static let window = Window(source: "bench", domain: "bench.example", hour: Date(unixSeconds: 1_700_000_000))

    /// Runs the window once and returns where its time went. Throws when the pipeline fails or does not
    /// upload (an object found already stored means the benchmark did not clean up).
    func run() async throws -> TransferTimings {
        let start = ContinuousClock.now
        let logger = Logger(label: "orchestrator-bench.transfer") { StreamLogHandler.standardError(label: $0) }
        // As ServiceAssembly configures the service's client.
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(60))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let ledger: SQLiteJobStore
        do {
            ledger = try SQLiteJobStore(path: ledgerPath, create: true)
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        let phases = PhaseTimes()
        let outcome: Result<TransferOutcome, any Error>
        do {
            let transfer = try makeTransfer(httpClient: httpClient, ledger: ledger, phases: phases, logger: logger)
            outcome = .success(try await transfer.transfer(Self.window))
        } catch {
            outcome = .failure(error)
        }
        try? await httpClient.shutdown()
        try? ledger.close()
        let total = start.duration(to: .now)

        guard case .stored(let records) = try outcome.get(), let record = records.first else {
            throw BenchmarkError("transfer-once: the source listed no package")
        }
        guard !record.skipped else {
            throw BenchmarkError("transfer-once: \(key) was already stored, nothing was uploaded")
        }
        let head = phases.total(.head)
        let upload = phases.total(.store)
        return TransferTimings(
            bytes: record.size, totalSeconds: total.inSeconds, headSeconds: head.inSeconds,
            downloadSeconds: (total - head - upload).inSeconds, uploadSeconds: upload.inSeconds)
    }

    /// The pipeline: the one-package source, the downloader, the timed S3 sink and a key template that
    /// yields `key`.
    private func makeTransfer(
        httpClient: HTTPClient, ledger: SQLiteJobStore, phases: PhaseTimes, logger: Logger
    ) throws -> LogPackageTransfer {
        let slash = key.lastIndex(of: "/")
        let fileName = slash.map { String(key[key.index(after: $0)...]) } ?? key
        let template = slash.map { String(key[...$0]) + "{filename}" } ?? "{filename}"
        let package = LogPackage(
            name: fileName, area: KeyTemplate.primaryArea, hour: Self.window.hour, url: url, announcedSize: announcedSize)
        let client = ObjectStoreClient(
            configuration: ObjectStoreConfiguration(
                dialect: .s3, endpoint: endpoint, bucket: bucket, region: "us-east-1", pathStyle: true,
                credentials: ObjectStoreCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)),
            httpClient: httpClient, logger: logger)
        let sink = ObjectStoreSink(
            client: client, ledger: ledger, minimumPartSize: Int64(partSizeMiB) << 20, partConcurrency: partConcurrency,
            logger: logger)
        let downloader = PackageDownloader(httpClient: httpClient, spoolDirectory: spoolDirectory, logger: logger)
        return LogPackageTransfer(
            source: OnePackageSource(domain: Self.window.domain, package: package),
            downloader: downloader, sink: TimedSink(base: sink, phases: phases),
            keyTemplate: try KeyTemplate(template), logger: logger)
    }
}

/// Where one orchestrator round spent its time, printed by `transfer-once` as one JSON line.
struct TransferTimings: Codable, Sendable {
    /// Size of the package stored.
    var bytes: Int64
    /// From the start of `run()` to its end, wiring and shutdown included (not process start-up).
    var totalSeconds: Double
    /// The skip check: HEAD of the key before downloading.
    var headSeconds: Double
    /// Everything but the HEAD and the upload's tail: the listing (instant here), the download with its
    /// checks and digests and the parts uploaded meanwhile, the client and ledger set-up and shutdown.
    var downloadSeconds: Double
    /// What the upload adds after the download returned: the parts still in flight, Complete and the
    /// verification (the whole `ObjectStoreSink.store` for a package stored after its download).
    var uploadSeconds: Double

    /// The JSON keys, snake_case.
    enum CodingKeys: String, CodingKey {
        case bytes
        case totalSeconds = "total_seconds"
        case headSeconds = "head_seconds"
        case downloadSeconds = "download_seconds"
        case uploadSeconds = "upload_seconds"
    }

}

/// A source that lists one package for one domain, whatever the hour.
private struct OnePackageSource: LogSource {
    let domain: String
    let package: LogPackage

    var sourceName: String { TencentCDNClient.sourceName }

    func packages(domain: String, hour: Date) async throws -> [LogPackage] {
        domain == self.domain ? [package] : []
    }

    func domains() async throws -> [String] { [domain] }
}

/// Time spent in the sink's calls, accumulated per kind; safe to update from any task.
private final class PhaseTimes: Sendable {
    /// The sink calls that are timed.
    enum Phase: Hashable, Sendable {
        case head
        case store
    }

    private let totals = Mutex<[Phase: Duration]>([:])

    /// Adds `duration` to `phase`.
    func add(_ duration: Duration, to phase: Phase) {
        totals.withLock { $0[phase, default: .zero] += duration }
    }

    /// The time accumulated in `phase`.
    func total(_ phase: Phase) -> Duration {
        totals.withLock { $0[phase] ?? .zero }
    }
}

/// An `ObjectSink` that forwards to another and times each call.
private struct TimedSink: PipelinedObjectSink {
    let base: ObjectStoreSink
    let phases: PhaseTimes

    func existingObject(at key: String) async throws -> StoredObject? {
        let start = ContinuousClock.now
        defer { phases.add(start.duration(to: .now), to: .head) }
        return try await base.existingObject(at: key)
    }

    func identity(ofObjectAt key: String) async throws -> ObjectIdentity? {
        let start = ContinuousClock.now
        defer { phases.add(start.duration(to: .now), to: .head) }
        return try await base.identity(ofObjectAt: key)
    }

    func store(_ file: SpooledFile, at key: String) async throws -> String? {
        let start = ContinuousClock.now
        defer { phases.add(start.duration(to: .now), to: .store) }
        return try await base.store(file, at: key)
    }

    func storesWhileDownloading(size: Int64) -> Bool { base.storesWhileDownloading(size: size) }

    /// Times the part of the call after the download returned: Complete and its verification, and the
    /// parts still in flight then.
    func store(
        size: Int64, at key: String, downloadingWith download: @escaping @Sendable (PartCutting) async throws -> SpooledFile
    ) async throws -> (file: SpooledFile, etag: String?) {
        let downloaded = DownloadEnd()
        let phases = self.phases
        defer {
            if let end = downloaded.instant.withLock({ $0 }) { phases.add(end.duration(to: .now), to: .store) }
        }
        return try await base.store(size: size, at: key) { cutting in
            let file = try await download(cutting)
            downloaded.instant.withLock { $0 = .now }
            return file
        }
    }
}

/// When a pipelined store's download returned; set from the download's task.
private final class DownloadEnd: Sendable {
    let instant = Mutex<ContinuousClock.Instant?>(nil)
}
