import Foundation

/// The `transfer` benchmark's result: the last line `scripts/bench transfer` prints, one JSON object.
struct TransferReport: Encodable {
    /// The goals the headline numbers are held against.
    struct Targets: Encodable {
        /// Orchestrator seconds over rclone seconds, at most.
        var ratio = 0.8
        /// The catch-up's service seconds over `rclone copy` seconds, at most.
        var catchUpRatio = 1.0
        /// The orchestrator's peak RSS, under this many MiB.
        var orchestratorPeakRSSMiB = 64

        /// The JSON keys, snake_case.
        enum CodingKeys: String, CodingKey {
            case ratio
            case orchestratorPeakRSSMiB = "orchestrator_peak_rss_mib"
            case catchUpRatio = "catchup_ratio"
        }
    }

    /// Medians of where the orchestrator's rounds spent their time, measured inside `transfer-once`.
    struct Phases: Encodable {
        /// The skip check (HEAD).
        var head: Double
        /// Download, verification, digests and spool write, with the parts uploaded meanwhile.
        var download: Double
        /// What the upload adds after the download returned: the last parts in flight, Complete, verification.
        var upload: Double
        /// All of `transfer-once`'s own run (the rest of the wall time is process start and exit).
        var inProcess: Double

        /// The JSON keys, snake_case.
        enum CodingKeys: String, CodingKey {
            case head, download, upload
            case inProcess = "in_process"
        }
    }

    /// Size of the package moved.
    var bytes: Int64
    /// Median wall seconds of the orchestrator's rounds (`transfer-once`, process start to exit).
    var orchestratorSeconds: Double
    /// Median wall seconds of `rclone copyurl`.
    var rcloneSeconds: Double
    /// `orchestratorSeconds / rcloneSeconds`.
    var ratio: Double
    /// The largest peak RSS of the orchestrator's rounds, in MiB.
    var orchestratorPeakRSSMiB: Double
    /// The largest peak RSS of rclone's rounds, in MiB.
    var rclonePeakRSSMiB: Double
    /// Rounds per tool.
    var rounds: Int
    /// The goals.
    var targets = Targets()
    /// Which targets were missed (empty when all were met).
    var targetsMissed: [String] = []
    /// Processor count, architecture and model.
    var machine: String
    /// Every orchestrator round's wall seconds, in order.
    var orchestratorRunsSeconds: [Double]
    /// Every rclone round's wall seconds, in order.
    var rcloneRunsSeconds: [Double]
    /// Every orchestrator round's peak RSS in MiB.
    var orchestratorRunsRSSMiB: [Double]
    /// Every rclone round's peak RSS in MiB.
    var rcloneRunsRSSMiB: [Double]
    /// Where the orchestrator's time went (medians, seconds).
    var orchestratorPhases: Phases
    /// Single-core cost of each per-byte step on this package (seconds), see `TransferCostProfile`.
    var singleCoreSeconds: TransferCostProfile
    /// Wall seconds for `curl` to fetch the package from the HTTP source to /dev/null: the source's
    /// own speed, which must be far below either tool's time.
    var sourceSeconds: Double
    /// The settings each tool ran with.
    var settings: String
    /// `rclone version`'s first line.
    var rcloneVersion: String
    /// The single-core cost of each concurrent stage of the download, from `singleCoreSeconds`.
    var pipelineStageSeconds: PipelineStages
    /// The CPU seconds each round cost the tool and the two servers it shares the cores with.
    var cpuSeconds: RoundsCPU
    /// The many-package case (`TransferCatchUp`), when run.
    var catchUp: TransferCatchUp.Report?
    /// `catchUp.ratio`: the service's seconds over `rclone copy`'s for the same packages.
    var catchUpRatio: Double?

    /// The JSON keys, snake_case as the report prints them.
    enum CodingKeys: String, CodingKey {
        case bytes
        case orchestratorSeconds = "orchestrator_seconds"
        case rcloneSeconds = "rclone_seconds"
        case ratio
        case orchestratorPeakRSSMiB = "orchestrator_peak_rss_mib"
        case rclonePeakRSSMiB = "rclone_peak_rss_mib"
        case rounds, targets
        case targetsMissed = "targets_missed"
        case machine
        case orchestratorRunsSeconds = "orchestrator_runs_seconds"
        case rcloneRunsSeconds = "rclone_runs_seconds"
        case orchestratorRunsRSSMiB = "orchestrator_runs_rss_mib"
        case rcloneRunsRSSMiB = "rclone_runs_rss_mib"
        case orchestratorPhases = "orchestrator_phases_seconds"
        case singleCoreSeconds = "single_core_seconds"
        case sourceSeconds = "source_seconds"
        case settings
        case rcloneVersion = "rclone_version"
        case pipelineStageSeconds = "pipeline_stage_cpu_seconds"
        case cpuSeconds = "round_cpu_seconds"
        case catchUp = "catchup"
        case catchUpRatio = "catchup_ratio"
    }


