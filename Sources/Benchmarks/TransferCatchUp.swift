import AsyncHTTPClient
import CDNSimulator
import Core
import Foundation
import JobModel
import Jobs
import Logging
import Store
import TencentCloud

/// The catch-up case of the `transfer` benchmark: many packages at once, as after a downtime.
///
/// 8 domains times 5 hours of packages of about 64 MiB (the CDN simulator makes each 50-150 % of it),
/// moved into `rclone serve s3` twice: by the real service (`orchestrator run` against the simulator,
/// `workers.concurrency` 4, every other setting its default, timed from its start until every window
/// is done) and by `rclone copy` of the same files from a local directory with `--transfers 4`.
///
/// The simulator runs in this process with a package cache big enough for all of them, warmed before
/// either run by downloading every package once (which also writes rclone's source files), so neither
/// run pays for generating gzip. rclone reads local files while the service downloads over HTTP: if
/// anything the comparison favours rclone.
struct TransferCatchUp {
    /// The benchmark's settings and paths.
    var benchmark: TransferBenchmark
    /// The `orchestrator` executable.
    var orchestrator: String
    /// The rclone executable.
    var rclone: String
    /// `rclone serve s3`'s base URL.
    var endpoint: String
    /// `rclone serve s3`, whose CPU during each run is reported.
    var store: BackgroundServer

    static let domains = (1...8).map { "catchup\($0).example" }
    static let hours = 5
    static let packageBytes = 64 << 20
    /// The service's `workers.concurrency` and rclone's `--transfers`.
    static let concurrency = 4

    /// What the catch-up measured.
    struct Report: Encodable {
        var packages: Int
        var bytes: Int64
        var concurrency: Int
        var orchestratorSeconds: Double
        var rcloneSeconds: Double
        var ratio: Double
        var orchestratorPeakRSSMiB: Double
        var rclonePeakRSSMiB: Double
        /// User plus system CPU seconds of the service's process over its run.
        var orchestratorCPUSeconds: Double
        /// CPU seconds of this benchmark's process (the CDN simulator serving the downloads) during the
        /// service's run.
        var simulatorCPUSeconds: Double
        /// CPU seconds of `rclone serve s3` during the service's run.
        var storeCPUSecondsForOrchestrator: Double
        /// User plus system CPU seconds of `rclone copy`.
        var rcloneCPUSeconds: Double
        /// CPU seconds of `rclone serve s3` during `rclone copy`.
        var storeCPUSecondsForRclone: Double
        /// Seconds to generate and download every package once before the runs (not timed against).
        var warmUpSeconds: Double

        enum CodingKeys: String, CodingKey {
            case packages, bytes, concurrency, ratio
            case orchestratorSeconds = "orchestrator_seconds"
            case rcloneSeconds = "rclone_seconds"
            case orchestratorPeakRSSMiB = "orchestrator_peak_rss_mib"
            case rclonePeakRSSMiB = "rclone_peak_rss_mib"
            case orchestratorCPUSeconds = "orchestrator_cpu_seconds"
            case simulatorCPUSeconds = "simulator_cpu_seconds"
            case storeCPUSecondsForOrchestrator = "store_cpu_seconds_orchestrator_run"
            case rcloneCPUSeconds = "rclone_cpu_seconds"
            case storeCPUSecondsForRclone = "store_cpu_seconds_rclone_run"
            case warmUpSeconds = "warm_up_seconds"
        }
    }

    /// Runs both and checks what each stored (count and bytes of the objects).
    func run() async throws -> Report {
        let now = Date()
        let horizon = Date(unixSeconds: (now.unixSeconds - 3600) / 3600 * 3600)
        let newest = horizon.addingTimeInterval(-3600)
        let configuration = CDNSimulatorConfiguration(
            domains: Self.domains, packageBytes: Self.packageBytes, seed: 23,
            publicationDelay: .seconds(Int(now.timeIntervalSince(horizon)) - 60), emptyHourRate: 0,
            packageCacheBytes: 8 << 30)
        let quiet = Logger(label: "catchup") { _ in SwiftLogNoOpLogHandler() }
        let simulator = try await CDNSimulator.start(configuration: configuration, logger: quiet)
        do {
            let report = try await run(simulator: simulator, hours: (1...Self.hours).map { newest.addingTimeInterval(-3600 * Double($0 - 1)) })
            try await simulator.stop()
            return report
        } catch {
            try? await simulator.stop()
            throw error
        }
    }

