import Synchronization

/// Lease tokens for one store: 128 random bits drawn once, then a counter, so every token is unique
/// across processes, hosts and restarts (the random part) and within the process (the counter).
///
/// Drawing a `UUID` per lease instead cost an `open`, `read` and `close` of `/dev/urandom` each time
/// (Foundation's `UUID` on Linux), a few percent of the worker pool's whole time per window.
public final class LeaseTokens: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    /// Creates a source with a fresh random prefix.
    public init() {
        var random = SystemRandomNumberGenerator()
        prefix = [random.next(), random.next()].map { (value: UInt64) in
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }

    /// A token no other call of any source returns.
    public func next() -> String {
        let number = counter.add(1, ordering: .relaxed).newValue
        return prefix + "-" + String(number, radix: 16)
    }
}
