/// Writes realistic Tencent CDN access-log lines, deterministically, straight into a byte buffer.
///
/// Each line has the 16 space-separated fields of Tencent's offline logs: request time
/// (`yyyyMMddHHmmss`, Beijing time), client IP, domain, path, bytes, province id, ISP id, HTTP status,
/// referer, response time (ms), user agent, range, method, protocol, cache `HIT`/`MISS`, client port.
/// No field ever contains a space: the user agent is percent-encoded (`%20` for a space), so a line always
/// splits into exactly 16 fields on single spaces. Lines end with `\n`.
///
/// The sequence of lines depends only on the generator's seed parts, never on how the caller batches them,
/// so a shorter package (a growing package's early version) holds a prefix of a longer one's lines.
struct LogLineGenerator {
    private var random: DeterministicRandom
    private let domain: [UInt8]
    private let area: LogArea
    /// `yyyyMMddHH` of the hour, Beijing time.
    private let hourDigits: [UInt8]
    /// About how many lines the final package holds, to spread request times over the hour.
    private let expectedLines: Int
    /// Lines written so far.
    private(set) var lineCount = 0

    /// A generator for the package of `key` (whatever its version) whose final compressed size is `finalSize`.
    init(key: PackageKey, seed: UInt64, finalSize: Int) {
        random = DeterministicRandom("lines", String(seed), key.domain, String(key.hourStart), key.area.rawValue)
        domain = Array(key.domain.utf8)
        area = key.area
        hourDigits = Array(PackageCatalog.beijingDigits(key.hourStart).utf8)
        expectedLines = max(1, finalSize / Self.compressedBytesPerLine)
    }

    /// The measured average compressed size of one line at the writer's compression level (1), in bytes.
    static let compressedBytesPerLine = 38

    /// Appends the next line, newline included.
    mutating func appendLine(to buffer: inout [UInt8]) {
        let second = min(3599, lineCount * 3600 / expectedLines)
        lineCount += 1
        buffer.append(contentsOf: hourDigits)
        appendPadded(second / 60, to: &buffer)
        appendPadded(second % 60, to: &buffer)
        buffer.append(.space)
        appendClientIP(to: &buffer)
        buffer.append(.space)
        buffer.append(contentsOf: domain)
        buffer.append(.space)
        let bytes = appendPath(to: &buffer)
        buffer.append(.space)
        let status = pick(Self.statuses)
        appendNumber(status == 304 ? 0 : bytes, to: &buffer)
        buffer.append(.space)
        appendNumber(area == .mainland ? pick(Self.provinces) : (random.next(below: 10) == 0 ? 1 : -1), to: &buffer)
        buffer.append(.space)
        appendNumber(area == .mainland ? pick(Self.internetProviders) : -1, to: &buffer)
        buffer.append(.space)
        appendNumber(status, to: &buffer)
        buffer.append(.space)
        appendReferer(to: &buffer)
        buffer.append(.space)
        let unit = random.nextUnit()
        appendNumber(1 + Int(unit * unit * unit * 3000), to: &buffer)
        buffer.append(.space)
        buffer.append(contentsOf: pick(Self.userAgents))
        buffer.append(.space)
        buffer.append(contentsOf: status == 206 ? Array("bytes=0-1048575".utf8) : [UInt8(ascii: "-")])
        buffer.append(.space)
        buffer.append(contentsOf: pick(Self.methods))
        buffer.append(.space)
        buffer.append(contentsOf: pick(Self.protocols))
        buffer.append(.space)
        buffer.append(contentsOf: random.next(below: 100) < 85 ? Array("HIT".utf8) : Array("MISS".utf8))
        buffer.append(.space)
        appendNumber(1024 + random.next(below: 64_512), to: &buffer)
        buffer.append(UInt8(ascii: "\n"))
    }

    private mutating func appendClientIP(to buffer: inout [UInt8]) {
        appendNumber(pick(area == .mainland ? Self.mainlandFirstOctets : Self.overseasFirstOctets), to: &buffer)
        for _ in 0..<2 {
            buffer.append(UInt8(ascii: "."))
            appendNumber(random.next(below: 256), to: &buffer)
        }
        buffer.append(UInt8(ascii: "."))
        appendNumber(1 + random.next(below: 254), to: &buffer)
    }

