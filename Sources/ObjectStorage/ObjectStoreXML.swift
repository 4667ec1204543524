/// A small XML reader for the store's answers: enough for the handful of documents the client reads
/// (`InitiateMultipartUploadResult`, `CompleteMultipartUploadResult`, `ListMultipartUploadsResult`,
/// `Error`), with no dependency on libxml2.
///
/// It builds a tree of elements and their text. It skips the XML declaration, processing instructions,
/// comments and `DOCTYPE`, reads CDATA, decodes the five named entities and numeric character
/// references, ignores attributes and namespace prefixes, and tolerates whitespace streamed before the
/// document (COS's `Complete` does that). Anything else malformed is an error.
enum ObjectStoreXML {
    /// One element: its local name, its own text (entities decoded) and its child elements.
    struct Element: Sendable, Equatable {
        /// The name without namespace prefix, e.g. `UploadId`.
        var name: String
        /// The concatenated text directly inside the element.
        var text: String = ""
        /// Child elements in document order.
        var children: [Element] = []

        /// The first child named `name`.
        func child(_ name: String) -> Element? {
            children.first { $0.name == name }
        }

        /// Every child named `name`, in order.
        func children(named name: String) -> [Element] {
            children.filter { $0.name == name }
        }

        /// The text of the first child named `name`.
        func value(_ name: String) -> String? {
            child(name)?.text
        }
    }

    /// A document that is not well-formed enough to read.
    struct MalformedDocument: Error, Equatable {
        /// What was wrong, with the byte offset.
        var reason: String
    }

    /// The root element of `bytes`.
    static func parse(_ bytes: [UInt8]) throws(MalformedDocument) -> Element {
        var reader = Reader(bytes: bytes)
        return try reader.document()
    }

    /// A cursor over the document's bytes.
    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var stack: [Element] = []
        var root: Element?
        /// Text bytes not yet appended to the innermost element.
        var pendingText: [UInt8] = []

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func document() throws(MalformedDocument) -> Element {
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "<") {
                    try markup()
                } else {
                    if stack.isEmpty {
                        guard isWhitespace(bytes[index]) else { throw failure("text outside the root element") }
                    } else {
                        pendingText.append(bytes[index])
                    }
                    index += 1
                }
            }
            guard stack.isEmpty, let root else { throw failure("the document ends before its root element closes") }
            return root
        }

        /// Reads the markup starting at `<`.
        private mutating func markup() throws(MalformedDocument) {
            if hasPrefix("<?") {
                try skip(past: "?>")
            } else if hasPrefix("<!--") {
                try skip(past: "-->")
            } else if hasPrefix("<![CDATA[") {
                guard !stack.isEmpty else { throw failure("CDATA outside the root element") }
                let start = index + 9
                try skip(past: "]]>")
                pendingText += bytes[start..<(index - 3)]
            } else if hasPrefix("<!") {
                try skip(past: ">")
            } else if hasPrefix("</") {
                let name = try tagName(from: index + 2)
                try skip(past: ">")
                try flushText()
                guard let element = stack.popLast(), element.name == name else {
                    throw failure("unexpected closing tag </\(name)>")
                }
                close(element)
            } else {
                let name = try tagName(from: index + 1)
                let selfClosing = try skipTag()
                try flushText()
                guard root == nil else { throw failure("a second root element <\(name)>") }
                if selfClosing {
                    close(Element(name: name))
                } else {
                    stack.append(Element(name: name))
                }
            }
        }

        /// Attaches a finished element to its parent, or makes it the root.
        private mutating func close(_ element: Element) {
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }

        /// Decodes pending text into the innermost element.
        private mutating func flushText() throws(MalformedDocument) {
            guard !pendingText.isEmpty else { return }
            let text = try decodeEntities(pendingText)
            pendingText.removeAll(keepingCapacity: true)
            if !stack.isEmpty { stack[stack.count - 1].text += text }
        }

        /// The local name of the tag starting at `start` (a `prefix:` is dropped).
        private func tagName(from start: Int) throws(MalformedDocument) -> String {
            var end = start
            while end < bytes.count, !isWhitespace(bytes[end]), bytes[end] != UInt8(ascii: ">"),
                bytes[end] != UInt8(ascii: "/")
            {
                end += 1
            }
            guard end > start, end < bytes.count else { throw failure("a tag without a name") }
            let name = String(decoding: bytes[start..<end], as: UTF8.self)
            return name.split(separator: ":").last.map(String.init) ?? name
        }

        /// Moves past the end of an opening tag, skipping quoted attribute values; returns whether it was
        /// self-closing (`/>`).
        private mutating func skipTag() throws(MalformedDocument) -> Bool {
            var quote: UInt8?
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if let open = quote {
                    if byte == open { quote = nil }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else if byte == UInt8(ascii: ">") {
                    return bytes[index - 2] == UInt8(ascii: "/")
                }
            }
            throw failure("an unterminated tag")
        }

        private func hasPrefix(_ text: String) -> Bool {
            let prefix = Array(text.utf8)
            return bytes.count - index >= prefix.count && bytes[index..<(index + prefix.count)].elementsEqual(prefix)
        }

        /// Moves `index` past the next occurrence of `terminator`.
        private mutating func skip(past terminator: String) throws(MalformedDocument) {
            let end = Array(terminator.utf8)
            var position = index
            while position + end.count <= bytes.count {
                if bytes[position..<(position + end.count)].elementsEqual(end) {
                    index = position + end.count
                    return
                }
                position += 1
            }
            throw failure("no closing \(terminator)")
        }

        private func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
        }

        private func failure(_ reason: String) -> MalformedDocument {
            MalformedDocument(reason: "\(reason) (at byte \(index))")
        }
    }

    /// `text` with `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&apos;`, `&#N;` and `&#xN;` replaced.
    static func decodeEntities(_ text: [UInt8]) throws(MalformedDocument) -> String {
        guard text.contains(UInt8(ascii: "&")) else { return String(decoding: text, as: UTF8.self) }
        var result = ""
        var index = 0
        var plainStart = 0
        while index < text.count {
            guard text[index] == UInt8(ascii: "&") else {
                index += 1
                continue
            }
            result += String(decoding: text[plainStart..<index], as: UTF8.self)
            guard let end = text[index...].firstIndex(of: UInt8(ascii: ";")) else {
                throw MalformedDocument(reason: "an unterminated entity")
            }
            let entity = String(decoding: text[(index + 1)..<end], as: UTF8.self)
            switch entity {
            case "lt": result += "<"
            case "gt": result += ">"
            case "amp": result += "&"
            case "quot": result += "\""
            case "apos": result += "'"
            default:
                let number: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    number = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    number = UInt32(entity.dropFirst())
                } else {
                    number = nil
                }
                guard let number, let scalar = Unicode.Scalar(number) else {
                    throw MalformedDocument(reason: "an unknown entity &\(entity);")
                }
                result.unicodeScalars.append(scalar)
            }
            index = end + 1
            plainStart = index
        }
        return result + String(decoding: text[plainStart...], as: UTF8.self)
    }
}
