import AsyncHTTPClient
import Core
import Foundation
import JobModel
import Logging
import Metrics
import NIOCore

/// Downloads log packages into a spool directory, checking them on the way.
///
/// The body streams straight to a new `<random>.part` file (mode 0600) while CRC-64, MD5 and SHA-256 are
/// computed and the gzip data is inflated and discarded: three stages running concurrently over bounded
/// queues (`readBody`), so memory stays bounded (about 3 MiB of body per download) whatever the package
/// size, and on two cores a download takes about as long as the inflate alone.
/// A package is returned only if the status was 200, its length matches `Content-Length` and the listed
/// size, and it is complete, intact gzip. The spool file is not fsync'd: it lives only until the package
/// is stored, and after a crash spool files are deleted and the package downloaded again, so waiting for
/// the device would protect nothing (it cost about a second per GiB). On any failure the partial file is
/// deleted.
///
/// Every download is bounded (`limits`): it must be over within `timeout` of sending the request, body
/// included, and its body must average at least `minimumBytesPerSecond` over every `stallWindow`, so a
/// link that answers its headers and then trickles bytes cannot hold the window's lease for ever. No
/// byte past the announced length (`Content-Length`, else the listing's `FileSize`) is written: the
/// download stops there.
///
/// Error codes (`TransferError`), all retryable because a fresh listing brings a fresh link and a fresh
/// copy; the job's attempt limit ends a package that stays broken:
/// - `download.http_status`: not 200. 403/404 on a package link usually means the link expired.
/// - `download.truncated`: the body ended before `Content-Length` bytes.
/// - `download.size_mismatch`: the length differs from `Content-Length` or from `LogPackage.announcedSize`
///   (a listing taken before the package last grew), or the body goes on past the announced length.
/// - `download.corrupt_gzip`: not complete, intact gzip (see `GzipVerifier`).
/// - `download.timeout`: the body was still arriving at the total deadline (`limits.timeout`).
/// - `download.stalled`: the body arrived slower than `limits.minimumBytesPerSecond` over a window.
/// - `download.network`: connection failures, and no response head before the deadline.
/// - `download.spool`: the spool file could not be written (disk full, permissions).
///
/// One exception is permanent: `download.invalid_url`, a link that is not an http(s) URL.
/// A cancelled task gets `CancellationError`. Logs show the URL's path only: its query carries a signature.
public struct PackageDownloader: Sendable {
    /// The client that fetches package links.
    public let httpClient: HTTPClient
    /// Where `.part` files are written; created (0700) when missing.
    public let spoolDirectory: String
    /// The total deadline and the rate floor of each download.
    public let limits: TransferLimits
    /// Times the deadline and the rate windows.
    private let clock: any WallClock
    private let logger: Logger

    /// An hour per package: a package of a few GiB fits at a few MB/s, and one that takes longer than
    /// the hour it covers would leave the archive behind anyway. The floor is 1 KiB/s over a minute: a
    /// working link, however slow, delivers far more, while a stalled one is caught in a minute instead
    /// of an hour.
    public static let defaultLimits = TransferLimits(timeout: .seconds(3600), minimumBytesPerSecond: 1024, stallWindow: .seconds(60))

    /// The longest one download can take, from sending the request to the last byte: the bound the
    /// worker pool can rely on for a window's downloads.
    public var timeout: Duration { limits.timeout }

    /// Creates a downloader; nothing is touched until the first call.
    ///
    /// - Parameter clock: times the deadline and the rate windows; a clock that advances on sleep would
    ///   time every download out at once.
    public init(
        httpClient: HTTPClient, spoolDirectory: String, logger: Logger,
        limits: TransferLimits = PackageDownloader.defaultLimits, clock: any WallClock = SystemWallClock()
    ) {
        self.httpClient = httpClient
        self.spoolDirectory = spoolDirectory
        self.logger = logger
        self.limits = limits
        self.clock = clock
    }

    /// Creates a downloader with the total deadline `timeout` and the default rate floor.
    public init(httpClient: HTTPClient, spoolDirectory: String, logger: Logger, timeout: Duration) {
        var limits = Self.defaultLimits
        limits.timeout = timeout
        self.init(httpClient: httpClient, spoolDirectory: spoolDirectory, logger: logger, limits: limits)
    }

    /// Streams `package` to a new spool file and returns it with its digests.
    ///
    /// Throws `TransferError` (see the type's documentation) or `CancellationError`.
    /// The caller owns the returned file and deletes it once the package is stored.
    public func download(_ package: LogPackage) async throws -> SpooledFile {
        try await download(package, cutting: nil)
    }

