import Core

/// Turns a Tencent Cloud API 3.0 error (`Response.Error.Code`/`Message`) into a `TencentCloudError`.
///
/// The split follows the official SDKs: throttling, internal errors and anything unknown may pass if
/// tried again later; bad credentials, bad parameters, unknown domains and missing permissions cannot.
/// Messages say what the operator should check and never contain the secret key (only the redacted
/// secret ID).
enum TencentErrorClassifier {
    /// What the failed request was about, for the message.
    struct Context {
        /// The API action, e.g. `DescribeCdnDomainLogs`.
        var action: String
        /// The domain the request was about, if any.
        var domain: String?
        /// The credentials used, shown redacted.
        var credentials: TencentCredentials
    }

    /// Whether `code` is Tencent's throttling error or one of its sub-codes.
    static func isThrottling(_ code: String) -> Bool {
        hasPrefix(code, "RequestLimitExceeded")
    }

    /// Classifies an error answer.
    ///
    /// - Parameters:
    ///   - code: Tencent's error code, e.g. `AuthFailure.SignatureFailure`; becomes the error's `code`.
    ///   - message: Tencent's own message, quoted at the end of ours.
    ///   - requestID: the answer's `RequestId`.
    ///   - httpStatus: the HTTP status that carried the answer (200 for API errors).
    static func classify(
        code: String, message: String, requestID: String?, httpStatus: Int?, context: Context
    ) -> TencentCloudError {
        let said = message.isEmpty ? "" : " (Tencent says: \(message))"
        let subject = context.domain.map { "\(context.action) for domain \($0)" } ?? context.action
        let (disposition, explanation): (ErrorDisposition, String)
        if code == "AuthFailure.SignatureExpire" {
            disposition = .permanent
            explanation = "the request timestamp is more than 5 minutes away from Tencent's clock: "
                + "the host clock is off; fix the system time (NTP)"
        } else if hasPrefix(code, "AuthFailure") {
            disposition = .permanent
            explanation = "Tencent rejected the API key \(context.credentials.redactedSecretID) for \(subject): "
                + "check cdn.secret_id / cdn.secret_key"
        } else if code == "ResourceNotFound.CdnHostNotExists" {
            disposition = .permanent
            explanation = "domain \(context.domain ?? "(none)") is not a CDN domain of this Tencent Cloud account: "
                + "check cdn.domains and the account of cdn.secret_id"
        } else if hasPrefix(code, "ResourceNotFound") {
            disposition = .permanent
            explanation = "Tencent found no such resource for \(subject): check cdn.domains"
        } else if hasPrefix(code, "UnauthorizedOperation") {
            disposition = .permanent
            explanation = "the API key \(context.credentials.redactedSecretID) lacks CDN permission for \(subject): "
                + "grant it cdn:\(context.action) (e.g. the QcloudCDNReadOnlyAccess policy)"
        } else if hasPrefix(code, "InvalidParameter") {
            disposition = .permanent
            explanation = "Tencent rejected a parameter of \(subject): check cdn.area and cdn.domains"
        } else if isThrottling(code) {
            disposition = .unavailable
            explanation = "Tencent throttled \(subject) (more than its per-API rate limit)"
        } else if hasPrefix(code, "InternalError") {
            disposition = .unavailable
            explanation = "Tencent had an internal error answering \(subject)"
        } else {
            disposition = .retryable
            explanation = "Tencent answered \(subject) with an unexpected error"
        }
        return TencentCloudError(
            code: code.isEmpty ? "cdn.unknown_error" : code, message: explanation + said,
            disposition: disposition, httpStatus: httpStatus, requestID: requestID)
    }

    /// Whether `code` belongs to `family`: Tencent extends families both with sub-codes
    /// (`InvalidParameter.CdnParamError`) and with longer names (`InvalidParameterValue`).
    private static func hasPrefix(_ code: String, _ family: String) -> Bool {
        code.hasPrefix(family)
    }
}
