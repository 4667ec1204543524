import AsyncHTTPClient
import Core
import Foundation
import Ingest
import JobModel
import Jobs
import Logging
import ObjectStorage
import Scheduler
import ServiceLifecycle
import Store
import TencentCloud

/// Builds the running service from a configuration: the store, the CDN source, the sink, the transfer,
/// the scheduler and the worker pool, with the HTTP client they share. The caller runs `services` in a
/// ServiceGroup and calls `shutdown()` afterwards.
struct ServiceAssembly {
    let store: any OperatedStore
    /// Signed calls to the CDN API and the object store (never follows redirects).
    let httpClient: HTTPClient
    /// Package downloads (follows a few redirects; carries no credentials).
    let downloadClient: HTTPClient
    /// Plans pulled windows; nil in a push-only deployment.
    let scheduler: SchedulerService?
    let workerPool: WorkerPool
    /// The push receiver and the sealing of its hours, when `ingest` is configured.
    let ingestServices: [any Service]
    /// Maintenance of the object store (stale multipart uploads), when the sink is one.
    let maintenance: PeriodicService?
    /// This process's hold on the database and the spool, for as long as the assembly lives.
    let instanceLock: InstanceLock

    /// Pruning of old done windows, unless `retention.done_days` is 0.
    let retention: PeriodicService?

    /// The services in start order.
    var services: [any Service] {
        (scheduler.map { [$0] } ?? []) + [workerPool] + (maintenance.map { [$0] } ?? []) + (retention.map { [$0] } ?? []) + ingestServices
    }

    /// Wires everything; also clears what a crashed predecessor left behind (spool and temporary files,
    /// leases of processes that no longer exist).
    static func make(configuration: OrchestratorConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger) async throws -> ServiceAssembly {
        if !configuration.usesPostgres {
            let databaseDirectory = (configuration.database as NSString).deletingLastPathComponent
            if !databaseDirectory.isEmpty, !FileManager.default.fileExists(atPath: databaseDirectory) {
                logger.notice("creating the database's directory", metadata: ["database.directory": "\(databaseDirectory)"])
            }
        }
        let store = try await StoreOpening.open(
            database: configuration.database, passwordFile: configuration.databasePasswordFile.isEmpty ? nil : configuration.databasePasswordFile,
            create: true, schema: .migrate)
        if !store.appliedMigrations.isEmpty {
            logger.notice("applied schema migrations", metadata: [
                "database.path": "\(store.path)", "database.migrations": "\(store.appliedMigrations.joined(separator: ","))",
            ])
        }
        let httpClient = HTTPClients.signedCalls()
        let downloadClient = HTTPClients.downloads()
        do {
            let source = makeCDNClient(configuration.cdn, httpClient: httpClient, clock: clock, logger: logger)
            let keyTemplate = try KeyTemplate(configuration.sink.keyTemplate)
            let downloader = PackageDownloader(
                httpClient: downloadClient, spoolDirectory: configuration.resolvedSpoolDirectory, logger: logger,
                limits: configuration.download.limits, clock: clock)
            try FileManager.default.createDirectory(atPath: configuration.resolvedSpoolDirectory, withIntermediateDirectories: true)
            // Before anything is cleared: the spool's leftovers and the leases are a predecessor's only
            // when no other service is running on this database and spool. A PostgreSQL database is
            // shared by several hosts on purpose: only the spool is locked then.
            let instanceLock = try InstanceLock.acquire(
                database: store.isSingleInstance ? configuration.database : nil,
                spoolDirectory: configuration.resolvedSpoolDirectory, now: clock.now)
            try downloader.removeLeftovers()
            let sink: any ObjectSink
            var maintenance: PeriodicService?
            switch configuration.sink.kind {
            case .local:
                let directorySink = try LocalDirectorySink(directory: configuration.sink.directory)
                _ = try directorySink.removeLeftovers()
                sink = directorySink
            case .cos, .s3:
                let storeSink = makeObjectStoreSink(configuration.sink, ledger: store, httpClient: httpClient, clock: clock, logger: logger)
                sink = storeSink
                maintenance = .staleUploadCleanup(sink: storeSink, keyPrefix: keyTemplate.fixedPrefix, clock: clock, logger: logger)
            }
            let policy = configuration.windowPolicy
            let health = DependencyHealth(policy: policy.outage, clock: clock, logger: logger)
            health.restore(try await store.dependencyHealth())
            var transfers: [String: any WindowTransfer] = [
                TencentCDNClient.sourceName: LogPackageTransfer(
                    source: source, downloader: downloader, sink: sink, keyTemplate: keyTemplate, recordedFiles: store, logger: logger,
                    observer: health),
            ]
            var ingestServices: [any Service] = []
            // The configuration refuses `ingest` with PostgreSQL: the spool is the SQLite store's.
            if let ingest = configuration.ingest, let store = store as? SQLiteJobStore {
                // Under the instance lock: opening the spool cuts its part files back to what was committed.
                let spool = try SQLiteStreamSpool(
                    store: store, directory: configuration.resolvedStreamSpoolDirectory, encode: GzipMember.compress,
                    readStamps: StampedMember.read)
                if spool.recovered.bodies > 0 {
                    logger.notice("stream spool took back bodies whose index a power loss lost", metadata: [
                        "spool.bodies_recovered": "\(spool.recovered.bodies)", "spool.lines_recovered": "\(spool.recovered.lines)",
                    ])
                }
                if spool.repaired.cut > 0 || spool.repaired.removed > 0 {
                    logger.notice("stream spool repaired after a crash or upload", metadata: [
                        "spool.files_cut": "\(spool.repaired.cut)", "spool.files_removed": "\(spool.repaired.removed)",
                    ])
                }
                transfers[StreamTransfer.sourceName] = StreamTransfer(
                    spool: spool, sink: sink, keyTemplate: try StreamKeyTemplate(ingest.keyTemplate),
                    workDirectory: configuration.resolvedSpoolDirectory, clock: clock, logger: logger)
                ingestServices = makeIngestServices(ingest, spool: spool, clock: clock, logger: logger)
            }
            let transfer = SourceDispatchingTransfer(transfers)

            let scheduler = !configuration.pullEnabled ? nil : SchedulerService(
                configuration: SchedulerConfiguration(
                    tickInterval: TimeInterval(configuration.schedule.tickSeconds),
                    planner: WindowPlanner(
                        lookbackHours: configuration.schedule.lookbackHours,
                        availabilityDelay: TimeInterval(configuration.schedule.availabilityDelayMinutes * 60)),
                    domains: configuration.cdn.domains,
                    discoveryInterval: TimeInterval(configuration.cdn.discoveryMinutes * 60),
                    policy: policy),
                store: store, source: source, clock: clock, logger: logger)
            let workerPool = WorkerPool(
                configuration: WorkerPoolConfiguration(
                    concurrency: configuration.workers.concurrency,
                    shutdownGracePeriod: .seconds(configuration.workers.shutdownGraceSeconds), policy: policy),
                store: store, transfer: transfer, clock: clock, logger: logger, health: health)
            // Under the single-instance lock every other lease owner is gone. With PostgreSQL other
            // hosts are alive: their leases, and a dead host's, end only by expiring (every host's
            // worker pool reaps expired leases).
            if store.isSingleInstance {
                try await LeaseOwner.releaseLeasesOfPredecessors(store: store, policy: policy, now: clock.now, logger: logger)
            }
            return ServiceAssembly(
                store: store, httpClient: httpClient, downloadClient: downloadClient, scheduler: scheduler, workerPool: workerPool,
                ingestServices: ingestServices, maintenance: maintenance, instanceLock: instanceLock,
                retention: configuration.retentionDoneDays > 0
                    ? .retention(store: store, keepDays: configuration.retentionDoneDays, clock: clock, logger: logger) : nil)
        } catch {
            try? await httpClient.shutdown()
            try? await downloadClient.shutdown()
            store.closeStore()
            throw error
        }
    }

