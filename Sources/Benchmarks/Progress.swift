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

/// Times `body` on the continuous clock.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let value = try await body()
    return (value, start.duration(to: .now))
}

/// This process's CPU time (user plus system) so far, for CPU seconds per unit of work: on a shared
/// machine, less noisy than wall time.
enum ProcessCPU {
    /// Seconds of CPU this process used so far.
    static var seconds: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
}
