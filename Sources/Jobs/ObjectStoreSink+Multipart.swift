import Core
import Foundation
import JobModel
import Logging
import ObjectStorage

extension ObjectStoreSink {
    /// A multipart upload being worked on: its id and the verified parts it already has.
    private struct OpenUpload: Sendable {
        var uploadID: String
        var done: [Int: UploadedPart]
    }

    /// Uploads `file` in parts, resuming the upload the ledger records for `key` when it is of the same
    /// file cut the same way, and verifies the assembled object. Returns the object's ETag.
    func storeInParts(_ file: SpooledFile, at key: String) async throws -> String? {
        let plan = MultipartPlan(fileSize: file.size, minimumPartSize: minimumPartSize)
        if let stored = try await storedCopy(of: file, at: key, plan: plan) {
            // A previous attempt completed the upload but did not live to record it.
            await discardUpload(forKey: key)
            logger.debug("identical object already stored", metadata: ["object.key": "\(key)"])
            return stored.etag
        }
        var startedOver = false
        while true {
            let upload = try await openUpload(for: file, at: key, plan: plan)
            do {
                return try await finish(upload, of: file, at: key, plan: plan)
            } catch let error as ObjectStoreError where Self.isNoSuchUpload(error) && !startedOver {
                // Aborted behind our back (stale-upload cleanup, a lifecycle rule): its parts are gone.
                logger.warning(
                    "the store no longer knows the multipart upload; starting it over",
                    metadata: ["object.key": "\(key)", "upload.id": "\(upload.uploadID)"])
                try await recordingInLedger("forget the upload", key: key) {
                    try await ledger.endMultipartUpload(key: key, uploadID: upload.uploadID)
                }
                startedOver = true
            } catch {
                if let error = error as? any ClassifiedError, !error.isRetryable {
                    await abort(key: key, uploadID: upload.uploadID, reason: error.description)
                }
                throw error
            }
        }
    }

    /// The HEAD of `key` when it already holds `file`, else nil. Beyond what `existingObject` tells,
    /// this recognizes an S3 multipart ETag of the same part count by computing it from the file (a pass
    /// over the file, made only when the object has the right size and ETag form).
    private func storedCopy(of file: SpooledFile, at key: String, plan: MultipartPlan) async throws -> ObjectHead? {
        guard let head = try await client.head(key: key), head.size == file.size else { return nil }
        if let crc64 = head.crc64 { return crc64 == file.crc64 ? head : nil }
        if let md5 = Self.plainMD5(head.etag) { return md5 == file.md5 ? head : nil }
        guard let etag = head.etag?.lowercased(), etag.hasSuffix("-\(plan.partCount)") else { return nil }
        var partMD5s: [String] = []
        for number in 1...plan.partCount {
            try Task.checkCancellation()
            let range = plan.range(ofPart: number)
            partMD5s.append(try await Self.digests(ofFileAt: file.path, offset: range.offset, length: range.length, key: key).md5Hex)
        }
        return MultipartPlan.multipartETag(partMD5s: partMD5s) == etag ? head : nil
    }

    /// The ledger's upload for `key` when it is of the same file and part size; otherwise a new upload
    /// (the recorded one, of other bytes, is aborted).
    private func openUpload(for file: SpooledFile, at key: String, plan: MultipartPlan) async throws -> OpenUpload {
        let recorded = try await recordingInLedger("read the upload", key: key) {
            try await ledger.multipartUpload(forKey: key)
        }
        if let recorded, recorded.fileSize == file.size, recorded.fileCRC64 == file.crc64, recorded.partSize == plan.partSize {
            var done: [Int: UploadedPart] = [:]
            for part in recorded.parts where part.number <= plan.partCount && part.size == plan.range(ofPart: part.number).length {
                done[part.number] = part
            }
            logger.info(
                "resuming a multipart upload",
                metadata: [
                    "object.key": "\(key)", "upload.id": "\(recorded.uploadID)", "upload.parts": "\(plan.partCount)",
                    "upload.parts_done": "\(done.count)",
                ])
            return OpenUpload(uploadID: recorded.uploadID, done: done)
        }
        if let recorded {
            await abort(key: key, uploadID: recorded.uploadID, reason: "another file is being uploaded to the key")
        }
        let uploadID = try await client.createMultipartUpload(key: key)
        do {
            try await recordingInLedger("record the new upload", key: key) {
                try await ledger.beginMultipartUpload(
                    key: key, uploadID: uploadID, fileSize: file.size, fileCRC64: file.crc64, partSize: plan.partSize,
                    now: clock.now)
            }
        } catch {
            await abort(key: key, uploadID: uploadID, reason: "the upload could not be recorded")
            throw error
        }
        logger.debug(
            "multipart upload started",
            metadata: ["object.key": "\(key)", "upload.id": "\(uploadID)", "upload.parts": "\(plan.partCount)"])
        return OpenUpload(uploadID: uploadID, done: [:])
    }