    /// The receiver's HTTP(S) server, and the sealing of hours every `ingest.seal_interval_seconds`.
    private static func makeIngestServices(
        _ ingest: IngestConfiguration, spool: SQLiteStreamSpool, clock: any WallClock, logger: Logger
    ) -> [any Service] {
        let receiver = IngestReceiver(configuration: ingest, spool: spool, clock: clock, logger: logger)
        let server = IngestServer(configuration: ingest, receiver: receiver, logger: logger) { port in
            // The end-to-end tests read the bound port from this line.
            logger.info("ingest listening", metadata: ["ingest.host": "\(ingest.host)", "ingest.port": "\(port)"])
        }
        let sealer = StreamSealer(spool: spool, configuration: ingest, clock: clock, logger: logger)
        let sealing = PeriodicService(name: "stream-sealer", interval: .seconds(ingest.sealIntervalSeconds), clock: clock) {
            do {
                try await sealer.sealDueHours()
            } catch {
                logger.warning("sealing stream hours failed; will retry", metadata: ["error.message": "\(error)"])
            }
        }
        return [server, sealing]
    }

    /// The CDN API client of `cdn` (also what `check-config --probe` asks).
    static func makeCDNClient(_ cdn: OrchestratorConfiguration.CDN, httpClient: HTTPClient, clock: any WallClock, logger: Logger) -> TencentCDNClient {
        TencentCDNClient(
            configuration: TencentCDNConfiguration(
                endpoint: cdn.endpoint,
                credentials: TencentCredentials(secretID: cdn.secretID, secretKey: cdn.secretKey, token: cdn.token),
                area: cdn.area,
                requestsPerSecond: cdn.requestsPerSecond),
            httpClient: httpClient, logger: logger, clock: clock, deadlineClock: clock)
    }

    /// The object store client of a COS or S3 `sink` (also what `check-config --probe` asks).
    static func makeObjectStoreClient(_ sink: OrchestratorConfiguration.Sink, httpClient: HTTPClient, clock: any WallClock, logger: Logger) -> ObjectStoreClient {
        ObjectStoreClient(
            configuration: ObjectStoreConfiguration(
                dialect: sink.kind == .cos ? .cos : .s3, endpoint: sink.endpoint, bucket: sink.bucket, region: sink.region,
                pathStyle: sink.pathStyle,
                credentials: ObjectStoreCredentials(accessKeyID: sink.secretID, secretAccessKey: sink.secretKey, sessionToken: sink.token)),
            httpClient: httpClient, logger: logger, clock: clock)
    }

    /// The COS or S3 sink of `sink`, recording multipart progress in `ledger`.
    private static func makeObjectStoreSink(
        _ sink: OrchestratorConfiguration.Sink, ledger: any UploadLedger, httpClient: HTTPClient, clock: any WallClock, logger: Logger
    ) -> ObjectStoreSink {
        let client = makeObjectStoreClient(sink, httpClient: httpClient, clock: clock, logger: logger)
        return ObjectStoreSink(
            client: client, ledger: ledger, multipartThreshold: Int64(sink.multipartThresholdMiB) << 20,
            minimumPartSize: Int64(sink.partSizeMiB) << 20, partConcurrency: sink.partConcurrency,
            clock: clock, logger: logger)
    }

    /// Closes the HTTP clients and the database.
    func shutdown() async {
        try? await httpClient.shutdown()
        try? await downloadClient.shutdown()
        store.closeStore()
    }
}
