#if !ISAL
import CZlib

/// zlib's deflate writing one gzip member (a fixed header: no name, time 0): what `GzipMember` and
/// `LineCompressor` compress with when the package is built without ISA-L (the `ISAL` trait off).
/// The same input gives the same member however it was fed. One member at a time; not thread-safe.
final class ZlibDeflate {
    private static let scratchSize = 64 << 10
    /// zlib keeps a back-pointer to its stream: it must stay at one address.
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchSize, alignment: 16)
    private var output: [UInt8] = []

    /// A deflate at zlib `level` (1: fastest).
    init(level: Int32) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // Window bits 15 + 16: a gzip wrapper around the deflate stream.
        let status = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib could not start deflating (status \(status))")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        header.deallocate()
        extra.deallocate()
        scratch.deallocate()
    }

    /// The gzip member of `bytes`.
    static func member(of bytes: UnsafeRawBufferPointer, level: Int32) -> [UInt8] {
        let deflate = ZlibDeflate(level: level)
        if let base = bytes.baseAddress, bytes.count > 0 { deflate.feed(base, bytes.count) }
        return deflate.finish()
    }

    /// The header zlib writes when a member has an extra field, and that field's bytes: both must stay
    /// put until the member's first `deflate` call has written the header.
    private let header = UnsafeMutablePointer<gz_header>.allocate(capacity: 1)
    private var extra = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 0)

    /// Starts the next member; with `extraField`, its header carries that extra field (FLG.FEXTRA) and
    /// a header CRC (FLG.FHCRC), no modification time and OS 255 (unknown).
    func begin(extraField: [UInt8]? = nil) {
        precondition(deflateReset(stream) == Z_OK, "zlib could not reset its deflate")
        output.removeAll(keepingCapacity: true)
        // A reset keeps the header of the member before: none, unless this member has its own.
        guard let extraField else {
            precondition(deflateSetHeader(stream, nil) == Z_OK, "zlib would not drop its gzip header")
            return
        }
        if extra.count < extraField.count {
            extra.deallocate()
            extra = .allocate(capacity: extraField.count)
        }
        _ = extra.initialize(from: extraField)
        header.initialize(to: gz_header())
        header.pointee.os = 255
        header.pointee.extra = extra.baseAddress
        header.pointee.extra_len = UInt32(extraField.count)
        header.pointee.hcrc = 1
        precondition(deflateSetHeader(stream, header) == Z_OK, "zlib would not take a gzip header")
    }

    /// Compresses `count` bytes at `bytes`; zlib keeps what it needs of them, so they may change once
    /// this returns.
    func feed(_ bytes: UnsafeRawPointer, _ count: Int) {
        run(bytes, count, flush: Z_NO_FLUSH)
    }

    /// Ends the member and returns it whole.
    func finish() -> [UInt8] {
        run(nil, 0, flush: Z_FINISH)
        return output
    }

    private func run(_ bytes: UnsafeRawPointer?, _ count: Int, flush: Int32) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(count)
        while true {
            stream.pointee.next_out = scratch.assumingMemoryBound(to: UInt8.self)
            stream.pointee.avail_out = UInt32(Self.scratchSize)
            let status = deflate(stream, flush)
            // A valid stream and level never fail; Z_BUF_ERROR only says no progress was possible.
            precondition(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR, "zlib deflate failed (\(status))")
            let produced = Self.scratchSize - Int(stream.pointee.avail_out)
            output.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: produced))
            if flush == Z_FINISH ? status == Z_STREAM_END : (stream.pointee.avail_in == 0 && produced < Self.scratchSize) { return }
        }
    }
}
#endif
