import Foundation
import Testing
import TestSupport

extension EndToEndTests {
@Suite("Ingest benchmark (real binary)")
struct IngestBenchmarkTests {
    /// `orchestrator-bench` beside the `orchestrator` executable the other end-to-end tests run.
    static var benchmark: URL {
        Binary.url.deletingLastPathComponent().appendingPathComponent("orchestrator-bench")
    }

    @Test("orchestrator-bench ingest runs every phase and ends with the JSON line the README describes, flushed phase included")
    func shortRun() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // Output to a file, and the exit awaited: the run takes seconds, which no thread of the
        // cooperative pool should spend blocked.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-bench-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let process = Process()
        process.executableURL = Self.benchmark
        process.arguments = ["ingest", "--seconds", "2", "--rounds", "1", "--work-dir", work.path]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try handle.close()
        let status = await process.exited()
        let output = try String(contentsOf: log, encoding: .utf8)
        #expect(status == 0, "\(output)")
        let last = try #require(output.split(separator: "\n").last)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        for key in [
            "lines_per_second", "mb_per_second", "p50_ack_ms", "p99_ack_ms", "ceiling_mb_per_second", "prepared_mb_per_second",
            "flushed_mb_per_second", "ratio", "flushed_ratio",
        ] {
            let value = try #require(report[key] as? Double, "\(key) missing from \(last)")
            #expect(value > 0, "\(key) is \(value)")
        }
        let cores = try #require(report["phase_cpu_cores"] as? [String: Double])
        #expect(Set(cores.keys) == ["ceiling", "prepared", "flushed", "durable"])
        #expect(report["repeated_requests"] as? Int == 0)
        // The benchmark removes its spool, database and flushed file.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path).isEmpty)
    }
}
}
