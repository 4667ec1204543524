import Synchronization

/// Counts what a simulator did, for assertions in tests and for the demo's output.
///
/// Thread-safe: every counter is an atomic, read and incremented from any task.
public final class SimulatorCounters: Sendable {
    private let apiCallCount = Atomic<Int>(0)
    private let downloadCount = Atomic<Int>(0)
    private let faultCount = Atomic<Int>(0)
    private let rejectedCount = Atomic<Int>(0)

    /// Creates counters at zero.
    public init() {}

    /// API requests received (`POST /` or `GET /`), whatever their outcome.
    public var apiCalls: Int { apiCallCount.load(ordering: .relaxed) }
    /// Package download requests received, whatever their outcome.
    public var downloads: Int { downloadCount.load(ordering: .relaxed) }
    /// Injected faults: API errors, throttling, truncated and corrupted downloads.
    public var faultsInjected: Int { faultCount.load(ordering: .relaxed) }
    /// Requests refused for their credentials or link: bad signatures, expired timestamps or links.
    public var rejected: Int { rejectedCount.load(ordering: .relaxed) }

    /// Counts an API call and returns its ordinal (0 for the first), which seeds its fault decision.
    func countAPICall() -> Int { apiCallCount.add(1, ordering: .relaxed).oldValue }
    /// Counts a download and returns its ordinal (0 for the first), which seeds its fault decision.
    func countDownload() -> Int { downloadCount.add(1, ordering: .relaxed).oldValue }
    /// Counts an injected fault.
    func countFault() { faultCount.add(1, ordering: .relaxed) }
    /// Counts a refused request.
    func countRejected() { rejectedCount.add(1, ordering: .relaxed) }
}
