import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to the receiver that posts one body with `Connection: keep-alive`, reads the
/// answer, and then stays open doing nothing until `close()`: a connection the server holds.
final class HeldConnection {
    private let descriptor: Int32
    /// The raw HTTP answer to the one request.
    let response: String

    init(port: Int, body: [UInt8], path: String = IngestTestBed.endpoint.path) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        var request = Array("""
            POST \(path) HTTP/1.1\r
            Host: 127.0.0.1\r
            X-Api-Key: s3cret\r
            Connection: keep-alive\r
            Content-Length: \(body.count)\r
            \r

            """.utf8)
        request += body
        var sent = 0
        while sent < request.count {
            let written = request[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
            guard written > 0 else {
                Glibc.close(descriptor)
                throw POSIXError(.EIO)
            }
            sent += written
        }
        // The answer is small: its headers and a one-line JSON body that ends with `}`.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !(String(decoding: received, as: UTF8.self).contains("\r\n\r\n") && received.last == UInt8(ascii: "}")) {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        self.descriptor = descriptor
        response = String(decoding: received, as: UTF8.self)
    }

    /// Closes the connection.
    func close() {
        Glibc.close(descriptor)
    }
}
