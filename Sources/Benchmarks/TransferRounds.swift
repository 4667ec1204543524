import Foundation

/// The timed part of the `transfer` benchmark, once the package and both servers are up: the source's
/// own speed, the alternating rounds with their checks, the single-core cost profile, and the report.
struct TransferRounds {
    /// The benchmark's settings and paths.
    var benchmark: TransferBenchmark
    /// The rclone executable.
    var rclone: String
    /// The package's URL at the HTTP source.
    var sourceURL: String
    /// `rclone serve s3`'s base URL.
    var endpoint: String
    /// The package's MD5, by `md5sum`.
    var sourceMD5: String
    /// The HTTP source and `rclone serve s3`, whose CPU each round is read from.
    var servers: (source: BackgroundServer, store: BackgroundServer)

    /// What one round of one tool measured.
    private struct Round {
        var seconds: Double
        var peakRSSMiB: Double
        var timings: TransferTimings?
        var cpu: RoundCPU
    }

    /// Runs `body` (one round) and adds to its result the CPU the two servers spent meanwhile.
    private func measuringServers(_ body: () throws -> (Round)) rethrows -> Round {
        let before = (servers.source.cpuSeconds, servers.store.cpuSeconds)
        var round = try body()
        round.cpu.source = RoundStatistics.rounded(servers.source.cpuSeconds - before.0, 2)
        round.cpu.store = RoundStatistics.rounded(servers.store.cpuSeconds - before.1, 2)
        return round
    }

    /// Runs everything and assembles the report.
    func run(packagePath: String) async throws -> TransferReport {
        let source = try CommandRunner.timed(
            "/usr/bin/env", ["curl", "--silent", "--show-error", "--fail", "--output", "/dev/null", sourceURL],
            scratchDirectory: benchmark.path("logs"), errorLogPath: benchmark.path("logs/curl.err"))
        Progress.say(String(format: "source: curl fetches the package in %.2f s", source.seconds))

        // The listing announces the package's size, as the CDN's `FileSize` does.
        let packageSize = try (FileManager.default.attributesOfItem(atPath: packagePath)[.size] as? NSNumber)?.int64Value ?? 0
        var orchestrator: [Round] = []
        var rclone: [Round] = []
        for number in 1...benchmark.rounds {
            orchestrator.append(try measuringServers { try runOrchestrator(round: number, packageSize: packageSize) })
            rclone.append(try measuringServers { try runRclone(round: number) })
        }

        Progress.say("profile: single-core passes over the package (read, write+fsync, CRC-64, digests, gunzip) ...")
        let profile = try TransferCostProfile.measure(file: packagePath, scratchDirectory: benchmark.path("spool")).rounded
        Progress.say(
            String(
                format: "profile: read %.2f s, write+fsync %.2f s, CRC-64 %.2f s (table %.2f s), MD5 %.2f s, SHA-256 %.2f s, "
                    + "CRC-64+MD5+SHA-256 %.2f s, gunzip ISA-L %.2f s (zlib %.2f s)",
                profile.readSeconds, profile.writeFsyncSeconds, profile.crc64Seconds, profile.crc64TableSeconds,
                profile.md5Seconds, profile.sha256Seconds, profile.digestsSeconds, profile.gzipVerifySeconds,
                profile.gzipVerifyZlibSeconds))

        let timings = orchestrator.compactMap(\.timings)
        let orchestratorSeconds = RoundStatistics.median(orchestrator.map(\.seconds))
        let rcloneSeconds = RoundStatistics.median(rclone.map(\.seconds))
        var report = TransferReport(
            bytes: Int64(benchmark.bytes), orchestratorSeconds: orchestratorSeconds, rcloneSeconds: rcloneSeconds,
            ratio: RoundStatistics.rounded(orchestratorSeconds / rcloneSeconds),
            orchestratorPeakRSSMiB: orchestrator.map(\.peakRSSMiB).max() ?? 0,
            rclonePeakRSSMiB: rclone.map(\.peakRSSMiB).max() ?? 0, rounds: benchmark.rounds,
            machine: Machine.description, orchestratorRunsSeconds: orchestrator.map(\.seconds),
            rcloneRunsSeconds: rclone.map(\.seconds), orchestratorRunsRSSMiB: orchestrator.map(\.peakRSSMiB),
            rcloneRunsRSSMiB: rclone.map(\.peakRSSMiB),
            orchestratorPhases: TransferReport.Phases(
                head: median(timings.map(\.headSeconds)), download: median(timings.map(\.downloadSeconds)),
                upload: median(timings.map(\.uploadSeconds)), inProcess: median(timings.map(\.totalSeconds))),
            singleCoreSeconds: profile, sourceSeconds: source.seconds,
            settings: "orchestrator: production defaults (SigV4 path style, multipart from 64 MiB, 8 MiB parts, "
                + "3 in flight, parts uploaded while downloading); rclone copyurl: defaults",
            rcloneVersion: try rcloneVersion(), pipelineStageSeconds: PipelineStages(profile),
            cpuSeconds: RoundsCPU(orchestrator: orchestrator.map(\.cpu), rclone: rclone.map(\.cpu)))
        report.targetsMissed = report.missed
        Progress.say(
            String(
                format: "result: orchestrator %.2f s, rclone %.2f s, ratio %.3f; peak RSS %.1f MiB vs %.1f MiB; %@",
                report.orchestratorSeconds, report.rcloneSeconds, report.ratio, report.orchestratorPeakRSSMiB,
                report.rclonePeakRSSMiB,
                report.targetsMissed.isEmpty ? "every target met" : "missed: \(report.targetsMissed.joined(separator: ", "))"))
        return report
    }

