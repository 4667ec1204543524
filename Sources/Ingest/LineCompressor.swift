import JobModel

#if ISAL
import CCRC32
import CISAL
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Compresses a chunk's NDJSON pieces into one gzip member (ISA-L, level 1; zlib's, when the package is
/// built without ISA-L), reading the lines where they are in the request's body and reusing its memory
/// from request to request.
///
/// Why not one array of lines and `GzipMember.compress`: a request's NDJSON is about as large as its
/// body (512 KiB from the sender), and a fresh buffer that size is mapped by malloc (`MallocArenas`
/// maps every block of 256 KiB and more), page-faulted and zeroed by the kernel page by page and
/// unmapped again: about 0.7 ns of CPU per byte, more than copying, scanning or compressing the lines.
/// Here the lines are not copied at all when they are contiguous in the body (`JSON_Newline`); array
/// elements go through a 64 KiB staging buffer; ISA-L's state, its level buffer and the output
/// buffer are allocated once per compressor and kept.
///
/// The member is a complete gzip member (header, deflate stream, CRC-32 and size), deterministic for
/// given pieces. Not thread-safe: a `ReusePool` lends each compressor to one request at a time.
/// `@unchecked Sendable` so the pool can hold it in its Mutex: a compressor is only ever used by the
/// request that took it out, and put back once that request is done with it.
package final class LineCompressor: @unchecked Sendable {
    /// Input pieces shorter than this are staged; longer ones are compressed where they are.
    private static let stagingSize = 64 << 10
    /// ISA-L's suggested level buffer for level 1, `ISAL_DEF_LVL1_DEFAULT`: 4 KiB, two 8 K-entry hash
    /// tables of 2 bytes and 64 K tokens of 4 bytes (the header's macro is too involved for Swift).
    private static let levelBufferSize = 4 * 1024 + 2 * 8 * 1024 + 4 * 64 * 1024
    /// The output buffer kept between requests; a larger one, needed by an incompressible body, is
    /// given back after its request.
    private static let keptOutputSize = 256 << 10

    private let staging: UnsafeMutableRawPointer
    private var stagedCount = 0
    #if ISAL
    private let stream: UnsafeMutablePointer<isal_zstream>
    private let levelBuffer: UnsafeMutableRawPointer
    private var output: UnsafeMutableRawPointer
    private var outputCapacity = keptOutputSize
    private var outputCount = 0
    /// Whether the member's CRC-32 and size are computed here (`crc32_wide`, about twice as fast as
    /// ISA-L's own CRC without AVX-512) and ISA-L writes only the deflate stream; otherwise ISA-L writes
    /// the trailer. The members are the same bytes either way.
    let computesTrailer: Bool
    private var crc: UInt32 = 0
    private var inputCount = 0
    #else
    private let zlib = ZlibDeflate(level: 1)
    #endif

    /// A compressor with its memory allocated. `wideCRC: false` leaves the trailer to ISA-L even where
    /// `crc32_wide` folds, for tests to compare the two.
    package init(wideCRC: Bool = true) {
        staging = .allocate(byteCount: Self.stagingSize, alignment: 64)
        #if ISAL
        computesTrailer = wideCRC && crc32_wide_available() != 0
        // ISA-L's stream state is about 80 KiB: on the heap, zeroed once; `isal_deflate_init` resets it.
        let size = MemoryLayout<isal_zstream>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<isal_zstream>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        stream = raw.bindMemory(to: isal_zstream.self, capacity: 1)
        levelBuffer = .allocate(byteCount: Self.levelBufferSize, alignment: 64)
        output = malloc(Self.keptOutputSize)!
        #endif
    }

    deinit {
        staging.deallocate()
        #if ISAL
        UnsafeMutableRawPointer(stream).deallocate()
        levelBuffer.deallocate()
        free(output)
        #endif
    }

    /// One gzip member of the NDJSON that `pieces` make of `body`; with `stamp`, its header carries it
    /// (`StampedMember`).
    package func compress(_ pieces: [NDJSONPiece], in body: UnsafeBufferPointer<UInt8>, stamp: SpoolChunkStamp? = nil) -> [UInt8] {
        stagedCount = 0
        #if ISAL
        isal_deflate_init(stream)
        stream.pointee.level = 1
        stream.pointee.level_buf = levelBuffer.assumingMemoryBound(to: UInt8.self)
        stream.pointee.level_buf_size = UInt32(Self.levelBufferSize)
        stream.pointee.flush = UInt16(NO_FLUSH)
        stream.pointee.end_of_stream = 0
        crc = 0
        inputCount = 0
        // A stamped header is written here, and so is the plain one when the trailer is (see
        // `computesTrailer`); ISA-L writes the rest.
        let header = stamp.map(StampedMember.header) ?? (computesTrailer ? GzipMember.header : [])
        if !header.isEmpty { header.withUnsafeBytes { output.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        outputCount = header.count
        stream.pointee.gzip_flag = UInt16(computesTrailer ? IGZIP_DEFLATE : header.isEmpty ? IGZIP_GZIP : IGZIP_GZIP_NO_HDR)
        #else
        zlib.begin(extraField: stamp.map(StampedMember.extraField))
        #endif
        let base = UnsafeRawPointer(body.baseAddress!)
        for piece in pieces {
            switch piece {
            case .body(let range):
                add(base + range.lowerBound, range.count)
            case .newline:
                var newline: UInt8 = 0x0A
                add(&newline, 1)
            case .rewritten(let line):
                line.withUnsafeBytes { add($0.baseAddress!, $0.count) }
            }
        }
        flushStaging()
        #if ISAL
        stream.pointee.end_of_stream = 1
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        while stream.pointee.internal_state.state != ZSTATE_END { deflate() }
        if computesTrailer {
            // CRC-32 and size modulo 2^32, little-endian (RFC 1952).
            if outputCapacity - outputCount < 8 {
                outputCapacity *= 2
                output = realloc(output, outputCapacity)!
            }
            (output + outputCount).storeBytes(of: crc.littleEndian, as: UInt32.self)
            (output + outputCount + 4).storeBytes(of: UInt32(truncatingIfNeeded: inputCount).littleEndian, as: UInt32.self)
            outputCount += 8
        }
        let member = [UInt8](UnsafeRawBufferPointer(start: output, count: outputCount))
        if outputCapacity > Self.keptOutputSize {
            free(output)
            output = malloc(Self.keptOutputSize)!
            outputCapacity = Self.keptOutputSize
        }
        return member
        #else
        return zlib.finish()
        #endif
    }

    /// Stages `count` bytes at `bytes`, or compresses them in place when they are many.
    private func add(_ bytes: UnsafeRawPointer, _ count: Int) {
        if count >= Self.stagingSize / 2 {
            flushStaging()
            compressInPlace(bytes, count)
            return
        }
        if stagedCount + count > Self.stagingSize { flushStaging() }
        (staging + stagedCount).copyMemory(from: bytes, byteCount: count)
        stagedCount += count
    }

    private func flushStaging() {
        guard stagedCount > 0 else { return }
        compressInPlace(staging, stagedCount)
        stagedCount = 0
    }

    /// Feeds `count` bytes at `bytes` to the deflate; ISA-L keeps what it needs of them (the history)
    /// in its own state, so they may change once this returns.
    private func compressInPlace(_ bytes: UnsafeRawPointer, _ count: Int) {
        #if ISAL
        if computesTrailer {
            crc = crc32_wide(crc, bytes.assumingMemoryBound(to: UInt8.self), count)
            inputCount += count
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(count)
        while stream.pointee.avail_in > 0 { deflate() }
        #else
        zlib.feed(bytes, count)
        #endif
    }

    #if ISAL
    /// One call of `isal_deflate` into the output's free space, grown first when less than 4 KiB is left
    /// (room for any header, block or trailer ISA-L writes at once).
    private func deflate() {
        if outputCapacity - outputCount < 4096 {
            outputCapacity *= 2
            output = realloc(output, outputCapacity)!
        }
        let inputBefore = stream.pointee.avail_in
        stream.pointee.next_out = (output + outputCount).assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = UInt32(outputCapacity - outputCount)
        let status = isal_deflate(stream)
        // Level 1 with its level buffer and NO_FLUSH: the only failures are invalid parameters.
        precondition(status == COMP_OK, "ISA-L deflate failed (\(status))")
        let produced = outputCapacity - outputCount - Int(stream.pointee.avail_out)
        outputCount += produced
        precondition(produced > 0 || stream.pointee.avail_in < inputBefore || stream.pointee.internal_state.state == ZSTATE_END,
                     "ISA-L deflate made no progress")
    }
    #endif
}
