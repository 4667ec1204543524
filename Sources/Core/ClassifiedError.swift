/// How a retry policy must treat an error.
public enum ErrorDisposition: String, Sendable, Equatable {
    /// Try again later with backoff: something went wrong with this request in particular.
    case retryable
    /// The service itself did not answer, answered 5xx, throttled, or a local disk or device failed: try
    /// again later. Several in a row, with no success between them, are an outage of that dependency,
    /// which is no fault of the window that met it.
    case unavailable
    /// Retrying cannot help (bad credentials, unknown domain, invalid configuration): fail now.
    case permanent
}

/// An error of a module that talks to the outside world, with a stable code, a message an operator can
/// act on, and a retry classification.
///
/// Each module has its own type (`TencentCloudError`, `ObjectStoreError`, `TransferError`); the worker
/// pool needs only this protocol to decide between a retry and a failure. `code` is short and stable (a
/// cloud error code such as `AuthFailure.SignatureFailure`, or one of ours such as `download.truncated`);
/// neither it nor `message` ever contains a secret.
public protocol ClassifiedError: Error, Sendable, CustomStringConvertible {
    /// A stable, short code.
    var code: String { get }
    /// What happened and, for permanent errors, what to check.
    var message: String { get }
    /// Retryable or permanent.
    var disposition: ErrorDisposition { get }
    /// The HTTP status involved, if any.
    var httpStatus: Int? { get }
    /// The remote request id, if any (Tencent `RequestId`, COS `x-cos-request-id`).
    var requestID: String? { get }

    /// Creates an error.
    init(code: String, message: String, disposition: ErrorDisposition, httpStatus: Int?, requestID: String?)
}

extension ClassifiedError {
    /// A retryable error.
    public static func retryable(_ code: String, _ message: String, httpStatus: Int? = nil, requestID: String? = nil) -> Self {
        Self(code: code, message: message, disposition: .retryable, httpStatus: httpStatus, requestID: requestID)
    }

    /// An error saying the dependency is unavailable (unreachable, overloaded, 5xx, out of disk).
    public static func unavailable(_ code: String, _ message: String, httpStatus: Int? = nil, requestID: String? = nil) -> Self {
        Self(code: code, message: message, disposition: .unavailable, httpStatus: httpStatus, requestID: requestID)
    }

    /// A permanent error.
    public static func permanent(_ code: String, _ message: String, httpStatus: Int? = nil, requestID: String? = nil) -> Self {
        Self(code: code, message: message, disposition: .permanent, httpStatus: httpStatus, requestID: requestID)
    }

    /// The same error as another module's type, e.g. a client's error as the transfer's.
    public init(_ other: some ClassifiedError) {
        self.init(code: other.code, message: other.message, disposition: other.disposition,
                  httpStatus: other.httpStatus, requestID: other.requestID)
    }

    /// Whether retrying may help.
    public var isRetryable: Bool { disposition != .permanent }

    /// Whether the error says the dependency is unavailable rather than something about this request.
    public var isUnavailability: Bool { disposition == .unavailable }

    /// `message (HTTP status) [request id]`: what the job table keeps beside the code.
    public var detail: String {
        var text = message
        if let httpStatus { text += " (HTTP \(httpStatus))" }
        if let requestID { text += " [request \(requestID)]" }
        return text
    }

    /// `code: message (HTTP status) [request id]`.
    public var description: String { "\(code): \(detail)" }
}
