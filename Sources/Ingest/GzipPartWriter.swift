import CZlib
import Foundation
import Jobs

#if canImport(Glibc)
import Glibc
#endif

/// Writes one part's lines as a gzip file, digesting the compressed bytes as they are written.
///
/// Deterministic: the same lines in the same order give the same bytes (fixed level, no file name and
/// a zero modification time in the gzip header), so a part written again after a crash replaces its
/// object with identical bytes.
struct GzipPartWriter {
    /// Allocated, not a stored `z_stream`: zlib keeps a pointer back to the stream it was initialised
    /// with and refuses calls made through a copy at another address.
    private let stream: UnsafeMutablePointer<z_stream>
    private let descriptor: Int32
    private var digests = StreamingDigests()
    private var output = [UInt8](repeating: 0, count: 1 << 16)
    private let path: String

    /// Creates (truncating) the file at `path`.
    init(path: String) throws {
        self.path = path
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        descriptor = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            stream.deallocate()
            throw TransferError.retryable("ingest.spool_write", "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        guard deflateInit2_(stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            close(descriptor)
            stream.deallocate()
            throw TransferError.retryable("ingest.gzip", "cannot initialise zlib")
        }
    }

    /// Compresses `bytes`.
    mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { input in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = UInt32(input.count)
            try pump(flush: Z_NO_FLUSH)
        }
    }

    /// Ends the gzip stream, fsyncs and closes the file, and returns it with its digests.
    mutating func finish() throws -> SpooledFile {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try pump(flush: Z_FINISH)
        deflateEnd(stream)
        stream.deallocate()
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw TransferError.retryable("ingest.spool_write", "cannot fsync \(path): \(String(cString: strerror(errno)))")
        }
        return digests.spooledFile(at: path)
    }

    private mutating func pump(flush: Int32) throws {
        while true {
            let (status, produced): (Int32, Int) = output.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = UInt32(out.count)
                let status = deflate(stream, flush)
                return (status, out.count - Int(stream.pointee.avail_out))
            }
            if produced > 0 {
                try output.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<produced])
                    digests.update(chunk)
                    var offset = 0
                    while offset < produced {
                        let written = Glibc.write(descriptor, chunk.baseAddress! + offset, produced - offset)
                        guard written > 0 else {
                            throw TransferError.retryable("ingest.spool_write", "cannot write \(path): \(String(cString: strerror(errno)))")
                        }
                        offset += written
                    }
                }
            }
            if flush == Z_FINISH {
                if status == Z_STREAM_END { return }
                guard status == Z_OK || status == Z_BUF_ERROR else { throw TransferError.retryable("ingest.gzip", "deflate failed (\(status))") }
            } else {
                guard status == Z_OK || status == Z_BUF_ERROR else { throw TransferError.retryable("ingest.gzip", "deflate failed (\(status))") }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return }
            }
        }
    }

    /// Closes the file without finishing it (on an error).
    mutating func abandon() {
        deflateEnd(stream)
        stream.deallocate()
        close(descriptor)
        unlink(path)
    }
}
