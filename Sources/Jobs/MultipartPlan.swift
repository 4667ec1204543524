import Core
import Crypto

/// How a file is cut into the parts of a multipart upload: every part `partSize` bytes but the last.
///
/// Pure; the part size depends only on the file size and the minimum, so a retry or a restart cuts the
/// same file the same way and can reuse the parts already uploaded.
public struct MultipartPlan: Sendable, Equatable {
    /// The most parts S3 and COS accept in one upload.
    public static let maximumPartCount = 10_000

    /// Size of the whole file in bytes (more than 0).
    public let fileSize: Int64
    /// Size of every part but the last, in bytes.
    public let partSize: Int64

    /// The plan for a file of `fileSize` bytes (more than 0): parts of `minimumPartSize`, unless that
    /// makes more than 10,000 parts; then parts of `ceil(fileSize / 10,000)` rounded up to a whole MiB.
    public init(fileSize: Int64, minimumPartSize: Int64) {
        let mebibyte: Int64 = 1 << 20
        let minimum = max(1, minimumPartSize)
        let needed = (fileSize + Int64(Self.maximumPartCount) - 1) / Int64(Self.maximumPartCount)
        self.fileSize = fileSize
        self.partSize = needed <= minimum ? minimum : (needed + mebibyte - 1) / mebibyte * mebibyte
    }

    /// How many parts the file takes (1 through 10,000).
    public var partCount: Int { Int((fileSize + partSize - 1) / partSize) }

    /// The byte range of part `number` (1 through `partCount`) in the file.
    public func range(ofPart number: Int) -> (offset: Int64, length: Int64) {
        let offset = Int64(number - 1) * partSize
        return (offset, min(partSize, fileSize - offset))
    }

    /// The ETag S3 gives an object uploaded in these parts: the MD5 of the parts' binary MD5s
    /// concatenated, in hex, then `-` and the part count.
    ///
    /// - Parameter partMD5s: every part's MD5 as hex, in part order.
    public static func multipartETag(partMD5s: [String]) -> String {
        var digest = Insecure.MD5()
        for md5 in partMD5s {
            digest.update(data: ObjectStoreSink.bytes(ofHex: md5) ?? [])
        }
        return digest.finalize().hexString + "-\(partMD5s.count)"
    }
}
