import Core
import Foundation
import JobModel
import Logging
import ObjectStorage

/// A sink that stores packages in an object store, Tencent COS or any S3-compatible one, through an
/// `ObjectStoreClient`.
///
/// - Skip detection: `existingObject(at:)` is one HEAD; the object's MD5 is known when its ETag is a
///   plain MD5 (a simple upload) and its CRC64 when the store reports `x-cos-hash-crc64ecma`.
/// - Verified uploads: every PUT, simple or part, carries `Content-MD5`, so the store refuses a body
///   altered in transit; the ETag and CRC64 the store returns are compared with the file's once more.
///   A mismatch throws the retryable `sink.verify_mismatch`, never returns as a success.
/// - Files of `multipartThreshold` bytes or more go up in parts, `partConcurrency` at a time, each
///   streamed from the spool file by the client. The upload id and every verified part are recorded in
///   the `UploadLedger` as they complete, so a retry (or a restart after a crash) of the same file
///   resumes with the parts still missing. A permanent error aborts the upload; a retryable one keeps it
///   for the next attempt. `abortUploads(startedBefore:keyPrefix:)` cleans up what is left behind.
/// - As a `PipelinedObjectSink` (`ObjectStoreSink+Pipelined.swift`), the parts of a file of
///   `multipartThreshold` bytes or more go up while it downloads, and Complete waits for the verified
///   download; a download that fails verification has its upload aborted.
///
/// Errors are `TransferError`s: the client's `ObjectStoreError`s passed on with their code and
/// classification, or the sink's own `sink.*` codes.
///
/// Limitation: a plain 32-digit ETag is taken for the MD5 of the bytes, as S3 and COS define it for
/// unencrypted objects; a bucket that encrypts with KMS (whose ETags are not MD5s) would fail every
/// upload with `sink.verify_mismatch`.
public struct ObjectStoreSink: ObjectSink {
    /// The client of the bucket.
    public let client: ObjectStoreClient
    /// Where multipart uploads in progress are recorded.
    let ledger: any UploadLedger
    /// Files of at least this many bytes are uploaded in parts.
    public let multipartThreshold: Int64
    /// The smallest part size; parts grow beyond it only to stay within 10,000 parts.
    public let minimumPartSize: Int64
    /// How many parts of one file are in flight at once.
    public let partConcurrency: Int
    /// The clock that stamps ledger records.
    let clock: any WallClock
    let logger: Logger

    /// Files of 64 MiB or more go in parts.
    public static let defaultMultipartThreshold: Int64 = 64 << 20
    /// 8 MiB parts (S3 requires at least 5 MiB for every part but the last).
    public static let defaultPartSize: Int64 = 8 << 20
    /// Three parts in flight.
    public static let defaultPartConcurrency = 3

    /// Creates a sink.
    ///
    /// - Parameters:
    ///   - multipartThreshold: files of this size or more use multipart uploads (default 64 MiB).
    ///   - minimumPartSize: the part size unless the file needs more than 10,000 parts (default 8 MiB; S3
    ///     requires at least 5 MiB for every part but the last, which tests against other stores may lower).
    ///   - partConcurrency: parts in flight at once (default 3; at least 1).
    ///   - clock: the clock for ledger records.
    public init(
        client: ObjectStoreClient, ledger: any UploadLedger, multipartThreshold: Int64 = ObjectStoreSink.defaultMultipartThreshold,
        minimumPartSize: Int64 = ObjectStoreSink.defaultPartSize, partConcurrency: Int = ObjectStoreSink.defaultPartConcurrency,
        clock: any WallClock = SystemWallClock(),
        logger: Logger
    ) {
        self.client = client
        self.ledger = ledger
        self.multipartThreshold = max(1, multipartThreshold)
        self.minimumPartSize = max(1, minimumPartSize)
        self.partConcurrency = max(1, partConcurrency)
        self.clock = clock
        self.logger = logger
    }

    /// HEADs `key`: its size and ETag, its CRC64 when the store reports one, and its MD5 when the ETag
    /// is a plain MD5 (not the `<hex>-<parts>` form of a multipart upload).
    public func existingObject(at key: String) async throws -> StoredObject? {
        try await Self.asTransferError {
            guard let head = try await client.head(key: key) else { return nil }
            return StoredObject(size: head.size, crc64: head.crc64, md5: Self.plainMD5(head.etag), etag: head.etag)
        }
    }

