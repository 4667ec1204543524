import CZlib
import Testing

@testable import Jobs

/// The ISA-L verifier (`GzipVerifier`) accepts and rejects exactly what the zlib one does, on valid
/// and invalid streams, whole and split into chunks. (Built without ISA-L, `GzipVerifier` is the zlib
/// one.)
@Suite struct GzipVerifierAgreementTests {
    let small = sampleLogLines(count: 5)
    let large = sampleLogLines(count: 20_000)

    @Test func agreeOnMultiMemberStreamsWithAnEmptyMember() throws {
        let stream = gzipCompress(small) + gzipCompress([]) + gzipCompress(large) + gzipMember(small, level: 0)
        let expected = GzipSummary(members: 4, decompressed: Int64(2 * small.count + large.count))
        for chunking in [Chunking.whole, .bytes(1), .bytes(4093), .bytes(300_001), .pattern([1, 9, 70_000, 2])] {
            let chunks = chunking.split(stream)
            #expect(try runGzipVerifier(chunks).get() == expected, "\(chunking)")
            #expect(try runZlibGzipVerifier(chunks).get() == expected, "\(chunking)")
        }
        #expect(try runGzipVerifier([gzipCompress([])]).get() == GzipSummary(members: 1, decompressed: 0))
    }

    @Test func agreeOnEveryTruncationOfTwoMembers() throws {
        let first = gzipCompress(small)
        let stream = first + gzipCompress(Array("second\n".utf8))
        for cut in 0..<stream.count where cut != first.count {
            expectBothReject([Array(stream[..<cut])], "cut at \(cut) of \(stream.count)")
            expectBothReject([Array(stream[..<(cut / 2)]), Array(stream[(cut / 2)..<cut])], "cut at \(cut), in two")
        }
        // Cut between the members: a complete, one-member stream.
        let one = GzipSummary(members: 1, decompressed: Int64(small.count))
        #expect(try runGzipVerifier([Array(stream[..<first.count])]).get() == one)
        #expect(try runZlibGzipVerifier([Array(stream[..<first.count])]).get() == one)
    }

    #if ISAL
    @Test func bothRejectABodyThatIsNotGzipAsSoonAsTheirHeaderReadingCanTell() {
        // zlib reads the header two bytes at a time (ID1 ID2, then CM FLG) and judges each pair once it
        // has it; the ISA-L verifier judges each byte.
        let cases: [(body: [UInt8], isalRejects: Bool, zlibRejects: Bool)] = [
            (Array("nope".utf8), true, true), ([0x20], true, false), ([0x1F], false, false),
            ([0x1F, 0x8B, 7], true, false), ([0x1F, 0x8B, 7, 0], true, true), ([0x1F, 0x8B, 8, 0x40], true, true),
            (zlibCompress(small), true, true),
        ]
        for (body, isalRejects, zlibRejects) in cases {
            var isal = try? GzipVerifier()
            var zlib = try? ZlibGzipVerifier()
            let isalFailed = body.withUnsafeBytes { bytes in (try? isal?.update(bytes)) == nil }
            let zlibFailed = body.withUnsafeBytes { bytes in (try? zlib?.update(bytes)) == nil }
            #expect(isalFailed == isalRejects, "ISA-L: \(body.prefix(4))")
            #expect(zlibFailed == zlibRejects, "zlib: \(body.prefix(4))")
        }
    }
    #endif

    @Test func agreeOnABadCRC32OrISizeInALaterMember() {
        let first = gzipCompress(small)
        let second = gzipCompress(large)
        for position in second.count - 8..<second.count {  // CRC32 then ISIZE
            var corrupt = second
            corrupt[position] ^= 0x01
            expectBothReject([first + corrupt], "trailer byte \(position - second.count + 8)")
            expectBothReject(Chunking.bytes(777).split(first + corrupt), "trailer byte \(position - second.count + 8), chunked")
        }
    }