    /// Uploads the missing parts, completes the upload, forgets it, verifies the object, and returns its
    /// ETag.
    private func finish(_ upload: OpenUpload, of file: SpooledFile, at key: String, plan: MultipartPlan) async throws -> String? {
        var parts = upload.done
        for part in try await uploadParts(
            (1...plan.partCount).filter { upload.done[$0] == nil }, of: file, at: key, uploadID: upload.uploadID, plan: plan)
        {
            parts[part.number] = part
        }
        let ordered = (1...plan.partCount).compactMap { parts[$0] }
        guard ordered.count == plan.partCount else {
            throw TransferError.retryable("sink.parts_missing", "\(key): only \(ordered.count) of \(plan.partCount) parts were uploaded")
        }
        return try await complete(uploadID: upload.uploadID, of: file, at: key, parts: ordered, plan: plan, how: "in parts")
    }

    /// Completes an upload whose `ordered` parts are all sent: checks that their CRC64s combine into
    /// the whole file's (proof that parts recorded in an earlier attempt and those sent now together
    /// make this file; the upload is aborted otherwise), completes it, forgets it in the ledger,
    /// verifies the object, and returns its ETag as HEAD reports it.
    func complete(
        uploadID: String, of file: SpooledFile, at key: String, parts ordered: [UploadedPart], plan: MultipartPlan, how: String
    ) async throws -> String? {
        let combined = ordered.dropFirst().reduce(ordered[0].crc64) { CRC64.combine($0, $1.crc64, secondLength: $1.size) }
        guard combined == file.crc64 else {
            await abort(key: key, uploadID: uploadID, reason: "its parts do not make the file")
            throw mismatch(key: key, "the uploaded parts have CRC64 \(combined) together, the file has \(file.crc64)")
        }
        let result = try await client.completeMultipartUpload(
            key: key, uploadID: uploadID, parts: ordered.map { (number: $0.number, etag: $0.etag) })
        do {
            try await ledger.endMultipartUpload(key: key, uploadID: uploadID)
        } catch {
            // The object is complete; the stale record only costs a failed abort at the next cleanup.
            logger.warning(
                "cannot forget a completed multipart upload in the ledger",
                metadata: ["object.key": "\(key)", "upload.id": "\(uploadID)", "error.message": "\(error)"])
        }
        let verifiedByHead = try await verifyAssembled(
            file, at: key, result: result, expectedETag: MultipartPlan.multipartETag(partMD5s: ordered.map(\.md5)))
        logger.debug(
            "object uploaded \(how)",
            metadata: ["object.key": "\(key)", "object.bytes": "\(file.size)", "upload.parts": "\(plan.partCount)"])
        // The ETag as HEAD reports it, not as Complete did: stores differ there (rclone answers Complete
        // with the multipart form and HEAD with the whole object's MD5). One HEAD per large file.
        if let verifiedByHead { return verifiedByHead.etag }
        return try await client.head(key: key)?.etag
    }

    /// Uploads `numbers`, `partConcurrency` at a time. After the first failure no new part starts, but
    /// the parts in flight finish and are recorded, so a retry has as little left to do as possible.
    private func uploadParts(
        _ numbers: [Int], of file: SpooledFile, at key: String, uploadID: String, plan: MultipartPlan
    ) async throws -> [UploadedPart] {
        let outcome = await withTaskGroup(of: Result<UploadedPart, any Error>.self) { group in
            var pending = numbers.makeIterator()
            var uploaded: [UploadedPart] = []
            var failure: (any Error)?
            var inFlight = 0
            repeat {
                while inFlight < partConcurrency, failure == nil, !Task.isCancelled, let number = pending.next() {
                    group.addTask {
                        do {
                            return .success(try await uploadPart(number, of: file, at: key, uploadID: uploadID, plan: plan))
                        } catch {
                            return .failure(error)
                        }
                    }
                    inFlight += 1
                }
                guard let result = await group.next() else { break }
                inFlight -= 1
                switch result {
                case .success(let part): uploaded.append(part)
                case .failure(let error): failure = Self.moreTelling(failure, error)
                }
            } while true
            return (uploaded: uploaded, failure: failure)
        }
        if let failure = outcome.failure { throw failure }
        try Task.checkCancellation()
        return outcome.uploaded
    }

