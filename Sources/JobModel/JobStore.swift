import Foundation

/// The durable job queue and its state machine.
///
/// Every transition of a leased job is guarded by the expected state and the lease token and returns
/// false, changing nothing, when the caller no longer holds the lease. Implementations are given `now`
/// and never read a clock. Thread-safe.
public protocol JobStore: Sendable {
    /// Makes `domains` the active domains of `source`: adds the new ones, reactivates returning ones and
    /// deactivates the others (their windows stay; no new ones are planned).
    func setActiveDomains(_ domains: [String], source: String, now: Date) async throws

    /// The active domains of `source` with their watermarks.
    func activeDomains(source: String) async throws -> [PlannedDomain]

    /// Inserts the windows of every plan (existing windows are left as they are) and advances each
    /// domain's watermark to the plan's end if it is later, in one transaction. Returns how many
    /// windows were new.
    @discardableResult
    func plan(_ plans: [DomainPlan], now: Date) async throws -> Int

    /// Leases up to `limit` due pending windows, fairly across domains, for `leaseDuration`.
    func claimDueJobs(owner: String, limit: Int, leaseDuration: TimeInterval, now: Date) async throws -> [LeasedJob]

    /// Extends a lease to `until`. False when the lease was lost.
    func heartbeat(_ job: LeasedJob, until: Date, now: Date) async throws -> Bool

    /// Marks a leased window done with its per-file results; `final` when its packages are known to have
    /// settled. On a reconcile pass the files not skipped count as replaced. False when the lease was lost.
    func complete(_ job: LeasedJob, files: [FileRecord], final: Bool, now: Date) async throws -> Bool

    /// `complete`, then `claimDueJobs` for up to `limit` windows: how a worker that finished a window
    /// leases its next one. Returns whether the window was completed (false when the lease was lost) and
    /// the windows leased, which are leased whichever the first answer. A store may do both in one
    /// transaction; the default makes the two calls.
    func complete(
        _ job: LeasedJob, files: [FileRecord], final: Bool, now: Date,
        thenClaim limit: Int, owner: String, leaseDuration: TimeInterval
    ) async throws -> (completed: Bool, next: [LeasedJob])

    /// Sends every done, not yet final window whose hour started before `cutoff` and that was last done
    /// before `doneBefore` back to `pending` for its reconcile pass, attempts reset. Returns how many.
    @discardableResult
    func beginReconcilePasses(hoursBefore cutoff: Date, doneBefore: Date, now: Date) async throws -> Int

    /// Returns a leased window to `pending` until `runAt`. When `consumeAttempt` is false the lease is
    /// not counted (the source had not published the hour yet). False when the lease was lost.
    func reschedule(_ job: LeasedJob, runAt: Date, error: JobError, consumeAttempt: Bool, now: Date) async throws -> Bool

    /// Marks a leased window failed. False when the lease was lost.
    func fail(_ job: LeasedJob, error: JobError, now: Date) async throws -> Bool

    /// Returns running windows whose lease expired before `now` to `pending`, or to `failed` when they
    /// have used `maxAttempts` leases. Returns how many were rescued.
    @discardableResult
    func reapExpiredLeases(maxAttempts: Int, now: Date) async throws -> Int

    /// The distinct owners of current leases.
    func leaseOwners() async throws -> [String]

    /// Treats every lease held by `owner` as expired now (its process is known to be gone).
    @discardableResult
    func releaseLeases(ownedBy owner: String, maxAttempts: Int, now: Date) async throws -> Int

    /// Puts failed windows matching `filter` back to `pending` with their attempts reset. Returns how many.
    func requeueFailed(matching filter: JobFilter, now: Date) async throws -> Int

    /// Windows matching `filter`, newest hour first.
    func jobs(matching filter: JobFilter, limit: Int) async throws -> [JobSummary]

    /// One window by its id, nil when there is none.
    func job(id: Int64) async throws -> JobSummary?

    /// The per-file results of a window.
    func files(ofJob id: Int64) async throws -> [FileRecord]

    /// Deletes at most `limit` done and final windows whose hour started before `cutoff`, with their
    /// file rows, and the outages that ended before it, so the database stays bounded over months.
    /// Returns how many windows were deleted.
    func pruneDoneWindows(hoursBefore cutoff: Date, limit: Int) async throws -> Int

    /// Records the dependencies' current health, and the outages that ended since the last call.
    func saveDependencyHealth(_ states: [DependencyState], endedOutages: [OutagePeriod], now: Date) async throws

    /// The dependencies' health as last saved, so an outage under way survives a restart.
    func dependencyHealth() async throws -> [DependencyState]

    /// Counts, per-domain progress and recent failures, read in one snapshot.
    func status(recentFailureLimit: Int) async throws -> StatusReport
}

extension JobStore {
    public func complete(
        _ job: LeasedJob, files: [FileRecord], final: Bool, now: Date,
        thenClaim limit: Int, owner: String, leaseDuration: TimeInterval
    ) async throws -> (completed: Bool, next: [LeasedJob]) {
        let completed = try await complete(job, files: files, final: final, now: now)
        return (completed, try await claimDueJobs(owner: owner, limit: limit, leaseDuration: leaseDuration, now: now))
    }

    /// `beginReconcilePasses(hoursBefore:doneBefore:now:)` for every window done before `now`.
    @discardableResult
    public func beginReconcilePasses(hoursBefore cutoff: Date, now: Date) async throws -> Int {
        try await beginReconcilePasses(hoursBefore: cutoff, doneBefore: now, now: now)
    }
}
