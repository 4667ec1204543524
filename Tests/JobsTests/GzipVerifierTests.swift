import CZlib
import Testing

@testable import Jobs

/// Streaming gzip verification: complete, intact members only.
@Suite struct GzipVerifierTests {
    let payload = sampleLogLines(count: 2000)
    let small = sampleLogLines(count: 5)

    @Test func acceptsAValidFileWholeOrByteByByte() throws {
        let file = gzipCompress(payload)
        let whole = try runGzipVerifier([file]).get()
        #expect(whole.members == 1)
        #expect(whole.decompressed == Int64(payload.count))
        let byByte = try runGzipVerifier(file.map { [$0] }).get()
        #expect(byByte.decompressed == Int64(payload.count))
    }

    @Test func rejectsEveryTruncation() {
        let file = gzipCompress(small)
        for cut in 0..<file.count {
            let result = runGzipVerifier([Array(file[..<cut])])
            #expect(result.failure?.code == "download.corrupt_gzip", "cut at \(cut) of \(file.count)")
        }
    }

    @Test func rejectsAFlippedByteAnywhereAfterTheHeaderFields() {
        // Bytes 4...9 (MTIME, XFL, OS) and the FTEXT flag are hints no gzip reader checks;
        // everything else is checked.
        let file = gzipCompress(small)
        for position in Array(0..<4) + Array(10..<file.count) {
            for mask: UInt8 in [0x01, 0x80, 0xFF] where !(position == 3 && mask == 0x01) {
                var corrupt = file
                corrupt[position] ^= mask
                #expect(runGzipVerifier([corrupt]).failure?.code == "download.corrupt_gzip", "byte \(position) ^ \(mask)")
            }
        }
    }

    @Test func acceptsConcatenatedMembersSplitAnywhere() throws {
        let first = gzipCompress(small)
        let second = gzipCompress(Array("second member\n".utf8))
        let both = first + second
        for cut in 0...both.count {
            let summary = try runGzipVerifier([Array(both[..<cut]), Array(both[cut...])]).get()
            #expect(summary.members == 2, "cut \(cut)")
            #expect(summary.decompressed == Int64(small.count + 14))
        }
    }

    @Test func rejectsTrailingGarbage() {
        let file = gzipCompress(small)
        for trailer: [UInt8] in [[0], [0, 0, 0, 0], Array("junk".utf8), [0x1F, 0x8B]] {
            #expect(runGzipVerifier([file + trailer]).failure?.code == "download.corrupt_gzip", "trailer \(trailer)")
            #expect(runGzipVerifier([file, trailer]).failure?.code == "download.corrupt_gzip", "trailer \(trailer)")
        }
    }

    @Test func rejectsNonGzipInput() {
        #expect(runGzipVerifier([]).failure?.code == "download.corrupt_gzip")
        #expect(runGzipVerifier([Array("plain text\n".utf8)]).failure?.code == "download.corrupt_gzip")
        #expect(runGzipVerifier([zlibCompress(small)]).failure?.code == "download.corrupt_gzip")
    }

    @Test func keepsFailingAfterTheFirstError() throws {
        var verifier = try GzipVerifier()
        #expect(throws: TransferError.self) { try Array("nope".utf8).withUnsafeBytes { try verifier.update($0) } }
        let valid = gzipCompress(small)
        #expect(throws: TransferError.self) { try valid.withUnsafeBytes { try verifier.update($0) } }
        #expect(throws: TransferError.self) { try verifier.finish() }
    }
}

/// What a successful verification saw.
struct GzipSummary: Equatable {
    var members: Int
    var decompressed: Int64
}

/// Runs a verifier over `chunks`, then `finish`.
func runGzipVerifier(_ chunks: [[UInt8]]) -> Result<GzipSummary, TransferError> {
    do throws(TransferError) {
        var verifier = try GzipVerifier()
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

fileprivate extension Result {
    /// The error, if this is a failure.
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}

/// Lines shaped like a Tencent access log.
func sampleLogLines(count: Int) -> [UInt8] {
    var text = ""
    for index in 0..<count {
        text += "20190904230\(index % 10) 10.0.\(index % 256).1 www.test.com /img/\(index).png \(index * 37) 22 2 200 - 12 "
        text += "\"Mozilla/5.0\" - GET HTTPS hit \(40_000 + index)\n"
    }
    return Array(text.utf8)
}

/// `data` as one gzip member.
func gzipCompress(_ data: [UInt8]) -> [UInt8] { deflateWithWindowBits(data, 15 + 16) }

/// `data` zlib-wrapped (RFC 1950), which is not gzip.
func zlibCompress(_ data: [UInt8]) -> [UInt8] { deflateWithWindowBits(data, 15) }

private func deflateWithWindowBits(_ data: [UInt8], _ windowBits: Int32) -> [UInt8] {
    // Heap-allocated: zlib rejects a z_stream that moved.
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { deflateEnd(stream); stream.deallocate() }
    let status = deflateInit2_(stream, 6, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
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
