import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Waiting for a child process")
struct ChildExitTests {
    /// The case of swift-corelibs-foundation issue 4795: the child's own child inherits the socket by
    /// which Foundation learns of the exit, so `waitUntilExit` waits for the grandchild too. A service
    /// started by one test can hold another test's socket the same way.
    @Test("a child's exit and status are seen while a process it left behind still holds Foundation's socket")
    func exitSeenDespiteInheritedSocket() async throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("child-exit-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The grandchild keeps every descriptor of the shell, Foundation's socket included, for 120 s;
        // the shell prints its process ID and exits with 3.
        process.arguments = ["-c", "sleep 120 & echo $!; exit 3"]
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try process.run()
        try handle.close()
        let status = await process.exited()
        let grandchild = try #require(pid_t(try String(contentsOf: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(grandchild, SIGKILL) }
        #expect(status == 3)
        #expect(process.hasExited)
        #expect(process.waitForExit() == 3)
        // Seen while the grandchild lives, however slowly the test's task was resumed on a busy pool.
        #expect(Self.isAlive(grandchild), "the exit was seen only once the grandchild had ended")
    }

    /// Whether `pid` runs: it exists and is not a zombie (an orphan may stay one here, with no reaper).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let state = stat.split(separator: ")").last?.split(separator: " ").first
        else { return false }
        return state != "Z" && state != "X"
    }
}
