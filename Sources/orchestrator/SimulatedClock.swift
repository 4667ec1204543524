import Core
import Foundation
import Logging

/// The clock the commands run on: real time, unless `ORCHESTRATOR_SIMULATED_CLOCK` names a scaled one
/// (`origin=<ISO 8601>,anchor=<Unix seconds>,rate=<n>`; see `ScaledWallClock`). The chaos test runs the
/// service and `simulate-cdn` on one such clock to live through hours of outages in a minute.
enum CommandClock {
    /// The environment variable.
    static let variable = "ORCHESTRATOR_SIMULATED_CLOCK"

    /// The clock to use; an unreadable value is refused rather than ignored.
    static func make(logger: Logger? = nil) throws -> any WallClock {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return SystemWallClock() }
        guard let clock = ScaledWallClock(specification: text) else {
            throw CommandClockError(description: "\(variable) must be origin=<ISO 8601>,anchor=<Unix seconds>,rate=<number>, got '\(text)'")
        }
        logger?.warning("running on a simulated clock", metadata: ["clock.specification": "\(text)"])
        return clock
    }
}

/// An unreadable `ORCHESTRATOR_SIMULATED_CLOCK`.
struct CommandClockError: Error, CustomStringConvertible {
    let description: String
}
