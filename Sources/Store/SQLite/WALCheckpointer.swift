import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints the write-ahead log on a connection and a thread of its own, so that the writer does not
/// copy the log into the database file itself.
///
/// SQLite's automatic checkpoint runs on the connection that commits, inside its commit: every
/// `checkpointPages` pages, the writer copies the log into the database file and flushes both before
/// the commit returns. Planning 720,000 windows writes about 90 MB of log in one transaction, and the
/// plan call waited about 0.6 s for that copy; the worker pool's writer stopped the same way every
/// 64 MiB of log. Here the writer's commit hook (`sqlite3_wal_hook`, which replaces the automatic
/// checkpoint) only notices the log has reached `checkpointPages` and wakes this checkpointer, which
/// runs a passive checkpoint on its own connection: it copies what is committed without taking the
/// write lock, so commits go on meanwhile.
///
/// A passive checkpoint beside a busy writer copies all but the last few commits, and the log starts
/// over from its beginning only once everything in it was copied. So when a commit finds that a
/// background pass has finished since the log reached its threshold, the writer checkpoints the rest
/// itself: a few pages, after which the next transaction restarts the log (and `journal_size_limit`
/// cuts the file back). The log is thereby bounded as before; what moved off the writer is the copying
/// of the bulk. A writer whose checkpointer lags far behind (`hardLimitPages`, on a loaded machine)
/// waits for the pass to end and checkpoints itself, as SQLite would have all along.
public final class WALCheckpointer: Sendable {
    private enum Phase {
        /// No pass asked for since the log last started over (or since the last catch-up).
        case idle
        /// A pass is queued or running.
        case running
        /// A pass finished; the writer's next commit copies what remains.
        case finished
    }

    private struct State {
        var phase = Phase.idle
        /// The checkpointer's own connection, opened at the first pass.
        var connection: OpaquePointer?
        var closed = false
        /// Passes run, for tests.
        var passes = 0
    }

    /// The database file.
    private let path: String
    /// Log pages after which a pass starts.
    let thresholdPages: Int32
    /// Log pages after which the writer checkpoints by itself even while a pass runs.
    let hardLimitPages: Int32
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "orchestrator.wal-checkpointer", qos: .utility)

    /// A checkpointer for the database at `path`, starting a pass once the log holds `thresholdPages`.
    public init(path: String, thresholdPages: Int) {
        self.path = path
        self.thresholdPages = Int32(clamping: thresholdPages)
        self.hardLimitPages = Int32(clamping: thresholdPages * 4)
    }

    deinit {
        state.withLock { state in
            if let connection = state.connection { sqlite3_close_v2(connection) }
        }
    }

    /// Takes over the automatic checkpoints of `db`, a writer's connection to this checkpointer's
    /// database. The checkpointer must outlive the connection's last commit.
    public func install(on db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, { context, connection, _, pages in
            let checkpointer = Unmanaged<WALCheckpointer>.fromOpaque(context!).takeUnretainedValue()
            checkpointer.committed(pages: pages, on: connection!)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// How many background passes ran (tests).
    public var passes: Int { state.withLock { $0.passes } }

    /// Waits for a pass under way, then closes the checkpointer's connection; later commits of the
    /// writer checkpoint on the writer, as SQLite would.
    public func close() {
        queue.sync {}
        state.withLock { state in
            state.closed = true
            if let connection = state.connection { sqlite3_close_v2(connection) }
            state.connection = nil
        }
    }

    /// After every commit of the writer, with the log's size in pages.
    private func committed(pages: Int32, on writer: OpaquePointer) {
        guard pages >= thresholdPages else { return }
        enum Action { case none, startPass, checkpointOnWriter, waitThenCheckpointOnWriter }
        let action = state.withLock { state -> Action in
            if state.closed { return .checkpointOnWriter }
            switch state.phase {
            case .idle:
                state.phase = .running
                return .startPass
            case .running:
                return pages >= hardLimitPages ? .waitThenCheckpointOnWriter : .none
            case .finished:
                state.phase = .idle
                return .checkpointOnWriter
            }
        }
        switch action {
        case .none: break
        case .startPass: queue.async { self.pass() }
        case .checkpointOnWriter:
            // Busy (another process's checkpoint under way) is fine: the log is copied later.
            sqlite3_wal_checkpoint_v2(writer, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        case .waitThenCheckpointOnWriter:
            // The pass holds SQLite's checkpoint lock, and a passive checkpoint does not wait for it: the
            // writer waits here for the pass to end (it never waits for the writer), then copies the rest.
            queue.sync {}
            state.withLock { $0.phase = .idle }
            sqlite3_wal_checkpoint_v2(writer, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        }
    }

    /// One passive checkpoint on the checkpointer's own connection.
    private func pass() {
        let connection = state.withLock { state -> OpaquePointer? in
            if state.connection == nil && !state.closed {
                var opened: OpaquePointer?
                if sqlite3_open_v2(path, &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK {
                    state.connection = opened
                } else {
                    sqlite3_close_v2(opened)
                }
            }
            return state.connection
        }
        if let connection {
            sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        }
        state.withLock { state in
            state.passes += 1
            // Unopened (the file vanished, no permission): the writer's next commit checkpoints itself.
            state.phase = .finished
        }
    }
}
