import CLineScan

/// What the receiver needs of one JSON object, found without decoding it: where it ends, whether it
/// is structurally sound, and where its top-level `date`, `time` and `x-disid` string values are.
///
/// The scan checks structure only (strings closed, no raw control characters inside them, brackets
/// balanced); values are not decoded, so the line's bytes are stored exactly as sent, escapes included.
struct ScannedObject {
    /// One past the object's closing brace, or the end of the input when it has none.
    var end: Int
    /// Closed, balanced and without raw control characters in strings.
    var valid = false
    /// Contains a raw line break between tokens (a pretty-printed array element).
    var hasLineBreak = false
    /// The value of the top-level `date` field, between its quotes.
    var date: Range<Int>?
    /// The value of the top-level `time` field.
    var time: Range<Int>?
    /// The value of the top-level `x-disid` field (a string or a number).
    var disid: Range<Int>?
}

/// A byte-level scanner over one request body. Pure and allocation-free; `bytes` is the whole body.
enum JSONLineScanner {
    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    private static let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
    private static let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
    private static let colon = UInt8(ascii: ":"), comma = UInt8(ascii: ",")

    /// Whether `byte` is JSON whitespace.
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    /// Scans the object that starts with `{` at `start`, stopping at `limit`.
    ///
    /// Log lines are flat objects, `{"key":value,...}`: this reads that shape directly, each token
    /// where the grammar expects it, with no dispatch on every byte between strings (which mispredicts
    /// on every `:` and `,` of a line). Anything else (a nested value, a stray token, a broken string,
    /// the limit) is left to `scanAnyObject`, from the start, which defines the result; on a flat object
    /// both give the same.
    ///
    /// With `vectored` (the default), `scanFlatObjectVectored` is tried first.
    static func scanObject(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int, vectored: Bool = true) -> ScannedObject {
        if vectored, let found = scanFlatObjectVectored(bytes, from: start, limit: limit) { return found }
        var result = ScannedObject(end: limit)
        var index = start + 1
        /// Skips JSON whitespace, noting raw line breaks; false at the limit.
        func skipSpace() -> Bool {
            while index < limit {
                switch bytes[index] {
                case 0x20, 0x09: index += 1
                case 0x0A, 0x0D:
                    result.hasLineBreak = true
                    index += 1
                default: return true
                }
            }
            return false
        }
        /// The string whose opening quote is at `index`, leaving `index` after its closing quote.
        func string() -> Range<Int>? {
            let contentStart = index + 1
            var cursor = contentStart
            while true {
                cursor = stringStop(bytes, from: cursor, limit: limit)
                guard cursor < limit else { return nil }
                switch bytes[cursor] {
                case backslash: cursor += 2
                case quote:
                    index = cursor + 1
                    return contentStart..<cursor
                default: return nil
                }
            }
        }
        while true {
            guard skipSpace(), bytes[index] == quote, let key = string(), skipSpace(), bytes[index] == colon else { break }
            index += 1
            guard skipSpace() else { break }
            let first = bytes[index]
            if first == quote {
                guard let value = string() else { break }
                record(value, named: key, in: bytes, into: &result)
            } else if first == openBrace || first == openBracket || first == closeBrace || first == closeBracket || first == comma || first == colon
                || first < 0x20
            {
                break
            } else {
                // A bare value (number, literal): up to whitespace, `,` or `}`, as `scanAnyObject` reads it.
                var cursor = index
                while cursor < limit, !isSpace(bytes[cursor]), bytes[cursor] != comma, bytes[cursor] != closeBrace { cursor += 1 }
                record(index..<cursor, named: key, in: bytes, into: &result)
                index = cursor
            }
            guard skipSpace() else { break }
            if bytes[index] == comma {
                index += 1
                continue
            }
            if bytes[index] == closeBrace {
                result.end = index + 1
                result.valid = true
                return result
            }
            break
        }
        return scanAnyObject(bytes, from: start, limit: limit)
    }

    /// Whether this processor runs `scanFlatObjectVectored` (AVX2 and PCLMULQDQ); without them it always
    /// answers nil.
    static let vectoredPathAvailable = line_scan_available() != 0

    /// The flat object at `start` read 64 bytes at a time (`line_scan_flat_object` in `CLineScan`): bit
    /// masks of the bytes that matter, strings found from the unescaped quotes, only the tokens between
    /// strings walked. Nil for anything but a well-formed flat line (then `scanObject` reads it byte by
    /// byte); on the lines it reads, the result is what `scanAnyObject` gives.
    /// `paths` restricts it to the compact path or the token walk, for tests.
    static func scanFlatObjectVectored(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int, paths: VectoredPaths = .all) -> ScannedObject? {
        guard let base = bytes.baseAddress else { return nil }
        var found = line_scan_result()
        guard line_scan_flat_object_using(base, Int64(bytes.count), Int64(start), Int64(limit), paths.rawValue, &found) != 0 else { return nil }
        func range(_ lower: Int64, _ upper: Int64) -> Range<Int>? { lower < 0 ? nil : Int(lower)..<Int(upper) }
        return ScannedObject(
            end: Int(found.end), valid: true, hasLineBreak: found.has_line_break != 0, date: range(found.date_start, found.date_end),
            time: range(found.time_start, found.time_end), disid: range(found.disid_start, found.disid_end))
    }