    /// Streams `package` to a new spool file, telling `cutting` of each part of the file as soon as it is
    /// written (and digested), and returns the file with its digests once the whole package verified.
    ///
    /// The parts told are bytes as received, not yet verified: a sink may upload them but must not make
    /// them visible before this returns. Throws as `download(_:)`; the spool file is deleted on failure.
    public func download(_ package: LogPackage, cutting: PartCutting?) async throws -> SpooledFile {
        guard let url = URL(string: package.url), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", url.host != nil
        else {
            throw TransferError.permanent(
                "download.invalid_url", "the link of package \(package.name) is not an http(s) URL")
        }
        var logger = self.logger
        logger[metadataKey: "package.name"] = "\(package.name)"
        logger[metadataKey: "package.area"] = "\(package.area)"
        logger[metadataKey: "http.path"] = "\(url.path)"

        let path: String
        let descriptor: Int32
        do {
            try FileIO.makeDirectories(spoolDirectory, mode: 0o700)
            path = spoolDirectory + "/" + FileIO.randomName() + ".part"
            descriptor = try FileIO.createExclusive(path, mode: 0o600)
        } catch {
            throw TransferError.unavailable("download.spool", "cannot create a spool file: \(error)")
        }
        logger.debug("downloading package", metadata: ["spool.path": "\(path)"])
        var open = true
        do {
            let file = try await receive(package, into: descriptor, path: path, cutting: cutting)
            open = false
            try FileIO.closeDescriptor(descriptor, path: path)
            logger.debug("downloaded package", metadata: ["download.bytes": "\(file.size)", "download.crc64": "\(file.crc64)"])
            Counter(label: "orchestrator_downloaded_bytes_total").increment(by: Int64(file.size))
            return file
        } catch {
            if open { try? FileIO.closeDescriptor(descriptor, path: path) }
            FileIO.removeIfPresent(path)
            let failure = Self.classify(error)
            if let transfer = failure as? TransferError {
                logger.debug("download failed", metadata: ["error.code": "\(transfer.code)", "error.message": "\(transfer.message)"])
            }
            throw failure
        }
    }

    /// Removes `.part` files a crashed process left in the spool directory, creating it if missing.
    ///
    /// Call at start-up, before any download: it would delete a running download's file.
    public func removeLeftovers() throws {
        do {
            try FileIO.makeDirectories(spoolDirectory, mode: 0o700)
        } catch {
            throw TransferError.permanent("download.spool", "cannot create the spool directory: \(error)")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: spoolDirectory)
        } catch {
            throw TransferError.permanent("download.spool", "cannot list the spool directory \(spoolDirectory): \(error)")
        }
        var removed = 0
        for name in names where name.hasSuffix(".part") {
            FileIO.removeIfPresent(spoolDirectory + "/" + name)
            removed += 1
        }
        if removed > 0 {
            logger.notice("removed leftover spool files", metadata: ["spool.removed": "\(removed)"])
        }
    }

    // MARK: - Implementation

    /// Fetches `package`, writing the body to `descriptor` and checking it, within `limits`.
    private func receive(_ package: LogPackage, into descriptor: Int32, path: String, cutting: PartCutting?) async throws -> SpooledFile {
        var request = HTTPClientRequest(url: package.url)
        request.method = .GET
        let startedAt = clock.now
        // No logger passed on purpose: AsyncHTTPClient's logs could carry the signed query. Its deadline
        // ends with the response head; the watchdog below carries the same one through the body.
        let response = try await httpClient.execute(request, timeout: .nanoseconds(limits.timeout.saturatingNanoseconds))
        guard response.status == .ok else {
            let status = Int(response.status.code)
            let hint = status == 403 || status == 404 ? " (the link has probably expired; list again)" : ""
            throw TransferError(
                code: "download.http_status", message: "package \(package.name) answered HTTP \(status)\(hint)",
                disposition: status >= 500 || status == 429 ? .unavailable : .retryable, httpStatus: status)
        }
        let contentLength = response.headers.first(name: "content-length").flatMap { Int64($0) }
        if let contentLength, let announced = package.announcedSize, contentLength != announced {
            throw Self.sizeMismatch(package, "Content-Length is \(contentLength) but the listing said \(announced)")
        }
        do {
            return try await TransferWatchdog(limits: limits, clock: clock).watch(startedAt: startedAt) { progress in
                try await Self.readBody(
                    response.body, of: package, contentLength: contentLength, into: descriptor, path: path, progress: progress, cutting: cutting)
            }
        } catch let exceeded as TransferLimitExceeded {
            switch exceeded {
            case .deadline:
                throw TransferError.unavailable("download.timeout", "package \(package.name) \(exceeded)")
            case .stalled:
                // A link that stalls is the CDN's downloads being unwell: several in a row are an outage.
                throw TransferError.unavailable(
                    "download.stalled", "package \(package.name) stalled: \(exceeded) (download.min_bytes_per_second)")
            }
        }
    }

    /// The error for a body that failed part-way.
    static func bodyFailure(_ error: any Error, package: LogPackage, received: Int64, expected: Int64?) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let expected, received < expected {
            return TransferError.retryable(
                "download.truncated",
                "package \(package.name) ended after \(received) of \(expected) bytes: \(describeTransportFailure(error))")
        }
        return TransferError.unavailable("download.network", "downloading package \(package.name) failed: \(describeTransportFailure(error))")
    }

    /// Maps any failure to `TransferError` or `CancellationError`.
    private static func classify(_ error: any Error) -> any Error {
        switch error {
        case let error as TransferError: return error
        case is CancellationError: return error
        case let error as FileIOError: return TransferError.unavailable("download.spool", "writing the spool file failed: \(error)")
        default:
            if Task.isCancelled { return CancellationError() }
            return TransferError.unavailable("download.network", "the download failed: \(error)")
        }
    }

    /// A `download.size_mismatch` error.
    static func sizeMismatch(_ package: LogPackage, _ detail: String) -> TransferError {
        .retryable("download.size_mismatch", "package \(package.name): \(detail)")
    }
}
