import CDNSimulator
import Foundation
import ServiceLifecycle
import Store

/// The demo's progress line; returns (ending the demo) once every expected window is done, or once no
/// window is left to run.
struct DemoProgress: Service {
    let store: SQLiteJobStore
    let expectedWindows: Int
    let interactive: Bool

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
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// Compares every stored object of the demo with the bytes the simulator serves for it.
struct DemoVerifier {
    let store: SQLiteJobStore
    let simulator: CDNSimulator

    struct Result {
        var objects = 0
        var bytes: Int64 = 0
        var mismatches = 0

        var summary: String {
            mismatches == 0
                ? "verified \(objects) stored objects (\(bytes) bytes) byte for byte against what the simulator serves: all identical"
                : "\(mismatches) of \(objects) stored objects differ from what the simulator serves"
        }
    }

    func verify() async throws -> Result {
        var result = Result()
        let sinkRoot = URL(fileURLWithPath: store.path).deletingLastPathComponent().appendingPathComponent("bucket")
        for job in try await store.jobs(matching: JobFilter(state: .done), limit: 100_000) {
            for file in try await store.files(ofJob: job.id) {
                guard let area = LogArea(rawValue: file.area) else { continue }
                let expected = try await simulator.packageBytes(domain: job.window.domain, hour: job.window.hour, area: area)
                let stored = FileManager.default.contents(atPath: sinkRoot.appendingPathComponent(file.objectKey).path)
                result.objects += 1
                result.bytes += file.size
                if stored.map(Array.init) != expected { result.mismatches += 1 }
            }
        }
        return result
    }
}
