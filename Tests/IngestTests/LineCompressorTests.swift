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
}
