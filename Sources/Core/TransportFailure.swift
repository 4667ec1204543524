#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One short, balanced phrase for a failed connection or request, for messages an operator reads:
/// `connection refused`, `connection timed out`, `the server closed the connection`.
///
/// The networking libraries' own descriptions nest a reason, the system's text and an errno in
/// parentheses (`connection reset (error set): Connection refused) (errno: 111)`); an errno found in
/// the description is told by the system's text alone, and the HTTP client's error cases by name.
/// Anything else is described as it describes itself.
package func describeTransportFailure(_ error: any Error) -> String {
    let text = String(describing: error)
    if let range = text.range(of: "errno: ") {
        let digits = text[range.upperBound...].prefix(while: \.isNumber)
        if let code = Int32(digits) {
            return String(cString: strerror(code)).lowercased()
        }
    }
    let httpClientCases = [
        "connectTimeout": "connection timed out",
        "readTimeout": "no answer in time (read timeout)",
        "writeTimeout": "could not send in time (write timeout)",
        "deadlineExceeded": "the request took too long",
        "remoteConnectionClosed": "the server closed the connection",
        "connectionClosed": "the connection was closed",
        "tlsHandshakeTimeout": "TLS handshake timed out",
    ]
    if text.hasPrefix("HTTPClientError.") {
        let name = String(text.dropFirst("HTTPClientError.".count).prefix(while: { $0.isLetter || $0.isNumber }))
        return httpClientCases[name] ?? name
    }
    return text
}
