import Foundation

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
