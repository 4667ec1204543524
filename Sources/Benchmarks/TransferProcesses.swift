import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A server the `transfer` benchmark starts in the background (the HTTP source, `rclone serve s3`),
/// listening on a port it picked itself and logged as `http://127.0.0.1:PORT`.
///
/// `stop()` ends exactly this process, by its own id.
final class BackgroundServer {
    /// What the server is, for messages.
    let name: String
    /// The port it bound.
    let port: Int
    /// Where its standard output and error go.
    let logPath: String
    private let process: Process

    private init(name: String, port: Int, logPath: String, process: Process) {
        self.name = name
        self.port = port
        self.logPath = logPath
        self.process = process
    }

    /// `http://127.0.0.1:PORT`.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// User plus system CPU seconds the server has used so far: the difference across a round is what
    /// serving that round cost it (it shares the machine's cores with the tool being timed).
    var cpuSeconds: Double { ProcessUsage(pid: process.processIdentifier).cpuSeconds }

    /// Starts `executable` with `arguments`, logging to `logPath`, and waits (at most `timeout`) until its
    /// log names the bound address and that port accepts a connection.
    static func start(
        name: String, executable: String, arguments: [String], logPath: String, timeout: Duration = .seconds(60)
    ) async throws -> BackgroundServer {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline && process.isRunning {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let port = loopbackPort(in: text), canConnect(port: port) {
                return BackgroundServer(name: name, port: port, logPath: logPath, process: process)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw BenchmarkError("\(name) did not become ready; its log:\n\(text)")
    }

    /// Stops the server: SIGTERM to its process id, then SIGKILL if it is still running after
    /// `grace`; waits for it to exit.
    ///
    /// The SIGKILL is needed: a child started from a Swift concurrency thread inherits that thread's
    /// blocked signal mask, and python's `http.server` never unblocks SIGTERM (rclone, in Go, does).
    func stop(grace: Duration = .seconds(3)) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: grace)
        while process.isRunning && clock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The port of the first `http://127.0.0.1:PORT` in `text` (python's `http.server` and rclone both
    /// log one once they listen).
    static func loopbackPort(in text: String) -> Int? {
        guard let start = text.range(of: "http://127.0.0.1:") else { return nil }
        let digits = text[start.upperBound...].prefix { $0.isNumber }
        return Int(digits).flatMap { $0 > 0 ? $0 : nil }
    }

    /// Whether a TCP connection to 127.0.0.1:`port` succeeds.
    private static func canConnect(port: Int) -> Bool {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}

/// Runs commands to completion: timed by GNU time (wall seconds, peak RSS and CPU, `%e %M %U %S`) or plain.
enum CommandRunner {
    /// What one timed command measured and printed.
    struct TimedResult {
        /// Wall-clock seconds, as GNU time reports them (two decimals).
        var seconds: Double
        /// Peak resident set size of the command's process, in KiB.
        var peakRSSKiB: Int
        /// User plus system CPU seconds of the command's process.
        var cpuSeconds: Double
        /// Everything it printed on standard output.
        var output: String
    }

    /// GNU time, which reports the peak RSS (`%M`) the shell's `time` keyword does not.
    static let gnuTime = "/usr/bin/time"

    /// Runs `executable` under `/usr/bin/time -f '%e %M %U %S'`; its standard error goes to `errorLogPath`.
    /// Throws when it exits unsuccessfully, with the end of that log.
    static func timed(_ executable: String, _ arguments: [String], scratchDirectory: String, errorLogPath: String) throws -> TimedResult {
        let timePath = scratchDirectory + "/time.out"
        let outputPath = scratchDirectory + "/stdout.out"
        defer {
            try? FileManager.default.removeItem(atPath: timePath)
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        let status = try run(
            gnuTime, ["-f", "%e %M %U %S", "-o", timePath, executable] + arguments, stdoutPath: outputPath,
            stderrPath: errorLogPath)
        guard status == 0 else {
            let log = (try? String(contentsOfFile: errorLogPath, encoding: .utf8)) ?? ""
            throw BenchmarkError("\((executable as NSString).lastPathComponent) exited with \(status):\n\(log.suffix(2_000))")
        }
        let report = (try? String(contentsOfFile: timePath, encoding: .utf8)) ?? ""
        let fields = report.split(whereSeparator: \.isNewline).last?.split(separator: " ") ?? []
        guard fields.count == 4, let seconds = Double(fields[0]), let kibibytes = Int(fields[1]), let user = Double(fields[2]),
            let system = Double(fields[3])
        else {
            throw BenchmarkError("cannot read GNU time's report: \(report)")
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return TimedResult(seconds: seconds, peakRSSKiB: kibibytes, cpuSeconds: user + system, output: output)
    }

    /// Runs `executable` to completion and returns its standard output; throws unless it exits 0.
    static func output(of executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errorData, as: UTF8.self)
            throw BenchmarkError("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(message)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The full path of `name` on `PATH`, or nil.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The lower-case hex MD5 of the file at `path`, by `md5sum` (independent of the code under test).
    static func md5sum(_ path: String) throws -> String {
        let text = try output(of: "/usr/bin/env", ["md5sum", path])
        guard let digest = text.split(separator: " ").first, digest.count == 32 else {
            throw BenchmarkError("md5sum printed \(text)")
        }
        return String(digest)
    }

    /// Runs `executable` with its output in files and returns its exit status.
    private static func run(_ executable: String, _ arguments: [String], stdoutPath: String, stderrPath: String) throws -> Int32 {
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        defer {
            try? output.close()
            try? errors.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
