import Core
import Foundation
import Testing

/// `JSONOutput` writes the same bytes as Foundation's `JSONEncoder` with sorted keys and unescaped
/// slashes, and `Date.iso8601Seconds` the same as `formatted(.iso8601)`: what `status --json` printed
/// with before them.
@Suite struct JSONOutputTests {
    /// What `JSONEncoder` writes for `value`, as `status --json` configured it.
    static func encoded(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test("every ASCII character, non-ASCII text and line separators are written as JSONEncoder writes them")
    func stringsMatchTheEncoder() throws {
        var everyASCII = ""
        for value in 0..<0x80 { everyASCII.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
        for text in [everyASCII, "", "plain.example.com", "é 😀 \u{2028}\u{2029} 中文", "evil\u{1B}]0;owned\u{7}.gz", "a\"b\\c/d\r\n"] {
            var output = JSONOutput()
            output.value(text)
            #expect(output.text == (try Self.encoded(text)), "\(text.debugDescription)")
            let decoded = try JSONDecoder().decode(String.self, from: Data(output.bytes))
            #expect(decoded == text)
        }
    }

    struct Inner: Encodable {
        var count: Int
        var label: String?
    }

    struct Document: Encodable {
        var big: Int64
        var empty: [Inner]
        var flag: Bool
        var items: [Inner]
        var negative: Int
        var nested: Inner
        var optional: String?
    }

    @Test("objects, arrays, integers, booleans and nil optionals (left out) match the encoder byte for byte")
    func documentsMatchTheEncoder() throws {
        let document = Document(
            big: .max, empty: [], flag: false, items: [Inner(count: 1, label: "one"), Inner(count: 2, label: nil)],
            negative: -42, nested: Inner(count: 0, label: "zero"), optional: nil)
        func write(_ inner: Inner, to output: inout JSONOutput) {
            output.object { fields in
                fields.field("count", inner.count)
                fields.field("label", inner.label)
            }
        }
        var output = JSONOutput()
        output.object { fields in
            fields.field("big", document.big)
            fields.field("empty") { $0.array(document.empty) { write($1, to: &$0) } }
            fields.field("flag", document.flag)
            fields.field("items") { $0.array(document.items) { write($1, to: &$0) } }
            fields.field("negative", document.negative)
            fields.field("nested") { write(document.nested, to: &$0) }
            fields.field("optional", document.optional)
        }
        #expect(output.text == (try Self.encoded(document)))
    }

    @Test("times print as formatted(.iso8601) prints them: UTC, to the second rounded down")
    func isoTimesMatchFoundation() {
        var instants: [TimeInterval] = [0, -1.5, 1_700_000_000.4, 1_700_000_000.9999, 951_782_400, 4_107_542_400, 253_402_300_799, 1e11]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<1_000 { instants.append(TimeInterval(Int64.random(in: -2_000_000_000...8_000_000_000, using: &random)) + 0.5) }
        for instant in instants {
            let date = Date(timeIntervalSince1970: instant)
            #expect(date.iso8601Seconds == date.formatted(.iso8601), "\(instant)")
        }
    }
}
