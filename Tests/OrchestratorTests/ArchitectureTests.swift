import Foundation
import Testing

/// The module layering the README and ARCHITECTURE.md describe, checked on the sources themselves: what
/// each target imports of the project's own modules, and where time comes from.
@Suite("Architecture")
struct ArchitectureTests {
    /// The repository's `Sources` folder.
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources").standardizedFileURL

    /// The project's modules each target may import; the arrows point one way, down to `Core`.
    static let allowedImports: [String: Set<String>] = [
        "Core": [],
        "JobModel": ["Core"],
        "Store": ["Core", "JobModel"],
        // The PostgreSQL store: the same place in the layering as Store, and no GRDB.
        "PostgresStore": ["Core", "JobModel"],
        "TencentCloud": ["Core", "JobModel"],
        "ObjectStorage": ["Core"],
        "Jobs": ["Core", "JobModel", "TencentCloud", "ObjectStorage", "CZlib", "CISAL"],
        "Scheduler": ["Core", "JobModel", "Jobs"],
        "CDNSimulator": ["Core", "TencentCloud", "CZlib"],
        // The push receiver reaches the spool through `StreamSpool` (JobModel), never Store.
        "Ingest": ["Core", "JobModel", "Jobs", "CZlib", "CISAL", "CLineScan", "CPolyval", "CCRC32"],
        "orchestrator": ["Core", "JobModel", "Store", "TencentCloud", "ObjectStorage", "Jobs", "Scheduler", "CDNSimulator", "Ingest", "PostgresStore"],
    ]

    static let projectModules: Set<String> = Set(allowedImports.keys).union(["CZlib", "CISAL", "CLineScan", "CPolyval", "CCRC32", "Benchmarks", "TestSupport"])

    /// `(target, file, text)` of every Swift file of the library targets and the executable.
    static func files() throws -> [(target: String, path: String, text: String)] {
        var result: [(String, String, String)] = []
        for target in allowedImports.keys {
            let root = sources.appendingPathComponent(target)
            guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { continue }
            for case let relative as String in enumerator where relative.hasSuffix(".swift") {
                let path = root.appendingPathComponent(relative).path
                result.append((target, "\(target)/\(relative)", try String(contentsOfFile: path, encoding: .utf8)))
            }
        }
        return result
    }

    @Test("each target imports only the modules below it; only Store links GRDB; the simulator knows only TencentCloud")
    func importsPointDown() throws {
        let files = try Self.files()
        #expect(files.count > 50)
        for file in files {
            let imported = file.text.split(separator: "\n")
                .compactMap { line -> String? in
                    let words = line.split(separator: " ")
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count else { return nil }
                    return words[..<index].allSatisfy({ $0.hasPrefix("@") }) ? String(words[index + 1]) : nil
                }
            for module in imported where Self.projectModules.contains(module) || module == "GRDB" {
                let allowed = Self.allowedImports[file.target, default: []].union(file.target == "Store" ? ["GRDB"] : [])
                #expect(allowed.contains(module), "\(file.path) imports \(module)")
            }
        }
    }

    @Test("no Date(), Date.now or Task.sleep outside the clock: time comes from the injected WallClock")
    func timeComesFromTheClock() throws {
        for file in try Self.files() where file.path != "Core/WallClock.swift" {
            for pattern in ["Date()", "Date.now", "Task.sleep"] {
                #expect(!file.text.contains(pattern), "\(file.path) uses \(pattern)")
            }
        }
    }
}
