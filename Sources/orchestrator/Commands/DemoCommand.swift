import ArgumentParser

/// `orchestrator demo`: placeholder until the simulator lands (wired below).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Run the whole pipeline on this machine against a local CDN simulator, then exit.")
    func run() async throws {}
}
