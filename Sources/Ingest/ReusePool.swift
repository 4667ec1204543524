import Synchronization

/// Objects a request borrows for its synchronous work (compressors, inflate buffers) and gives back,
/// so the next request reuses their memory instead of mapping fresh memory. A request holds one only
/// while it runs synchronously, so no more exist than requests doing that at once (at most the
/// cooperative pool's threads); at most `keptCount` idle ones are kept.
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
        let item = idle.withLock { $0.popLast() } ?? make()
        defer {
            idle.withLock { idle in
                if idle.count < keptCount { idle.append(item) }
            }
        }
        return try body(item)
    }
}
