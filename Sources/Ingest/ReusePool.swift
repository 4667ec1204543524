import Synchronization

/// Objects a request borrows (compressors, inflate buffers, body buffers) and gives back, so the next
/// request reuses their memory instead of mapping fresh memory. No more exist than requests holding
/// one at once: for the synchronous work, at most the cooperative pool's threads; for a body buffer,
/// the requests in flight (bounded by `ingest.max_concurrent_requests`). At most `keptCount` idle ones
/// are kept.
package final class ReusePool<Item: AnyObject & Sendable>: Sendable {
    private let idle = Mutex<[Item]>([])
    private let make: @Sendable () -> Item
    private let keptCount: Int

    /// A pool making items with `make` and keeping up to `keptCount` idle ones.
    package init(keeping keptCount: Int = 8, _ make: @escaping @Sendable () -> Item) {
        self.make = make
        self.keptCount = keptCount
    }

    /// Runs `body` with an item no other caller uses meanwhile.
    package func withItem<Result, Failure: Error>(_ body: (Item) throws(Failure) -> Result) throws(Failure) -> Result {
        let item = take()
        defer { giveBack(item) }
        return try body(item)
    }

    /// An item no other caller uses until it is given back (for use across suspension points).
    package func take() -> Item {
        idle.withLock { $0.popLast() } ?? make()
    }

    /// Gives back an item `take` returned; the caller must not use it afterwards.
    package func giveBack(_ item: Item) {
        idle.withLock { idle in
            if idle.count < keptCount { idle.append(item) }
        }
    }
}
