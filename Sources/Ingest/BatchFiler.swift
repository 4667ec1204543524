import CLineScan
import Foundation
import JobModel

#if canImport(Glibc)
import Glibc
#endif

/// A piece of a chunk's NDJSON: bytes of the body as they are, a newline, or a line rewritten
/// without its raw line breaks.
package enum NDJSONPiece: Equatable {
    /// These bytes of the body.
    case body(Range<Int>)
    /// One `\n` that the body does not have where it is needed (after an array element).
    case newline
    /// A pretty-printed array element on one line, with its newline.
    case rewritten([UInt8])
}

/// The accepted lines of one body for one domain and event hour, as NDJSON: where they are in the
/// body, not a copy of them. Lines that end in `\n` in the body (`JSON_Newline`) are one piece with
/// their newline, and consecutive such lines one piece in all, so a clean `JSON_Newline` body is a
/// single piece, compressed straight from the request's buffer.
package struct FiledChunk {
    /// The stream domain.
    package var domain: String
    /// The UTC start of the event hour.
    package var hour: Date
    /// How many lines the chunk holds.
    package var lineCount: Int
    /// Bytes of NDJSON: each line's original bytes and a newline.
    package var byteCount = 0
    /// The NDJSON, in order.
    package var pieces: [NDJSONPiece] = []

    /// The NDJSON as one array (for tests and the cost profile; the receiver compresses the pieces).
    package func ndjson(in body: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount)
        for piece in pieces {
            switch piece {
            case .body(let range): bytes.append(contentsOf: UnsafeBufferPointer(rebasing: body[range]))
            case .newline: bytes.append(0x0A)
            case .rewritten(let line): bytes.append(contentsOf: line)
            }
        }
        return bytes
    }

    /// The NDJSON as one array, from `body` as an array.
    package func ndjson(in body: [UInt8]) -> [UInt8] {
        body.withUnsafeBufferPointer { ndjson(in: $0) }
    }

    mutating func append(_ range: Range<Int>) {
        if case .body(let previous) = pieces.last, previous.upperBound == range.lowerBound {
            pieces[pieces.count - 1] = .body(previous.lowerBound..<range.upperBound)
        } else {
            pieces.append(.body(range))
        }
    }
}

/// The lines of one decompressed body, filed by domain and event hour, and the lines set aside.
package struct FiledBatch {
    /// Accepted lines, one chunk per (domain, hour), in order of first appearance.
    package var chunks: [FiledChunk] = []
    /// Lines that are not a JSON object or have no usable date, time or domain.
    package var quarantined: [QuarantinedLine] = []
    /// Accepted lines in all.
    package var acceptedLines: Int { chunks.reduce(0) { $0 + $1.lineCount } }
}

