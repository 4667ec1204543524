import Core
import Foundation
import Ingest
import Jobs
import PostgresStore
import Scheduler
import TencentCloud

/// The whole service configuration, as read from YAML and the environment. Built once at start-up and
/// handed to each component through its own configuration type.
///
/// Every default comes from the library that owns the setting (the planner, the retry and window
/// policies, the CDN client, the sink), so the executable repeats none of them; the YAML keys are in
/// the README's configuration table.
struct OrchestratorConfiguration: Sendable, CustomStringConvertible {
    /// `cdn.*`: the Tencent CDN API.
    struct CDN: Sendable {
        /// `cdn.endpoint`: the API base URL.
        var endpoint = TencentCDNConfiguration.defaultEndpoint
        /// `cdn.secret_id` (or `TENCENTCLOUD_SECRET_ID`).
        var secretID = ""
        /// `cdn.secret_key` (or `TENCENTCLOUD_SECRET_KEY`); never printed.
        var secretKey = ""
        /// `cdn.token` (or `TENCENTCLOUD_SESSION_TOKEN`) for temporary credentials.
        var token: String?
        /// `cdn.domains`: empty means every domain of the account.
        var domains: [String] = []
        /// `cdn.area`: `global`, `mainland` or `overseas`.
        var area = TencentCDNConfiguration.defaultArea
        /// `cdn.requests_per_second`: the client-side rate limit.
        var requestsPerSecond = TencentCDNConfiguration.defaultRequestsPerSecond
        /// `cdn.discovery_minutes`: how often the account's domains are listed again.
        var discoveryMinutes = Int(SchedulerConfiguration().discoveryInterval / 60)
    }

    /// `schedule.*`: planning.
    struct Schedule: Sendable {
        /// `schedule.tick_seconds`: time between planning ticks.
        var tickSeconds = Int(SchedulerConfiguration().tickInterval)
        /// `schedule.lookback_hours`: how far back a new domain is planned.
        var lookbackHours = WindowPlanner().lookbackHours
        /// `schedule.availability_delay_minutes`: how long after its end an hour is planned.
        var availabilityDelayMinutes = Int(WindowPlanner().availabilityDelay / 60)
        /// `schedule.settle_hours`: when a copied window gets its reconcile pass.
        var settleHours = Int(WindowPolicy().settleDelay / 3600)
        /// `schedule.publication_horizon_minutes`: when an hour without packages is taken as empty.
        var publicationHorizonMinutes = Int(RetryPolicy().publicationHorizon / 60)
    }

    /// `workers.*`: the worker pool and retry policy.
    struct Workers: Sendable {
        /// `workers.concurrency`: windows run at once.
        var concurrency = WorkerPoolConfiguration().concurrency
        /// `workers.max_attempts`: leases a window may use before it is failed.
        var maxAttempts = RetryPolicy().maxAttempts
        /// `workers.backoff_base_seconds`: the first retry's delay.
        var backoffBaseSeconds = Int(RetryPolicy().baseDelay)
        /// `workers.backoff_cap_seconds`: the longest delay between retries.
        var backoffCapSeconds = Int(RetryPolicy().maximumDelay)
        /// `workers.lease_seconds`: how long a lease lasts without a heartbeat.
        var leaseSeconds = Int(WindowPolicy().leaseDuration)
        /// `workers.shutdown_grace_seconds`: how long SIGTERM waits for running windows before it
        /// interrupts them and hands them back.
        var shutdownGraceSeconds = Int(WorkerPoolConfiguration().shutdownGracePeriod.components.seconds)
        /// `workers.max_window_minutes`: the longest one window may run before it is stopped and retried.
        var maxWindowMinutes = Int(WindowPolicy().maxWindowDuration / 60)
        /// `workers.spool_directory`: empty means `<database>.spool`.
        var spoolDirectory = ""
    }

    /// `download.*`: the bounds of each package download.
    struct Download: Sendable {
        /// `download.timeout_seconds`: the longest one download may take, body included.
        var timeoutSeconds = Int(PackageDownloader.defaultLimits.timeout.timeInterval)
        /// `download.min_bytes_per_second`: the rate floor over each stall window; 0 turns it off.
        var minBytesPerSecond = PackageDownloader.defaultLimits.minimumBytesPerSecond
        /// `download.stall_seconds`: the window the rate floor is measured over.
        var stallSeconds = Int(PackageDownloader.defaultLimits.stallWindow.timeInterval)

        /// The largest accepted `download.timeout_seconds`: a day.
        static let maxTimeoutSeconds = 86_400
        /// The largest accepted `download.min_bytes_per_second`: 100 MiB/s, beyond any CDN link, so a
        /// value in bits or with a stray digit is refused instead of failing every download.
        static let maxMinBytesPerSecond = 100 << 20
        /// The largest accepted `download.stall_seconds`: an hour.
        static let maxStallSeconds = 3600

        /// The downloader's limits.
        var limits: TransferLimits {
            TransferLimits(
                timeout: .seconds(timeoutSeconds), minimumBytesPerSecond: minBytesPerSecond, stallWindow: .seconds(stallSeconds))
        }
    }

    /// Where packages are stored: `sink.kind`.
    enum SinkKind: String, Sendable, CaseIterable {
        /// A directory on this host.
        case local
        /// Tencent COS with its native signature.
        case cos
        /// Any S3-compatible store, with AWS Signature V4.
        case s3
    }

