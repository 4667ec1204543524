import Foundation
import Testing
import TestSupport

@Suite("Waiting for a child process")
struct ChildExitTests {
    /// The case of swift-corelibs-foundation issue 4795: the child's own child inherits the socket by
    /// which Foundation learns of the exit, so `waitUntilExit` waits for the grandchild too. A service
    /// started by one test can hold another test's socket the same way.
    @Test("a child's exit and status are seen at once while a process it left behind still holds Foundation's socket")
    func exitSeenDespiteInheritedSocket() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The grandchild keeps every descriptor of the shell, Foundation's socket included, for 10 s.
        process.arguments = ["-c", "sleep 10 & exit 3"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let started = ContinuousClock.now
        try process.run()
        let status = await process.exited()
        #expect(status == 3)
        #expect(process.hasExited)
        #expect(ContinuousClock.now - started < .seconds(5), "the exit was seen only when the grandchild ended")
        #expect(process.waitForExit() == 3)
    }
}
