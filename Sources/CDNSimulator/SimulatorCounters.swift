import Synchronization

/// Counts what a simulator did, for assertions in tests and for the demo's output.
///
/// Thread-safe: every counter is an atomic, read and incremented from any task.
public final class SimulatorCounters: Sendable {
    private let apiCallCount = Atomic<Int>(0)
    private let downloadCount = Atomic<Int>(0)
    private let faultCount = Atomic<Int>(0)
    private let rejectedCount = Atomic<Int>(0)
    /// Every package download served (200), with when it began and ended, by package.
    private let served = Mutex<[PackageDownload]>([])

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

    /// Records a download of `key` served from `start` (the request's arrival) to `end` (the body's last
    /// byte, or its failure).
    func recordServed(_ key: PackageKey, from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) {
        served.withLock { $0.append(PackageDownload(domain: key.domain, hourStart: key.hourStart, area: key.area, start: start, end: end)) }
    }

    /// Every package download answered with a body so far, in the order they ended.
    public var servedDownloads: [PackageDownload] { served.withLock { $0 } }

    /// The packages (as `domain hour area`) that two downloads were fetching at the same time: what two
    /// workers leasing the same window at once would show.
    public var overlappingDownloads: [String] {
        let byPackage = Dictionary(grouping: servedDownloads) { "\($0.domain) \($0.hourStart) \($0.area.rawValue)" }
        return byPackage.compactMap { package, downloads in
            let sorted = downloads.sorted { $0.start < $1.start }
            let overlaps = zip(sorted, sorted.dropFirst()).contains { earlier, later in later.start < earlier.end }
            return overlaps ? package : nil
        }.sorted()
    }
}

/// One package download the simulator served.
public struct PackageDownload: Sendable, Hashable {
    public var domain: String
    public var hourStart: Int
    public var area: LogArea
    /// When the request arrived.
    public var start: ContinuousClock.Instant
    /// When its body was written or failed.
    public var end: ContinuousClock.Instant
}
