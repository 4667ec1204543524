#if ISAL
import CISAL
#else
import CZlib
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Undoes `Content-Encoding: gzip` (one or more members, optionally followed by zero padding) without
/// ever holding more than `limit` bytes of output: a gzip bomb is refused as soon as its output passes
/// the limit, having inflated only that much (plus one byte, which tells "exactly the limit" from
/// "more").
///
/// Inflates with Intel ISA-L (`isal_inflate`, several times faster than zlib) straight into the output
/// buffer, which the receiver reuses from request to request (`InflateBuffer`). Each member's header
/// is read with `isal_read_gzip_header` after its first four bytes are checked as zlib checks them
/// (magic, method, reserved flags, which ISA-L ignores), and its CRC-32 and size trailer by
/// `isal_inflate`; so it accepts what zlib's `inflate` (gzip mode, reset between members) accepts,
/// which `GzipInflaterTests` checks against zlib. Built without ISA-L (the `ISAL` trait off), zlib's
/// `inflate` does the same into the same buffer.
package enum GzipInflater {
    /// Why a body could not be inflated.
    package enum Failure: Error, Equatable {
        /// The output would pass the limit.
        case tooLarge
        /// Not gzip, or truncated or corrupt.
        case corrupt
    }

    /// The decompressed bytes of `input`.
    package static func inflate(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        do {
            return try input.withUnsafeBytes { try inflate($0, limit: limit) { Array($0) } }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .corrupt  // unreachable: only `Failure` is thrown
        }
    }

    /// Inflates `input` and hands the decompressed bytes to `body`, which must not keep the buffer.
    package static func inflate<Result>(
        _ input: UnsafeRawBufferPointer, limit: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) throws(Failure) -> Result {
        try inflate(input, limit: limit, into: InflateBuffer(), body)
    }

    /// Inflates `input` into `buffer` (grown as needed, kept for the next call unless it grew past
    /// `InflateBuffer.keptCapacity`) and hands the decompressed bytes to `body`, which must not keep them.
    package static func inflate<Result>(
        _ input: UnsafeRawBufferPointer, limit: Int, into buffer: InflateBuffer, _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) throws(Failure) -> Result {
        defer { buffer.trim() }
        let count = try Output.inflate(input, limit: limit, into: buffer)
        return body(UnsafeBufferPointer(start: buffer.base?.assumingMemoryBound(to: UInt8.self), count: count))
    }

    /// The inflate of one body into an `InflateBuffer`.
    private enum Output {
        #if ISAL
        /// Inflates `input` at the start of `buffer`; returns how many bytes it wrote.
        static func inflate(_ input: UnsafeRawBufferPointer, limit: Int, into buffer: InflateBuffer) throws(Failure) -> Int {
            let state = buffer.state, header = buffer.header
            guard let inputBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count >= 18 else { throw .corrupt }
            // The last member's size trailer (ISIZE) is the usual body's whole size: room for that at once.
            try buffer.reserve(min(limit + 1, max(trailerSize(input) + 4096, input.count * 4, 1 << 16)))
            var count = 0
            var offset = 0
            isal_inflate_init(state)
            state.pointee.crc_flag = UInt32(ISAL_GZIP)
            while true {
                try checkHeaderPrefix(input, at: offset)
                isal_gzip_header_init(header)
                state.pointee.next_in = UnsafeMutablePointer(mutating: inputBase + offset)
                state.pointee.avail_in = UInt32(input.count - offset)
                guard isal_read_gzip_header(state, header) == ISAL_DECOMP_OK else { throw .corrupt }
                while state.pointee.block_state != ISAL_BLOCK_FINISH {
                    let end = try buffer.outputEnd(after: count, limit: limit)
                    let before = (state.pointee.avail_in, count)
                    state.pointee.next_out = buffer.base!.assumingMemoryBound(to: UInt8.self) + count
                    state.pointee.avail_out = UInt32(end - count)
                    let status = isal_inflate(state)
                    count = end - Int(state.pointee.avail_out)
                    guard status == ISAL_DECOMP_OK else { throw .corrupt }
                    if count > limit { throw .tooLarge }
                    if state.pointee.block_state != ISAL_BLOCK_FINISH && state.pointee.avail_in == before.0 && count == before.1 {
                        // Out of input inside a member: truncated.
                        throw .corrupt
                    }
                }
                offset = input.count - Int(state.pointee.avail_in)
                // Another member may follow (concatenated gzip); trailing zero padding is tolerated.
                if UnsafeRawBufferPointer(rebasing: input[offset...]).allSatisfy({ $0 == 0 }) { return count }
                isal_inflate_reset(state)  // keeps crc_flag
            }
        }
        #else
        /// Inflates `input` at the start of `buffer` with zlib (gzip mode, reset between members);
        /// returns how many bytes it wrote.
        static func inflate(_ input: UnsafeRawBufferPointer, limit: Int, into buffer: InflateBuffer) throws(Failure) -> Int {
            guard let inputBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count >= 18 else { throw .corrupt }
            let stream = try buffer.zlibStream()
            try buffer.reserve(min(limit + 1, max(trailerSize(input) + 4096, input.count * 4, 1 << 16)))
            guard inflateReset(stream) == Z_OK else { throw .corrupt }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBase)
            stream.pointee.avail_in = UInt32(input.count)
            var count = 0
            while true {
                let end = try buffer.outputEnd(after: count, limit: limit)
                let before = (stream.pointee.avail_in, count)
                stream.pointee.next_out = buffer.base!.assumingMemoryBound(to: UInt8.self) + count
                stream.pointee.avail_out = UInt32(end - count)
                let status = CZlib.inflate(stream, Z_NO_FLUSH)
                count = end - Int(stream.pointee.avail_out)
                if count > limit { throw .tooLarge }
                if status == Z_STREAM_END {
                    // Another member may follow (concatenated gzip); trailing zero padding is tolerated.
                    let rest = UnsafeBufferPointer(start: stream.pointee.next_in, count: Int(stream.pointee.avail_in))
                    if rest.allSatisfy({ $0 == 0 }) { return count }
                    guard inflateReset(stream) == Z_OK else { throw .corrupt }
                    continue
                }
                guard status == Z_OK || status == Z_BUF_ERROR else { throw .corrupt }
                if stream.pointee.avail_in == before.0 && count == before.1 && count < end {
                    // Out of input inside a member: truncated.
                    throw .corrupt
                }
            }
        }
        #endif

        /// ISIZE of the member that ends `input`: its size modulo 2^32, when it is the last.
        private static func trailerSize(_ input: UnsafeRawBufferPointer) -> Int {
            let end = input.count
            return (0..<4).reduce(0) { $0 | Int(input[end - 4 + $1]) << (8 * $1) }
        }

        /// The member's first four bytes as zlib judges them: ID1, ID2, CM and FLG's reserved bits.
        private static func checkHeaderPrefix(_ input: UnsafeRawBufferPointer, at offset: Int) throws(Failure) {
            guard input.count - offset >= 4, input[offset] == 0x1F, input[offset + 1] == 0x8B, input[offset + 2] == 8,
                  input[offset + 3] & 0xE0 == 0
            else { throw .corrupt }
        }
    }

    #if ISAL
    /// Heap memory for one `type`, every byte zero (ISA-L's inflate state is about 85 KiB: not on a
    /// task's stack).
    fileprivate static func zeroed<Value>(_ type: Value.Type) -> UnsafeMutablePointer<Value> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Value>.size, alignment: MemoryLayout<Value>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Value>.size)
        return raw.bindMemory(to: Value.self, capacity: 1)
    }
    #endif
}

