import Core
import Crypto
import Foundation

/// One request to the store before signing: what the client wants, whatever the dialect.
struct ObjectStoreRequest: Sendable {
    /// What travels as the body.
    enum Body: Sendable {
        /// No body.
        case empty
        /// A small body held in memory (XML), hashed into the SigV4 signature.
        case bytes([UInt8])
        /// `length` bytes of the file at `path` from `offset`, streamed in chunks and not hashed
        /// (`UNSIGNED-PAYLOAD`); `Content-MD5` protects it instead.
        case file(path: String, offset: Int64, length: Int64)

        /// The body's length in bytes.
        var length: Int64 {
            switch self {
            case .empty: 0
            case .bytes(let bytes): Int64(bytes.count)
            case .file(_, _, let length): length
            }
        }
    }

    /// `HEAD`, `GET`, `PUT`, `POST` or `DELETE`.
    var method: String
    /// The object key, or nil for a request on the bucket itself.
    var key: String?
    /// Query parameters, decoded, in the order they are sent; a nil value is a bare name.
    var query: [(name: String, value: String?)] = []
    /// Headers to send and sign besides the ones signing adds (`content-md5`, `content-type`), lower-case.
    var headers: [(name: String, value: String)] = []
    /// The body.
    var body: Body = .empty
}

/// A request ready to send: the URL, every header (`Authorization` included) and, for tests, the text the
/// signature covers.
struct SignedObjectStoreRequest: Sendable {
    /// The full URL, path and query encoded.
    var url: String
    /// Every header to send, names lower-case; `content-length` is left to the HTTP client, which derives
    /// it from the body.
    var headers: [(name: String, value: String)]
    /// The SigV4 canonical request, or the COS HttpString.
    var canonicalRequest: String

    /// The value of header `name` (lower-case), if sent.
    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

extension ObjectStoreRequest {
    /// Signs the request for `address` with the configuration's dialect and credentials at `date`.
    ///
    /// S3: adds `host`, `x-amz-date`, `x-amz-content-sha256` (`UNSIGNED-PAYLOAD` for a file body, the
    /// body's SHA-256 otherwise) and `x-amz-security-token`, and signs them with the request's own headers.
    /// COS: adds `host` and `x-cos-security-token`, and signs them with the request's own headers, every
    /// query parameter, and `content-length` for `PUT` and `POST` (the HTTP client sends it for those).
    func signed(
        for address: ObjectStoreAddress, configuration: ObjectStoreConfiguration, at date: Date
    ) -> SignedObjectStoreRequest {
        let path = address.path(forKey: key)
        let url = address.url(path: path, query: query)
        let credentials = configuration.credentials
        var headers: [(name: String, value: String)] = [("host", address.host)]
        switch configuration.dialect {
        case .s3:
            let payloadHash: String
            switch body {
            case .empty: payloadHash = SHA256.hash(data: [UInt8]()).hexString
            case .bytes(let bytes): payloadHash = SHA256.hash(data: bytes).hexString
            case .file: payloadHash = SigV4Signer.unsignedPayload
            }
            let amzDate = SigV4Signer.amzDate(for: date)
            headers.append(("x-amz-content-sha256", payloadHash))
            headers.append(("x-amz-date", amzDate))
            if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
            headers += self.headers
            let signature = SigV4Signer(credentials: credentials, region: configuration.signingRegion).sign(
                SigV4Signer.Request(
                    method: method, path: path, query: query, headers: headers, payloadHash: payloadHash),
                amzDate: amzDate)
            headers.append(("authorization", signature.authorization))
            return SignedObjectStoreRequest(url: url, headers: headers, canonicalRequest: signature.canonicalRequest)
        case .cos:
            if let token = credentials.sessionToken { headers.append(("x-cos-security-token", token)) }
            headers += self.headers
            var signedHeaders = headers
            if method == "PUT" || method == "POST" { signedHeaders.append(("content-length", String(body.length))) }
            let signature = COSSigner(credentials: credentials).sign(
                COSSigner.Request(method: method, path: path, parameters: query, headers: signedHeaders),
                keyTime: COSSigner.keyTime(now: date))
            headers.append(("authorization", signature.authorization))
            return SignedObjectStoreRequest(url: url, headers: headers, canonicalRequest: signature.httpString)
        }
    }
}

extension ObjectStoreRequest {
    /// `HEAD /<key>`.
    static func head(key: String) -> Self {
        Self(method: "HEAD", key: key)
    }

