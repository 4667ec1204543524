/// A `host:port` to listen on (`[v6]:port` accepted); port 0 asks for a free one.
struct ListenAddress: Equatable {
    var host: String
    var port: Int

    /// Parses `text`; nil when it is not `HOST:PORT` with a port in `0...65535`.
    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}
