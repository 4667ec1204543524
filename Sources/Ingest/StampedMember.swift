import CZlib
import JobModel

/// A chunk's `SpoolChunkStamp` in the header of its gzip member, and the reader that finds stamps
/// again in a part file (the spool's `StampReader`).
///
/// The header (RFC 1952) has an extra field and a header CRC (FLG.FEXTRA and FLG.FHCRC) and nothing else
/// optional: `1f 8b 08 06`, MTIME, XFL and OS as the compressor writes them, XLEN, then one subfield
/// `O` `R` of 69 bytes, little-endian: version 1, the body number (8 bytes), the chunk's index and the
/// body's chunk count (4 each), lines (4), NDJSON bytes (8), acceptance in Unix seconds (8), the body
/// digest (32); then the low 16 bits of the CRC-32 of all the header before it. The header CRC covers
/// the stamp as the trailer's CRC-32 covers the lines. gzip readers check the header CRC and skip extra
/// fields, so a part file of stamped members is still the gzip file that is uploaded byte for byte;
/// the stamp holds nothing of the lines and no key (the digest is an HMAC).
package enum StampedMember {
    private static let subfieldLength = 1 + 8 + 4 + 4 + 4 + 8 + 8 + 32
    private static let extraLength = 4 + subfieldLength
    /// Bytes of a stamped member's header.
    package static let headerLength = 10 + 2 + extraLength + 2
    private static let flags: UInt8 = 0x04 | 0x02

    /// The extra field's content (XLEN's bytes) for `stamp`; its digest must be 32 bytes.
    package static func extraField(_ stamp: SpoolChunkStamp) -> [UInt8] {
        precondition(stamp.bodyDigest.count == 32, "a stamp carries a 32-byte body digest")
        var field: [UInt8] = [UInt8(ascii: "O"), UInt8(ascii: "R")]
        field.reserveCapacity(extraLength)
        append(UInt64(subfieldLength), bytes: 2, to: &field)
        field.append(1)
        append(stamp.body, bytes: 8, to: &field)
        append(UInt64(stamp.index), bytes: 4, to: &field)
        append(UInt64(stamp.count), bytes: 4, to: &field)
        append(UInt64(stamp.lineCount), bytes: 4, to: &field)
        append(UInt64(stamp.byteCount), bytes: 8, to: &field)
        append(UInt64(bitPattern: stamp.acceptedAt), bytes: 8, to: &field)
        field.append(contentsOf: stamp.bodyDigest)
        return field
    }

    /// The whole member header for `stamp`: `GzipMember.header` with the flags above.
    package static func header(_ stamp: SpoolChunkStamp) -> [UInt8] {
        var header = GzipMember.header
        header[3] = flags
        append(UInt64(extraLength), bytes: 2, to: &header)
        header += extraField(stamp)
        let crc = header.withUnsafeBytes { headerCRC($0) }
        append(UInt64(crc), bytes: 2, to: &header)
        return header
    }

    /// The low 16 bits of the CRC-32 of `bytes` (RFC 1952's CRC16).
    private static func headerCRC(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        UInt16(truncatingIfNeeded: crc32(0, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(bytes.count)))
    }

    /// The stamped chunks at the start of `bytes`, in order: each a stamped header, a deflate stream
    /// that inflates to exactly the stamp's NDJSON bytes, and a trailer whose CRC-32 and size match
    /// them. Stops at the first bytes that are not such a member (zeros, a torn write, an unstamped
    /// member, anything corrupt).
    package static func read(_ bytes: UnsafeRawBufferPointer) -> [StampedChunk] {
        var found: [StampedChunk] = []
        var offset = 0
        let inflater = RawInflater()
        while let stamp = stamp(in: bytes, at: offset) {
            let deflateStart = offset + headerLength
            guard let (consumed, crc, size) = inflater.inflate(UnsafeRawBufferPointer(rebasing: bytes[deflateStart...])),
                  size == stamp.byteCount,
                  deflateStart + consumed + 8 <= bytes.count,
                  number(bytes, at: deflateStart + consumed, bytes: 4) == UInt64(crc),
                  number(bytes, at: deflateStart + consumed + 4, bytes: 4) == UInt64(UInt32(truncatingIfNeeded: size))
            else { break }
            let length = headerLength + consumed + 8
            found.append(StampedChunk(stamp: stamp, length: length))
            offset += length
        }
        return found
    }

    /// The stamp in the member header at `offset`, or nil when there is no stamped header there.
    static func stamp(in bytes: UnsafeRawBufferPointer, at offset: Int) -> SpoolChunkStamp? {
        guard bytes.count - offset >= headerLength,
              bytes[offset] == 0x1F, bytes[offset + 1] == 0x8B, bytes[offset + 2] == 8, bytes[offset + 3] == flags,
              number(bytes, at: offset + 10, bytes: 2) == UInt64(extraLength),
              bytes[offset + 12] == UInt8(ascii: "O"), bytes[offset + 13] == UInt8(ascii: "R"),
              number(bytes, at: offset + 14, bytes: 2) == UInt64(subfieldLength), bytes[offset + 16] == 1,
              number(bytes, at: offset + headerLength - 2, bytes: 2)
                == UInt64(headerCRC(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + headerLength - 2)])))
        else { return nil }
        let field = offset + 17
        let index = number(bytes, at: field + 8, bytes: 4), count = number(bytes, at: field + 12, bytes: 4)
        guard index < count else { return nil }
        return SpoolChunkStamp(
            body: number(bytes, at: field, bytes: 8), index: Int(index), count: Int(count),
            lineCount: Int(number(bytes, at: field + 16, bytes: 4)), byteCount: Int(number(bytes, at: field + 20, bytes: 8)),
            bodyDigest: Array(bytes[(field + 36)..<(field + 68)]),
            acceptedAt: Int64(bitPattern: number(bytes, at: field + 28, bytes: 8)))
    }

    private static func append(_ value: UInt64, bytes: Int, to array: inout [UInt8]) {
        for index in 0..<bytes { array.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    private static func number(_ bytes: UnsafeRawBufferPointer, at offset: Int, bytes count: Int) -> UInt64 {
        (0..<count).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }
}

/// zlib inflating one raw deflate stream into a scratch buffer, for its length, CRC-32 and size only.
private final class RawInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch = UnsafeMutableRawPointer.allocate(byteCount: 64 << 10, alignment: 16)

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // Negative window bits: a raw deflate stream, no zlib or gzip wrapper.
        let status = inflateInit2_(stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib could not start inflating (status \(status))")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        scratch.deallocate()
    }

    /// The bytes of `input` the deflate stream at its start takes, and the CRC-32 and size of what it
    /// inflates to; nil when it does not end within `input` or is corrupt.
    func inflate(_ input: UnsafeRawBufferPointer) -> (consumed: Int, crc: UInt32, size: Int)? {
        guard inflateReset(stream) == Z_OK, let base = input.baseAddress else { return nil }
        var crc = crc32(0, nil, 0)
        var size = 0
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(clamping: input.count)
        while true {
            stream.pointee.next_out = scratch.assumingMemoryBound(to: UInt8.self)
            stream.pointee.avail_out = 64 << 10
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            let produced = (64 << 10) - Int(stream.pointee.avail_out)
            crc = crc32(crc, scratch.assumingMemoryBound(to: UInt8.self), UInt32(produced))
            size += produced
            if status == Z_STREAM_END { return (input.count - Int(stream.pointee.avail_in), UInt32(crc), size) }
            guard status == Z_OK, produced > 0 || stream.pointee.avail_in > 0 else { return nil }
        }
    }
}
