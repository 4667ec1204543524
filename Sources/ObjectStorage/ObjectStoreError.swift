import Core

/// A failed call to an S3-compatible store or COS, classified for the retry policy: the store's own
/// error code (`NoSuchBucket`, `SlowDown`, `BadDigest`) or one of ours (`store.network`,
/// `store.malformed_response`), with the HTTP status and the store's request id when known. Permanent
/// errors name the bucket and what to check.
public struct ObjectStoreError: ClassifiedError, Equatable {
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
