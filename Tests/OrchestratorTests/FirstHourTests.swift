import Core
import Foundation
import Testing

/// What a new user meets in their first hour: the demo says how to look at what it did, and every
/// mistake is answered with one line naming only what the command accepts.
extension EndToEndTests {
@Suite("A new user's first hour (real binary)")
struct FirstHourTests {
    @Test("the demo prints the commands to inspect it, and each runs successfully exactly as printed")
    func demoPrintsWorkingInspectionCommands() throws {
        let sandbox = try ServiceSandbox(name: "demo first hour")
        let firstHour = Date().startOfHour
        let demoDirectory = sandbox.directory.appendingPathComponent("my demo")
        let demo = try Binary.run(["demo", "--dir", demoDirectory.path, "--domains", "1", "--hours", "2", "--package-bytes", "8192"])
        #expect(demo.status == 0, "\(demo.stdout)\n\(demo.stderr)")
        let lines = demo.stdout.split(separator: "\n").map(String.init)
        let start = try #require(lines.firstIndex(of: "to look at what the demo did:"), "\(demo.stdout)")
        let commands = lines[(start + 1)...].filter { $0.hasPrefix("  ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(commands.count >= 3)
        #expect(commands.contains { $0.contains(" status ") } && commands.contains { $0.contains(" jobs ") }
            && commands.contains { $0.contains(" retry --failed ") })
        for command in commands {
            let result = try Shell.run(command, in: FileManager.default.temporaryDirectory)
            #expect(result.status == 0, "\(command)\n\(result.stderr)")
        }

        // In the directory the demo ran from by default, `status` finds the demo's database by itself.
        let home = sandbox.directory.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home.appendingPathComponent("orchestrator-demo"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: demoDirectory.appendingPathComponent("orchestrator.sqlite"),
            to: home.appendingPathComponent("orchestrator-demo/orchestrator.sqlite"))
        let status = try Binary.run(["status"], in: home)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("www.demo1.example"))
        #expect(status.stderr == "no configuration found; showing the demo's database ./orchestrator-demo/orchestrator.sqlite\n")
        let retry = try Binary.run(["retry", "--failed"], in: home)
        #expect(retry.stderr.contains("the demo's database is --db orchestrator-demo/orchestrator.sqlite"), "\(retry.stderr)")

        // A second run over the same hours copies nothing (unless a new hour closed in between).
        let again = try Binary.run(["demo", "--dir", demoDirectory.path, "--domains", "1", "--hours", "2", "--package-bytes", "8192"])
        #expect(again.status == 0)
        if Date().startOfHour == firstHour {
            #expect(again.stdout.contains("answered 0 API calls and 0 downloads"), "\(again.stdout)")
        }
    }

    @Test("each mistake gets one line naming what to check, and only flags the command accepts")
    func mistakesGetOneLine() throws {
        let sandbox = try ServiceSandbox(name: "mistakes")
        func oneLine(_ output: Binary.Output, _ line: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(output.status != 0, sourceLocation: sourceLocation)
            #expect(output.stderr == line + "\n", sourceLocation: sourceLocation)
        }

        oneLine(try Binary.run(["run"], in: sandbox.directory),
                "Error: invalid configuration: no configuration: pass --config FILE, set ORCHESTRATOR_CONFIG, or create ./orchestrator.yaml (see the README's configuration table)")
        oneLine(try Binary.run(["jobs"], in: sandbox.directory),
                "Error: invalid configuration: no configuration: pass --config FILE or --db FILE, set ORCHESTRATOR_CONFIG, or create ./orchestrator.yaml")

        try "database: x\ncdn:\n  endpoint: [a\n  area: b\n".write(to: sandbox.config, atomically: true, encoding: .utf8)
        oneLine(try Binary.run(["run", "--config", sandbox.config.path]),
                "Error: invalid configuration: cannot parse \(sandbox.config.path) as YAML: line 4, column 7: did not find expected ',' or ']' (while parsing a flow sequence in line 3, column 13)")

        // Every invalid key at once, one line each.
        try "database: x\nworkers:\n  concurrency: 0\n  max_attempts: many\ncdn:\n  area: europe\n".write(to: sandbox.config, atomically: true, encoding: .utf8)
        let invalid = try Binary.run(["run", "--config", sandbox.config.path], environment: ["TENCENTCLOUD_SECRET_ID": "", "TENCENTCLOUD_SECRET_KEY": ""])
        #expect(invalid.status != 0)
        let lines = invalid.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "Error: invalid configuration: workers.max_attempts must be a whole number (got many)",
            "invalid configuration: cdn.secret_id is not set (set it, or TENCENTCLOUD_SECRET_ID in the environment)",
            "invalid configuration: cdn.secret_key is not set (set it, or TENCENTCLOUD_SECRET_KEY in the environment)",
            "invalid configuration: cdn.area must be global, mainland or overseas (got europe)",
            "invalid configuration: workers.concurrency must be between 1 and 256 (got 0)",
        ], "\(invalid.stderr)")

        let limit = try Binary.run(["jobs", "--limit", "-3", "--db", sandbox.database.path])
        #expect(limit.status != 0)
        #expect(limit.stderr.split(separator: "\n").first == "Error: --limit must be at least 1 (got -3)", "\(limit.stderr)")
        let help = try Binary.run(["jobs", "list", "--help"])
        #expect(help.stdout.components(separatedBy: "pending").count == 2, "the states are listed once: \(help.stdout)")
    }
}
}

/// Runs a command line through `/bin/sh`, as a user would paste it.
enum Shell {
    static func run(_ commandLine: String, in directory: URL) throws -> Binary.Output {
        try Binary.start(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", commandLine], in: directory).wait()
    }
}
