import Core

/// An error of a window's transfer (download, verification, key template, sink), classified for the
/// retry policy, under codes such as `download.truncated` or `sink.verify_mismatch`. The object store
/// sink passes the store client's `ObjectStoreError`s on as this type with their code; the CDN client's
/// `TencentCloudError`s reach the worker pool as they are.
public struct TransferError: ClassifiedError, Equatable {
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
