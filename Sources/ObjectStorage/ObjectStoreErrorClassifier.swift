import AsyncHTTPClient
import Core
import NIOCore

/// Turns the store's answers and transport failures into `ObjectStoreError`s.
///
/// The code is the store's own (`<Error><Code>`, e.g. `NoSuchBucket`) when it sent one, otherwise ours:
/// `store.http_status`, `store.network`, `store.timeout`, `store.malformed_response`, `store.file`,
/// `store.endpoint_invalid`, `store.response_too_large`.
///
/// Unavailable (retried; several in a row are an outage of the store, see `ErrorDisposition`): network
/// failures and timeouts, 5xx, 408, 429, `SlowDown`, `ServiceUnavailable`, `RequestTimeout`,
/// `InternalError`.
///
/// Retryable: `BadDigest` and `InvalidDigest` (the body was altered in flight, so `Content-MD5` did not
/// match), and `RequestTimeTooSkewed`: the host clock is more than 15 minutes off.
/// That one is retryable on purpose: it is no fault of the window, a clock fixed by NTP makes the next
/// attempt pass, and an operator who never fixes it still sees the window fail once attempts run out,
/// with a message that names the clock.
///
/// Permanent: `AccessDenied`, `SignatureDoesNotMatch`, `InvalidAccessKeyId`, `NoSuchBucket`,
/// `InvalidBucketName`, every other 4xx and 3xx; messages name the bucket and the settings to check.
/// Messages never contain a secret; the access key ID appears redacted.
enum ObjectStoreErrorClassifier {
    /// What the failed request was about, for the message.
    struct Context: Sendable {
        /// The HTTP method.
        var method: String
        /// The object key, nil for a request on the bucket.
        var key: String?
        /// E.g. `s3 bucket logs at http://127.0.0.1:9000`.
        var bucketDescription: String
        /// The credentials used, shown redacted.
        var credentials: ObjectStoreCredentials
        /// The request timeout, for timeout messages.
        var timeout: Duration

        /// E.g. `PUT cdnlog/a.gz on s3 bucket logs at http://127.0.0.1:9000`.
        var subject: String {
            "\(method) \(key ?? "(bucket)") on \(bucketDescription)"
        }
    }

    /// Error codes that say the store is down or overloaded, whatever their HTTP status.
    static let unavailableCodes: Set<String> = ["SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError"]

    /// Classifies an error answer.
    ///
    /// - Parameters:
    ///   - status: the HTTP status (200 for an error inside a `Complete` answer).
    ///   - document: the parsed `<Error>` body, if any (HEAD answers have none).
    ///   - requestID: `x-amz-request-id` / `x-cos-request-id`, or the body's `RequestId`.
    static func classify(
        status: Int, document: ObjectStoreMessages.ErrorDocument?, requestID: String?, context: Context
    ) -> ObjectStoreError {
        let code = document?.code ?? ""
        let said = (document?.message).map { $0.isEmpty ? "" : " (the store says: \($0))" } ?? ""
        let key = context.credentials.redactedAccessKeyID
        let (disposition, explanation): (ErrorDisposition, String)
        switch code {
        case "AccessDenied":
            disposition = .permanent
            explanation = "access denied to \(context.subject): check that key \(key) (sink.secret_id) may read "
                + "and write this bucket, and sink.bucket, sink.region and sink.endpoint"
        case "SignatureDoesNotMatch":
            disposition = .permanent
            explanation = "the store rejected the signature of \(context.subject): check sink.secret_key for "
                + "key \(key) (sink.secret_id), and sink.region and sink.endpoint, which are signed too"
        case "InvalidAccessKeyId":
            disposition = .permanent
            explanation = "the store does not know access key \(key) for \(context.subject): check sink.secret_id "
                + "and that sink.endpoint is the store the key belongs to"
        case "NoSuchBucket":
            disposition = .permanent
            explanation = "the bucket does not exist for \(context.subject): check sink.bucket (for COS with its "
                + "-<appid> suffix), sink.region and sink.endpoint"
        case "InvalidBucketName":
            disposition = .permanent
            explanation = "the store rejected the bucket name for \(context.subject): check sink.bucket"
        case "RequestTimeTooSkewed":
            disposition = .retryable
            explanation = "the host clock is more than 15 minutes away from the store's for \(context.subject): "
                + "fix the system time (NTP); the window is retried until its attempts run out"
        case "BadDigest", "InvalidDigest":
            disposition = .retryable
            explanation = "the bytes the store received for \(context.subject) do not match their Content-MD5: "
                + "the body was altered in flight"
        case _ where unavailableCodes.contains(code):
            disposition = .unavailable
            explanation = "the store had a temporary failure answering \(context.subject)"
        case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
            disposition = .permanent
            explanation = "the store says \(context.subject) went to the wrong region or endpoint: "
                + "check sink.region and sink.endpoint"
        default:
            (disposition, explanation) = classifyStatus(status, hasCode: !code.isEmpty, context: context)
        }
        return ObjectStoreError(
            code: code.isEmpty ? "store.http_status" : code, message: explanation + said,
            disposition: disposition, httpStatus: status, requestID: requestID ?? document?.requestID)
    }

    /// The disposition and explanation of an answer whose code is unknown or absent, from its status.
    private static func classifyStatus(
        _ status: Int, hasCode: Bool, context: Context
    ) -> (ErrorDisposition, String) {
        let answered = "the store answered \(context.subject) with HTTP \(status)"
        switch status {
        case 500...599, 408, 429:
            return (.unavailable, answered)
        case 403 where !hasCode:
            return (.permanent, answered + " (no error code, as HEAD answers carry none): check sink.secret_id, "
                + "sink.secret_key, the key's permissions on the bucket, and the host clock")
        case 301, 307, 400:
            return (.permanent, answered + ": check sink.region, sink.endpoint and sink.path_style")
        default:
            return (.permanent, answered)
        }
    }

    /// A 2xx answer whose body could not be read.
    static func malformed(_ reason: String, status: Int, requestID: String?, context: Context) -> ObjectStoreError {
        .retryable(
            "store.malformed_response", "the store's answer to \(context.subject) is not the expected XML: \(reason)",
            httpStatus: status, requestID: requestID)
    }

    /// Classifies a failure to get an answer at all: retryable, unless the task was cancelled. A
    /// `ObjectStoreError` (from reading the file being sent) passes through.
    static func transport(_ error: any Error, context: Context) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let error = error as? ObjectStoreError { return error }
        if let error = error as? HTTPClientError,
            error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            return ObjectStoreError.unavailable(
                "store.timeout", "no answer to \(context.subject) within \(context.timeout): check the network")
        }
        if error is NIOTooManyBytesError {
            return ObjectStoreError.retryable(
                "store.response_too_large", "the answer to \(context.subject) is larger than expected")
        }
        return ObjectStoreError.unavailable(
            "store.network", "could not complete \(context.subject): \(describeTransportFailure(error)); check the network and sink.endpoint")
    }
}
