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

    /// Creates a file record.
    public init(area: String, name: String, size: Int64, crc64: UInt64, md5: String, sha256: String, objectKey: String, skipped: Bool) {
        self.area = area
        self.name = name
        self.size = size
        self.crc64 = crc64
        self.md5 = md5
        self.sha256 = sha256
        self.objectKey = objectKey
        self.skipped = skipped
    }
}
