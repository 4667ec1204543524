import Foundation

/// Which pass a window's run is: the first copy, or the check against the source once its logs settled.
public enum WindowPass: String, Sendable, Hashable, Codable {
    /// The first copy, as soon as the hour is published.
    case copy
    /// The settle-time check: packages that changed since the copy are stored again.
    case reconcile
}