    /// The ways `scanFlatObjectVectored` reads an object.
    struct VectoredPaths: OptionSet {
        let rawValue: Int32
        /// A line with no whitespace between tokens, checked with bit masks alone.
        static let compact = VectoredPaths(rawValue: Int32(LINE_SCAN_COMPACT))
        /// Any flat line, by walking its tokens.
        static let tokens = VectoredPaths(rawValue: Int32(LINE_SCAN_TOKENS))
        static let all: VectoredPaths = [.compact, .tokens]
    }

    /// Scans the object that starts with `{` at `start`, stopping at `limit`, whatever its shape: a
    /// byte-level state machine over strings, brackets, `:` and `,`.
    static func scanAnyObject(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int) -> ScannedObject {
        var result = ScannedObject(end: limit)
        var depth = 0
        var index = start
        var expectKey = false
        var valuePending = false
        var key: Range<Int>?
        while index < limit {
            let byte = bytes[index]
            if byte == quote {
                // A string: find its end, refusing raw control characters.
                let contentStart = index + 1
                var cursor = contentStart
                var closed = false
                while true {
                    cursor = stringStop(bytes, from: cursor, limit: limit)
                    guard cursor < limit else { break }
                    let c = bytes[cursor]
                    if c == backslash {
                        cursor += 2
                        continue
                    }
                    if c == quote {
                        closed = true
                        break
                    }
                    return result
                }
                guard closed else { return result }
                let content = contentStart..<cursor
                if depth == 1 {
                    if expectKey {
                        key = content
                        expectKey = false
                    } else if valuePending, let name = key {
                        record(content, named: name, in: bytes, into: &result)
                        valuePending = false
                    }
                }
                index = cursor + 1
                continue
            }
            switch byte {
            case openBrace, openBracket:
                depth += 1
                if depth == 1 { expectKey = byte == openBrace }
                valuePending = false
            case closeBrace, closeBracket:
                depth -= 1
                if depth == 0 {
                    result.end = index + 1
                    result.valid = byte == closeBrace
                    return result
                }
            case colon where depth == 1:
                valuePending = true
            case comma where depth == 1:
                expectKey = true
                valuePending = false
            case 0x0A, 0x0D:
                result.hasLineBreak = true
            case 0x20, 0x09:
                break
            default:
                if depth == 1 && valuePending {
                    // A bare value (number, literal): `x-disid` may be a number.
                    var cursor = index
                    while cursor < limit, !isSpace(bytes[cursor]), bytes[cursor] != comma, bytes[cursor] != closeBrace { cursor += 1 }
                    if let name = key { record(index..<cursor, named: name, in: bytes, into: &result) }
                    valuePending = false
                    index = cursor
                    continue
                }
            }
            index += 1
        }
        return result
    }

    /// The first index from `start` (below `limit`) holding `"`, `\` or a control character, or `limit`
    /// (also when `start` is past it). Most of a log line is string content, mostly in short strings:
    /// 16 bytes are compared at once and the first special one is located from the comparison's lanes
    /// (8 lanes per 64-bit word, the lowest set byte first), with no byte-by-byte walk to it. Loads
    /// may read past `limit` but never past the end of `bytes`.
    @inline(__always)
    static func stringStop(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int) -> Int {
        guard let base = bytes.baseAddress.map(UnsafeRawPointer.init) else { return limit }
        var index = start
        let quotes = SIMD16<UInt8>(repeating: quote), backslashes = SIMD16<UInt8>(repeating: backslash)
        let belowSpace = SIMD16<UInt8>(repeating: 0x1F)
        while index < limit && index + 16 <= bytes.count {
            let chunk = base.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
            let special = (chunk .== quotes) .| (chunk .== backslashes) .| (chunk .<= belowSpace)
            // Each lane of the mask is 0x00 or 0xFF; as two words, the first special byte is the lowest set.
            let lanes = unsafeBitCast(special, to: SIMD2<UInt64>.self)
            let low = UInt64(littleEndian: lanes[0]), high = UInt64(littleEndian: lanes[1])
            if low != 0 { return min(index + low.trailingZeroBitCount >> 3, limit) }
            if high != 0 { return min(index + 8 + high.trailingZeroBitCount >> 3, limit) }
            index += 16
        }
        while index < limit {
            let c = bytes[index]
            if c == quote || c == backslash || c < 0x20 { return index }
            index += 1
        }
        return limit
    }

    /// Skips one JSON value of any kind (for an array element that is not an object) and returns
    /// where it ends: at the `,` or `]` that follows it at the array's level, or at `limit`.
    static func skipValue(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int) -> Int {
        var depth = 0
        var index = start
        var inString = false
        while index < limit {
            let byte = bytes[index]
            if inString {
                if byte == backslash { index += 2; continue }
                if byte == quote { inString = false }
            } else if byte == quote {
                inString = true
            } else if byte == openBrace || byte == openBracket {
                depth += 1
            } else if byte == closeBrace || byte == closeBracket {
                if depth == 0 { return index }
                depth -= 1
            } else if byte == comma && depth == 0 {
                return index
            }
            index += 1
        }
        return limit
    }

    private static func record(_ value: Range<Int>, named name: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>, into result: inout ScannedObject) {
        switch name.count {
        case 4 where matches(bytes, name, "date"): result.date = value
        case 4 where matches(bytes, name, "time"): result.time = value
        case 7 where matches(bytes, name, "x-disid"): result.disid = value
        default: break
        }
    }

    private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != expected[offset] { return false }
        return true
    }
}
