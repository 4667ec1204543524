/// A Tencent Cloud API key pair (`cdn.secret_id` / `cdn.secret_key`), optionally temporary.
///
/// Every textual form of this value (`description`, `debugDescription`, `dump`) hides the secret key and
/// the token, so a credentials value can be logged or interpolated into an error by mistake without
/// leaking anything.
public struct TencentCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The key's public identifier (`AKID...`); it names the key in every signed request.
    public var secretID: String
    /// The signing secret. Never sent, logged or put in an error message.
    public var secretKey: String
    /// The session token of temporary (STS) credentials, sent as `X-TC-Token`; nil for a permanent key.
    public var token: String?

    /// Creates credentials; pass `token` only for temporary credentials.
    public init(secretID: String, secretKey: String, token: String? = nil) {
        self.secretID = secretID
        self.secretKey = secretKey
        self.token = token
    }

    /// The secret ID shortened to its first and last four characters, e.g. `AKID…MPLE`.
    ///
    /// Enough to tell keys apart in logs and messages, too little to be mistaken for the whole ID.
    public var redactedSecretID: String {
        guard secretID.count > 8 else { return "…" }
        return "\(secretID.prefix(4))…\(secretID.suffix(4))"
    }

    /// E.g. `AKID…MPLE (secret redacted)`; mentions a token without showing it.
    public var description: String {
        "\(redactedSecretID) (secret redacted\(token == nil ? "" : ", temporary token"))"
    }

    /// The same as `description`.
    public var debugDescription: String { description }

    /// A mirror without the secret key or token, so `dump` and debuggers show no secret either.
    public var customMirror: Mirror {
        Mirror(self, children: ["secretID": redactedSecretID, "hasToken": token != nil], displayStyle: .struct)
    }
}
