import CDNSimulator
import Foundation
import JobModel
import Store

/// Checks what the service stored against what the simulator serves.
struct StoredPackages {
    let store: any JobStore
    let simulator: CDNSimulator
    let bucket: URL

    /// Every package of every done window, compared byte for byte; returns how many were compared and
    /// a description of each difference.
    func compare() async throws -> (compared: Int, differences: [String]) {
        var compared = 0
        var differences: [String] = []
        for job in try await store.jobs(matching: JobFilter(), limit: 100_000) {
            guard job.state == .done else {
                differences.append("\(job.window) is \(job.state.rawValue)")
                continue
            }
            let files = try await store.files(ofJob: job.id)
            for area in LogArea.allCases where !simulator.catalog.isEmpty(domain: job.window.domain, hourStart: Int(job.window.hour.timeIntervalSince1970), area: area) {
                guard let file = files.first(where: { $0.area == area.rawValue }) else {
                    differences.append("\(job.window) \(area.rawValue): no package recorded")
                    continue
                }
                let expected = try await simulator.packageBytes(domain: job.window.domain, hour: job.window.hour, area: area)
                let stored = FileManager.default.contents(atPath: bucket.appendingPathComponent(file.objectKey).path).map(Array.init)
                compared += 1
                if stored != expected {
                    differences.append("\(file.objectKey): stored \(stored?.count ?? -1) bytes, served \(expected.count)")
                }
            }
        }
        return (compared, differences)
    }
}
