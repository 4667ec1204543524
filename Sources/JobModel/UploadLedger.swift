import Foundation

/// One part of a multipart upload that the object store acknowledged and the sink verified.
public struct UploadedPart: Sendable, Hashable {
    /// The part number, 1 through 10,000.
    public var number: Int
    /// Size in bytes.
    public var size: Int64
    /// The ETag the store returned for the part, without quotes (sent back in Complete).
    public var etag: String
    /// MD5 of the part's bytes as lower-case hex.
    public var md5: String
    /// CRC-64/XZ of the part's bytes.
    public var crc64: UInt64

    /// Creates a part description.
    public init(number: Int, size: Int64, etag: String, md5: String, crc64: UInt64) {
        self.number = number
        self.size = size
        self.etag = etag
        self.md5 = md5
        self.crc64 = crc64
    }
}

/// A multipart upload in progress, as the ledger remembers it.
public struct MultipartUploadRecord: Sendable, Hashable {
    /// The object key.
    public var key: String
    /// The store's upload id.
    public var uploadID: String
    /// Size of the file being uploaded, in bytes.
    public var fileSize: Int64
    /// CRC-64/XZ of the whole file.
    public var fileCRC64: UInt64
    /// Size of every part but the last, in bytes.
    public var partSize: Int64
    /// When the upload began (whole seconds).
    public var createdAt: Date
    /// The parts recorded so far, by ascending number.
    public var parts: [UploadedPart]

    /// Creates a record.
    public init(
        key: String, uploadID: String, fileSize: Int64, fileCRC64: UInt64, partSize: Int64, createdAt: Date,
        parts: [UploadedPart]
    ) {
        self.key = key
        self.uploadID = uploadID
        self.fileSize = fileSize
        self.fileCRC64 = fileCRC64
        self.partSize = partSize
        self.createdAt = createdAt
        self.parts = parts
    }
}

/// Durable bookkeeping of multipart uploads, so an upload interrupted by a crash or a network failure
/// resumes with the parts still missing instead of sending every byte again.
///
/// At most one upload per key: `beginMultipartUpload` for a key replaces any upload recorded for it,
/// together with its parts. Implementations are safe to call from concurrent tasks.
public protocol UploadLedger: Sendable {
    /// The upload recorded for `key`, with its parts, or nil.
    func multipartUpload(forKey key: String) async throws -> MultipartUploadRecord?

    /// Records a new upload of a file of `fileSize` bytes and CRC64 `fileCRC64` in parts of `partSize`
    /// bytes, replacing (and forgetting the parts of) any upload recorded for `key`.
    func beginMultipartUpload(
        key: String, uploadID: String, fileSize: Int64, fileCRC64: UInt64, partSize: Int64, now: Date
    ) async throws

    /// Records a verified part of the upload `uploadID` of `key`, replacing a part of the same number.
    ///
    /// - Throws: when that upload is not recorded (it was ended or replaced meanwhile); the SQLite
    ///   store's error code is `store.upload_unknown`.
    func recordPart(_ part: UploadedPart, key: String, uploadID: String) async throws

    /// Forgets the upload `uploadID` of `key` (completed or aborted); does nothing if it is not recorded.
    func endMultipartUpload(key: String, uploadID: String) async throws

    /// Every upload that began before `startedBefore`, oldest first, with their parts.
    func multipartUploads(startedBefore: Date) async throws -> [MultipartUploadRecord]
}
