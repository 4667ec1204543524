import CCRC32
import CZlib
import Foundation
@testable import Ingest
import JobModel
import TestSupport
import Testing

/// The gzip member each request's lines become: exactly the chunk's NDJSON once inflated, whatever
/// mix of pieces (runs of the body, added newlines, rewritten lines) and sizes made it, and with the
/// compressor's memory reused from one request to the next.
@Suite("Line compressor")
struct LineCompressorTests {
    /// A deterministic pseudo-random byte stream (incompressible), without `Foundation`'s generator.
    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test("Pieces of every kind and size inflate to the NDJSON they describe, one compressor reused throughout")
    func piecesInflateToTheirNDJSON() throws {
        let text = Array((0..<3000).map { SenderLog.line(time: String(format: "09:%02d:%02d", $0 / 60 % 60, $0 % 60)) }.joined(separator: "\n").utf8)
        let body = text + Self.noise(1 << 20, seed: 7)
        let cases: [[NDJSONPiece]] = [
            [.body(0..<text.count), .newline],
            (0..<700).flatMap { index in [NDJSONPiece.body(index * 601..<index * 601 + 590), .newline] },
            [.rewritten(Array("{\"a\":1}\n".utf8)), .body(5..<40_000), .newline, .body(100..<200), .rewritten([0x0A]), .body(0..<70_000)],
            [.body(text.count..<body.count), .newline],
            (0..<64).map { NDJSONPiece.body(text.count + $0 * 16_000..<text.count + $0 * 16_000 + 15_999) },
            [.newline],
        ]
        let pool = ReusePool { LineCompressor() }
        try body.withUnsafeBufferPointer { buffer throws in
            for _ in 0..<2 {
                for pieces in cases {
                    var chunk = FiledChunk(domain: "www.example.com", hour: Date(timeIntervalSince1970: 0), lineCount: 1)
                    chunk.pieces = pieces
                    let member = pool.withItem { $0.compress(pieces, in: buffer) }
                    #expect(try Gzip.decompress(member) == chunk.ndjson(in: buffer))
                    #expect(member.starts(with: [0x1F, 0x8B, 8]))
                }
            }
        }
    }

    @Test("The folded CRC-32 is zlib's for every length, offset and starting value; members with it are the bytes ISA-L's own trailer gives, stamped or not")
    func foldedCRCAndTrailer() throws {
        let data = Self.noise(20_000, seed: 3)
        data.withUnsafeBufferPointer { bytes in
            for length in Array(0...700) + [1023, 1024, 1025, 4095, 4096, 4097, 19_990] {
                for offset in [0, 1, 7] where offset + length <= bytes.count {
                    let start = UInt32(truncatingIfNeeded: length &* 2_654_435_761)
                    let zlib = UInt32(crc32(UInt(start), bytes.baseAddress! + offset, UInt32(length)))
                    #expect(crc32_wide(start, bytes.baseAddress! + offset, length) == zlib, "length \(length), offset \(offset)")
                }
            }
        }
        let text = Array((0..<2000).map { SenderLog.line(time: String(format: "09:%02d:%02d", $0 / 60 % 60, $0 % 60)) }.joined(separator: "\n").utf8)
        let stamp = SpoolChunkStamp(
            body: 0x9E37_79B9_7F4A_7C15, index: 0, count: 1, lineCount: 2000, byteCount: text.count, bodyDigest: [UInt8](repeating: 9, count: 32),
            acceptedAt: 1_793_527_200)
        let folded = LineCompressor(), isal = LineCompressor(wideCRC: false)
        try text.withUnsafeBufferPointer { body throws in
            for pieces in [[NDJSONPiece.body(0..<text.count), .newline], [.body(0..<100)], [.newline], (0..<50).map { NDJSONPiece.body($0 * 300..<$0 * 300 + 290) }] {
                for stamp in [stamp, nil] {
                    let member = folded.compress(pieces, in: body, stamp: stamp)
                    #expect(member == isal.compress(pieces, in: body, stamp: stamp))
                    var chunk = FiledChunk(domain: "www.example.com", hour: Date(timeIntervalSince1970: 0), lineCount: 1)
                    chunk.pieces = pieces
                    #expect(try Gzip.decompress(member) == chunk.ndjson(in: body))
                }
            }
        }
    }
}