    private func run(simulator: RunningSimulator, hours: [Date]) async throws -> Report {
        let source = benchmark.path("catchup/source")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        Progress.say("catch-up: generating and downloading \(Self.domains.count * hours.count) packages once (warm-up) ...")
        let (packages, warmUpTime) = try await timed { try await warmUp(simulator: simulator, hours: hours, into: source) }
        let bytes = packages.reduce(Int64(0)) { $0 + $1 }
        Progress.say(String(format: "catch-up: %d packages, %@ bytes, in %.1f s", packages.count, Int(bytes).grouped, warmUpTime.inSeconds))
        // The service plans the last `hours` closed hours by its own clock: a warm-up that ran into the
        // next hour (a slow, loaded machine) makes it plan an hour the simulator has not published and
        // leave out one that was warmed, and the run would wait for windows that cannot finish.
        guard let newest = hours.first, Date().unixSeconds / 3600 == (newest.unixSeconds + 2 * 3600) / 3600 else {
            throw BenchmarkError("catch-up: the warm-up ran into the next hour, so the service would plan other hours; run again")
        }

        let before = (simulator: ProcessUsage(pid: getpid()).cpuSeconds, store: store.cpuSeconds)
        let service = try await runService(simulator: simulator, expecting: packages.count)
        let serviceStoreCPU = RoundStatistics.rounded(store.cpuSeconds - before.store, 2)
        let simulatorCPU = RoundStatistics.rounded(ProcessUsage(pid: getpid()).cpuSeconds - before.simulator, 2)
        try checkStored(under: "cdnlog", count: packages.count, bytes: bytes, tool: "orchestrator")
        Progress.say(
            String(
                format: "catch-up orchestrator: %.2f s, peak RSS %.1f MiB, CPU %.1f s (rclone serve s3 %.1f s, simulator %.1f s)",
                service.seconds, service.peakRSSMiB, service.cpuSeconds, serviceStoreCPU, simulatorCPU))

        let storeBeforeCopy = store.cpuSeconds
        let copy = try CommandRunner.timed(
            rclone,
            [
                "copy", source, remote("catchup-rclone"), "--transfers", String(Self.concurrency), "--config",
                benchmark.path("logs/rclone.conf"),
            ],
            scratchDirectory: benchmark.path("logs"), errorLogPath: benchmark.path("logs/rclone-catchup.err"))
        try checkStored(under: "catchup-rclone", count: packages.count, bytes: bytes, tool: "rclone")
        let rclonePeak = RoundStatistics.rounded(Double(copy.peakRSSKiB) / 1024, 1)
        let copyStoreCPU = RoundStatistics.rounded(store.cpuSeconds - storeBeforeCopy, 2)
        Progress.say(
            String(
                format: "catch-up rclone copy: %.2f s, peak RSS %.1f MiB, CPU %.1f s (rclone serve s3 %.1f s)", copy.seconds, rclonePeak,
                copy.cpuSeconds, copyStoreCPU))
        // The service's log stays with the servers' (set ORCHESTRATOR_LOG_LEVEL=debug for its timeline).
        try? FileManager.default.copyItem(atPath: benchmark.path("catchup/service/service.log"), toPath: benchmark.path("logs/catchup-service.log"))
        try? FileManager.default.removeItem(atPath: benchmark.path("catchup"))
        return Report(
            packages: packages.count, bytes: bytes, concurrency: Self.concurrency,
            orchestratorSeconds: RoundStatistics.rounded(service.seconds), rcloneSeconds: copy.seconds,
            ratio: RoundStatistics.rounded(service.seconds / copy.seconds), orchestratorPeakRSSMiB: service.peakRSSMiB,
            rclonePeakRSSMiB: rclonePeak, orchestratorCPUSeconds: service.cpuSeconds, simulatorCPUSeconds: simulatorCPU,
            storeCPUSecondsForOrchestrator: serviceStoreCPU, rcloneCPUSeconds: RoundStatistics.rounded(copy.cpuSeconds, 2),
            storeCPUSecondsForRclone: copyStoreCPU,
            warmUpSeconds: RoundStatistics.rounded(warmUpTime.inSeconds, 1))
    }

    /// Lists every (domain, hour) at the simulator and downloads each package once into
    /// `<directory>/<domain>/<name>`; returns the packages' sizes.
    private func warmUp(simulator: RunningSimulator, hours: [Date], into directory: String) async throws -> [Int64] {
        let logger = Logger(label: "catchup") { _ in SwiftLogNoOpLogHandler() }
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let client = TencentCDNClient(
                configuration: TencentCDNConfiguration(
                    endpoint: simulator.baseURL.absoluteString,
                    credentials: TencentCredentials(secretID: "AKIDsimulator", secretKey: "simulator-secret-key"),
                    area: "mainland", requestsPerSecond: 1000),
                httpClient: httpClient, logger: logger)
            let downloader = PackageDownloader(httpClient: httpClient, spoolDirectory: benchmark.path("catchup/spool"), logger: logger)
            var sizes: [Int64] = []
            for domain in Self.domains {
                try FileManager.default.createDirectory(atPath: directory + "/" + domain, withIntermediateDirectories: true)
                for hour in hours {
                    for package in try await client.packages(domain: domain, hour: hour) {
                        let file = try await downloader.download(package)
                        try FileManager.default.moveItem(atPath: file.path, toPath: directory + "/" + domain + "/" + package.name)
                        sizes.append(file.size)
                    }
                }
            }
            try await httpClient.shutdown()
            return sizes
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
    }

