import Foundation

/// Which pass a window's run is: the first copy, or the check against the source once its logs settled.
public enum WindowPass: String, Sendable, Hashable, Codable {
    /// The first copy, as soon as the hour is published.
    case copy
    /// The settle-time check: packages that changed since the copy are stored again.
    case reconcile
}

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

/// Why a window is not done: a short stable code and a message an operator can act on.
public struct JobError: Sendable, Hashable, Codable {
    /// A stable code, such as `AuthFailure.SignatureFailure` or `download.truncated`.
    public var code: String
    /// What happened and what to check. Never contains a secret.
    public var message: String

    /// Creates an error record.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// The result of one package of a window, kept with the window once it is done.
public struct FileRecord: Sendable, Hashable, Codable {
    /// `mainland`, `overseas`, or the source's own area name.
    public var area: String
    /// The package's file name.
    public var name: String
    /// Size in bytes.
    public var size: Int64
    /// CRC-64/XZ.
    public var crc64: UInt64
    /// MD5, lower-case hex.
    public var md5: String
    /// SHA-256, lower-case hex.
    public var sha256: String
    /// Where it is stored.
    public var objectKey: String
    /// True when an identical object was already stored and nothing was uploaded.
    public var skipped: Bool

    /// Creates a file record.
    public init(area: String, name: String, size: Int64, crc64: UInt64, md5: String, sha256: String, objectKey: String, skipped: Bool) {
        self.area = area
        self.name = name
        self.size = size
        self.crc64 = crc64
        self.md5 = md5
        self.sha256 = sha256
        self.objectKey = objectKey
        self.skipped = skipped
    }
}
