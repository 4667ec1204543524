/// Percent-encoding as AWS Signature V4 and the COS signature define it: every byte of the UTF-8 form
/// except `A-Z a-z 0-9 - _ . ~` becomes `%XX` (upper-case hex).
///
/// The same function encodes the URL that is sent and the text that is signed, so the two cannot disagree.
enum URIEncoding {
    /// An encoded `name=value` pair; sorts by name, then value (byte order, as both texts are ASCII).
    struct Pair: Comparable {
        /// The encoded name.
        var name: String
        /// The encoded value.
        var value: String

        /// Orders by name, then by value.
        static func < (lhs: Pair, rhs: Pair) -> Bool {
            lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name
        }
    }

    /// `text` percent-encoded; `/` is kept as is when `keepingSlash` (S3 paths: each segment encoded once).
    static func encode(_ text: String, keepingSlash: Bool = false) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                encoded.append(byte)
            } else {
                encoded.append(UInt8(ascii: "%"))
                encoded.append(digits[Int(byte >> 4)])
                encoded.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// A query string in the given order: `name=value` pairs, encoded, `&`-joined; a nil value gives the
    /// bare name (`?uploads`).
    static func query(_ items: [(name: String, value: String?)]) -> String {
        items.map { item in
            let name = encode(item.name)
            return item.value.map { "\(name)=\(encode($0))" } ?? name
        }.joined(separator: "&")
    }

    /// Whether `byte` is one of `A-Z a-z 0-9 - _ . ~`.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
