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

/// The fault, if any, injected into one request.
enum InjectedFault: Equatable {
    /// HTTP 500 with an error body.
    case httpServerError
    /// HTTP 200 with `InternalError`.
    case internalError
    /// HTTP 200 with `RequestLimitExceeded`.
    case throttled
    /// The body stops after about half its announced length.
    case truncated
    /// One byte of the body is flipped.
    case corrupted

    /// The fault for the API call with ordinal `ordinal`: a deterministic draw from the seed and the ordinal,
    /// so a retried call (a later ordinal) draws again.
    static func forAPICall(_ ordinal: Int, configuration: CDNSimulatorConfiguration) -> InjectedFault? {
        let draw = stableUnit("api-fault", String(configuration.seed), String(ordinal))
        if draw < configuration.apiErrorRate {
            return stableUnit("api-fault-kind", String(configuration.seed), String(ordinal)) < 0.5
                ? .httpServerError : .internalError
        }
        if draw < configuration.apiErrorRate + configuration.throttleRate { return .throttled }
        return nil
    }

    /// The fault for the download with ordinal `ordinal`, drawn like `forAPICall`.
    static func forDownload(_ ordinal: Int, configuration: CDNSimulatorConfiguration) -> InjectedFault? {
        let draw = stableUnit("download-fault", String(configuration.seed), String(ordinal))
        if draw < configuration.truncateRate { return .truncated }
        if draw < configuration.truncateRate + configuration.corruptRate { return .corrupted }
        return nil
    }
}
