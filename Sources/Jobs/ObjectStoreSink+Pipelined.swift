import Core
import Foundation
import JobModel
import Logging
import ObjectStorage

extension ObjectStoreSink: PipelinedObjectSink {
    /// The file CRC-64 a streamed upload records in the ledger when it begins, before the file's is
    /// known. Such a record is resumed part by part (each recorded part reused only when the bytes
    /// downloaded again have its size, CRC64 and MD5), never by the file's CRC64; `store(_:at:)` starts
    /// it over. A real file whose CRC64 is 0 only costs that restart.
    static let streamedFileCRC64: UInt64 = 0

    /// Files that would go up in parts (`multipartThreshold` bytes or more) are uploaded while they
    /// download.
    public func storesWhileDownloading(size: Int64) -> Bool {
        size > 0 && size >= multipartThreshold
    }

    /// Uploads the package `download` writes in parts as they are written, `partConcurrency` at a time,
    /// and completes the upload once `download` returned and the parts' CRC64s make the file's. See
    /// `PipelinedObjectSink` for when the upload is aborted or kept.
    ///
    /// Resumes the ledger's upload for `key` when it is of a file of `size` bytes cut the same way:
    /// a part recorded there is not sent again when the same part of this download has its size, CRC64
    /// and MD5. A part being sent when the process dies is sent again after the restart.
    public func store(
        size: Int64, at key: String, downloadingWith download: @escaping @Sendable (PartCutting) async throws -> SpooledFile
    ) async throws -> (file: SpooledFile, etag: String?) {
        let plan = MultipartPlan(fileSize: size, minimumPartSize: minimumPartSize)
        let upload = try await Self.asTransferError { try await openStreamedUpload(at: key, plan: plan) }
        let (parts, written) = AsyncStream.makeStream(of: SpooledPart.self)
        let cutting = PartCutting(partSize: plan.partSize, fileSize: size) { written.yield($0) }

        enum Outcome: Sendable {
            case downloaded(Result<SpooledFile, any Error>)
            case uploaded(Result<[UploadedPart], any Error>)
        }
        enum Failure { case download(any Error), upload(any Error) }
        let (file, uploaded, failure) = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                defer { written.finish() }
                do {
                    return .downloaded(.success(try await download(cutting)))
                } catch {
                    return .downloaded(.failure(error))
                }
            }
            group.addTask {
                do {
                    return .uploaded(.success(try await uploadStreamedParts(parts, of: upload, at: key)))
                } catch {
                    return .uploaded(.failure(error))
                }
            }
            var file: SpooledFile?
            var uploaded: [UploadedPart] = []
            var failure: Failure?
            while let outcome = await group.next() {
                switch outcome {
                case .downloaded(.success(let value)): file = value
                case .uploaded(.success(let value)): uploaded = value
                case .downloaded(.failure(let error)):
                    // The first failure is the cause; the other side then fails by cancellation.
                    if failure == nil { failure = .download(error) }
                    group.cancelAll()
                case .uploaded(.failure(let error)):
                    if failure == nil { failure = .upload(error) }
                    group.cancelAll()
                }
            }
            return (file, uploaded, failure)
        }

        switch failure {
        case .download(let error):
            if let classified = error as? any ClassifiedError, !classified.isUnavailability, !Task.isCancelled {
                await abort(key: key, uploadID: upload.uploadID, reason: "the download failed verification: \(classified.code)")
            }
            throw error
        case .upload(let error):
            throw await giveUp(upload, at: key, after: error)
        case nil:
            break
        }
        guard let file else { throw CancellationError() }
        let etag = try await Self.asTransferError {
            try await complete(upload, of: file, at: key, plan: plan, parts: uploaded)
        }
        return (file, etag)
    }

    /// A multipart upload being streamed: its id and the parts the ledger already has.
    struct StreamedUpload: Sendable {
        var uploadID: String
        var recorded: [Int: UploadedPart]
    }

    /// The ledger's upload for `key` when it is of a file of the plan's size and part size; otherwise a
    /// new one (the recorded one, of another file, is aborted).
    private func openStreamedUpload(at key: String, plan: MultipartPlan) async throws -> StreamedUpload {
        let recorded = try await recordingInLedger("read the upload", key: key) {
            try await ledger.multipartUpload(forKey: key)
        }
        if let recorded, recorded.fileSize == plan.fileSize, recorded.partSize == plan.partSize {
            var parts: [Int: UploadedPart] = [:]
            for part in recorded.parts where part.number <= plan.partCount && part.size == plan.range(ofPart: part.number).length {
                parts[part.number] = part
            }
            logger.info(
                "resuming a multipart upload",
                metadata: [
                    "object.key": "\(key)", "upload.id": "\(recorded.uploadID)", "upload.parts": "\(plan.partCount)",
                    "upload.parts_done": "\(parts.count)", "upload.streamed": "true",
                ])
            return StreamedUpload(uploadID: recorded.uploadID, recorded: parts)
        }
        if let recorded {
            await abort(key: key, uploadID: recorded.uploadID, reason: "another file is being uploaded to the key")
        }
        let uploadID = try await client.createMultipartUpload(key: key)
        do {
            try await recordingInLedger("record the new upload", key: key) {
                try await ledger.beginMultipartUpload(
                    key: key, uploadID: uploadID, fileSize: plan.fileSize, fileCRC64: Self.streamedFileCRC64,
                    partSize: plan.partSize, now: clock.now)
            }
        } catch {
            await abort(key: key, uploadID: uploadID, reason: "the upload could not be recorded")
            throw error
        }
        logger.debug(
            "multipart upload started while downloading",
            metadata: ["object.key": "\(key)", "upload.id": "\(uploadID)", "upload.parts": "\(plan.partCount)"])
        return StreamedUpload(uploadID: uploadID, recorded: [:])
    }

    /// Uploads each part as it is written, `partConcurrency` at a time, reusing a recorded part with the
    /// same bytes. After the first failure no new part starts; the parts in flight finish and are
    /// recorded, so a retry has as little left to do as possible.
    private func uploadStreamedParts(
        _ parts: AsyncStream<SpooledPart>, of upload: StreamedUpload, at key: String
    ) async throws -> [UploadedPart] {
        let outcome = await withTaskGroup(of: Result<UploadedPart, any Error>.self) { group in
            var uploaded: [UploadedPart] = []
            var failure: (any Error)?
            var inFlight = 0
            func collect(_ result: Result<UploadedPart, any Error>) {
                inFlight -= 1
                switch result {
                case .success(let part): uploaded.append(part)
                case .failure(let error): failure = Self.moreTelling(failure, error)
                }
            }
            for await part in parts {
                if let recorded = upload.recorded[part.number], recorded.size == part.length, recorded.crc64 == part.crc64,
                    recorded.md5 == part.md5.hexString
                {
                    uploaded.append(recorded)
                    continue
                }
                while inFlight >= partConcurrency, let result = await group.next() { collect(result) }
                if failure != nil || Task.isCancelled { break }
                group.addTask {
                    do {
                        let digests = RangeDigests(md5: part.md5, crc64: part.crc64)
                        return .success(
                            try await sendPart(
                                part.number, of: part.path, range: (part.offset, part.length), digests: digests, at: key,
                                uploadID: upload.uploadID))
                    } catch {
                        return .failure(error)
                    }
                }
                inFlight += 1
            }
            while let result = await group.next() { collect(result) }
            return (uploaded: uploaded, failure: failure)
        }
        if let failure = outcome.failure { throw failure }
        try Task.checkCancellation()
        return outcome.uploaded
    }

    /// After a part failed: forgets an upload the store no longer knows (the retry starts over), aborts
    /// one whose error is permanent, keeps it otherwise. Returns the error to throw: `error` as a
    /// `TransferError`, or the retryable `sink.upload_gone`.
    private func giveUp(_ upload: StreamedUpload, at key: String, after error: any Error) async -> any Error {
        if let storeError = error as? ObjectStoreError, Self.isNoSuchUpload(storeError) {
            logger.warning(
                "the store no longer knows the multipart upload; the retry starts it over",
                metadata: ["object.key": "\(key)", "upload.id": "\(upload.uploadID)"])
            do {
                try await recordingInLedger("forget the upload", key: key) {
                    try await ledger.endMultipartUpload(key: key, uploadID: upload.uploadID)
                }
            } catch {
                return error
            }
            return TransferError.retryable("sink.upload_gone", "\(key): the store no longer knows upload \(upload.uploadID)")
        }
        if let classified = error as? any ClassifiedError, !classified.isRetryable {
            await abort(key: key, uploadID: upload.uploadID, reason: classified.description)
        }
        return (error as? ObjectStoreError).map(TransferError.init) ?? error
    }

    /// Checks the parts against the verified `file`, completes the upload, forgets it, verifies the
    /// object and returns its ETag. Aborts the upload when the parts do not make the file.
    private func complete(
        _ upload: StreamedUpload, of file: SpooledFile, at key: String, plan: MultipartPlan, parts: [UploadedPart]
    ) async throws -> String? {
        let byNumber = Dictionary(parts.map { ($0.number, $0) }) { _, last in last }
        let ordered = (1...plan.partCount).compactMap { byNumber[$0] }
        guard file.size == plan.fileSize, ordered.count == plan.partCount else {
            await abort(key: key, uploadID: upload.uploadID, reason: "the parts do not cover the file")
            throw mismatch(
                key: key, "\(ordered.count) of \(plan.partCount) parts for a file of \(file.size) bytes planned as \(plan.fileSize)")
        }
        return try await complete(
            uploadID: upload.uploadID, of: file, at: key, parts: ordered, plan: plan, how: "in parts while downloading")
    }
}