    @Test func agreeOnTrailingGarbage() {
        let stream = gzipCompress(small) + gzipCompress(small)
        for trailer: [UInt8] in [[0], [0, 0, 0, 0], Array(repeating: 0, count: 512), Array("junk".utf8), [0x1F, 0x8B],
            [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]]
        {
            expectBothReject([stream + trailer], "trailer \(trailer.prefix(10))")
            expectBothReject([stream, trailer], "trailer \(trailer.prefix(10)) apart")
        }
    }

    @Test func agreeOnOptionalHeaderFieldsSplitAcrossChunks() throws {
        // FEXTRA, FNAME, FCOMMENT and FHCRC: ISA-L's own header reading inside `isal_inflate` loses the
        // flags when these arrive in pieces, so the verifier must read headers itself.
        let member = gzipMember(large, extra: [1, 2, 3, 4, 5], name: "access.log", comment: "hourly", headerCRC: true)
        let stream = member + gzipMember(small, name: "b.log", headerCRC: true)
        let expected = GzipSummary(members: 2, decompressed: Int64(large.count + small.count))
        for chunking in [Chunking.whole, .bytes(1), .bytes(3), .bytes(11), .pattern([2, 5, 1, 13])] {
            let chunks = chunking.split(stream)
            #expect(try runGzipVerifier(chunks).get() == expected, "\(chunking)")
            #expect(try runZlibGzipVerifier(chunks).get() == expected, "\(chunking)")
        }
    }

    @Test func agreeOnABadHeaderCRCAndReservedFlags() {
        var badHeaderCRC = gzipMember(small, name: "a.log", headerCRC: true)
        badHeaderCRC[16] ^= 0x01  // 10 fixed bytes, "a.log\0" (6), then the header CRC
        var reserved = gzipCompress(small)
        reserved[3] |= 0x20
        for stream in [badHeaderCRC, reserved, gzipCompress(small) + reserved] {
            expectBothReject([stream], "whole")
            expectBothReject(Chunking.bytes(1).split(stream), "byte by byte")
        }
    }

    @Test func agreeOnFlippedBitsAnywhere() {
        let stream = gzipCompress(sampleLogLines(count: 400)) + gzipMember(small, level: 0)
        var random = SplitMix(seed: 11)
        for _ in 0..<300 {
            var corrupt = stream
            let position = Int(random.next() % UInt64(stream.count))
            corrupt[position] ^= UInt8(1 << (random.next() % 8))
            let isal = runGzipVerifier([corrupt])
            let zlib = runZlibGzipVerifier([corrupt])
            switch (isal, zlib) {
            case (.success(let a), .success(let b)):
                // Only MTIME, XFL, OS and FTEXT are unchecked hints.
                #expect(a == b, "bit flip at \(position)")
            case (.failure(let a), .failure(let b)):
                #expect(a.code == "download.corrupt_gzip" && b.code == a.code, "bit flip at \(position)")
            default:
                Issue.record("bit flip at \(position): ISA-L \(isal), zlib \(zlib)")
            }
        }
    }

    @Test func agreeOnIncompressibleDataInStoredAndCodedBlocks() throws {
        let noise = pseudoRandomBytes(count: 3 << 20, seed: 5)
        let stream = gzipMember(noise, level: 0) + gzipMember(noise, level: 6)
        let chunks = Chunking.bytes(65_536).split(stream)
        let expected = GzipSummary(members: 2, decompressed: Int64(2 * noise.count))
        #expect(try runGzipVerifier(chunks).get() == expected)
        #expect(try runZlibGzipVerifier(chunks).get() == expected)
    }

    /// Expects both verifiers to reject `chunks` as corrupt gzip.
    private func expectBothReject(_ chunks: [[UInt8]], _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
        let isal = runGzipVerifier(chunks)
        let zlib = runZlibGzipVerifier(chunks)
        #expect(isal.failureCode == "download.corrupt_gzip", "ISA-L: \(comment)", sourceLocation: sourceLocation)
        #expect(zlib.failureCode == "download.corrupt_gzip", "zlib: \(comment)", sourceLocation: sourceLocation)
    }
}

