import Foundation
import Testing

/// The systemd unit in `packaging/` is valid for systemd and keeps the hardening the README promises.
@Suite("Packaging")
struct PackagingTests {
    static let unit = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("packaging/orchestrator.service")

    @Test("the systemd unit passes systemd-analyze verify and is hardened")
    func systemdUnit() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        for directive in [
            "Restart=always", "DynamicUser=yes", "StateDirectory=orchestrator", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "ExecStart=/usr/local/bin/orchestrator run --config /etc/orchestrator/orchestrator.yaml", "KillSignal=SIGTERM",
        ] {
            #expect(text.contains("\n" + directive + "\n"), "missing \(directive)")
        }
        // systemd checks that ExecStart exists: point it at the binary just built.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("orchestrator.service")
        try text.replacingOccurrences(of: "/usr/local/bin/orchestrator", with: Binary.url.path).write(to: copy, atomically: true, encoding: .utf8)
        let result = try Binary.start(executable: URL(fileURLWithPath: "/usr/bin/systemd-analyze"), ["verify", copy.path]).wait()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(!result.stderr.contains(copy.lastPathComponent), "systemd-analyze complained: \(result.stderr)")
    }
}
