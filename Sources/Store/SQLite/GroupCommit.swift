import GRDB
import Synchronization

/// Group commit: state changes that callers request at about the same time are written in one
/// transaction, each still guarded on its own and answered with its own result.
///
/// The first caller to find no transaction under way starts a drain that writes whatever is queued,
/// then whatever queued meanwhile, until the queue is empty. One SQLite commit per batch instead of
/// one per change is what lets a pool of workers finish thousands of windows a second. When a batch's
/// transaction fails, it is rolled back and its changes are written again one transaction each, so a
/// failing change fails alone and the others of its batch are not lost.
///
/// With `durable`, each batch's commit is fsync'd (`PRAGMA synchronous = FULL` for that transaction
/// only): what the push receiver acknowledges must survive a power loss, while the job queue's own
/// changes keep the cheaper `NORMAL`. `beforeCommit` runs inside each transaction, after its changes and
/// before the commit: the push spool fsyncs the part files the batch wrote there, so the index never
/// commits ahead of the data it points to; when it throws, the transaction rolls back.
final class GroupCommit<Result: Sendable>: Sendable {
    private struct Change: Sendable {
        let apply: @Sendable (Database) throws -> Result
        let continuation: CheckedContinuation<Result, any Error>
    }

    private struct Queue {
        var changes: [Change] = []
        var draining = false
    }

    private let writer: DatabasePool
    private let durable: Bool
    private let beforeCommit: @Sendable () throws -> Void
    private let queue = Mutex(Queue())

    /// Creates a group commit over `writer`; `durable` fsyncs every commit.
    init(writer: DatabasePool, durable: Bool = false, beforeCommit: @escaping @Sendable () throws -> Void = {}) {
        self.writer = writer
        self.durable = durable
        self.beforeCommit = beforeCommit
    }

    /// How many changes wait for the next batch (for tests that shape batches).
    var waitingCount: Int { queue.withLock { $0.changes.count } }

    /// Applies `change` inside a shared write transaction and returns its result.
    func perform(_ change: @escaping @Sendable (Database) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let startsDrain = queue.withLock { queue -> Bool in
                queue.changes.append(Change(apply: change, continuation: continuation))
                guard !queue.draining else { return false }
                queue.draining = true
                return true
            }
            if startsDrain {
                // Unstructured on purpose, and short-lived: it ends as soon as the queue is empty. It must
                // not inherit a caller's cancellation, since it writes other callers' changes too.
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while true {
            let batch = queue.withLock { queue -> [Change] in
                let batch = queue.changes
                queue.changes.removeAll(keepingCapacity: true)
                if batch.isEmpty { queue.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let results = try await write { db in try batch.map { try $0.apply(db) } }
                for (change, result) in zip(batch, results) { change.continuation.resume(returning: result) }
            } catch where batch.count > 1 {
                for change in batch {
                    do {
                        change.continuation.resume(returning: try await write { db in try change.apply(db) })
                    } catch {
                        change.continuation.resume(throwing: error)
                    }
                }
            } catch {
                batch[0].continuation.resume(throwing: error)
            }
        }
    }

    /// One transaction, fsync'd at commit when `durable`. The pool's single writer connection runs one
    /// write at a time, so the pragma holds for exactly this transaction.
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let beforeCommit = self.beforeCommit
        guard durable else {
            return try await writer.write { db in
                let result = try body(db)
                try beforeCommit()
                return result
            }
        }
        return try await writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                try beforeCommit()
                return .commit
            }
            return result!
        }
    }
}
