import CZlib

/// Undoes `Content-Encoding: gzip` (one or more members) without ever holding more than `limit` bytes
/// of output: a gzip bomb is refused as soon as its output passes the limit, having inflated only that
/// much.
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
        // Allocated: zlib checks that every call passes the address the stream was initialised at.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw .corrupt }
        defer { inflateEnd(stream) }
        var output = [UInt8]()
        output.reserveCapacity(min(limit, max(input.count * 4, 1 << 16)))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var failure: Failure?
        input.withUnsafeBufferPointer { inputBytes in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBytes.baseAddress)
            stream.pointee.avail_in = UInt32(inputBytes.count)
            buffer.withUnsafeMutableBufferPointer { out in
                while true {
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    let status = CZlib.inflate(stream, Z_NO_FLUSH)
                    let produced = out.count - Int(stream.pointee.avail_out)
                    if output.count + produced > limit {
                        failure = .tooLarge
                        return
                    }
                    output.append(contentsOf: out[0..<produced])
                    if status == Z_STREAM_END {
                        // Another member may follow (concatenated gzip); trailing zero padding is tolerated.
                        guard stream.pointee.avail_in > 0 else { return }
                        let rest = UnsafeBufferPointer(start: stream.pointee.next_in, count: Int(stream.pointee.avail_in))
                        if rest.allSatisfy({ $0 == 0 }) { return }
                        guard inflateReset(stream) == Z_OK else { failure = .corrupt; return }
                        continue
                    }
                    guard status == Z_OK || (status == Z_BUF_ERROR && produced > 0) else {
                        failure = .corrupt
                        return
                    }
                    if stream.pointee.avail_in == 0 && produced == 0 {
                        failure = .corrupt
                        return
                    }
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