/// Splits a body into lines (`JSON_Array` or `JSON_Newline`, told apart by the first non-blank byte)
/// and files each under its domain and event hour. Pure: no I/O, no clock.
package struct BatchFiler {
    /// The endpoint the body came to: its domain or `x-disid` map.
    let endpoint: IngestEndpoint
    /// The zone of the lines' `date` and `time`.
    let timeZone: TimeZone
    /// Whether lines are read by the vectored scanner first (`JSONLineScanner.scanFlatObjectVectored`).
    let vectored: Bool

    /// A filer for bodies that came to `endpoint`, reading times in `timeZone`. `vectored: false` reads
    /// every line byte by byte, for tests and the benchmark to compare with.
    package init(endpoint: IngestEndpoint, timeZone: TimeZone, vectored: Bool = true) {
        self.endpoint = endpoint
        self.timeZone = timeZone
        self.vectored = vectored
    }

    /// Files `body`.
    package func file(_ body: [UInt8]) -> FiledBatch {
        body.withUnsafeBufferPointer { file($0) }
    }

    /// Files the body in `bytes`.
    package func file(_ bytes: UnsafeBufferPointer<UInt8>) -> FiledBatch {
        var builder = Builder(endpoint: endpoint, eventTime: EventTime(timeZone: timeZone))
        var start = 0
        while start < bytes.count, JSONLineScanner.isSpace(bytes[start]) { start += 1 }
        guard start < bytes.count else { return builder.batch() }
        if bytes[start] == UInt8(ascii: "[") {
            fileArray(bytes, from: start + 1, into: &builder)
        } else {
            fileLines(bytes, into: &builder)
        }
        return builder.batch()
    }

    /// `JSON_Newline`: one object per line; blank lines are skipped.
    private func fileLines(_ bytes: UnsafeBufferPointer<UInt8>, into builder: inout Builder) {
        var lineStart = 0
        while lineStart < bytes.count {
            let base = UnsafeRawPointer(bytes.baseAddress!)
            let lineEnd = memchr(base + lineStart, 0x0A, bytes.count - lineStart).map { base.distance(to: UnsafeRawPointer($0)) } ?? bytes.count
            var first = lineStart
            var last = lineEnd
            while first < last, JSONLineScanner.isSpace(bytes[first]) { first += 1 }
            while last > first, JSONLineScanner.isSpace(bytes[last - 1]) { last -= 1 }
            if first < last {
                if bytes[first] == UInt8(ascii: "{") {
                    let scan = JSONLineScanner.scanObject(bytes, from: first, limit: last, vectored: vectored)
                    if scan.valid && scan.end == last {
                        if builder.add(bytes, first..<last, scan), vectored, lineEnd < bytes.count {
                            // The lines after it that file as it does, read in one call.
                            lineStart = builder.addRun(bytes, from: lineEnd + 1, array: false, like: scan)
                            continue
                        }
                    } else {
                        builder.quarantine(bytes, first..<last, reason: "not a JSON object")
                    }
                } else {
                    builder.quarantine(bytes, first..<last, reason: "not a JSON object")
                }
            }
            lineStart = lineEnd + 1
        }
    }

    /// `JSON_Array`: the elements of one top-level array. A non-object element is quarantined alone;
    /// once the array's own structure breaks, the rest of the body is quarantined as one piece.
    private func fileArray(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, into builder: inout Builder) {
        var index = start
        let limit = bytes.count
        while true {
            while index < limit, JSONLineScanner.isSpace(bytes[index]) { index += 1 }
            guard index < limit else {
                return
            }
            if bytes[index] == UInt8(ascii: "]") { break }
            let elementStart = index
            if bytes[index] == UInt8(ascii: "{") {
                let scan = JSONLineScanner.scanObject(bytes, from: index, limit: limit, vectored: vectored)
                guard scan.valid else {
                    builder.quarantine(bytes, elementStart..<limit, reason: "malformed JSON array")
                    return
                }
                index = scan.end
                if builder.add(bytes, elementStart..<scan.end, scan), vectored {
                    index = builder.addRun(bytes, from: index, array: true, like: scan)
                }
            } else {
                index = JSONLineScanner.skipValue(bytes, from: index, limit: limit)
                var last = index
                while last > elementStart, JSONLineScanner.isSpace(bytes[last - 1]) { last -= 1 }
                builder.quarantine(bytes, elementStart..<last, reason: "not a JSON object")
            }
            while index < limit, JSONLineScanner.isSpace(bytes[index]) { index += 1 }
            guard index < limit else { return }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                break
            } else {
                builder.quarantine(bytes, index..<limit, reason: "malformed JSON array")
                return
            }
        }
    }

    /// Accumulates chunks per (domain, hour). Copies no line: the date and time are read in place,
    /// chunks record where their lines are, and consecutive lines of the same domain and hour (the
    /// usual case) skip the lookup.
    private struct Builder {
        let endpoint: IngestEndpoint
        var eventTime: EventTime
        var order: [ChunkKey: Int] = [:]
        var last: (key: ChunkKey, position: Int)?
        var chunks: [FiledChunk] = []
        var quarantined: [QuarantinedLine] = []

        struct ChunkKey: Hashable {
            var domain: String
            var hour: Int64
        }

        init(endpoint: IngestEndpoint, eventTime: EventTime) {
            self.endpoint = endpoint
            self.eventTime = eventTime
        }

        /// Files the line at `range`; true when `addRun` may add the lines after it that file as it does
        /// (it was accepted on one line, and its event hour holds for its date and hour).
        @discardableResult
        mutating func add(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ scan: ScannedObject) -> Bool {
            guard let dateRange = scan.date, let timeRange = scan.time,
                  let hour = eventTime.hour(date: bytes[dateRange], time: bytes[timeRange])
            else {
                quarantine(bytes, range, reason: "no usable date and time")
                return false
            }
            let domain: String
            if let fixed = endpoint.domain {
                domain = fixed
            } else if let disid = scan.disid, let mapped = endpoint.disidDomains[String(decoding: bytes[disid], as: UTF8.self)] {
                domain = mapped
            } else {
                quarantine(bytes, range, reason: "x-disid not in disid_domains")
                return false
            }
            let position: Int
            if let last, last.key.hour == hour, last.key.domain == domain {
                position = last.position
            } else {
                let key = ChunkKey(domain: domain, hour: hour)
                if let known = order[key] {
                    position = known
                } else {
                    position = chunks.count
                    order[key] = position
                    chunks.append(FiledChunk(domain: domain, hour: Date(timeIntervalSince1970: TimeInterval(hour)), lineCount: 0))
                }
                last = (key, position)
            }
            chunks[position].lineCount += 1
            if scan.hasLineBreak {
                // Raw line breaks can only be whitespace between tokens (inside strings they make the
                // line invalid), so dropping them keeps every value, escapes included, byte for byte.
                let line = Array(bytes[range].lazy.filter { $0 != 0x0A && $0 != 0x0D }) + [0x0A]
                chunks[position].byteCount += line.count
                chunks[position].pieces.append(.rewritten(line))
                return false
            } else if range.upperBound < bytes.count && bytes[range.upperBound] == 0x0A {
                // The line's own newline follows it: the line and its newline are one run of the body.
                chunks[position].byteCount += range.count + 1
                chunks[position].append(range.lowerBound..<range.upperBound + 1)
            } else {
                chunks[position].byteCount += range.count + 1
                chunks[position].append(range)
                chunks[position].pieces.append(.newline)
            }
            return eventTime.cachesLastHour
        }

        /// Files the lines from `start` that file as the line `scan` read, which `add` just filed and
        /// allowed a run after (`line_scan_run`: in C, with nothing decided per line here); returns
        /// where the first other line starts (`JSON_Newline`), or where the last element of the run
        /// ends (`JSON_Array`).
        mutating func addRun(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, array: Bool, like scan: ScannedObject) -> Int {
            guard let base = bytes.baseAddress, let date = scan.date, let time = scan.time, let position = last?.position else { return start }
            let disid = scan.disid ?? 0..<0
            var reference = line_scan_reference(
                date_start: Int64(date.lowerBound), time_start: Int64(time.lowerBound), disid_start: Int64(disid.lowerBound),
                disid_end: Int64(disid.upperBound), match_disid: endpoint.domain == nil ? 1 : 0)
            var next = start
            withUnsafeTemporaryAllocation(of: Int64.self, capacity: 256) { ends in
                while true {
                    let found = Int(line_scan_run(base, Int64(bytes.count), Int64(next), array ? 1 : 0, &reference, ends.baseAddress, Int64(ends.count)))
                    guard found > 0 else { return }
                    chunks[position].lineCount += found
                    if array {
                        for end in ends.prefix(found).lazy.map(Int.init) {
                            chunks[position].byteCount += end - next
                            chunks[position].append(next + 1..<end)
                            chunks[position].pieces.append(.newline)
                            next = end
                        }
                    } else {
                        // Each line with its line feed: one run of the body.
                        let runEnd = Int(ends[found - 1]) + 1
                        chunks[position].byteCount += runEnd - next
                        chunks[position].append(next..<runEnd)
                        next = runEnd
                    }
                    guard found == ends.count else { return }
                }
            }
            return next
        }

        mutating func quarantine(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, reason: String) {
            quarantined.append(QuarantinedLine(domain: endpoint.domain ?? "", reason: reason, bytes: Array(bytes[range])))
        }

        func batch() -> FiledBatch { FiledBatch(chunks: chunks, quarantined: quarantined) }
    }
}
