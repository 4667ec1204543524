import GRDB
import Synchronization

/// Group commit: state changes that callers request at about the same time are written in one
/// transaction, each still guarded on its own and answered with its own result.
///
/// The first caller to find no transaction under way drains the queue: it writes whatever is queued,
/// then whatever queued meanwhile, until the queue is empty. One SQLite commit per batch instead of
/// one per change is what lets a pool of workers finish thousands of windows a second. When a batch's
/// transaction fails, it is rolled back and its changes are written again one transaction each, so a
/// failing change fails alone and the others of its batch are not lost. Changes of different kinds
/// share a batch: leases and the outcomes of other windows commit together, each change answered with
/// its own result type. A caller is answered only once its change has committed.
///
/// The job queue's batches are written by the draining caller on its own thread, before it suspends:
/// a batch of leases and outcomes takes tens of microseconds, less than handing it to GRDB's writer
/// queue and back (two thread switches, which bound how many windows a second the worker pool
/// finishes). Only one caller drains at a time, so this holds at most one thread of the cooperative
/// pool, and it waits only while SQLite's write lock is held by another write (never by a read).
///
/// With `durable`, batches are written on GRDB's writer queue by a task of their own, so no
/// cooperative thread waits on a disk flush, and `afterCommit` runs after each batch's commit, before
/// its callers are answered: the push spool fsyncs the commit there when the batch needs it (see
/// `SQLiteStreamSpool`); when it throws, every caller of the batch gets the error. `beforeCommit` runs
/// inside each transaction, after its changes and before the commit: the push spool fsyncs the part
/// files the batch wrote there, so the index never commits ahead of the data it points to; when it
/// throws, the transaction rolls back.
final class GroupCommit: Sendable {
    private struct Change: Sendable {
        /// Applies the change inside the batch's transaction and returns what answers its caller once
        /// the transaction committed.
        let apply: @Sendable (Database) throws -> @Sendable () -> Void
        /// Answers the caller with an error.
        let fail: @Sendable (any Error) -> Void
    }

    private struct Queue {
        var changes: [Change] = []
        var draining = false
    }

    private let writer: DatabasePool
    private let durable: Bool
    private let beforeCommit: @Sendable () throws -> Void
    private let afterCommit: @Sendable (Database) throws -> Void
    private let queue = Mutex(Queue())

    /// Creates a group commit over `writer`; `durable` batches are drained by a task of their own and
    /// followed by `afterCommit` (outside any transaction); `beforeCommit` runs last in every transaction.
    init(
        writer: DatabasePool, durable: Bool = false, beforeCommit: @escaping @Sendable () throws -> Void = {},
        afterCommit: @escaping @Sendable (Database) throws -> Void = { _ in }
    ) {
        self.writer = writer
        self.durable = durable
        self.beforeCommit = beforeCommit
        self.afterCommit = afterCommit
    }

    /// How many changes wait for the next batch (for tests that shape batches).
    var waitingCount: Int { queue.withLock { $0.changes.count } }

    /// Applies `change` inside a shared write transaction and returns its result.
    func perform<Result: Sendable>(_ change: @escaping @Sendable (Database) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let queued = Change(
                apply: { db in
                    let result = try change(db)
                    return { continuation.resume(returning: result) }
                },
                fail: { continuation.resume(throwing: $0) })
            let startsDrain = queue.withLock { queue -> Bool in
                queue.changes.append(queued)
                guard !queue.draining else { return false }
                queue.draining = true
                return true
            }
            guard startsDrain else { return }
            if durable {
                // Unstructured on purpose, and short-lived: it ends as soon as the queue is empty. It must
                // not inherit a caller's cancellation, since it writes other callers' changes too.
                Task { await self.drainDurably() }
            } else {
                drainHere()
            }
        }
    }

    /// The queued changes, taken from the queue; nil (and the drain over) when there are none.
    private func nextBatch() -> [Change]? {
        queue.withLock { queue -> [Change]? in
            guard !queue.changes.isEmpty else {
                queue.draining = false
                return nil
            }
            defer { queue.changes.removeAll(keepingCapacity: true) }
            return queue.changes
        }
    }

    private func drainHere() {
        while let batch = nextBatch() {
            // `commit` answers every failure itself, so the write cannot throw.
            let answers = writer.writeWithoutTransaction { db in self.commit(batch, in: db) }
            for answer in answers { answer() }
        }
    }

    private func drainDurably() async {
        while let batch = nextBatch() {
            let answers: [@Sendable () -> Void]
            do {
                answers = try await writer.writeWithoutTransaction { db in
                    let answers = self.commit(batch, in: db)
                    try self.afterCommit(db)
                    return answers
                }
            } catch {
                answers = batch.map { change in { change.fail(error) } }
            }
            for answer in answers { answer() }
        }
    }

    /// Writes `batch` in one transaction or, when that fails, each change in a transaction of its own.
    /// Returns what answers each caller, to be called once out of the writer.
    private func commit(_ batch: [Change], in db: Database) -> [@Sendable () -> Void] {
        do {
            return try inTransaction(db) {
                let answers = try batch.map { try $0.apply(db) }
                try beforeCommit()
                return answers
            }
        } catch where batch.count > 1 {
            return batch.map { change in
                do {
                    return try inTransaction(db) {
                        let answer = try change.apply(db)
                        try beforeCommit()
                        return answer
                    }
                } catch {
                    return { change.fail(error) }
                }
            }
        } catch {
            return [{ batch[0].fail(error) }]
        }
    }

    /// Runs `body` in an `IMMEDIATE` transaction, committed when it returns and rolled back when it
    /// throws. `BEGIN` and `COMMIT` are statements prepared once per connection: GRDB's `inTransaction`
    /// parses both again every time (about 4 % of the writer's samples in a profile of the pool).
    private func inTransaction<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
        do {
            let result = try body()
            try db.cachedStatement(sql: "COMMIT").execute()
            return result
        } catch {
            try? db.rollback()
            throw error
        }
    }
}
