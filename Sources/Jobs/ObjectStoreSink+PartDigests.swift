import Core
import Crypto
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ObjectStoreSink {
    /// MD5 and CRC64 of one byte range of a file.
    struct RangeDigests: Sendable, Equatable {
        /// The 16 MD5 bytes.
        var md5: [UInt8]
        /// CRC-64/XZ.
        var crc64: UInt64

        /// The MD5 as lower-case hex.
        var md5Hex: String { md5.hexString }
    }

    /// Reads `length` bytes of the file at `path` from `offset` in 1 MiB chunks and digests them.
    ///
    /// The reading runs on NIO's pool for blocking I/O (`NIOThreadPool.singleton`): a part is several
    /// MiB, and a file evicted from the page cache or a busy disk would otherwise hold a thread of the
    /// cooperative pool for as long. Throws the retryable `sink.spool_missing` when the file is gone,
    /// `sink.io` when it cannot be read or is shorter than the range, and `CancellationError` when the
    /// task is cancelled before the reading starts.
    static func digests(ofFileAt path: String, offset: Int64, length: Int64, key: String) async throws -> RangeDigests {
        try await NIOThreadPool.singleton.runIfActive {
            try blockingDigests(ofFileAt: path, offset: offset, length: length, key: key)
        }
    }

    /// `digests(ofFileAt:offset:length:key:)` on the calling thread, which it blocks.
    private static func blockingDigests(ofFileAt path: String, offset: Int64, length: Int64, key: String) throws(TransferError) -> RangeDigests {
        let descriptor: Int32
        do {
            guard let opened = try FileIO.openForReading(path) else {
                throw TransferError.retryable("sink.spool_missing", "the spool file for \(key) is gone")
            }
            descriptor = opened
        } catch let error as TransferError {
            throw error
        } catch {
            throw TransferError.retryable("sink.io", "cannot read the spool file for \(key): \(error)")
        }
        defer { try? FileIO.closeDescriptor(descriptor, path: path) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var md5 = Insecure.MD5()
        var crc = CRC64()
        var position = offset
        let end = offset + length
        while position < end {
            let wanted = Int(min(Int64(buffer.count), end - position))
            let count = pread(descriptor, buffer.baseAddress, wanted, off_t(position))
            if count < 0 {
                if errno == EINTR { continue }
                let error = FileIOError(operation: "pread", path: path, code: errno)
                throw TransferError.retryable("sink.io", "cannot read the spool file for \(key): \(error)")
            }
            if count == 0 {
                throw TransferError.retryable(
                    "sink.io", "the spool file for \(key) ends at \(position) bytes, before \(end)")
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            md5.update(bufferPointer: chunk)
            crc.update(chunk)
            position += Int64(count)
        }
        return RangeDigests(md5: Array(md5.finalize()), crc64: crc.value)
    }
}
