import Foundation

/// A verified package on local disk, ready to be stored: the spool file and the digests computed while
/// it was downloaded.
public struct SpooledFile: Sendable, Equatable {
    /// The spool file's path. The pipeline deletes it once the package is stored.
    public var path: String
    /// Size in bytes.
    public var size: Int64
    /// CRC-64/XZ (COS's `x-cos-hash-crc64ecma`).
    public var crc64: UInt64
    /// MD5 as lower-case hex.
    public var md5: String
    /// SHA-256 as lower-case hex.
    public var sha256: String

    /// Creates a description of a spool file.
    public init(path: String, size: Int64, crc64: UInt64, md5: String, sha256: String) {
        self.path = path
        self.size = size
        self.crc64 = crc64
        self.md5 = md5
        self.sha256 = sha256
    }
}

/// What a sink knows of an object already stored under a key.
public struct StoredObject: Sendable, Equatable {
    /// Size in bytes.
    public var size: Int64
    /// CRC-64/XZ when the store reports or records it.
    public var crc64: UInt64?
    /// MD5 hex when known (a simple upload's ETag, or computed by a local sink).
    public var md5: String?
    /// The object's ETag, or a local sink's equivalent (see `ObjectIdentity`), when known.
    public var etag: String?

    /// Creates a description of a stored object.
    public init(size: Int64, crc64: UInt64?, md5: String?, etag: String? = nil) {
        self.size = size
        self.crc64 = crc64
        self.md5 = md5
        self.etag = etag
    }

    /// Whether this object holds exactly the bytes of `file`: same size, and the same CRC64 or MD5.
    public func matches(_ file: SpooledFile) -> Bool {
        guard size == file.size else { return false }
        if let crc64 { return crc64 == file.crc64 }
        if let md5 { return md5.lowercased() == file.md5 }
        return false
    }
}

/// Which object a key holds, cheaply told: its size and its ETag (or, for a sink without ETags, a
/// string that changes whenever the object is replaced or written). Equal identities under one key
/// mean the same stored object.
public struct ObjectIdentity: Sendable, Hashable {
    /// Size in bytes.
    public var size: Int64
    /// The ETag without quotes, or the sink's equivalent; never empty.
    public var etag: String

    /// Creates an identity.
    public init(size: Int64, etag: String) {
        self.size = size
        self.etag = etag
    }
}

/// Where packages end up: a directory, COS, or an S3-compatible store.
public protocol ObjectSink: Sendable {
    /// What is stored under `key`, or nil when nothing is.
    func existingObject(at key: String) async throws -> StoredObject?

    /// The identity of what is stored under `key`, or nil when nothing is or the sink cannot tell one:
    /// no more than a HEAD or a `stat`, never a read of the object.
    func identity(ofObjectAt key: String) async throws -> ObjectIdentity?

    /// Stores `file` under `key`, replacing what is there, verifies what was stored, and returns the
    /// stored object's ETag (as `identity(ofObjectAt:)` will report it), or nil when the store gave none.
    ///
    /// Must be atomic from a reader's point of view: a key holds either the old or the new bytes,
    /// never a partial object.
    @discardableResult
    func store(_ file: SpooledFile, at key: String) async throws -> String?

    /// Gives up an unfinished upload to `key` that will not be resumed (its window failed for good),
    /// so the store does not keep billing for it. Best effort.
    func discardUpload(forKey key: String) async
}

extension ObjectSink {
    /// The size and ETag `existingObject(at:)` reports, for sinks whose existence check is already cheap.
    public func identity(ofObjectAt key: String) async throws -> ObjectIdentity? {
        guard let existing = try await existingObject(at: key), let etag = existing.etag, !etag.isEmpty else { return nil }
        return ObjectIdentity(size: existing.size, etag: etag)
    }

    /// Nothing to discard for sinks without resumable uploads.
    public func discardUpload(forKey key: String) async {}
}
