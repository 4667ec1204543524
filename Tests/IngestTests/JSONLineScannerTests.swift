import Foundation
import JobModel
import TestSupport
import Testing

@testable import Ingest

/// The line scanner's vectorised search and the filing built on it, against byte-by-byte references:
/// every start, limit and position of a special byte, including those near a 16-byte load's edges and
/// the end of the body.
@Suite("JSON line scanner")
struct JSONLineScannerTests {
    /// The first index in `start..<limit` holding `"`, `\` or a control character, or `limit`.
    static func referenceStop(_ bytes: [UInt8], from start: Int, limit: Int) -> Int {
        var index = start
        while index < limit {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return index }
            index += 1
        }
        return limit
    }

    @Test("stringStop finds the first quote, backslash or control byte from every start to every limit")
    func stringStopAgreesWithByteByByte() {
        for special in [UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x00, 0x0A, 0x1F] {
            for position in 0..<40 {
                // Plain bytes around one special one; 0x20 and 0x7F and 0xFF are not special.
                var bytes = (0..<40).map { [UInt8(ascii: "a"), 0x20, 0x7F, 0xFF, UInt8(ascii: "]")][$0 % 5] }
                bytes[position] = special
                bytes.withUnsafeBufferPointer { buffer in
                    for start in 0...bytes.count {
                        for limit in start...bytes.count {
                            let found = JSONLineScanner.stringStop(buffer, from: start, limit: limit)
                            #expect(found == Self.referenceStop(bytes, from: start, limit: limit), "special \(special) at \(position), \(start)..<\(limit)")
                        }
                    }
                }
            }
        }
    }

    @Test("Long string values with escapes at every offset are stored byte for byte; a raw control byte quarantines the line")
    func escapesAtEveryOffset() {
        let filer = BatchFiler(endpoint: IngestEndpoint(path: "/logs", domain: "www.example.com", headers: [:]), timeZone: TimeZone(identifier: "UTC")!)
        for offset in 0..<40 {
            let padding = String(repeating: "p", count: offset)
            let good = SenderLog.line(uri: "/\(padding)\\\"\\u2028\\\\x\(padding)")
            let bad = SenderLog.line(uri: "/\(padding)\u{01}\(padding)")
            let body = Array((good + "\n" + bad + "\n" + good).utf8)
            let filed = filer.file(body)
            #expect(filed.acceptedLines == 2)
            #expect(filed.chunks.first?.ndjson(in: body) == Array((good + "\n" + good + "\n").utf8))
            #expect(filed.quarantined.map(\.bytes) == [Array(bad.utf8)])
            // The same lines as a JSON_Array, each element ending at the body's last bytes in turn.
            let array = Array(("[" + good + "," + good + "]").utf8)
            #expect(filer.file(array).chunks.first?.ndjson(in: array) == Array((good + "\n" + good + "\n").utf8))
            let unclosed = Array(("{\"date\":\"2026-11-01\",\"time\":\"09:00:00\",\"u\":\"\(padding)").utf8)
            #expect(filer.file(unclosed).acceptedLines == 0)
            #expect(filer.file(unclosed).quarantined.count == 1)
        }
    }
}
