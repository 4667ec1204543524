import CDNSimulator
import Foundation
import JobModel
import Store

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
