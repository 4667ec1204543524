import CISAL

/// One gzip member of some bytes, compressed by ISA-L at level 1 in one call: how the receiver writes a
/// request's lines into a part file. A part file is the concatenation of its requests' members, which
/// is itself a gzip file (RFC 1952 allows any number of members; gzip, zlib's `inflate` with
/// reset, Python, Go and Java read them all), so it is stored as the part's object byte for byte.
///
/// Deterministic: the same bytes give the same member (ISA-L's fixed header: no name, time 0).
/// Level 1 is several times faster than zlib's default level, for a somewhat larger output; the
/// spool's disk writes shrink by the logs' compression ratio.
public enum GzipMember {
    /// `bytes` as one gzip member.
    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        // ISA-L's stream state is about 80 KiB: on the heap, zeroed, not on a task's stack.
        let size = MemoryLayout<isal_zstream>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<isal_zstream>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let stream = raw.bindMemory(to: isal_zstream.self, capacity: 1)
        defer { raw.deallocate() }
        var capacity = bytes.count + bytes.count / 64 + 1024
        while true {
            var output = [UInt8](repeating: 0, count: capacity)
            let status: Int32 = bytes.withUnsafeBufferPointer { inBuffer in
                output.withUnsafeMutableBufferPointer { outBuffer in
                    isal_deflate_stateless_init(stream)
                    stream.pointee.level = 1
                    stream.pointee.gzip_flag = UInt16(IGZIP_GZIP)
                    stream.pointee.end_of_stream = 1
                    stream.pointee.flush = UInt16(NO_FLUSH)
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                    stream.pointee.avail_in = UInt32(inBuffer.count)
                    stream.pointee.next_out = outBuffer.baseAddress
                    stream.pointee.avail_out = UInt32(outBuffer.count)
                    return isal_deflate_stateless(stream)
                }
            }
            if status == COMP_OK { return Array(output[0..<Int(stream.pointee.total_out)]) }
            // Level 1 with a gzip header is always valid: only a too small output can fail.
            precondition(status == STATELESS_OVERFLOW, "ISA-L deflate failed (\(status))")
            capacity *= 2
        }
    }
}
