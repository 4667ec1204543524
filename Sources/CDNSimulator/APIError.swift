/// An API error as Tencent reports it: HTTP 200 and `Response.Error.{Code, Message}`.
struct APIError: Error, Equatable {
    /// E.g. `AuthFailure.SignatureFailure`.
    var code: String
    /// A human-readable explanation.
    var message: String

    /// An error with a Tencent error code and a message.
    init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `InvalidParameter` with `message`.
    static func invalidParameter(_ message: String) -> APIError { APIError("InvalidParameter", message) }
}