    /// One orchestrator round in a fresh `transfer-once` process with a fresh ledger; checked, then cleaned.
    private func runOrchestrator(round number: Int, packageSize: Int64) throws -> Round {
        try requireAbsent()
        let ledger = benchmark.path("logs/ledger-\(number).sqlite")
        let result = try CommandRunner.timed(
            benchmark.benchExecutable,
            [
                "transfer-once", "--url", sourceURL, "--endpoint", endpoint, "--bucket", TransferBenchmark.bucket,
                "--key", TransferBenchmark.key, "--access-key", TransferBenchmark.accessKeyID,
                "--secret-key", TransferBenchmark.secretAccessKey, "--spool-dir", benchmark.path("spool"),
                "--ledger", ledger, "--size", String(packageSize),
            ],
            scratchDirectory: benchmark.path("logs"), errorLogPath: benchmark.path("logs/orchestrator-\(number).err"))
        let line = result.output.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        guard let timings = try? JSONDecoder().decode(TransferTimings.self, from: Data(line.utf8)) else {
            throw BenchmarkError("transfer-once printed no timings: \(result.output.suffix(500))")
        }
        let spooled = try FileManager.default.contentsOfDirectory(atPath: benchmark.path("spool"))
        guard spooled.isEmpty else { throw BenchmarkError("transfer-once left spool files behind: \(spooled)") }
        try verifyAndDelete(tool: "orchestrator")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger + suffix) }
        let round = Round(
            seconds: result.seconds, peakRSSMiB: mebibytes(result.peakRSSKiB), timings: timings,
            cpu: RoundCPU(tool: RoundStatistics.rounded(result.cpuSeconds, 2)))
        Progress.say(
            String(
                format: "round %d/%d orchestrator: %.2f s, peak RSS %.1f MiB (HEAD %.2f s, download %.2f s, upload %.2f s); object verified",
                number, benchmark.rounds, round.seconds, round.peakRSSMiB, timings.headSeconds, timings.downloadSeconds,
                timings.uploadSeconds))
        return round
    }

    /// One `rclone copyurl` round with default settings; checked, then cleaned.
    private func runRclone(round number: Int) throws -> Round {
        try requireAbsent()
        let result = try CommandRunner.timed(
            rclone,
            ["copyurl", sourceURL, remote(TransferBenchmark.key), "--config", benchmark.path("logs/rclone.conf")],
            scratchDirectory: benchmark.path("logs"), errorLogPath: benchmark.path("logs/rclone-\(number).err"))
        try verifyAndDelete(tool: "rclone")
        let round = Round(
            seconds: result.seconds, peakRSSMiB: mebibytes(result.peakRSSKiB), timings: nil,
            cpu: RoundCPU(tool: RoundStatistics.rounded(result.cpuSeconds, 2)))
        Progress.say(
            String(
                format: "round %d/%d rclone:       %.2f s, peak RSS %.1f MiB; object verified", number,
                benchmark.rounds, round.seconds, round.peakRSSMiB))
        return round
    }

    /// Checks the stored object is the package (size and `md5sum` of the file rclone wrote), then
    /// deletes it through the S3 API so rclone's own view of the bucket is current for the next round.
    private func verifyAndDelete(tool: String) throws {
        let stored = storedPath
        let size = (try? FileManager.default.attributesOfItem(atPath: stored))?[.size] as? Int
        guard size == benchmark.bytes else {
            throw BenchmarkError("\(tool) stored \(size.map(String.init) ?? "no object"), not \(benchmark.bytes) bytes")
        }
        let md5 = try CommandRunner.md5sum(stored)
        guard md5 == sourceMD5 else { throw BenchmarkError("\(tool) stored other bytes: md5 \(md5), the package has \(sourceMD5)") }
        _ = try CommandRunner.output(
            of: rclone, ["deletefile", remote(TransferBenchmark.key), "--config", benchmark.path("logs/rclone.conf")])
        try requireAbsent()
    }

    /// Throws when the object is present: every round must really upload.
    private func requireAbsent() throws {
        guard !FileManager.default.fileExists(atPath: storedPath) else {
            throw BenchmarkError("the object \(TransferBenchmark.key) is still stored before a round")
        }
    }

    /// The file `rclone serve s3` keeps the object in.
    private var storedPath: String {
        benchmark.path("s3/\(TransferBenchmark.bucket)/\(TransferBenchmark.key)")
    }

    /// An rclone on-the-fly remote path of `key` in the bucket at `endpoint` (see `rclone help backend s3`).
    private func remote(_ key: String) -> String {
        ":s3,provider=Other,access_key_id=\(TransferBenchmark.accessKeyID),"
            + "secret_access_key=\(TransferBenchmark.secretAccessKey),endpoint='\(endpoint)':"
            + "\(TransferBenchmark.bucket)/\(key)"
    }

    private func rcloneVersion() throws -> String {
        let text = try CommandRunner.output(of: rclone, ["version", "--config", benchmark.path("logs/rclone.conf")])
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }

    private func mebibytes(_ kibibytes: Int) -> Double { RoundStatistics.rounded(Double(kibibytes) / 1024, 1) }

    private func median(_ values: [Double]) -> Double { RoundStatistics.rounded(RoundStatistics.median(values)) }
}
