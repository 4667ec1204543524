import Foundation

/// Human-readable progress lines on standard output, written unbuffered and stamped with the time
/// since the benchmark started, so a slow phase shows while it runs.
enum Progress {
    private static let start = ContinuousClock.now

    /// Prints one progress line.
    static func say(_ message: String) {
        let elapsed = start.duration(to: .now).inSeconds
        line(String(format: "[%6.1fs] ", elapsed) + message)
    }

    /// Writes `text` and a newline to standard output, unbuffered (so it keeps its place among the
    /// progress lines).
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}

extension Duration {
    /// The duration in seconds (named apart from Scheduler's `timeInterval`, which some files see).
    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in milliseconds.
    var inMilliseconds: Double { inSeconds * 1000 }
}

extension Int {
    /// The number with thousands separators, for progress lines (`200,000`).
    var grouped: String {
        let digits = String(magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return (self < 0 ? "-" : "") + result
    }
}

/// `value` rounded to `digits` decimals, as the benchmarks report figures.
func rounded(_ value: Double, _ digits: Int) -> Double {
    let scale = pow(10, Double(digits))
    return (value * scale).rounded() / scale
}

/// Times `body` on the continuous clock.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let value = try await body()
    return (value, start.duration(to: .now))
}

extension Encodable {
    /// The value as one line of JSON, keys sorted: how every benchmark prints its result.
    func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
