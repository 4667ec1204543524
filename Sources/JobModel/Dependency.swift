import Core
import Foundation

/// What every window of the pull pipeline needs besides the database. When one of them fails for every
/// window, that is an outage: no fault of the windows, so it must not spend their attempts.
public enum Dependency: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// The CDN's API: listing a window's packages.
    case cdnAPI = "cdn_api"
    /// The CDN's download links.
    case cdnDownloads = "cdn_downloads"
    /// The object store or directory the packages go to.
    case sink
    /// The local directory downloads are written to before they are stored.
    case spool

    public var description: String { rawValue }
}

/// Told by a window's transfer how each dependency answered; the worker pool's outage detection.
public protocol DependencyObserver: Sendable {
    /// The dependency answered a request (whatever the answer said about the window).
    func answered(_ dependency: Dependency)
    /// The dependency was unavailable: unreachable, overloaded, 5xx, out of disk.
    func unavailable(_ dependency: Dependency, _ error: any ClassifiedError)
}

/// A window's transfer met a dependency that was unavailable: the error says nothing about the window.
public struct DependencyUnavailable: Error, Sendable, CustomStringConvertible {
    /// Which dependency.
    public var dependency: Dependency
    /// What it answered, or why it could not be reached.
    public var error: any ClassifiedError

    /// Creates the error.
    public init(_ dependency: Dependency, _ error: any ClassifiedError) {
        self.dependency = dependency
        self.error = error
    }

    public var description: String { "\(dependency) unavailable: \(error)" }
}

/// One dependency's health as the running service last saw it.
public struct DependencyState: Sendable, Hashable, Codable {
    /// Which dependency.
    public var dependency: Dependency
    /// When the outage began (the first failure of the unbroken run of failures), nil while healthy.
    public var outageSince: Date?
    /// Failures in a row since it last answered.
    public var failures: Int
    /// The latest failure.
    public var lastError: JobError?
    /// When it last answered.
    public var lastAnsweredAt: Date?
    /// When it last failed.
    public var lastFailureAt: Date?

    /// Creates a state.
    public init(
        dependency: Dependency, outageSince: Date? = nil, failures: Int = 0, lastError: JobError? = nil,
        lastAnsweredAt: Date? = nil, lastFailureAt: Date? = nil
    ) {
        self.dependency = dependency
        self.outageSince = outageSince
        self.failures = failures
        self.lastError = lastError
        self.lastAnsweredAt = lastAnsweredAt
        self.lastFailureAt = lastFailureAt
    }

    /// True while the dependency is in an outage.
    public var inOutage: Bool { outageSince != nil }
}

/// An outage that is over.
public struct OutagePeriod: Sendable, Hashable, Codable {
    /// Which dependency.
    public var dependency: Dependency
    /// The first failure.
    public var started: Date
    /// When it answered again.
    public var ended: Date
    /// Failures seen during it.
    public var failures: Int

    /// Creates a period.
    public init(dependency: Dependency, started: Date, ended: Date, failures: Int) {
        self.dependency = dependency
        self.started = started
        self.ended = ended
        self.failures = failures
    }

    /// How long it lasted.
    public var duration: TimeInterval { ended.timeIntervalSince(started) }
}
