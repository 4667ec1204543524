import CZlib

/// `GzipVerifier` with zlib instead of ISA-L: the reference the ISA-L verifier is tested against (they
/// must accept and reject the same streams), measured beside it in `scripts/bench transfer`, and the
/// verifier itself when the package is built without ISA-L (the `ISAL` trait off).
///
/// Checks, as bytes stream past, that they form one or more complete, intact gzip members.
/// Inflates with zlib and discards the output, so memory stays at zlib's window plus a 64 KiB scratch
/// buffer whatever the input size. zlib checks each member's header and its CRC32 and ISIZE trailer;
/// concatenated members (as `cat a.gz b.gz` makes) are accepted; anything after a member that is not
/// another member (trailing garbage, even zero padding) is rejected.
///
/// Errors are `TransferError` with code `download.corrupt_gzip` (retryable: a fresh download may be
/// intact). The first error is sticky: later calls throw it again.
///
/// Noncopyable because it owns a `z_stream`, which zlib requires to stay at one address; not `Sendable`
/// (use one verifier per stream, from one task at a time).
public struct ZlibGzipVerifier: ~Copyable {
    /// Heap-allocated because zlib keeps a back-pointer to the stream and rejects a moved one.
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch: UnsafeMutableRawBufferPointer
    private var memberEnded = false
    private var failure: TransferError?
    /// Compressed bytes fed so far.
    public private(set) var compressedByteCount: Int64 = 0
    /// Decompressed bytes produced so far (counted, then discarded).
    public private(set) var decompressedByteCount: Int64 = 0
    /// Members completed so far, trailer checked.
    public private(set) var memberCount = 0

    /// Creates a verifier expecting gzip data (not raw deflate, not zlib-wrapped).
    ///
    /// Throws `gzip.init` (retryable) when zlib cannot allocate its state.
    public init() throws(TransferError) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // windowBits 15 + 16: a 32 KiB window, gzip wrapper only.
        let status = inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw .retryable("gzip.init", "zlib could not start inflating (status \(status))")
        }
        self.stream = stream
        self.scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Feeds the next compressed bytes; throws as soon as they cannot be part of a valid gzip stream.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) throws(TransferError) {
        if let failure { throw failure }
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            // avail_in is 32-bit: feed huge buffers in slices.
            let length = min(bytes.count - offset, 1 << 30)
            do throws(TransferError) {
                try inflateSlice(base + offset, length)
            } catch {
                failure = error
                throw error
            }
            offset += length
        }
    }

    /// Declares the end of the input; throws unless it ended exactly after a complete member.
    public mutating func finish() throws(TransferError) {
        if let failure { throw failure }
        if compressedByteCount == 0 {
            failure = Self.corrupt("the body is empty, not a gzip file")
        } else if !memberEnded {
            failure = Self.corrupt(
                "the gzip data ends inside a member after \(compressedByteCount) bytes (truncated)")
        }
        if let failure { throw failure }
    }

    /// Inflates `length` bytes at `base`, discarding the output.
    private mutating func inflateSlice(_ base: UnsafeRawPointer, _ length: Int) throws(TransferError) {
        // zlib never writes through next_in (it is `z_const` in zlib's headers).
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(length)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            if memberEnded {
                guard stream.pointee.avail_in > 0 else { return }
                // More bytes after a complete member: they must start another member.
                inflateReset(stream)
                memberEnded = false
            }
            let availableBefore = stream.pointee.avail_in
            stream.pointee.next_out = scratch.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(scratch.count)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            compressedByteCount += Int64(availableBefore - stream.pointee.avail_in)
            decompressedByteCount += Int64(scratch.count - Int(stream.pointee.avail_out))
            switch status {
            case Z_STREAM_END:
                memberEnded = true
                memberCount += 1
            case Z_OK:
                break
            case Z_BUF_ERROR:
                // No progress possible: all input consumed and no output pending.
                return
            case Z_MEM_ERROR:
                throw .retryable("gzip.out_of_memory", "zlib ran out of memory")
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw Self.corrupt("the gzip data is corrupt near byte \(compressedByteCount): \(reason)")
            }
            // Stop when the input is used up and zlib had room to spare (nothing left to flush).
            if stream.pointee.avail_in == 0 && (memberEnded || stream.pointee.avail_out > 0) { return }
        }
    }

    /// A `download.corrupt_gzip` error.
    private static func corrupt(_ message: String) -> TransferError {
        .retryable("download.corrupt_gzip", message)
    }
}