    /// Uploads `file` to `key` (in parts from `multipartThreshold` bytes on), verifies what the store
    /// reports against the file's MD5 and CRC64, and returns the object's ETag.
    @discardableResult
    public func store(_ file: SpooledFile, at key: String) async throws -> String? {
        try await Self.asTransferError {
            if file.size > 0 && file.size >= multipartThreshold {
                try await storeInParts(file, at: key)
            } else {
                try await storeInOneRequest(file, at: key)
            }
        }
    }

    /// Runs `body`, passing the store client's errors on as `TransferError`s with the same code,
    /// message and classification, so a sink throws the transfer's error type whatever failed.
    static func asTransferError<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as ObjectStoreError {
            throw TransferError(error)
        }
    }

    // MARK: - Simple upload

    /// One PUT with `Content-MD5`, then the returned ETag and CRC64 compared with the file's; when the
    /// store returned neither in a usable form, a HEAD supplies them. Returns the object's ETag.
    private func storeInOneRequest(_ file: SpooledFile, at key: String) async throws -> String? {
        let md5 = try Self.md5Bytes(of: file, key: key)
        let result = try await client.putObject(key: key, filePath: file.path, offset: 0, length: file.size, contentMD5: md5)
        var reported = (size: file.size, md5: Self.plainMD5(result.etag), crc64: result.crc64, etag: result.etag)
        if reported.md5 == nil && reported.crc64 == nil {
            guard let head = try await client.head(key: key) else {
                throw mismatch(key: key, "the store acknowledged the upload but HEAD finds no object")
            }
            reported = (head.size, Self.plainMD5(head.etag), head.crc64, head.etag)
        }
        if reported.size != file.size {
            throw mismatch(key: key, "the stored object has \(reported.size) bytes, not \(file.size)")
        }
        if let md5 = reported.md5, md5 != file.md5 {
            throw mismatch(key: key, "the store reports MD5 \(md5), the file has \(file.md5)")
        }
        if let crc64 = reported.crc64, crc64 != file.crc64 {
            throw mismatch(key: key, "the store reports CRC64 \(crc64), the file has \(file.crc64)")
        }
        logger.debug("object uploaded", metadata: ["object.key": "\(key)", "object.bytes": "\(file.size)"])
        return reported.etag
    }

    // MARK: - Shared helpers

    /// The lower-cased `etag` when it is a plain MD5 (32 hex digits), else nil.
    static func plainMD5(_ etag: String?) -> String? {
        guard let etag, etag.utf8.count == 32, etag.allSatisfy(\.isHexDigit) else { return nil }
        return etag.lowercased()
    }

    /// The 16 bytes of the file's MD5, for `Content-MD5`.
    static func md5Bytes(of file: SpooledFile, key: String) throws(TransferError) -> [UInt8] {
        guard let bytes = bytes(ofHex: file.md5), bytes.count == 16 else {
            throw TransferError.permanent("sink.invalid_md5", "the MD5 of the package for \(key) is not 32 hex digits: \(file.md5)")
        }
        return bytes
    }

    /// The bytes `hex` spells (two digits each), or nil when it is not hex of even length.
    static func bytes(ofHex hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The retryable `sink.verify_mismatch` for `key`, logged: the store may now hold a wrong object
    /// until the retry replaces it.
    func mismatch(key: String, _ detail: String) -> TransferError {
        logger.error(
            "the object store reports other bytes than were sent; the upload will be retried",
            metadata: ["object.key": "\(key)", "object.bucket": "\(client.bucketDescription)", "error": "\(detail)"])
        return TransferError.retryable(
            "sink.verify_mismatch", "\(client.bucketDescription): \(key): \(detail)")
    }

    /// `body`'s result, with any ledger (database) failure turned into the retryable `sink.ledger`.
    func recordingInLedger<Result: Sendable>(
        _ what: String, key: String, _ body: () async throws -> Result
    ) async throws(TransferError) -> Result {
        do {
            return try await body()
        } catch {
            throw TransferError.retryable("sink.ledger", "cannot \(what) for \(key) in the upload ledger: \(error)")
        }
    }
}
