import Core

/// An error of a window's transfer (download, verification, key template, sink), classified for the
/// retry policy. The clients' own errors (`TencentCloudError`, `ObjectStoreError`) reach the worker pool
/// as they are; this type carries the failures the transfer itself finds, under codes such as
/// `download.truncated` or `sink.mismatch`.
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
