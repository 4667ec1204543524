import Foundation

/// Selects windows for `jobs`, `retry` and similar operator commands. Nil fields match everything.
public struct JobFilter: Sendable, Hashable {
    /// Only windows in this state.
    public var state: JobState?
    /// Only windows of this domain.
    public var domain: String?
    /// Only windows whose hour is at or after this instant.
    public var since: Date?
    /// Only windows whose hour is before this instant.
    public var until: Date?

    /// Creates a filter.
    public init(state: JobState? = nil, domain: String? = nil, since: Date? = nil, until: Date? = nil) {
        self.state = state
        self.domain = domain
        self.since = since
        self.until = until
    }
}
