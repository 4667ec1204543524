/// Writes JSON straight into a byte buffer, for documents printed often enough that Foundation's
/// `JSONEncoder` shows: `status --json` on a thousand domains spent about a quarter of its time there
/// (the encoder builds a tree of boxed values, sorts each object's keys, then writes it).
///
/// The bytes are those `JSONEncoder` writes with `.sortedKeys` and `.withoutEscapingSlashes`: keys must
/// be given in sorted order (checked in debug builds), a nil optional leaves its key out, strings escape
/// only `"`, `\` and the control characters below U+0020 (`\b \t \n \f \r` by name, the others as
/// `\u00xx`).
package struct JSONOutput {
    /// The JSON written so far, UTF-8.
    package private(set) var bytes: [UInt8] = []

    /// The document written so far.
    package var text: String { String(decoding: bytes, as: UTF8.self) }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    package init() {}

    /// The last key written in each object still open, innermost last (nil before its first field).
    private var openObjects: [String?] = []

    /// Writes an object whose fields `body` adds with `field`, in sorted key order.
    package mutating func object(_ body: (inout JSONOutput) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        openObjects.append(nil)
        body(&self)
        openObjects.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// Adds `key` to the innermost open object and lets `body` write its value.
    package mutating func field(_ key: String, _ body: (inout JSONOutput) -> Void) {
        precondition(!openObjects.isEmpty, "JSON field \(key) outside an object")
        if let last = openObjects[openObjects.count - 1] {
            assert(last.utf8.lexicographicallyPrecedes(key.utf8), "JSON key \(key) after \(last): keys must be sorted")
            bytes.append(UInt8(ascii: ","))
        }
        openObjects[openObjects.count - 1] = key
        value(key)
        bytes.append(UInt8(ascii: ":"))
        body(&self)
    }

    package mutating func field(_ key: String, _ number: some BinaryInteger) {
        field(key) { $0.value(number) }
    }

    package mutating func field(_ key: String, _ flag: Bool) {
        field(key) { $0.value(flag) }
    }

    /// Adds `key` with `text`; nothing when `text` is nil (as `JSONEncoder` leaves out a nil optional).
    package mutating func field(_ key: String, _ text: String?) {
        guard let text else { return }
        field(key) { $0.value(text) }
    }

    /// Writes an array with one element per item of `items`, each written by `element`.
    package mutating func array<Items: Sequence>(_ items: Items, _ element: (inout JSONOutput, Items.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    package mutating func value(_ number: some BinaryInteger) {
        bytes.append(contentsOf: String(number).utf8)
    }

    package mutating func value(_ flag: Bool) {
        bytes.append(contentsOf: (flag ? "true" : "false").utf8)
    }

    package mutating func value(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            // Runs of bytes that need no escape are copied whole.
            var start = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[start..<index]))
                appendEscaped(byte)
                start = index + 1
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        default:
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            bytes.append(Self.hexDigits[Int(byte >> 4)])
            bytes.append(Self.hexDigits[Int(byte & 0x0F)])
        }
    }
}
