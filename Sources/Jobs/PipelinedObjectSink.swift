/// One part of a spool file, written and digested while the rest of the package is still downloading.
public struct SpooledPart: Sendable, Equatable {
    /// The spool file the part is in.
    public var path: String
    /// The part's number, from 1.
    public var number: Int
    /// Where the part starts in the file.
    public var offset: Int64
    /// The part's size in bytes.
    public var length: Int64
    /// The part's 16 MD5 bytes, for `Content-MD5`.
    public var md5: [UInt8]
    /// The part's CRC-64/XZ.
    public var crc64: UInt64

    /// Creates a part description.
    public init(path: String, number: Int, offset: Int64, length: Int64, md5: [UInt8], crc64: UInt64) {
        self.path = path
        self.number = number
        self.offset = offset
        self.length = length
        self.md5 = md5
        self.crc64 = crc64
    }
}

/// How a download cuts its spool file into parts for a sink that uploads them while the download goes
/// on, and whom it tells of each part once its bytes are in the file.
public struct PartCutting: Sendable {
    /// Every part is this many bytes but the last.
    public var partSize: Int64
    /// The size the package must have; a part is told only once all its bytes are written, and no part
    /// past this size is told.
    public var fileSize: Int64
    /// Called, in part order and from the download's tasks, as each part is written.
    public var written: @Sendable (SpooledPart) -> Void

    /// Creates a cutting.
    public init(partSize: Int64, fileSize: Int64, written: @escaping @Sendable (SpooledPart) -> Void) {
        self.partSize = max(1, partSize)
        self.fileSize = fileSize
        self.written = written
    }
}

/// A sink that can store a package while it is being downloaded: its parts are uploaded as the
/// download writes them, and the object is made visible only after the whole download has verified.
public protocol PipelinedObjectSink: ObjectSink {
    /// Whether a package of `size` bytes is stored while downloading (else by `store(_:at:)` after it).
    func storesWhileDownloading(size: Int64) -> Bool

    /// Stores under `key` the package that `download` writes, `size` bytes, uploading each part as
    /// `download` reports it written, and returns the verified spool file and the stored object's ETag.
    ///
    /// The object becomes visible only after `download` has returned (size, gzip trailer and digests
    /// verified) and every part checked against it. When `download` throws an error that is not an
    /// unavailability (the bytes were wrong: corrupt, truncated, another size) the upload is aborted;
    /// when it throws an unavailability or is cancelled, the upload is kept for a retry to resume. The
    /// error `download` threw is thrown as it is.
    func store(
        size: Int64, at key: String, downloadingWith download: @escaping @Sendable (PartCutting) async throws -> SpooledFile
    ) async throws -> (file: SpooledFile, etag: String?)
}
