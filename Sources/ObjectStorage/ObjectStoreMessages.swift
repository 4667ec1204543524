import Foundation

/// The store's XML documents the client reads and writes.
enum ObjectStoreMessages {
    /// An `<Error>` document.
    struct ErrorDocument: Sendable, Equatable {
        /// `<Code>`, e.g. `NoSuchBucket`.
        var code: String
        /// `<Message>`, possibly empty.
        var message: String
        /// `<RequestId>`, if present.
        var requestID: String?
    }

    /// One page of `ListMultipartUploadsResult`.
    struct UploadsPage: Sendable, Equatable {
        /// The uploads of the page.
        var uploads: [MultipartUploadListing]
        /// Whether another page follows.
        var isTruncated: Bool
        /// The `key-marker` of the next page.
        var nextKeyMarker: String?
        /// The `upload-id-marker` of the next page.
        var nextUploadIDMarker: String?
    }

    /// The error in `body`, if `body` is an `<Error>` document (possibly after streamed whitespace).
    static func error(in body: [UInt8]) -> ErrorDocument? {
        guard let root = try? ObjectStoreXML.parse(body), root.name == "Error" else { return nil }
        return ErrorDocument(
            code: root.value("Code")?.trimmed ?? "", message: root.value("Message")?.trimmed ?? "",
            requestID: root.value("RequestId")?.trimmed.nonEmpty)
    }

    /// The root of `body` if it is named `rootName` (or one of `alternatives`).
    static func document(
        _ body: [UInt8], root rootName: String, alternatives: [String] = []
    ) throws(ObjectStoreXML.MalformedDocument) -> ObjectStoreXML.Element {
        let root = try ObjectStoreXML.parse(body)
        guard root.name == rootName || alternatives.contains(root.name) else {
            throw ObjectStoreXML.MalformedDocument(reason: "the root element is <\(root.name)>, not <\(rootName)>")
        }
        return root
    }

    /// `InitiateMultipartUploadResult/UploadId` (rclone names the root `InitiateMultipartUpload`).
    static func uploadID(in body: [UInt8]) throws(ObjectStoreXML.MalformedDocument) -> String {
        let root = try document(body, root: "InitiateMultipartUploadResult", alternatives: ["InitiateMultipartUpload"])
        guard let uploadID = root.value("UploadId")?.trimmed.nonEmpty else {
            throw ObjectStoreXML.MalformedDocument(reason: "no UploadId")
        }
        return uploadID
    }

    /// `CompleteMultipartUploadResult/ETag`, without quotes.
    static func completedETag(in body: [UInt8]) throws(ObjectStoreXML.MalformedDocument) -> String? {
        let root = try document(body, root: "CompleteMultipartUploadResult")
        return root.value("ETag").flatMap(unquotedETag)
    }

    /// A page of `ListMultipartUploadsResult`.
    ///
    /// An `Initiated` date that cannot be read becomes `Date.distantFuture`, so cleanup by age never
    /// aborts an upload whose age is unknown.
    static func uploadsPage(in body: [UInt8]) throws(ObjectStoreXML.MalformedDocument) -> UploadsPage {
        let root = try document(body, root: "ListMultipartUploadsResult")
        var uploads: [MultipartUploadListing] = []
        for upload in root.children(named: "Upload") {
            guard let key = upload.value("Key"), let uploadID = upload.value("UploadId")?.trimmed.nonEmpty else {
                throw ObjectStoreXML.MalformedDocument(reason: "an Upload without Key or UploadId")
            }
            let initiated = upload.value("Initiated").flatMap { date(fromISO8601: $0.trimmed) } ?? .distantFuture
            uploads.append(MultipartUploadListing(key: key, uploadID: uploadID, initiated: initiated))
        }
        return UploadsPage(
            uploads: uploads, isTruncated: root.value("IsTruncated")?.trimmed.lowercased() == "true",
            nextKeyMarker: root.value("NextKeyMarker"), nextUploadIDMarker: root.value("NextUploadIdMarker"))
    }

    /// The `CompleteMultipartUpload` request body for `parts` (ascending part numbers).
    static func completeBody(parts: [(number: Int, etag: String)]) -> [UInt8] {
        var text = "<CompleteMultipartUpload>"
        for part in parts {
            text += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\"\(escaped(part.etag))\"</ETag></Part>"
        }
        text += "</CompleteMultipartUpload>"
        return Array(text.utf8)
    }

    /// An ETag header or element value without surrounding quotes or spaces (`W/` weak prefix dropped).
    static func unquotedETag(_ value: String) -> String? {
        var text = Substring(value.trimmed)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.hasPrefix("\"") { text = text.dropFirst() }
        if text.hasSuffix("\"") { text = text.dropLast() }
        return text.isEmpty ? nil : String(text)
    }

    /// Parses `2026-11-22T02:49:20Z` or `2026-11-22T02:49:20.123Z` (or with an offset).
    static func date(fromISO8601 text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date
        }
        return try? Date(text, strategy: Date.ISO8601FormatStyle())
    }

    /// `text` with `&`, `<`, `>` and `"` escaped for XML.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

extension String {
    /// Without leading and trailing whitespace and newlines.
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
    /// Nil when empty.
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
