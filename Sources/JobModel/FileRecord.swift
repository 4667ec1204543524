import Foundation

/// The result of one package of a window, kept with the window once it is done.
public struct FileRecord: Sendable, Hashable, Codable {
    /// `mainland`, `overseas`, or the source's own area name.
    public var area: String
    /// The package's file name.
    public var name: String
    /// Size in bytes.
    public var size: Int64
    /// CRC-64/XZ.
    public var crc64: UInt64
    /// MD5, lower-case hex.
    public var md5: String
    /// SHA-256, lower-case hex.
    public var sha256: String
    /// Where it is stored.
    public var objectKey: String
    /// True when an identical object was already stored and nothing was uploaded.
    public var skipped: Bool
    /// The ETag the store reported for the object (for a local directory, the file's identity, which
    /// changes when the file is replaced or written); nil when unknown. A later pass that finds the same
    /// size and ETag under the key knows the object is the one recorded here.
    public var etag: String?
    /// False when this pass did not download the package because the sink was found to hold it already
    /// (a download avoided); such a record is always `skipped`.
    public var downloaded: Bool

    /// Creates a file record.
    public init(
        area: String, name: String, size: Int64, crc64: UInt64, md5: String, sha256: String, objectKey: String, skipped: Bool,
        etag: String? = nil, downloaded: Bool = true
    ) {
        self.area = area
        self.name = name
        self.size = size
        self.crc64 = crc64
        self.md5 = md5
        self.sha256 = sha256
        self.objectKey = objectKey
        self.skipped = skipped
        self.etag = etag
        self.downloaded = downloaded
    }
}
