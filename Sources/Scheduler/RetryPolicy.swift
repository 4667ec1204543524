import Foundation

/// What to do with a window after a run that did not store it: pure, a function of the attempt count,
/// the error's disposition, the window's age and a random draw for jitter.
public struct RetryPolicy: Sendable, Equatable {
    /// Leases a window may use before it is failed.
    public var maxAttempts: Int
    /// The first retry's delay.
    public var baseDelay: TimeInterval
    /// The longest delay between retries.
    public var maximumDelay: TimeInterval
    /// Relative jitter: 0.2 spreads each delay uniformly over ±20 %.
    public var jitter: Double
    /// How long after its end an hour with no package is taken to be an hour without traffic.
    public var publicationHorizon: TimeInterval
    /// How often an unpublished hour is looked at again before the horizon.
    public var publicationRecheck: TimeInterval

    /// Creates a policy.
    public init(
        maxAttempts: Int = 8, baseDelay: TimeInterval = 30, maximumDelay: TimeInterval = 3600,
        jitter: Double = 0.2, publicationHorizon: TimeInterval = 3 * 3600, publicationRecheck: TimeInterval = 600
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
        self.jitter = jitter
        self.publicationHorizon = publicationHorizon
        self.publicationRecheck = publicationRecheck
    }

    /// The delay before the retry that follows attempt number `attempt` (1-based): `baseDelay` doubled
    /// per attempt, capped, then spread by the jitter. `random` is a draw from 0 ..< 1.
    public func backoff(afterAttempt attempt: Int, random: Double) -> TimeInterval {
        let exponent = Double(max(0, attempt - 1))
        let nominal = min(maximumDelay, baseDelay * pow(2, min(exponent, 62)))
        let spread = 1 + jitter * (2 * random - 1)
        return min(maximumDelay, nominal * spread)
    }

    /// The decision after a failed attempt.
    public enum Decision: Sendable, Equatable {
        /// Back to pending until the given instant, using the attempt.
        case retry(at: Date)
        /// Give up.
        case fail
    }

    /// The decision after attempt number `attempt` failed with a retryable (or a permanent) error.
    public func decision(afterAttempt attempt: Int, retryable: Bool, now: Date, random: Double) -> Decision {
        guard retryable, attempt < maxAttempts else { return .fail }
        return .retry(at: now.addingTimeInterval(backoff(afterAttempt: attempt, random: random)))
    }

    /// The decision when the source listed nothing for a window.
    public enum PublicationDecision: Sendable, Equatable {
        /// Not published yet: look again at the given instant without using an attempt.
        case waitUntil(Date)
        /// Past the horizon: an hour without traffic, done with zero files.
        case empty
    }

    /// Whether a window starting at `hour` with nothing listed is still awaiting publication at `now`.
    public func publicationDecision(hour: Date, now: Date) -> PublicationDecision {
        let horizon = hour.addingTimeInterval(3600 + publicationHorizon)
        guard now < horizon else { return .empty }
        return .waitUntil(min(horizon, now.addingTimeInterval(publicationRecheck)))
    }
}
