import NIOCore
import Synchronization

/// A bounded queue of byte batches between one producer task and one consumer task: the buffer between
/// two stages of a download (`PackageStages`).
///
/// Holds at most `capacity` batches: `send` suspends while the queue is full, so a stage that falls
/// behind slows the download instead of growing memory. The batches are `ByteBuffer`s shared, not
/// copied, with the other stages' queues. When the consumer gives up (`abandon`, after an error),
/// `send` stops waiting and returns false, so a producer never waits for a stage that has ended; when
/// the producer ends (`close`), `next` drains what is queued and then returns nil.
///
/// Thread-safe: one producer and one consumer may call from any tasks.
final class StageQueue: Sendable {
    /// A batch of the body's chunks, in order.
    typealias Batch = [ByteBuffer]

    private struct State {
        var batches: [Batch] = []
        var head = 0
        var closed = false
        var abandoned = false
        var waitingConsumer: CheckedContinuation<Batch?, Never>?
        var waitingProducer: CheckedContinuation<Bool, Never>?

        var count: Int { batches.count - head }

        mutating func removeFirst() -> Batch {
            let batch = batches[head]
            head += 1
            if head > 16 && head * 2 > batches.count {
                batches.removeFirst(head)
                head = 0
            }
            return batch
        }
    }

    /// The most batches queued at once (at least 1).
    let capacity: Int
    private let state = Mutex(State())

    /// Creates an empty queue of at most `capacity` batches.
    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Queues `batch`, waiting while the queue is full. Returns false, dropping the batch, once the
    /// consumer has abandoned the queue.
    func send(_ batch: Batch) async -> Bool {
        while true {
            enum Step { case sent(CheckedContinuation<Batch?, Never>?), dropped, full }
            let step: Step = state.withLock { state in
                if state.abandoned { return .dropped }
                guard state.count < capacity else { return .full }
                if let consumer = state.waitingConsumer {
                    state.waitingConsumer = nil
                    return .sent(consumer)
                }
                state.batches.append(batch)
                return .sent(nil)
            }
            switch step {
            case .dropped:
                return false
            case .sent(let consumer):
                consumer?.resume(returning: batch)
                return true
            case .full:
                let roomMade = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let resumeNow: Bool? = state.withLock { state in
                        if state.abandoned { return false }
                        if state.count < capacity { return true }
                        state.waitingProducer = continuation
                        return nil
                    }
                    if let resumeNow { continuation.resume(returning: resumeNow) }
                }
                if !roomMade { return false }
            }
        }
    }

    /// The next batch, waiting for one; nil once the producer has closed the queue and it is drained.
    func next() async -> Batch? {
        enum Step { case batch(Batch, CheckedContinuation<Bool, Never>?), end, empty }
        let step: Step = state.withLock { state in
            if state.count > 0 {
                let producer = state.waitingProducer
                state.waitingProducer = nil
                return .batch(state.removeFirst(), producer)
            }
            return state.closed ? .end : .empty
        }
        switch step {
        case .batch(let batch, let producer):
            producer?.resume(returning: true)
            return batch
        case .end:
            return nil
        case .empty:
            return await withCheckedContinuation { (continuation: CheckedContinuation<Batch?, Never>) in
                enum Now { case batch(Batch, CheckedContinuation<Bool, Never>?), end, wait }
                let now: Now = state.withLock { state in
                    if state.count > 0 {
                        let producer = state.waitingProducer
                        state.waitingProducer = nil
                        return .batch(state.removeFirst(), producer)
                    }
                    if state.closed { return .end }
                    state.waitingConsumer = continuation
                    return .wait
                }
                switch now {
                case .batch(let batch, let producer):
                    producer?.resume(returning: true)
                    continuation.resume(returning: batch)
                case .end:
                    continuation.resume(returning: nil)
                case .wait:
                    break
                }
            }
        }
    }

    /// The producer is done: no more batches will come. Idempotent.
    func close() {
        let consumer: CheckedContinuation<Batch?, Never>? = state.withLock { state in
            state.closed = true
            guard state.count == 0 else { return nil }
            defer { state.waitingConsumer = nil }
            return state.waitingConsumer
        }
        consumer?.resume(returning: nil)
    }

    /// The consumer is done (it failed or was cancelled): queued batches are dropped and `send` returns
    /// false from now on. Idempotent.
    func abandon() {
        let producer: CheckedContinuation<Bool, Never>? = state.withLock { state in
            state.abandoned = true
            state.batches = []
            state.head = 0
            defer { state.waitingProducer = nil }
            return state.waitingProducer
        }
        producer?.resume(returning: false)
    }
}