    /// Digests part `number`, uploads it with `Content-MD5`, checks what the store returns, records it.
    private func uploadPart(
        _ number: Int, of file: SpooledFile, at key: String, uploadID: String, plan: MultipartPlan
    ) async throws -> UploadedPart {
        let range = plan.range(ofPart: number)
        let digests = try await Self.digests(ofFileAt: file.path, offset: range.offset, length: range.length, key: key)
        return try await sendPart(number, of: file.path, range: range, digests: digests, at: key, uploadID: uploadID)
    }

    /// Uploads part `number`, the `range` of the file at `path` whose digests are `digests`, with
    /// `Content-MD5`, checks what the store returns, and records it in the ledger.
    func sendPart(
        _ number: Int, of path: String, range: (offset: Int64, length: Int64), digests: RangeDigests, at key: String, uploadID: String
    ) async throws -> UploadedPart {
        let result = try await client.uploadPart(
            key: key, uploadID: uploadID, partNumber: number, filePath: path, offset: range.offset,
            length: range.length, contentMD5: digests.md5)
        guard let etag = result.etag, !etag.isEmpty else {
            throw mismatch(key: key, "the store returned no ETag for part \(number)")
        }
        if let md5 = Self.plainMD5(etag), md5 != digests.md5Hex {
            throw mismatch(key: key, "the store reports MD5 \(md5) for part \(number), which has \(digests.md5Hex)")
        }
        if let crc64 = result.crc64, crc64 != digests.crc64 {
            throw mismatch(key: key, "the store reports CRC64 \(crc64) for part \(number), which has \(digests.crc64)")
        }
        let part = UploadedPart(number: number, size: range.length, etag: etag, md5: digests.md5Hex, crc64: digests.crc64)
        try await recordingInLedger("record part \(number)", key: key) {
            try await ledger.recordPart(part, key: key, uploadID: uploadID)
        }
        logger.trace("part uploaded", metadata: ["object.key": "\(key)", "upload.part": "\(number)"])
        return part
    }

    /// Checks the completed object: the returned CRC64 (COS) or the computable S3 multipart ETag settle
    /// it; otherwise (COS's multipart ETag is not computable, some stores return none) a HEAD does.
    /// Returns that HEAD, nil when none was needed.
    func verifyAssembled(_ file: SpooledFile, at key: String, result: UploadResult, expectedETag: String) async throws -> ObjectHead? {
        if let crc64 = result.crc64 {
            guard crc64 == file.crc64 else {
                throw mismatch(key: key, "the store reports CRC64 \(crc64) for the object, the file has \(file.crc64)")
            }
            return nil
        }
        if result.etag?.lowercased() == expectedETag { return nil }
        guard let head = try await client.head(key: key) else {
            throw mismatch(key: key, "the store completed the upload but HEAD finds no object")
        }
        guard head.size == file.size else {
            throw mismatch(key: key, "the stored object has \(head.size) bytes, not \(file.size)")
        }
        if let crc64 = head.crc64, crc64 != file.crc64 {
            throw mismatch(key: key, "the store reports CRC64 \(crc64) for the object, the file has \(file.crc64)")
        }
        if head.crc64 == nil, let md5 = Self.plainMD5(head.etag), md5 != file.md5 {
            throw mismatch(key: key, "the store reports MD5 \(md5) for the object, the file has \(file.md5)")
        }
        if head.crc64 == nil, let etag = head.etag?.lowercased(), etag.contains("-"), etag != expectedETag {
            throw mismatch(key: key, "the store reports ETag \(etag) for the object, the parts make \(expectedETag)")
        }
        return head
    }

    /// Whether `error` says the upload id is unknown to the store.
    static func isNoSuchUpload(_ error: ObjectStoreError) -> Bool {
        error.code == "NoSuchUpload"
    }

    /// Of two failures of parts, the one to report: a permanent error decides the upload's fate (abort),
    /// and cancellation is the least telling.
    static func moreTelling(_ current: (any Error)?, _ new: any Error) -> any Error {
        guard let current else { return new }
        if current is CancellationError { return new }
        if let new = new as? any ClassifiedError, !new.isRetryable, (current as? any ClassifiedError)?.isRetryable ?? true {
            return new
        }
        return current
    }
}
