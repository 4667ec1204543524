import Core
import Foundation
import JobModel
import ServiceLifecycle
import Store

/// `status --watch`: the status again every `interval`, until SIGINT or SIGTERM (then exit 0).
///
/// On a terminal each refresh clears the screen and redraws in place; otherwise (a pipe, a file, a
/// log) each refresh is printed after the previous one, a blank line between tables, or one JSON
/// object per line with `--json`.
struct StatusWatch: Service {
    let store: any OperatedStore
    let interval: Duration
    let json: Bool
    let recentFailureLimit: Int
    let terminal: Bool
    let clock: any WallClock

    /// Clears the screen and moves the cursor home (ANSI).
    static let clearScreen = "\u{1B}[H\u{1B}[2J"

    func run() async throws {
        var first = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var report = try await store.status(recentFailureLimit: recentFailureLimit)
            report.streams = try await store.streamStatus()
            let now = clock.now
            let text = json
                ? StatusFormatter.json(report, database: store.path, now: now)
                : StatusFormatter.table(report, database: store.path, now: now)
            if terminal {
                print(Self.clearScreen + text + "\n\nrefreshing every \(interval.components.seconds) s; Ctrl-C to stop")
            } else {
                print((first || json ? "" : "\n") + text)
            }
            fflush(nil)
            first = false
            do {
                try await cancelWhenGracefulShutdown { [clock, interval] in try await clock.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