    /// The targets this report misses.
    var missed: [String] {
        var missed: [String] = []
        if ratio > targets.ratio { missed.append("ratio") }
        if orchestratorPeakRSSMiB >= Double(targets.orchestratorPeakRSSMiB) { missed.append("orchestrator_peak_rss_mib") }
        if let catchUpRatio, catchUpRatio > targets.catchUpRatio { missed.append("catchup_ratio") }
        return missed
    }
}

/// The single-core seconds of each stage the download runs concurrently (`PackageDownloader.readBody`),
/// from the cost profile: on two cores a round cannot take less than the slowest, nor less than half
/// their sum plus the upload's own work.
struct PipelineStages: Encodable {
    /// ISA-L's inflate of the whole package.
    var inflate: Double
    /// CRC-64, MD5 and SHA-256 of the whole package.
    var digests: Double
    /// The spool write (measured with its fsync, which the spool skips) and each part's MD5 and CRC-64.
    var spoolAndParts: Double
    /// The name of the slowest stage.
    var slowest: String

    init(_ profile: TransferCostProfile) {
        inflate = profile.gzipVerifySeconds
        digests = profile.digestsSeconds
        spoolAndParts = RoundStatistics.rounded(profile.writeFsyncSeconds + profile.md5Seconds + profile.crc64Seconds)
        slowest = [("inflate", inflate), ("digests", digests), ("spool_and_parts", spoolAndParts)].max { $0.1 < $1.1 }!.0
    }

    enum CodingKeys: String, CodingKey {
        case inflate, digests, slowest
        case spoolAndParts = "spool_and_parts"
    }
}

/// The CPU one round cost: the tool's process (GNU time's user + system), and what the HTTP source and
/// `rclone serve s3` spent meanwhile. All three share the machine's cores, so on an otherwise idle
/// machine with N cores a round takes at least `total / N` seconds.
struct RoundCPU: Encodable {
    /// The timed tool's own process.
    var tool: Double
    /// The HTTP source (python3 http.server).
    var source: Double = 0
    /// `rclone serve s3`.
    var store: Double = 0

    /// All three.
    var total: Double { RoundStatistics.rounded(tool + source + store, 2) }

    enum CodingKeys: String, CodingKey { case tool, source, store, total }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tool, forKey: .tool)
        try container.encode(source, forKey: .source)
        try container.encode(store, forKey: .store)
        try container.encode(total, forKey: .total)
    }
}

/// Every round's CPU per tool, and the medians, with the least wall time that CPU allows on this
/// machine's cores (`total / cores`) beside each tool's median wall time.
struct RoundsCPU: Encodable {
    /// The orchestrator's rounds, in order.
    var orchestrator: [RoundCPU]
    /// rclone's rounds, in order.
    var rclone: [RoundCPU]
    /// The processors the rounds shared.
    var cores = ProcessInfo.processInfo.activeProcessorCount

    enum CodingKeys: String, CodingKey {
        case orchestrator, rclone, cores
        case orchestratorMedianTotal = "orchestrator_median_total"
        case rcloneMedianTotal = "rclone_median_total"
        case orchestratorFloorSeconds = "orchestrator_floor_seconds"
        case rcloneFloorSeconds = "rclone_floor_seconds"
        case floorRatio = "floor_ratio"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(orchestrator, forKey: .orchestrator)
        try container.encode(rclone, forKey: .rclone)
        try container.encode(cores, forKey: .cores)
        let orchestratorTotal = RoundStatistics.median(orchestrator.map(\.total))
        let rcloneTotal = RoundStatistics.median(rclone.map(\.total))
        try container.encode(RoundStatistics.rounded(orchestratorTotal, 2), forKey: .orchestratorMedianTotal)
        try container.encode(RoundStatistics.rounded(rcloneTotal, 2), forKey: .rcloneMedianTotal)
        try container.encode(RoundStatistics.rounded(orchestratorTotal / Double(cores), 2), forKey: .orchestratorFloorSeconds)
        try container.encode(RoundStatistics.rounded(rcloneTotal / Double(cores), 2), forKey: .rcloneFloorSeconds)
        // The ratio the CPU alone would give if both used every core all the time: a ratio under it
        // cannot be reached on this machine without spending less CPU.
        try container.encode(RoundStatistics.rounded(rcloneTotal > 0 ? orchestratorTotal / rcloneTotal : 0), forKey: .floorRatio)
    }
}

/// Small statistics for the benchmark's rounds.
enum RoundStatistics {
    /// The median of `values` (the mean of the middle two for an even count); 0 for none.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// `value` rounded to `digits` decimals.
    static func rounded(_ value: Double, _ digits: Int = 3) -> Double {
        Benchmarks.rounded(value, digits)
    }
}
