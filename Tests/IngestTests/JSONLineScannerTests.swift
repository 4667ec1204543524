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
        let alphabet: [UInt8] = [0x22, 0x5C, 0x01, 0x0A, 0x0D, 0x09, 0x20, 0x7B, 0x7D, 0x2C, 0x3A, 0x5B, 0x5D, 0x30, 0x74, 0x2B, 0x2D, 0x7C, 0x3D]
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
                        for paths in [JSONLineScanner.VectoredPaths.compact, .tokens] {
                            if let vectored = JSONLineScanner.scanFlatObjectVectored(bytes, from: start, limit: limit, paths: paths) {
                                #expect(Self.same(vectored, general), "at \(start), limit \(limit), paths \(paths.rawValue)")
                            }
                        }
                        #expect(
                            flat.end == general.end && flat.valid == general.valid && flat.hasLineBreak == general.hasLineBreak && flat.date == general.date
                                && flat.time == general.time && flat.disid == general.disid, "at \(start), limit \(limit)")
                    }
                }
            }
        }
    }
}

extension JSONLineScannerTests {
    /// Whether two scans agree on everything the filer reads.
    static func same(_ left: ScannedObject, _ right: ScannedObject) -> Bool {
        left.end == right.end && left.valid == right.valid && left.hasLineBreak == right.hasLineBreak && left.date == right.date
            && left.time == right.time && left.disid == right.disid
    }

