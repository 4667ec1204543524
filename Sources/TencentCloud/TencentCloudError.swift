import Core

/// A failed call to the Tencent Cloud API or a failed CDN log download, classified for the retry policy:
/// the API's own error code (`AuthFailure.SignatureFailure`, `RequestLimitExceeded`) or one of ours
/// (`cdn.network`, `cdn.malformed_response`), with the HTTP status and `RequestId` when known.
public struct TencentCloudError: ClassifiedError, Equatable {
    public var code: String
    public var message: String
    public var disposition: ErrorDisposition
    public var httpStatus: Int?
    public var requestID: String?

    /// Creates an error.
    public init(code: String, message: String, disposition: ErrorDisposition, httpStatus: Int? = nil, requestID: String? = nil) {
        self.code = code
        self.message = message
        self.disposition = disposition
        self.httpStatus = httpStatus
        self.requestID = requestID
    }
}
