import CDNSimulator
import Core
import Foundation
import JobModel
import ServiceLifecycle
import Store

/// The demo's progress line; returns (ending the demo) once every expected window is done, or once no
/// window is left to run.
struct DemoProgress: Service {
    let store: any OperatedStore
    let expectedWindows: Int
    let interactive: Bool
    /// Paces the progress line.
    var clock: any WallClock = SystemWallClock()

    func run() async throws {
        var lastLine = ""
        while !Task.isShuttingDownGracefully {
            let totals = try await store.status(recentFailureLimit: 0).totals
            let line = "windows: \(totals.done)/\(expectedWindows) done, \(totals.running) running, \(totals.pending) pending, \(totals.failed) failed"
            if line != lastLine {
                if interactive {
                    print("\r\u{1B}[K" + line, terminator: "")
                    fflush(nil)
                } else {
                    print(line)
                }
                lastLine = line
            }
            let settled = totals.total >= expectedWindows && totals.pending == 0 && totals.running == 0
            if settled { return }
            try await clock.sleep(for: .milliseconds(200))
        }
    }
}
