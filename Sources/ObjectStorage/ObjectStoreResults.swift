import Foundation

/// What a HEAD tells of an object.
public struct ObjectHead: Sendable, Equatable {
    /// Size in bytes (`Content-Length`).
    public var size: Int64
    /// The ETag without quotes: the MD5 hex of a simple upload, `<hex>-<parts>` after a multipart one.
    public var etag: String?
    /// CRC-64/XZ from `x-cos-hash-crc64ecma`, when the store sends it (COS always; most S3 stores never).
    public var crc64: UInt64?

    /// Creates a description of an object.
    public init(size: Int64, etag: String?, crc64: UInt64?) {
        self.size = size
        self.etag = etag
        self.crc64 = crc64
    }
}

/// What the store answered to an upload (a simple PUT, a part, or a completed multipart upload).
public struct UploadResult: Sendable, Equatable {
    /// The ETag without quotes.
    public var etag: String?
    /// CRC-64/XZ of what was stored (`x-cos-hash-crc64ecma`), when the store sends it.
    public var crc64: UInt64?

    /// Creates an upload result.
    public init(etag: String?, crc64: UInt64?) {
        self.etag = etag
        self.crc64 = crc64
    }
}

/// A multipart upload in progress, as listed by the store.
public struct MultipartUploadListing: Sendable, Equatable {
    /// The object key the upload will create.
    public var key: String
    /// The upload id.
    public var uploadID: String
    /// When the upload was created; `Date.distantFuture` when the store's date could not be read.
    public var initiated: Date

    /// Creates a listing entry.
    public init(key: String, uploadID: String, initiated: Date) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
    }
}