    /// `sink.*`: where packages are stored.
    struct Sink: Sendable {
        /// `sink.kind`.
        var kind = SinkKind.local
        /// `sink.directory`: the local sink's directory.
        var directory = "./bucket"
        /// `sink.endpoint`: the store's URL; for COS, empty means the bucket's default endpoint.
        var endpoint = ""
        /// `sink.bucket`.
        var bucket = ""
        /// `sink.region`.
        var region = ""
        /// `sink.secret_id` (or the store's usual environment variable).
        var secretID = ""
        /// `sink.secret_key`; never printed.
        var secretKey = ""
        /// `sink.token` for temporary credentials.
        var token: String?
        /// `sink.path_style`: bucket in the path instead of the host name.
        var pathStyle = false
        /// `sink.key_template`: the object key of each package.
        var keyTemplate = KeyTemplate.defaultTemplate
        /// `sink.multipart_threshold_mib`: files this large or larger go in parts.
        var multipartThresholdMiB = Int(ObjectStoreSink.defaultMultipartThreshold >> 20)
        /// `sink.part_size_mib`.
        var partSizeMiB = Int(ObjectStoreSink.defaultPartSize >> 20)
        /// `sink.part_concurrency`: parts in flight at once.
        var partConcurrency = ObjectStoreSink.defaultPartConcurrency
    }

    /// `database`: the SQLite file, or `postgres://user@host:port/database` for a PostgreSQL database
    /// several hosts share.
    var database = "./orchestrator.sqlite"
    /// `database_password_file`: a file whose first line is the PostgreSQL password; empty means
    /// `PGPASSWORD` from the environment (or no password).
    var databasePasswordFile = ""

    /// Whether `database` names a PostgreSQL database.
    var usesPostgres: Bool { PostgresLocation.isPostgresURL(database) }
    /// `cdn.*`.
    var cdn = CDN()
    /// `schedule.*`.
    var schedule = Schedule()
    /// `workers.*`.
    var workers = Workers()
    /// `download.*`.
    var download = Download()
    /// `sink.*`.
    var sink = Sink()
    /// `log.level`: trace, debug, info, notice, warning, error or critical.
    var logLevel = "info"
    /// `log.format`: `text` (human), `logfmt` or `json` (one object per line), to standard error.
    var logFormat = LogFormat.text
    /// `retention.done_days`: done, final windows older than this many days are pruned with their file
    /// rows; 0 keeps them forever.
    var retentionDoneDays = 90
    /// `metrics.listen`: `host:port` for `/metrics`, `/healthz` and `/readyz`; empty turns them off.
    var metricsListen = ""
    /// `ingest.*`: the push receiver; nil (off) unless `ingest.endpoints` lists an endpoint.
    var ingest: IngestConfiguration?

    /// Whether the pull side (planning and copying CDN log packages) runs: always, except in a push-only
    /// deployment, one with an ingest section and no CDN credentials at all.
    var pullEnabled: Bool {
        ingest == nil || !(cdn.secretID.isEmpty && cdn.secretKey.isEmpty)
    }

    /// The spool directory: configured, or `<database>.spool` beside the database.
    var resolvedSpoolDirectory: String {
        workers.spoolDirectory.isEmpty ? database + ".spool" : workers.spoolDirectory
    }

    /// Where the push receiver's part files live: `stream/` in the spool directory.
    var resolvedStreamSpoolDirectory: String { resolvedSpoolDirectory + "/stream" }

    /// The rules every window is worked by, for the scheduler and the worker pool alike.
    var windowPolicy: WindowPolicy {
        WindowPolicy(
            retry: RetryPolicy(
                maxAttempts: workers.maxAttempts,
                baseDelay: TimeInterval(workers.backoffBaseSeconds),
                maximumDelay: TimeInterval(workers.backoffCapSeconds),
                publicationHorizon: TimeInterval(schedule.publicationHorizonMinutes * 60)),
            leaseDuration: TimeInterval(workers.leaseSeconds),
            settleDelay: TimeInterval(schedule.settleHours * 3600),
            maxWindowDuration: TimeInterval(workers.maxWindowMinutes * 60))
    }

    var description: String {
        var text = "database=\(database) cdn.endpoint=\(cdn.endpoint) cdn.secret_id=\(Redacted(cdn.secretID)) domains=\(cdn.domains.isEmpty ? "(discover)" : cdn.domains.joined(separator: ",")) sink=\(sink.kind.rawValue)"
        if sink.kind == .local {
            text += " sink.directory=\(sink.directory)"
        } else {
            text += " sink.bucket=\(sink.bucket) sink.region=\(sink.region) sink.endpoint=\(sink.endpoint.isEmpty ? "(default)" : sink.endpoint) sink.secret_id=\(Redacted(sink.secretID))"
        }
        if let ingest {
            text += " ingest.listen=\(ingest.host):\(ingest.port) ingest.endpoints=\(ingest.endpoints.map(\.path).joined(separator: ",")) ingest.tls=\(ingest.tlsCertificate != nil)"
        }
        if !pullEnabled { text += " pull=off" }
        return text
    }
}

/// Shows only the start and end of a credential identifier; never used for secret keys.
struct Redacted: CustomStringConvertible {
    let value: String

    init(_ value: String) { self.value = value }

    var description: String {
        guard value.count > 8 else { return value.isEmpty ? "(unset)" : "****" }
        return "\(value.prefix(4))…\(value.suffix(4))"
    }
}
