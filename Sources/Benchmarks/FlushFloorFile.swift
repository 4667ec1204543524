import Core
import Dispatch
import JobModel
import Synchronization

/// The least a route that answers only after its data is flushed can do, for `orchestrator-bench
/// ingest`'s `flushed` phase: each request's compressed chunks are written (`pwrite` at a place
/// reserved under a lock, on the request's own thread) to one file, and the request is answered after
/// an `fdatasync` that began after its write. One `fdatasync` serves every request that wrote while the
/// one before it ran (group commit), on one serial queue, so writes overlap the flush under way.
///
/// Not a spool: no index, no repeat check, no quota, no recovery, one file for every hour. It measures
/// what the flush alone costs on this machine, which bounds what any durable spool could reach.
final class FlushFloorFile: Sendable {
    private struct State {
        /// Where the next write goes.
        var end: Int64 = 0
        /// Requests whose writes are done, waiting for an `fdatasync` that starts after them.
        var waiting: [CheckedContinuation<Void, any Error>] = []
        var flushing = false
    }

    private let path: String
    private let descriptor: Int32
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "flush-floor")

    init(path: String) throws {
        self.path = path
        descriptor = try FileIO.openForWriting(path, mode: 0o600).descriptor
    }

    /// Writes `chunks` and returns once an `fdatasync` has made them durable.
    func write(_ chunks: [SpoolChunk]) async throws {
        for chunk in chunks {
            let offset = state.withLock { state in
                defer { state.end += Int64(chunk.data.count) }
                return state.end
            }
            try chunk.data.withUnsafeBytes { try FileIO.writeAll(descriptor, $0, at: offset, path: path) }
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startsFlushing = state.withLock { state -> Bool in
                state.waiting.append(continuation)
                defer { state.flushing = true }
                return !state.flushing
            }
            if startsFlushing { queue.async { self.flush() } }
        }
    }

    /// Flushes and answers the waiting requests until none waits.
    private func flush() {
        while let batch = nextBatch() {
            do {
                try FileIO.synchronizeData(descriptor, path: path)
                for continuation in batch { continuation.resume() }
            } catch {
                for continuation in batch { continuation.resume(throwing: error) }
            }
        }
    }

    /// The requests waiting now, taken; nil (and the flushing over) when there are none.
    private func nextBatch() -> [CheckedContinuation<Void, any Error>]? {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.flushing = false
                return nil
            }
            defer { state.waiting.removeAll(keepingCapacity: true) }
            return state.waiting
        }
    }

    func close() {
        try? FileIO.closeDescriptor(descriptor, path: path)
    }
}
