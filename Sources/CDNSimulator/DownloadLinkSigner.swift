import Crypto
import Foundation

/// Makes and checks the signed, expiring download links listed as `LogPath`.
///
/// A link is `http://<host>/<yyyymmdd>/<hh>/<file>?area=<area>&st=<issued>&e=<expiry>&sign=<hmac>` (plus
/// `&v=<version>` for a growing package not yet final), where `st` and `e` are unix seconds and `sign` is
/// an HMAC-SHA256 over path, area, version, `st` and `e`, keyed by the secret key and the seed. A link is
/// refused once `e` has passed, or when any of its parts was altered.
struct DownloadLinkSigner: Sendable {
    private let key: SymmetricKey

    /// A signer keyed by `configuration`'s secret key and seed, so links of another simulator do not work.
    init(configuration: CDNSimulatorConfiguration) {
        key = SymmetricKey(data: SHA256.hash(data: Array("download-links\n\(configuration.secretKey)\n\(configuration.seed)".utf8)))
    }

    /// The query string of a link to `path` for `area`/`version`, valid from `issued` until `expires`.
    func query(path: String, area: LogArea, version: Int, issued: Int, expires: Int) -> String {
        var query = "area=\(area.rawValue)&st=\(issued)&e=\(expires)"
        if version != PackageKey.finalVersion { query += "&v=\(version)" }
        return query + "&sign=\(sign(path: path, area: area, version: version, issued: issued, expires: expires))"
    }

    /// Why a link is refused.
    enum Refusal: Error, Equatable {
        /// A part is missing or malformed, or the signature does not match.
        case invalid
        /// The link's expiry has passed.
        case expired
    }

    /// The area and version a valid link names; throws when the link is altered, incomplete or expired.
    func verify(path: String, query: [String: String], now: Date) throws(Refusal) -> (area: LogArea, version: Int) {
        guard let area = query["area"].flatMap(LogArea.init(rawValue:)),
              let issued = query["st"].flatMap({ Int($0) }), let expires = query["e"].flatMap({ Int($0) }),
              let signature = query["sign"]
        else { throw .invalid }
        let version: Int
        if let text = query["v"] {
            guard let number = Int(text), (0..<PackageKey.finalVersion).contains(number) else { throw .invalid }
            version = number
        } else {
            version = PackageKey.finalVersion
        }
        let expected = sign(path: path, area: area, version: version, issued: issued, expires: expires)
        guard TC3RequestVerifier.constantTimeEqual(Array(expected.utf8), Array(signature.utf8)) else { throw .invalid }
        guard Int(now.timeIntervalSince1970.rounded(.down)) <= expires else { throw .expired }
        return (area, version)
    }

    private func sign(path: String, area: LogArea, version: Int, issued: Int, expires: Int) -> String {
        let message = "\(path)\n\(area.rawValue)\n\(version)\n\(issued)\n\(expires)"
        let code = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key)
        return code.prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