/// How a test splits a stream into the chunks it feeds.
enum Chunking: CustomStringConvertible {
    case whole
    case bytes(Int)
    case pattern([Int])

    /// `stream` split this way.
    func split(_ stream: [UInt8]) -> [[UInt8]] {
        let sizes: [Int]
        switch self {
        case .whole: return [stream]
        case .bytes(let size): sizes = [size]
        case .pattern(let pattern): sizes = pattern
        }
        var chunks: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + sizes[chunks.count % sizes.count])
            chunks.append(Array(stream[offset..<end]))
            offset = end
        }
        return chunks
    }

    var description: String {
        switch self {
        case .whole: "whole"
        case .bytes(let size): "\(size)-byte chunks"
        case .pattern(let pattern): "chunks of \(pattern)"
        }
    }
}

/// Runs the zlib verifier over `chunks`, then `finish`.
func runZlibGzipVerifier(_ chunks: [[UInt8]]) -> Result<GzipSummary, TransferError> {
    do throws(TransferError) {
        var verifier = try ZlibGzipVerifier()
        for chunk in chunks {
            let failure: TransferError? = chunk.withUnsafeBytes { bytes in
                do throws(TransferError) {
                    try verifier.update(bytes)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
        }
        try verifier.finish()
        return .success(GzipSummary(members: verifier.memberCount, decompressed: verifier.decompressedByteCount))
    } catch {
        return .failure(error)
    }
}

extension Result where Failure == TransferError {
    /// The error's code, if this is a failure.
    var failureCode: String? {
        if case .failure(let error) = self { error.code } else { nil }
    }
}

/// One gzip member of `data` with the optional header fields given (RFC 1952), deflated by zlib.
func gzipMember(
    _ data: [UInt8], level: Int32 = 6, extra: [UInt8]? = nil, name: String? = nil, comment: String? = nil,
    headerCRC: Bool = false
) -> [UInt8] {
    var flags: UInt8 = 0
    if extra != nil { flags |= 0x04 }
    if name != nil { flags |= 0x08 }
    if comment != nil { flags |= 0x10 }
    if headerCRC { flags |= 0x02 }
    var member: [UInt8] = [0x1F, 0x8B, 8, flags, 0, 0, 0, 0, 0, 3]
    if let extra { member += littleEndian(UInt32(extra.count), bytes: 2) + extra }
    if let name { member += Array(name.utf8) + [0] }
    if let comment { member += Array(comment.utf8) + [0] }
    if headerCRC { member += littleEndian(zlibCRC32(member), bytes: 2) }
    member += rawDeflate(data, level: level)
    member += littleEndian(zlibCRC32(data), bytes: 4) + littleEndian(UInt32(truncatingIfNeeded: data.count), bytes: 4)
    return member
}

private func littleEndian(_ value: UInt32, bytes: Int) -> [UInt8] {
    (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

private func zlibCRC32(_ data: [UInt8]) -> UInt32 {
    data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
}

/// `data` as raw deflate (no wrapper) at `level`.
private func rawDeflate(_ data: [UInt8], level: Int32) -> [UInt8] {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { deflateEnd(stream); stream.deallocate() }
    let status = deflateInit2_(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                               Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK)
    var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, UInt(data.count))) + 64)
    var input = data
    let produced = input.withUnsafeMutableBufferPointer { inBuffer in
        output.withUnsafeMutableBufferPointer { outBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inBuffer.count)
            stream.pointee.next_out = outBuffer.baseAddress
            stream.pointee.avail_out = UInt32(outBuffer.count)
            precondition(deflate(stream, Z_FINISH) == Z_STREAM_END)
            return outBuffer.count - Int(stream.pointee.avail_out)
        }
    }
    return Array(output[..<produced])
}

/// SplitMix64, for reproducible random positions.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