    @Test("The vectored path is on exactly where the processor has AVX2 and PCLMULQDQ, reads every clean sender line there, in both formats, and gives what the general state machine gives")
    func vectoredPathReadsSenderLines() throws {
        // What the kernel says of this processor (x86-64 Linux); elsewhere the path is off.
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        #expect(JSONLineScanner.vectoredPathAvailable == (flags.contains("avx2") && flags.contains("pclmulqdq")))
        guard JSONLineScanner.vectoredPathAvailable else { return }
        let lines = (0..<300).map { index in
            SenderLog.line(
                time: String(format: "09:%02d:%02d", index / 60 % 60, index % 60) + (index % 2 == 0 ? ":123" : ""),
                uri: "/p" + String(repeating: "x", count: index % 70) + "?a=1\\u0026b=\\\"q\\\\", bytes: index * 37,
                extra: index % 3 == 0 ? #", "x-disid" : "77" , "note":"\u2028\t\\""# : "")
        }
        let newline = Array(lines.joined(separator: "\n").utf8)
        let array = Array(("[" + lines.joined(separator: ",\n ") + "]").utf8)
        // A third of the lines have spaces between tokens: the token walk reads them, the compact path
        // the others.
        for (paths, expected) in [(JSONLineScanner.VectoredPaths.all, 300), (.compact, 200), (.tokens, 300)] {
            for body in [newline, array] {
                body.withUnsafeBufferPointer { bytes in
                    var read = 0
                    for start in bytes.indices where bytes[start] == UInt8(ascii: "{") && (start == 0 || bytes[start - 1] != UInt8(ascii: ":")) {
                        guard let vectored = JSONLineScanner.scanFlatObjectVectored(bytes, from: start, limit: bytes.count, paths: paths) else { continue }
                        read += 1
                        #expect(Self.same(vectored, JSONLineScanner.scanAnyObject(bytes, from: start, limit: bytes.count)), "at \(start)")
                    }
                    #expect(read == expected, "paths \(paths.rawValue)")
                }
            }
        }
    }

    @Test("The vectored path agrees with the general state machine with any special byte at any offset around its 64-byte blocks")
    func vectoredPathAgreesAtBlockEdges() {
        // A flat line long enough to span several blocks; each variant puts one special byte (or a
        // backslash pair, or a run of backslashes) at one offset, and cuts the body at several limits,
        // including the end of the buffer, where the last block is read through a padded copy.
        let line = Array(SenderLog.line(uri: "/a" + String(repeating: "b", count: 150)).utf8)
        let specials: [[UInt8]] = [
            [0x22], [0x5C], [0x5C, 0x5C], [0x5C, 0x22], [0x5C, 0x5C, 0x5C], [0x01], [0x0A], [0x0D], [0x09], [0x20], [0x7B], [0x7D], [0x5B],
            [0x5D], [0x3A], [0x2C], [0x30], [0xE2, 0x80, 0xA8],
            // Bytes that share a nibble with one the scanner looks for, which a wrong class table
            // would take for it: `+`, `-`, `P`, `|`, `*`, `;`, `<`, `=`, DEL, and 0xDC, 0xAD.
            [0x2B], [0x2D], [0x50], [0x7C], [0x2A], [0x3B], [0x3C], [0x3D], [0x7F], [0xDC], [0xAD],
        ]
        for special in specials {
            for offset in 1..<(line.count - 1) {
                var body = line
                body.replaceSubrange(offset..<min(line.count - 1, offset + special.count), with: special)
                body.withUnsafeBufferPointer { bytes in
                    for limit in Set([bytes.count, bytes.count - 1, min(bytes.count, 64), min(bytes.count, 128), min(bytes.count, offset + 1)]) {
                        let general = JSONLineScanner.scanAnyObject(bytes, from: 0, limit: limit)
                        for paths in [JSONLineScanner.VectoredPaths.compact, .tokens] {
                            if let vectored = JSONLineScanner.scanFlatObjectVectored(bytes, from: 0, limit: limit, paths: paths) {
                                #expect(Self.same(vectored, general), "special \(special) at \(offset), limit \(limit), paths \(paths.rawValue)")
                            }
                        }
                        #expect(Self.same(JSONLineScanner.scanObject(bytes, from: 0, limit: limit), general), "special \(special) at \(offset), limit \(limit)")
                    }
                }
            }
        }
    }
}

extension JSONLineScannerTests {
    @Test("Filing with the vectored scanner gives the same chunks, NDJSON and quarantine as filing byte by byte, on sender bodies with bytes replaced at random")
    func vectoredFilingMatchesBytewiseFiling() {
        let endpoint = IngestEndpoint(path: "/logs", disidDomains: ["12345": "a.example", "77": "b.example"])
        let utc = TimeZone(identifier: "UTC")!
        let vectored = BatchFiler(endpoint: endpoint, timeZone: utc)
        let bytewise = BatchFiler(endpoint: endpoint, timeZone: utc, vectored: false)
        let lines = (0..<240).map { index in
            SenderLog.line(
                date: index % 50 == 7 ? "2026-02-30" : "2026-11-01", time: String(format: "%02d:%02d:%02d", index / 40, index % 60, index % 59),
                uri: "/p\(index)?a=1\\u0026b=\\\"q\\\\", bytes: index, extra: index % 4 == 0 ? #", "x-disid" : "77""# : "")
        }
        var bodies = [Array(lines.joined(separator: "\n").utf8), Array(("[" + lines.joined(separator: ",\n ") + "]").utf8)]
        let alphabet: [UInt8] = [0x22, 0x5C, 0x01, 0x0A, 0x0D, 0x09, 0x20, 0x7B, 0x7D, 0x2C, 0x3A, 0x5B, 0x5D, 0x30, 0x74]
        var state: UInt64 = 7
        for round in 0..<24 {
            var mutated = bodies[round % 2]
            for _ in 0..<[3, 30, 300][round % 3] {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                mutated[Int(state >> 33) % mutated.count] = alphabet[Int(state >> 20) % alphabet.count]
            }
            bodies.append(mutated)
        }
        for (index, body) in bodies.enumerated() {
            let fast = vectored.file(body), slow = bytewise.file(body)
            #expect(fast.chunks.map { [$0.domain, "\($0.hour)", "\($0.lineCount)"] } == slow.chunks.map { [$0.domain, "\($0.hour)", "\($0.lineCount)"] }, "body \(index)")
            #expect(fast.chunks.map { $0.ndjson(in: body) } == slow.chunks.map { $0.ndjson(in: body) }, "body \(index)")
            #expect(fast.quarantined == slow.quarantined, "body \(index)")
            if index < 2 { #expect(fast.acceptedLines > 200 && fast.quarantined.count == 5, "body \(index)") }
        }
    }
}

extension JSONLineScannerTests {
    @Test("A run of lines filed in one call stops at every line that files otherwise: another date, hour or x-disid, a time out of range, another shape")
    func runsStopAtEveryDifferentLine() {
        let utc = TimeZone(identifier: "UTC")!
        let mapped = IngestEndpoint(path: "/logs", disidDomains: ["12345": "a.example", "77": "b.example"])
        let fixed = IngestEndpoint(path: "/logs", domain: "c.example")
        // Each odd line differs from the others (all 2026-11-01, hour 09, x-disid 12345) in one way.
        let odd = [
            SenderLog.line(date: "2026-11-02"), SenderLog.line(date: "2026-11-1"), SenderLog.line(time: "10:27:10"),
            SenderLog.line(time: "19:27:10"), SenderLog.line(time: "09:60:10"), SenderLog.line(time: "09:27:61"),
            SenderLog.line(time: "09:27:60"), SenderLog.line(time: "09:27:1x"), SenderLog.line(time: "09:2a:10"),
            SenderLog.line(time: "09:27:10:12x"), SenderLog.line(time: "09:27:10.123"), SenderLog.line(time: "09:27:10;123"),
            SenderLog.line(time: "09-27:10"), SenderLog.line(time: "09:27:100"), SenderLog.line(extra: #","x-disid":77"#),
            SenderLog.line(extra: #","x-disid":1234"#), SenderLog.line(extra: #","x-disid":"12345""#), SenderLog.line(extra: #", "a":1"#),
            SenderLog.line().replacingOccurrences(of: #""date""#, with: #""datum""#), SenderLog.line() + " ", "\r" + SenderLog.line(),
            SenderLog.line().replacingOccurrences(of: #""cached":1"#, with: #""cached":[1]"#), "", "[]", "{}",
        ]
        for endpoint in [mapped, fixed] {
            let vectored = BatchFiler(endpoint: endpoint, timeZone: utc)
            let bytewise = BatchFiler(endpoint: endpoint, timeZone: utc, vectored: false)
            for (index, line) in odd.enumerated() {
                for at in [1, 2, 7] {
                    var lines = (0..<9).map { SenderLog.line(time: String(format: "09:%02d:%02d", $0 * 7, $0)) }
                    lines.insert(line, at: at)
                    for body in [lines.joined(separator: "\n") + "\n", "[" + lines.joined(separator: ",") + "]"].map({ Array($0.utf8) }) {
                        let fast = vectored.file(body), slow = bytewise.file(body)
                        let label = "odd line \(index) at \(at), \(endpoint.domain ?? "mapped"), \(body[0] == UInt8(ascii: "[") ? "array" : "newline")"
                        #expect(fast.chunks.map { [$0.domain, "\($0.hour)", "\($0.lineCount)"] } == slow.chunks.map { [$0.domain, "\($0.hour)", "\($0.lineCount)"] }, "\(label)")
                        #expect(fast.chunks.map { $0.ndjson(in: body) } == slow.chunks.map { $0.ndjson(in: body) }, "\(label)")
                        #expect(fast.quarantined == slow.quarantined, "\(label)")
                    }
                }
            }
        }
        // Where the zone's offset is not whole hours, the minutes move the hour: no run.
        let kolkata = BatchFiler(endpoint: fixed, timeZone: TimeZone(identifier: "Asia/Kolkata")!)
        let lines = (0..<6).map { SenderLog.line(time: String(format: "09:%02d:00", $0 * 10)) }
        for body in [lines.joined(separator: "\n") + "\n", "[" + lines.joined(separator: ",") + "]"].map({ Array($0.utf8) }) {
            #expect(kolkata.file(body).chunks.map(\.lineCount) == [3, 3])
        }
    }
}
