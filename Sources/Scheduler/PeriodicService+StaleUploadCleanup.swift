import Core
import Foundation
import Jobs
import Logging

extension PeriodicService {
    /// How old an unfinished multipart upload must be before it is taken as abandoned.
    public static let staleUploadAge: TimeInterval = 86400

    /// Aborts, at start and then daily, the unfinished multipart uploads under `keyPrefix` (the key
    /// template's fixed part, so only the service's own keys) that began more than a day ago: they are
    /// billed and will never complete. A younger upload may belong to a window still being retried.
    public static func staleUploadCleanup(sink: ObjectStoreSink, keyPrefix: String, clock: any WallClock, logger: Logger) -> PeriodicService {
        PeriodicService(name: "stale-upload-cleanup", interval: .seconds(staleUploadAge), clock: clock) {
            let aborted = await sink.abortUploads(startedBefore: clock.now.addingTimeInterval(-staleUploadAge), keyPrefix: keyPrefix)
            if aborted > 0 {
                logger.notice("aborted stale multipart uploads", metadata: ["upload.aborted": "\(aborted)"])
            }
        }
    }
}
