import Foundation

/// An error of the transfer pipeline, classified for the retry policy.
///
/// `code` is stable and short (a cloud error code such as `AuthFailure.SignatureFailure`, or one of ours
/// such as `download.truncated`); `message` says what happened and, for permanent errors, what to check.
/// Neither ever contains a secret.
public struct TransferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How the retry policy must treat the error.
    public enum Disposition: String, Sendable, Equatable {
        /// Try again later with backoff, using an attempt.
        case retryable
        /// Retrying cannot help (bad credentials, unknown domain): fail the window now.
        case permanent
    }

    /// A stable, short code.
    public var code: String
    /// A human-readable explanation, free of secrets.
    public var message: String
    /// Retryable or permanent.
    public var disposition: Disposition
    /// The HTTP status involved, if any.
    public var httpStatus: Int?
    /// The remote request id, if any (Tencent `RequestId`, COS `x-cos-request-id`).
    public var requestID: String?

    /// Creates an error.
    public init(
        code: String, message: String, disposition: Disposition,
        httpStatus: Int? = nil, requestID: String? = nil
    ) {
        self.code = code
        self.message = message
        self.disposition = disposition
        self.httpStatus = httpStatus
        self.requestID = requestID
    }

    /// A retryable error.
    public static func retryable(_ code: String, _ message: String, httpStatus: Int? = nil, requestID: String? = nil) -> Self {
        Self(code: code, message: message, disposition: .retryable, httpStatus: httpStatus, requestID: requestID)
    }

    /// A permanent error.
    public static func permanent(_ code: String, _ message: String, httpStatus: Int? = nil, requestID: String? = nil) -> Self {
        Self(code: code, message: message, disposition: .permanent, httpStatus: httpStatus, requestID: requestID)
    }

    /// Whether retrying may help.
    public var isRetryable: Bool { disposition == .retryable }

    public var description: String {
        var text = "\(code): \(message)"
        if let httpStatus { text += " (HTTP \(httpStatus))" }
        if let requestID { text += " [request \(requestID)]" }
        return text
    }
}
