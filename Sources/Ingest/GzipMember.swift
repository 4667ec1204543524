#if ISAL
import CISAL
#endif

/// One gzip member of some bytes, compressed by ISA-L at level 1 in one call: how the receiver writes a
/// request's lines into a part file. A part file is the concatenation of its requests' members, which
/// is itself a gzip file (RFC 1952 allows any number of members; gzip, zlib's `inflate` with
/// reset, Python, Go and Java read them all), so it is stored as the part's object byte for byte.
///
/// Deterministic: the same bytes give the same member (a fixed header: no name, time 0).
/// Level 1 is several times faster than zlib's default level, for a somewhat larger output; the
/// spool's disk writes shrink by the logs' compression ratio. Built without ISA-L (the `ISAL` trait
/// off), zlib compresses at its level 1 instead, for more CPU.
public enum GzipMember {
    /// The member header ISA-L writes (RFC 1952): no flags, name or time, XFL 0, OS 255 (unknown).
    package static let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255]

    /// `bytes` as one gzip member.
    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { compress($0) }
    }

    /// The bytes in `bytes` as one gzip member, at ISA-L `level` (0 to 3) with a level buffer of
    /// `levelBufferSize` bytes (0: none, ISA-L's stateless level 1 then uses its internal buffer; levels
    /// 2 and 3 need one).
    package static func compress(_ bytes: UnsafeRawBufferPointer, level: UInt32 = 1, levelBufferSize: Int = 0) -> [UInt8] {
        #if ISAL
        isalCompress(bytes, level: level, levelBufferSize: levelBufferSize)
        #else
        ZlibDeflate.member(of: bytes, level: Int32(level))
        #endif
    }

    #if ISAL
    private static func isalCompress(_ bytes: UnsafeRawBufferPointer, level: UInt32, levelBufferSize: Int) -> [UInt8] {
        // ISA-L's stream state is about 80 KiB: on the heap, zeroed, not on a task's stack.
        let size = MemoryLayout<isal_zstream>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<isal_zstream>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let stream = raw.bindMemory(to: isal_zstream.self, capacity: 1)
        let levelBuffer = levelBufferSize > 0 ? UnsafeMutableRawPointer.allocate(byteCount: levelBufferSize, alignment: 64) : nil
        defer {
            raw.deallocate()
            levelBuffer?.deallocate()
        }
        // Stored blocks, the worst case, add 5 bytes per 64 KiB block to the input, plus header and trailer.
        var capacity = bytes.count + bytes.count / 64 + 1024
        while true {
            var status: Int32 = 0
            // Uninitialised: ISA-L writes the member from the start, and the array is cut to what it wrote.
            let member = [UInt8](unsafeUninitializedCapacity: capacity) { output, count in
                isal_deflate_stateless_init(stream)
                stream.pointee.level = level
                stream.pointee.level_buf = levelBuffer?.assumingMemoryBound(to: UInt8.self)
                stream.pointee.level_buf_size = UInt32(levelBufferSize)
                stream.pointee.gzip_flag = UInt16(IGZIP_GZIP)
                stream.pointee.end_of_stream = 1
                stream.pointee.flush = UInt16(NO_FLUSH)
                stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
                stream.pointee.avail_in = UInt32(bytes.count)
                stream.pointee.next_out = output.baseAddress
                stream.pointee.avail_out = UInt32(output.count)
                status = isal_deflate_stateless(stream)
                count = status == COMP_OK ? Int(stream.pointee.total_out) : 0
            }
            if status == COMP_OK { return member }
            // A valid level and buffer never fail: only a too small output can.
            precondition(status == STATELESS_OVERFLOW, "ISA-L deflate failed (\(status))")
            capacity *= 2
        }
    }
    #endif
}