    /// What the service's run measured.
    private struct ServiceRun {
        var seconds: Double
        var peakRSSMiB: Double
        var cpuSeconds: Double
    }

    /// Starts `orchestrator run`, waits until `expected` packages are stored and no window is left,
    /// reads its peak RSS and CPU time, and stops it with SIGTERM.
    private func runService(simulator: RunningSimulator, expecting expected: Int) async throws -> ServiceRun {
        let directory = benchmark.path("catchup/service")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/orchestrator.yaml"
        try configuration(simulator: simulator, directory: directory).write(toFile: config, atomically: true, encoding: .utf8)
        // It holds the simulator's and the store's keys: the service warns about a file others can read.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: config)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: orchestrator)
        process.arguments = ["run", "--config", config]
        _ = FileManager.default.createFile(atPath: directory + "/service.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/service.log"))
        process.standardOutput = log
        process.standardError = log
        let start = ContinuousClock.now
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            try? log.close()
        }
        let database = directory + "/orchestrator.sqlite"
        var store: SQLiteJobStore?
        defer { try? store?.close() }
        while true {
            guard process.isRunning else {
                let tail = (try? String(contentsOfFile: directory + "/service.log", encoding: .utf8))?.suffix(2000) ?? ""
                throw BenchmarkError("orchestrator run exited with \(process.terminationStatus):\n\(tail)")
            }
            if start.duration(to: .now) > .seconds(1800) { throw BenchmarkError("the catch-up did not finish in 30 minutes") }
            if store == nil, FileManager.default.fileExists(atPath: database) {
                store = try? SQLiteJobStore(path: database, create: false)
            }
            if let store, let totals = try? await store.status(recentFailureLimit: 0).totals {
                if totals.failed > 0 { throw BenchmarkError("a catch-up window failed; see \(directory)/service.log") }
                if totals.done >= expected && totals.pending + totals.running == 0 { break }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let seconds = start.duration(to: .now).inSeconds
        let usage = ProcessUsage(pid: process.processIdentifier)
        process.terminate()
        return ServiceRun(seconds: seconds, peakRSSMiB: usage.peakRSSMiB, cpuSeconds: usage.cpuSeconds)
    }

    /// The service's configuration: the simulator, the 8 domains over the last 5 hours, the store.
    private func configuration(simulator: RunningSimulator, directory: String) -> String {
        """
        database: \(directory)/orchestrator.sqlite
        cdn:
          endpoint: \(simulator.baseURL.absoluteString)
          secret_id: AKIDsimulator
          secret_key: simulator-secret-key
          domains: [\(Self.domains.joined(separator: ", "))]
          area: mainland
        schedule:
          tick_seconds: 1
          lookback_hours: \(Self.hours)
          availability_delay_minutes: 60
        workers:
          concurrency: \(Self.concurrency)
        sink:
          kind: s3
          endpoint: \(endpoint)
          bucket: \(TransferBenchmark.bucket)
          region: us-east-1
          path_style: true
          secret_id: \(TransferBenchmark.accessKeyID)
          secret_key: \(TransferBenchmark.secretAccessKey)
        log:
          level: warning

        """
    }

    /// Checks the bucket holds `count` objects of `bytes` in all under `prefix`, then deletes them.
    private func checkStored(under prefix: String, count: Int, bytes: Int64, tool: String) throws {
        let root = benchmark.path("s3/\(TransferBenchmark.bucket)/\(prefix)")
        var found = 0
        var total: Int64 = 0
        let names = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
        for name in names {
            let attributes = try FileManager.default.attributesOfItem(atPath: root + "/" + name)
            guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            found += 1
            total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
        }
        guard found == count, total == bytes else {
            throw BenchmarkError("catch-up: \(tool) stored \(found) objects of \(total) bytes, not \(count) of \(bytes)")
        }
        try FileManager.default.removeItem(atPath: root)
    }

    /// An rclone on-the-fly remote path of `path` in the bucket.
    private func remote(_ path: String) -> String {
        ":s3,provider=Other,access_key_id=\(TransferBenchmark.accessKeyID),"
            + "secret_access_key=\(TransferBenchmark.secretAccessKey),endpoint='\(endpoint)':"
            + "\(TransferBenchmark.bucket)/\(path)"
    }
}

/// A running process's peak RSS and CPU time so far, from `/proc`.
struct ProcessUsage {
    var peakRSSMiB: Double = 0
    var cpuSeconds: Double = 0

    init(pid: Int32) {
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kibibytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        {
            peakRSSMiB = RoundStatistics.rounded(kibibytes / 1024, 1)
        }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // After the command's closing parenthesis: state is field 3; utime and stime are 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                cpuSeconds = RoundStatistics.rounded((user + system) / Double(sysconf(Int32(_SC_CLK_TCK))), 2)
            }
        }
    }
}