/// The output memory of `GzipInflater`, reused from one body to the next: a fresh buffer of 256 KiB
/// or more is mapped, page-faulted, zeroed and unmapped by every request (see `LineCompressor`).
/// malloc'd, so growing it is a `realloc`, which glibc does for large blocks by remapping rather than
/// copying. `@unchecked Sendable` so a `ReusePool` can hold it: one request at a time uses it.
package final class InflateBuffer: @unchecked Sendable {
    /// Capacity kept between bodies; a buffer grown past it (a body inflating to more) is freed after use.
    static let keptCapacity = 8 << 20
    fileprivate private(set) var base: UnsafeMutableRawPointer?
    fileprivate private(set) var capacity = 0
    #if ISAL
    /// ISA-L's inflate state (about 85 KiB) and a member header record, reset for each body.
    fileprivate let state = GzipInflater.zeroed(inflate_state.self)
    fileprivate let header = GzipInflater.zeroed(isal_gzip_header.self)
    #else
    /// zlib's stream in gzip mode, made at the first body and reset for each; zlib keeps a back-pointer
    /// to it, so it stays at one address.
    private var stream: UnsafeMutablePointer<z_stream>?
    #endif

    /// An empty buffer.
    package init() {}

    deinit {
        free(base)
        #if ISAL
        UnsafeMutableRawPointer(state).deallocate()
        UnsafeMutableRawPointer(header).deallocate()
        #else
        if let stream {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        #endif
    }

    #if !ISAL
    /// The zlib stream, made on first use.
    fileprivate func zlibStream() throws(GzipInflater.Failure) -> UnsafeMutablePointer<z_stream> {
        if let stream { return stream }
        let made = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        made.initialize(to: z_stream())
        guard inflateInit2_(made, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            made.deinitialize(count: 1)
            made.deallocate()
            throw .corrupt
        }
        stream = made
        return made
    }
    #endif

    /// Makes room for at least `capacity` bytes, keeping the bytes written so far.
    fileprivate func reserve(_ wanted: Int) throws(GzipInflater.Failure) {
        guard wanted > capacity else { return }
        guard let grown = realloc(base, wanted) else { throw .corrupt }
        base = grown
        capacity = wanted
    }

    /// Where the output written so far (`count` bytes) may go on to: the buffer's end, grown when full,
    /// but never past `limit + 1` bytes however large the reused buffer is; throws `tooLarge` once the
    /// output passed the limit.
    fileprivate func outputEnd(after count: Int, limit: Int) throws(GzipInflater.Failure) -> Int {
        if count == min(capacity, limit + 1) {
            guard count <= limit else { throw .tooLarge }
            try reserve(min(limit + 1, capacity * 2))
        }
        return min(capacity, limit + 1)
    }

    /// Frees a buffer grown past `keptCapacity`.
    fileprivate func trim() {
        guard capacity > Self.keptCapacity else { return }
        free(base)
        base = nil
        capacity = 0
    }
}
