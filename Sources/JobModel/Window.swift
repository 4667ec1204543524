import Core
import Foundation

/// The unit of work: one source's logs of one domain for one UTC hour.
public struct Window: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Where the logs come from, e.g. `tencent-cdn`.
    public var source: String
    /// The CDN domain.
    public var domain: String
    /// The UTC start of the hour; always a whole hour.
    public var hour: Date

    /// Creates a window; `hour` is truncated to the start of its hour.
    public init(source: String, domain: String, hour: Date) {
        self.source = source
        self.domain = domain
        self.hour = hour.startOfHour
    }

    public var description: String {
        "\(source)/\(domain)/\(hour.formatted(.iso8601))"
    }
}
