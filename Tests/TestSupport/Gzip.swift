import CZlib

/// gzip for tests: what a sender compresses, and what a stored object holds, in one place.
public enum Gzip {
    /// `bytes` as one gzip member (zlib, level 6).
    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        deflateInit2_(stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, UInt(bytes.count))) + 64)
        var input = bytes
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.pointee.next_in = inBuffer.baseAddress
                stream.pointee.avail_in = UInt32(inBuffer.count)
                stream.pointee.next_out = outBuffer.baseAddress
                stream.pointee.avail_out = UInt32(outBuffer.count)
                deflate(stream, Z_FINISH)
                return outBuffer.count - Int(stream.pointee.avail_out)
            }
        }
        return Array(output[0..<produced])
    }

    /// The bytes of a complete gzip stream, of one member or several; throws `GzipError` when it is not one.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        defer { inflateEnd(stream) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var input = bytes
        var finalStatus = Z_OK
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inBuffer.count)
            while true {
                let (status, produced) = buffer.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    let status = inflate(stream, Z_NO_FLUSH)
                    return (status, out.count - Int(stream.pointee.avail_out))
                }
                result.append(contentsOf: buffer[0..<produced])
                finalStatus = status
                // The end of one member: go on with the next, if any (a stream part is one member per request).
                if status == Z_STREAM_END && stream.pointee.avail_in > 0 {
                    inflateReset(stream)
                    continue
                }
                if status != Z_OK { break }
            }
        }
        guard finalStatus == Z_STREAM_END else { throw GzipError() }
        return result
    }
}

/// Bytes that are not a complete gzip stream.
public struct GzipError: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "not a complete gzip stream" }
}