    /// Appends a request path and returns a plausible response size for it.
    private mutating func appendPath(to buffer: inout [UInt8]) -> Int {
        // Squaring the unit skews towards the first (most popular) kinds of resource.
        let unit = random.nextUnit()
        let kind = Int(unit * unit * 7)
        let number = random.next(below: kind < 2 ? 50 : 5000)
        switch kind {
        case 0:
            append("/static/js/app.", number, ".js", to: &buffer)
            return 20_000 + number * 997
        case 1:
            append("/static/css/main.", number, ".css", to: &buffer)
            return 5_000 + number * 211
        case 2:
            append("/images/", number, ".jpg", to: &buffer)
            return 8_000 + random.next(below: 400_000)
        case 3:
            append("/video/", number / 50, "/seg-", to: &buffer)
            appendNumber(number % 50, to: &buffer)
            buffer.append(contentsOf: Array(".ts".utf8))
            return 500_000 + random.next(below: 1_500_000)
        case 4:
            append("/api/v1/items?id=", number, "", to: &buffer)
            return 300 + random.next(below: 4_000)
        case 5:
            append("/index.html", nil, "", to: &buffer)
            return 12_345
        default:
            append("/downloads/pkg-", number, ".zip", to: &buffer)
            return 1_000_000 + random.next(below: 50_000_000)
        }
    }

    private mutating func appendReferer(to buffer: inout [UInt8]) {
        switch random.next(below: 10) {
        case 0..<5: buffer.append(UInt8(ascii: "-"))
        case 5..<8:
            buffer.append(contentsOf: Array("https://".utf8))
            buffer.append(contentsOf: domain)
            buffer.append(UInt8(ascii: "/"))
        default: buffer.append(contentsOf: pick(Self.referers))
        }
    }

    private mutating func pick<Element>(_ choices: [Element]) -> Element {
        choices[random.next(below: choices.count)]
    }

    private func append(_ prefix: String, _ number: Int?, _ suffix: String, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: Array(prefix.utf8))
        if let number { appendNumber(number, to: &buffer) }
        buffer.append(contentsOf: Array(suffix.utf8))
    }

    private func appendPadded(_ value: Int, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "0") + UInt8(value / 10))
        buffer.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    private func appendNumber(_ value: Int, to buffer: inout [UInt8]) {
        if value < 0 {
            buffer.append(UInt8(ascii: "-"))
            appendNumber(-value, to: &buffer)
            return
        }
        if value >= 10 { appendNumber(value / 10, to: &buffer) }
        buffer.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    // Weighted by repetition. Status codes: mostly 200, some 304 and 206, a few errors.
    private static let statuses = [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 304, 304, 206, 404, 403, 502]
    // Tencent's province ids (22 Beijing, 4 Guangdong, 1050 Shanghai, ...); 0 other.
    private static let provinces = [22, 4, 4, 1050, 1442, 120, 122, 2, 1068, 1135, 182, 1464, 152, 173, 1051, 0]
    // 2 China Telecom, 26 China Unicom, 1046 China Mobile, 38 CERNET, 43 Great Wall, 3947 Tietong, 0 other.
    private static let internetProviders = [2, 2, 2, 26, 26, 1046, 1046, 1046, 38, 43, 3947, 0]
    private static let mainlandFirstOctets = [36, 58, 59, 60, 61, 101, 106, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 180, 182, 183, 202, 211, 218, 219, 220, 221, 222, 223]
    private static let overseasFirstOctets = [8, 23, 31, 45, 66, 72, 81, 89, 91, 104, 142, 151, 176, 185, 198]
    private static let methods = ["GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "HEAD", "POST"].map { Array($0.utf8) }
    private static let protocols = ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/2.0", "HTTP/2.0", "HTTP/3"].map { Array($0.utf8) }
    private static let referers = ["https://www.baidu.com/", "https://www.google.com/", "https://m.weibo.cn/"].map { Array($0.utf8) }
    private static let userAgents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47",
        "okhttp/4.12.0",
        "curl/8.5.0",
        "-",
    ].map { Array($0.replacingSpaces().utf8) }
}

extension UInt8 {
    fileprivate static let space = UInt8(ascii: " ")
}

extension String {
    /// The text with each space percent-encoded, so it fits in one space-separated field.
    fileprivate func replacingSpaces() -> String {
        split(separator: " ", omittingEmptySubsequences: false).joined(separator: "%20")
    }
}