    /// `PUT /<key>` of a file region with `Content-MD5`.
    static func putObject(
        key: String, filePath: String, offset: Int64, length: Int64, contentMD5: [UInt8]
    ) throws(ObjectStoreError) -> Self {
        try fileUpload(key: key, query: [], filePath: filePath, offset: offset, length: length, contentMD5: contentMD5)
    }

    /// `POST /<key>?uploads`.
    static func createMultipartUpload(key: String) -> Self {
        Self(method: "POST", key: key, query: [("uploads", nil)])
    }

    /// `PUT /<key>?partNumber=N&uploadId=ID` of a file region with `Content-MD5`.
    static func uploadPart(
        key: String, uploadID: String, partNumber: Int, filePath: String, offset: Int64, length: Int64,
        contentMD5: [UInt8]
    ) throws(ObjectStoreError) -> Self {
        guard (1...ObjectStoreClient.maxPartNumber).contains(partNumber) else {
            throw ObjectStoreError.permanent(
                "store.invalid_request",
                "part number \(partNumber) of \(key) is outside 1...\(ObjectStoreClient.maxPartNumber)")
        }
        return try fileUpload(
            key: key, query: [("partNumber", String(partNumber)), ("uploadId", uploadID)], filePath: filePath,
            offset: offset, length: length, contentMD5: contentMD5)
    }

    /// `POST /<key>?uploadId=ID` with the `CompleteMultipartUpload` XML, parts in ascending order.
    static func completeMultipartUpload(
        key: String, uploadID: String, parts: [(number: Int, etag: String)]
    ) throws(ObjectStoreError) -> Self {
        guard !parts.isEmpty else {
            throw ObjectStoreError.permanent("store.invalid_request", "completing an upload of \(key) needs parts")
        }
        let body = ObjectStoreMessages.completeBody(parts: parts.sorted { $0.number < $1.number })
        return Self(
            method: "POST", key: key, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")],
            body: .bytes(body))
    }

    /// `DELETE /<key>?uploadId=ID`.
    static func abortMultipartUpload(key: String, uploadID: String) -> Self {
        Self(method: "DELETE", key: key, query: [("uploadId", uploadID)])
    }

    /// `GET /?uploads&prefix=P[&key-marker=K&upload-id-marker=U]` on the bucket.
    static func listMultipartUploads(prefix: String, after markers: (key: String, uploadID: String)?) -> Self {
        var query: [(name: String, value: String?)] = [("uploads", nil)]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let markers {
            query.append(("key-marker", markers.key))
            query.append(("upload-id-marker", markers.uploadID))
        }
        return Self(method: "GET", key: nil, query: query)
    }

    /// A PUT of a file region with `Content-MD5`; checks the digest's length and the region.
    private static func fileUpload(
        key: String, query: [(name: String, value: String?)], filePath: String, offset: Int64, length: Int64,
        contentMD5: [UInt8]
    ) throws(ObjectStoreError) -> Self {
        guard contentMD5.count == 16, offset >= 0, length >= 0 else {
            throw ObjectStoreError.permanent(
                "store.invalid_request",
                "an upload of \(key) needs a 16-byte MD5 (got \(contentMD5.count)) and a non-negative region")
        }
        return Self(
            method: "PUT", key: key, query: query,
            headers: [("content-md5", Data(contentMD5).base64EncodedString())],
            body: .file(path: filePath, offset: offset, length: length))
    }

    /// Throws the retryable `store.file` unless the body's file holds the whole region to send.
    func checkFileBody() throws(ObjectStoreError) {
        guard case .file(let path, let offset, let length) = body else { return }
        let size: Int64?
        do {
            size = try FileIO.regularFileSize(path)
        } catch {
            throw ObjectStoreError.retryable("store.file", "cannot upload \(path): \(error)")
        }
        guard let size, size >= offset + length else {
            throw ObjectStoreError.retryable(
                "store.file", "\(path) is shorter than the \(length) bytes at \(offset) to upload to \(key ?? "")")
        }
    }
}
