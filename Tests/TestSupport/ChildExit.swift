import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Waiting for a child process without Foundation's exit detection.
///
/// On Linux, Foundation's `Process` learns that a child exited when a socket it gave the child closes.
/// A child spawned by another thread at the same moment can inherit that socket (swift-corelibs-foundation
/// issue 4795): `waitUntilExit` and `isRunning` then wait for the other child too. Tests run in parallel
/// and start services, rclone and PostgreSQL side by side, so a `waitUntilExit` could wait for a process
/// whose own test was starved of threads by that wait: once it hung the whole test run. These ask the
/// kernel instead (`waitid` with `WNOWAIT`, which leaves the child for Foundation to reap).
extension Process {
    /// Whether the child has exited (a zombie not yet reaped counts as exited).
    public var hasExited: Bool { exitStatusIfExited() != nil }

    /// Waits until the child has exited and returns what `terminationStatus` gives: the exit code,
    /// or the number of the signal that ended it. Blocks the calling thread, polling every 2 ms.
    @discardableResult
    public func waitForExit() -> Int32 {
        while true {
            if let status = exitStatusIfExited() { return status }
            usleep(2_000)
        }
    }

    /// `waitForExit` without holding a thread: polls every 5 ms between suspensions.
    @discardableResult
    public func exited() async -> Int32 {
        while true {
            if let status = exitStatusIfExited() { return status }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The exit code or signal number once the child has exited; nil while it runs.
    private func exitStatusIfExited() -> Int32? {
        var info = siginfo_t()
        if waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOHANG | WNOWAIT) == 0 {
            // No state change yet leaves `si_pid` zero.
            guard info._sifields._sigchld.si_pid == processIdentifier else { return nil }
            return info._sifields._sigchld.si_status
        }
        // ECHILD: Foundation has reaped it already, so its own status is set (or about to be).
        return isRunning ? nil : terminationStatus
    }
}
