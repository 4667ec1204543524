import Core
import Foundation
import Logging
import ObjectStorage

extension ObjectStoreSink {
    /// Aborts and forgets the multipart upload the ledger records for `key`, if any: for a window that
    /// failed for good, whose upload will not be resumed. Best effort; failures are logged.
    public func discardUpload(forKey key: String) async {
        do {
            guard let recorded = try await ledger.multipartUpload(forKey: key) else { return }
            await abort(key: key, uploadID: recorded.uploadID, reason: "the upload is discarded")
        } catch {
            logger.warning("cannot read the upload ledger", metadata: ["object.key": "\(key)", "error.message": "\(error)"])
        }
    }

    /// Aborts the multipart uploads begun before `startedBefore`: those the ledger records, then those
    /// the store lists under `keyPrefix` (uploads a crash left unrecorded). Unfinished uploads are billed.
    ///
    /// Pass the fixed prefix of the key template (e.g. `cdnlog/`) so that only the service's own keys are
    /// touched; with an empty prefix the store's listing could be anyone's, so only the ledger's uploads
    /// are aborted. Pass a cutoff far enough back (a day) that no running upload is that old: a running
    /// upload whose id is aborted starts over. Best effort: failures are logged, and an upload whose
    /// abort failed for a retryable reason stays in the ledger for the next cleanup.
    ///
    /// - Returns: how many uploads were aborted (or found already gone).
    @discardableResult
    public func abortUploads(startedBefore cutoff: Date, keyPrefix: String) async -> Int {
        var aborted = 0
        do {
            for recorded in try await ledger.multipartUploads(startedBefore: cutoff) {
                if await abort(key: recorded.key, uploadID: recorded.uploadID, reason: "stale", forgetOnRetryableFailure: false) {
                    aborted += 1
                }
            }
        } catch {
            logger.warning("cannot read the upload ledger to clean up stale uploads", metadata: ["error.message": "\(error)"])
        }
        guard !keyPrefix.isEmpty else { return aborted }
        let listed: [MultipartUploadListing]
        do {
            listed = try await client.listMultipartUploads(prefix: keyPrefix)
        } catch {
            logger.warning(
                "cannot list the store's multipart uploads to clean up stale ones",
                metadata: ["object.bucket": "\(client.bucketDescription)", "error.message": "\(error)"])
            return aborted
        }
        for upload in listed where upload.initiated < cutoff && upload.key.hasPrefix(keyPrefix) {
            // The store's clock may differ from ours: never abort an upload the ledger has as recent.
            if let recorded = try? await ledger.multipartUpload(forKey: upload.key), recorded.uploadID == upload.uploadID,
                recorded.createdAt >= cutoff
            {
                continue
            }
            if await abort(key: upload.key, uploadID: upload.uploadID, reason: "stale") { aborted += 1 }
        }
        return aborted
    }

    /// Aborts `uploadID` of `key` at the store (an unknown id counts as done) and forgets it in the
    /// ledger. Best effort: logs failures.
    ///
    /// - Parameter forgetOnRetryableFailure: whether to forget the upload when the abort failed for a
    ///   reason that may pass (the store keeps listing it, so cleanup by listing can still find it).
    /// - Returns: whether the store no longer has the upload.
    @discardableResult
    func abort(key: String, uploadID: String, reason: String, forgetOnRetryableFailure: Bool = true) async -> Bool {
        let metadata: Logger.Metadata = [
            "object.key": "\(key)", "upload.id": "\(uploadID)", "object.bucket": "\(client.bucketDescription)",
            "upload.abort_reason": "\(reason)",
        ]
        var gone = true
        do {
            try await client.abortMultipartUpload(key: key, uploadID: uploadID)
            logger.info("multipart upload aborted", metadata: metadata)
        } catch let error as ObjectStoreError where Self.isNoSuchUpload(error) {
            logger.debug("multipart upload already gone", metadata: metadata)
        } catch {
            gone = false
            logger.warning("cannot abort a multipart upload", metadata: metadata.merging(["error.message": "\(error)"]) { $1 })
            if !forgetOnRetryableFailure, (error as? any ClassifiedError)?.isRetryable ?? true { return false }
        }
        do {
            try await ledger.endMultipartUpload(key: key, uploadID: uploadID)
        } catch {
            logger.warning("cannot forget a multipart upload in the ledger", metadata: metadata.merging(["error.message": "\(error)"]) { $1 })
        }
        return gone
    }
}
