import CDNSimulator
import Foundation
import Logging
import Testing

/// Known secrets go into the service; they come out nowhere: not in its logs (at debug level), not in
/// `status`, `jobs`, `jobs show`, `check-config` (even for a YAML syntax error on the secret's line), and
/// not in the database.
extension EndToEndTests {
@Suite("Secrets stay secret (real binary)")
struct SecretsTests {
    static let secretKey = "Sk-4f9c2e7a1b-very-secret-cdn-key"

    @Test("a run with known secrets at debug level leaves them in no log, output or database byte")
    func secretsAppearNowhere() async throws {
        let domains = ["k1.example"]
        let simulator = try await CDNSimulator.start(
            configuration: CDNSimulatorConfiguration(domains: domains, secretKey: Self.secretKey, truncateRate: 0.2, seed: 12, emptyHourRate: 0),
            logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let sandbox = try ServiceSandbox(name: "secrets")
        do {
            try sandbox.writeConfig(endpoint: simulator.baseURL, domains: domains, lookbackHours: 3)
            let text = try String(contentsOf: sandbox.config, encoding: .utf8)
                .replacingOccurrences(of: "simulator-secret-key", with: Self.secretKey)
                .replacingOccurrences(of: "level: info", with: "level: trace")
            try text.write(to: sandbox.config, atomically: true, encoding: .utf8)
            let service = try await sandbox.startServiceWhenReady()
            let store = try sandbox.store()
            try await waitUntil(timeout: 60, "every window done") { try await store.status(recentFailureLimit: 0).totals.done == 3 }
            #expect(service.stop(with: SIGTERM) == 0)
            try store.close()

            var outputs: [(String, String)] = [("service log", (try? String(contentsOf: sandbox.log, encoding: .utf8)) ?? "")]
            let database = sandbox.database.path
            for arguments in [["status"], ["status", "--json"], ["jobs"], ["jobs", "--json"], ["jobs", "show", "1"], ["jobs", "show", "1", "--json"]] {
                let result = try Binary.run(arguments + ["--db", database])
                #expect(result.status == 0, "\(arguments): \(result.stderr)")
                outputs.append((arguments.joined(separator: " "), result.stdout + result.stderr))
            }
            let check = try Binary.run(["check-config", "--config", sandbox.config.path])
            outputs.append(("check-config", check.stdout + check.stderr))
            // A YAML syntax error on the very line of the secret.
            let broken = sandbox.directory.appendingPathComponent("broken.yaml")
            try text.replacingOccurrences(of: "secret_key: \(Self.secretKey)", with: "secret_key: \(Self.secretKey): [unclosed")
                .write(to: broken, atomically: true, encoding: .utf8)
            for command in ["check-config", "run"] {
                let result = try Binary.run([command, "--config", broken.path])
                #expect(result.status != 0, "\(command) accepted a broken file")
                outputs.append(("\(command) on broken YAML", result.stdout + result.stderr))
            }
            for (name, output) in outputs {
                #expect(!output.contains(Self.secretKey), "\(name) shows the secret:\n\(output)")
                #expect(!output.isEmpty || name == "service log", "\(name) printed nothing")
            }
            for file in [database, database + "-wal", database + ".lock"] {
                guard let bytes = FileManager.default.contents(atPath: file) else { continue }
                #expect(bytes.range(of: Data(Self.secretKey.utf8)) == nil, "\(file) holds the secret")
            }
        } catch {
            Issue.record("\(error)\n\(sandbox.logTail)")
        }
        try await simulator.stop()
    }
}
}
