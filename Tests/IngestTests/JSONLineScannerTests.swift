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

extension JSONLineScannerTests {
    @Test("The flat-object path gives what the general state machine gives, on sender lines with bytes replaced at random and cut at any limit")
    func flatPathAgreesWithStateMachine() {
        let text = Array((0..<200).map { SenderLog.line(time: String(format: "09:%02d:%02d", $0 / 60 % 60, $0 % 60)) }.joined(separator: "\n").utf8)
        let shapes = [
            #"{ "date" : "2026-11-01" ,"time":"09:00:00" , "x-disid" : 12 }"#, "{\"date\":\"2026-11-01\",\n\"time\":\"09:00:00\"}",
            #"{"a":{"date":"x"},"date":"2026-11-01","time":"1"}"#, #"{"a":1,}"#, #"{}"#, #"{"a" "b"}"#, #"{"date":tru"e}"#,
            #"{"a":[1,{"b":2}],"time":"t"}"#, #"{"a":"\"}"}"#, "{\"a\":1\u{01}}", #"{"status":]00}"#, #"{"a"::1}"#, #"{"a":1"#,
        ]
        var samples = shapes.map { Array($0.utf8) }
        let alphabet: [UInt8] = [0x22, 0x5C, 0x01, 0x0A, 0x0D, 0x09, 0x20, 0x7B, 0x7D, 0x2C, 0x3A, 0x5B, 0x5D, 0x30, 0x74]
        var state: UInt64 = 1
        for _ in 0..<4 {
            var mutated = text
            for _ in 0..<1500 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                mutated[Int(state >> 33) % mutated.count] = alphabet[Int(state >> 20) % alphabet.count]
            }
            samples.append(mutated)
        }
        for sample in samples {
            sample.withUnsafeBufferPointer { bytes in
                for start in bytes.indices where bytes[start] == UInt8(ascii: "{") {
                    for limit in Set([bytes.count, min(bytes.count, start + 8), min(bytes.count, start + 300), min(bytes.count, start + 590)]) {
                        let flat = JSONLineScanner.scanObject(bytes, from: start, limit: limit)
                        let general = JSONLineScanner.scanAnyObject(bytes, from: start, limit: limit)
                        #expect(
                            flat.end == general.end && flat.valid == general.valid && flat.hasLineBreak == general.hasLineBreak && flat.date == general.date
                                && flat.time == general.time && flat.disid == general.disid, "at \(start), limit \(limit)")
                    }
                }
            }
        }
    }
}
