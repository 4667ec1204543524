import Foundation

extension ObjectStoreClient {
    /// The most parts one multipart upload may have (S3 and COS).
    public static let maxPartNumber = 10_000

    /// Starts a multipart upload of `key` (`POST /<key>?uploads`) and returns its upload id.
    public func createMultipartUpload(key: String) async throws -> String {
        let response = try await send(.createMultipartUpload(key: key))
        try response.requireSuccess()
        do {
            return try ObjectStoreMessages.uploadID(in: response.body)
        } catch {
            throw response.malformed(error.reason)
        }
    }

    /// Uploads part `partNumber` (1...10000) of `uploadID`: `length` bytes of the file at `filePath` from
    /// `offset`, streamed in 1 MiB chunks, with `Content-MD5` (base64 of `contentMD5`, 16 bytes).
    ///
    /// The result's ETag is what `completeMultipartUpload` needs for this part; COS also returns the
    /// part's CRC64.
    public func uploadPart(
        key: String, uploadID: String, partNumber: Int, filePath: String, offset: Int64, length: Int64,
        contentMD5: [UInt8]
    ) async throws -> UploadResult {
        let request = try ObjectStoreRequest.uploadPart(
            key: key, uploadID: uploadID, partNumber: partNumber, filePath: filePath, offset: offset,
            length: length, contentMD5: contentMD5)
        let response = try await send(request)
        try response.requireSuccess()
        return UploadResult(etag: response.etag, crc64: try response.crc64())
    }

    /// Completes `uploadID` from `parts` (sent in ascending part-number order whatever order they come
    /// in) and returns the object's ETag (`<hex>-<count>`, not an MD5) and, from COS, its CRC64.
    ///
    /// COS and S3 answer 200 at once and may stream whitespace until the object is assembled, so an
    /// `<Error>` can arrive inside a 200 body: it is parsed and thrown like any other error answer.
    public func completeMultipartUpload(
        key: String, uploadID: String, parts: [(number: Int, etag: String)]
    ) async throws -> UploadResult {
        let request = try ObjectStoreRequest.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts)
        let response = try await send(request)
        try response.requireSuccess()
        if let error = ObjectStoreMessages.error(in: response.body) {
            throw ObjectStoreErrorClassifier.classify(
                status: response.status, document: error, requestID: response.requestID, context: response.context)
        }
        let etag: String?
        do {
            etag = try ObjectStoreMessages.completedETag(in: response.body)
        } catch {
            throw response.malformed(error.reason)
        }
        return UploadResult(etag: etag ?? response.etag, crc64: try response.crc64())
    }

    /// Aborts `uploadID` (`DELETE /<key>?uploadId=...`), discarding its parts. An upload the store no
    /// longer knows (404 `NoSuchUpload`) counts as aborted.
    public func abortMultipartUpload(key: String, uploadID: String) async throws {
        let response = try await send(.abortMultipartUpload(key: key, uploadID: uploadID))
        if response.status == 404, ObjectStoreMessages.error(in: response.body)?.code == "NoSuchUpload" { return }
        try response.requireSuccess()
    }

    /// Every multipart upload in progress whose key starts with `prefix`, reading every page
    /// (`key-marker` / `upload-id-marker`).
    public func listMultipartUploads(prefix: String) async throws -> [MultipartUploadListing] {
        var uploads: [MultipartUploadListing] = []
        var markers: (key: String, uploadID: String)?
        while true {
            let response = try await send(.listMultipartUploads(prefix: prefix, after: markers))
            // rclone's S3 server answers a listing with no upload in progress 404 `NoSuchUpload`.
            if response.status == 404, ObjectStoreMessages.error(in: response.body)?.code == "NoSuchUpload" { return uploads }
            try response.requireSuccess()
            let page: ObjectStoreMessages.UploadsPage
            do {
                page = try ObjectStoreMessages.uploadsPage(in: response.body)
            } catch {
                throw response.malformed(error.reason)
            }
            uploads += page.uploads
            guard page.isTruncated else { return uploads }
            let next = (key: page.nextKeyMarker ?? page.uploads.last?.key ?? "",
                        uploadID: page.nextUploadIDMarker ?? page.uploads.last?.uploadID ?? "")
            guard !next.key.isEmpty, next.key != markers?.key || next.uploadID != markers?.uploadID else {
                throw response.malformed("a truncated upload listing without new NextKeyMarker/NextUploadIdMarker")
            }
            markers = next
        }
    }
}
