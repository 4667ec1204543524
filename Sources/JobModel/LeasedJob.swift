import Foundation

/// A window a worker holds a lease on. Every later transition must present `leaseToken`: a worker whose
/// lease expired and was taken over cannot overwrite the new holder's result.
public struct LeasedJob: Sendable, Hashable {
    /// The job's row id.
    public var id: Int64
    /// The window.
    public var window: Window
    /// Leases taken so far, including this one.
    public var attempts: Int
    /// Proof of the lease.
    public var leaseToken: String
    /// When the lease expires unless extended by a heartbeat.
    public var leaseUntil: Date
    /// The first copy or the reconcile pass.
    public var pass: WindowPass

    /// Creates a leased job (the store does this when it grants a lease).
    public init(id: Int64, window: Window, attempts: Int, leaseToken: String, leaseUntil: Date, pass: WindowPass = .copy) {
        self.id = id
        self.window = window
        self.attempts = attempts
        self.leaseToken = leaseToken
        self.leaseUntil = leaseUntil
        self.pass = pass
    }
}
