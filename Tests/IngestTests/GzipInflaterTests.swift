import CZlib
import Ingest
import TestSupport
import Testing

/// The receiver's gzip inflate (ISA-L) against zlib's: the same bodies accepted with the same bytes,
/// the same refused, and the decompressed-size limit exact.
@Suite("Gzip request bodies")
struct GzipInflaterTests {
    /// A body of log lines, compressible like real ones.
    static let text = Array((0..<2000).map { SenderLog.line(time: String(format: "09:%02d:%02d", $0 / 60 % 60, $0 % 60)) }.joined(separator: "\n").utf8)

    /// Bodies zlib accepts or refuses, each with a name.
    static var bodies: [(String, [UInt8])] {
        let member = Gzip.compress(text)
        let small = Gzip.compress(Array("{\"a\":1}\n".utf8))
        var badCRC = member
        badCRC[badCRC.count - 8] ^= 1
        var badSize = member
        badSize[badSize.count - 1] ^= 1
        var reservedFlag = member
        reservedFlag[3] |= 0x20
        var badMethod = member
        badMethod[2] = 7
        var corruptData = member
        corruptData[member.count / 2] ^= 0xFF
        // FLG.FNAME and FLG.FEXTRA: optional header fields zlib skips.
        let named = [UInt8]([0x1F, 0x8B, 8, 0x0C, 0, 0, 0, 0, 0, 3, 4, 0, 0x41, 0x42, 0x43, 0x44]) + Array("name.json".utf8) + [0] + small.dropFirst(10)
        return [
            ("one member", member), ("two members", small + member), ("three members", member + small + small),
            ("zero padding", member + [UInt8](repeating: 0, count: 100)), ("optional header fields", named),
            ("empty", []), ("not gzip", Array("{\"date\":\"2026-11-01\"}".utf8)), ("garbage after a member", member + [1, 2, 3]),
            ("a second member cut short", member + small.dropLast(3)), ("wrong CRC-32", badCRC), ("wrong size", badSize),
            ("reserved flag", reservedFlag), ("unknown method", badMethod), ("corrupt data", corruptData),
        ] + stride(from: 1, to: member.count, by: max(1, member.count / 40)).map { ("cut at \($0)", Array(member[..<$0])) }
    }

    @Test("Accepts and refuses what zlib does, with the same decompressed bytes", arguments: bodies.map(\.0))
    func agreesWithZlib(name: String) throws {
        let body = Self.bodies.first { $0.0 == name }!.1
        let expected = Result { () throws(GzipInflater.Failure) in try ZlibInflater.inflate(body, limit: 1 << 24) }
        let actual = Result { () throws(GzipInflater.Failure) in try GzipInflater.inflate(body, limit: 1 << 24) }
        #expect(actual == expected)
    }

    @Test("A body of exactly the limit is inflated; one byte more is refused as too large")
    func limitIsExact() throws {
        let body = Gzip.compress(Self.text) + Gzip.compress(Array("x".utf8))
        #expect(try GzipInflater.inflate(body, limit: Self.text.count + 1) == Self.text + Array("x".utf8))
        #expect(throws: GzipInflater.Failure.tooLarge) { try GzipInflater.inflate(body, limit: Self.text.count) }
        #expect(throws: GzipInflater.Failure.tooLarge) { try GzipInflater.inflate(Gzip.compress(Self.text), limit: Self.text.count - 1) }
    }

    @Test("A gzip bomb (64 MiB of zeros in 64 KiB) is refused against a 1 MiB limit")
    func bombRefused() throws {
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 64 << 20))
        #expect(bomb.count < 1 << 17)
        #expect(throws: GzipInflater.Failure.tooLarge) { try GzipInflater.inflate(bomb, limit: 1 << 20) }
    }
}

/// The receiver's former inflate, zlib in gzip mode with a reset between members: the reference.
enum ZlibInflater {
    static func inflate(_ input: [UInt8], limit: Int) throws(GzipInflater.Failure) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw .corrupt }
        defer { inflateEnd(stream) }
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var failure: GzipInflater.Failure?
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

extension GzipInflaterTests {
    @Test("A reused buffer, grown by a large body, still refuses a later body at the limit")
    func reusedBufferKeepsTheLimit() throws {
        let buffer = InflateBuffer()
        let large = Gzip.compress(Self.text + Self.text)
        let small = Gzip.compress(Self.text)
        let count = large.withUnsafeBytes { bytes in try? GzipInflater.inflate(bytes, limit: 1 << 24, into: buffer) { $0.count } }
        #expect(count == 2 * Self.text.count)
        small.withUnsafeBytes { bytes in
            #expect(throws: GzipInflater.Failure.tooLarge) { try GzipInflater.inflate(bytes, limit: Self.text.count - 1, into: buffer) { $0.count } }
            #expect((try? GzipInflater.inflate(bytes, limit: Self.text.count, into: buffer) { Array($0) }) == Self.text)
        }
    }
}
