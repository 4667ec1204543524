import CDNSimulator
import Foundation
import JobModel
import Store

/// Compares every stored object of the demo with the bytes the simulator serves for it.
struct DemoVerifier {
    let store: any OperatedStore
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

    /// Checks every file of every done window; generating the expected packages is the cost, so files
    /// are checked on every core at once.
    func verify() async throws -> Result {
        let sinkRoot = URL(fileURLWithPath: store.path).deletingLastPathComponent().appendingPathComponent("bucket")
        var checks: [(domain: String, hour: Date, area: LogArea, size: Int64, path: String)] = []
        for job in try await store.jobs(matching: JobFilter(state: .done), limit: 100_000) {
            for file in try await store.files(ofJob: job.id) {
                guard let area = LogArea(rawValue: file.area) else { continue }
                checks.append((job.window.domain, job.window.hour, area, file.size, sinkRoot.appendingPathComponent(file.objectKey).path))
            }
        }
        let simulator = simulator
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            var result = Result()
            var pending = checks[...]
            func startNext() {
                guard let check = pending.popFirst() else { return }
                group.addTask {
                    let expected = try await simulator.packageBytes(domain: check.domain, hour: check.hour, area: check.area)
                    // Data's == compares with memcmp.
                    return FileManager.default.contents(atPath: check.path) == Data(expected)
                }
            }
            for _ in 0..<max(1, ProcessInfo.processInfo.activeProcessorCount) { startNext() }
            for check in checks {
                let identical = try await group.next() ?? false
                result.objects += 1
                result.bytes += check.size
                if !identical { result.mismatches += 1 }
                startNext()
            }
            return result
        }
    }
}
