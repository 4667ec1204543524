import Core
import Foundation
import JobModel
import Logging

extension PeriodicService {
    /// Windows deleted per transaction while pruning, so a first prune of months of history does not
    /// hold the write lock for long.
    static let pruneBatch = 5_000

    /// Hourly: deletes done and final windows (with their file rows) whose hour is older than
    /// `keepDays`, and outages that ended before then. The database then stays bounded over months:
    /// SQLite reuses the freed pages for new windows.
    public static func retention(store: any JobStore, keepDays: Int, clock: any WallClock, logger: Logger) -> PeriodicService {
        PeriodicService(name: "retention", interval: .seconds(3600), clock: clock) {
            do {
                _ = try await prune(store: store, keepDays: keepDays, now: clock.now, logger: logger)
            } catch {
                logger.warning("cannot prune old windows; will try again in an hour", metadata: ["error.message": "\(error)"])
            }
        }
    }

    /// One pruning round (every batch until none is left); returns how many windows were deleted.
    public static func prune(store: any JobStore, keepDays: Int, now: Date, logger: Logger) async throws -> Int {
        let cutoff = now.addingTimeInterval(-TimeInterval(keepDays) * 86_400)
        var total = 0
        while true {
            let deleted = try await store.pruneDoneWindows(hoursBefore: cutoff, limit: pruneBatch)
            total += deleted
            if deleted < pruneBatch { break }
        }
        if total > 0 {
            logger.info("pruned old done windows", metadata: ["retention.windows": "\(total)", "retention.before": "\(cutoff.formatted(.iso8601))"])
        }
        return total
    }
}
