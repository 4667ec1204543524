import CDNSimulator
import Foundation
import JobModel
import Jobs
import Logging
import ObjectStorage
import Store
import TestSupport
import Testing

/// The real binary with the S3 sink against `rclone serve s3`, behind the counting proxy: a multipart
/// upload killed with SIGKILL resumes after a restart instead of starting over, and a second run over
/// windows already stored uploads nothing.
extension EndToEndTests {
@Suite("Multipart resume and idempotency, S3 sink (real binary)")
struct MultipartResumeTests {
    @Test("SIGKILL during a pipelined multipart upload, then restart: at most one part sent twice, the object identical")
    func killedUploadResumes() async throws {
        let domain = "big.example"
        let hour = ObjectStoreScenario.plannedHour(at: Date())
        let key = PackageKey(domain: domain, hour: hour, area: .mainland)
        var configuration = ObjectStoreScenario.simulatorConfiguration(
            domains: [domain], packageBytes: 1 << 20, emptyHourRate: 0, newestPublishedHour: hour)
        // A package is 50-150 % of `packageBytes` by a coin of its own: scale it so that this one is ~300 MiB.
        let factor = Double(PackageCatalog(configuration: configuration).size(of: key)) / Double(configuration.packageBytes)
        configuration.packageBytes = Int(Double(300 << 20) / factor)
        let packageSize = PackageCatalog(configuration: configuration).size(of: key)
        #expect(packageSize >= 250 << 20)

        try await ObjectStoreScenario.run(name: "resume", simulator: configuration) { scenario in
            // The simulator's own bytes, generated on another core while the service works.
            let expected = scenario.sandbox.directory.appendingPathComponent("expected.gz")
            let catalog = scenario.simulator.simulator.catalog
            async let expectedWritten: Void = onDispatchThread { try catalog.writePackage(key, to: expected) }

            // One part at a time, so at most one part is in flight when the process dies. A part in flight
            // is lost on a kill (the store may hold it, the ledger does not) and sent again after the
            // restart; with `part_concurrency` N that would be up to N parts, beyond the one-part bound.
            try scenario.writeConfig(domains: [domain], lookbackHours: 1, area: "mainland", partConcurrency: 1)
            var service = try await scenario.sandbox.startServiceWhenReady()
            let store = try scenario.sandbox.store()
            defer { try? store.close() }
            let partCount = (packageSize + ObjectStoreScenario.partSize - 1) / ObjectStoreScenario.partSize
            try await waitUntil(timeout: 240, "10 of \(partCount) parts recorded in the ledger") {
                try await store.multipartUploads(startedBefore: .distantFuture).first.map { $0.parts.count >= 10 } ?? false
            }
            service.stop(with: SIGKILL)
            let partsBeforeKill = try await store.multipartUploads(startedBefore: .distantFuture).first?.parts.count ?? 0
            #expect(partsBeforeKill >= 10, "the ledger keeps the killed upload's parts")

            service = try Binary.startService(config: scenario.sandbox.config, log: scenario.sandbox.log)
            try await waitUntil(timeout: 240, "every window done") {
                let totals = try await store.status(recentFailureLimit: 0).totals
                return totals.done >= 1 && totals.pending + totals.running + totals.failed == 0
            }
            #expect(service.stop(with: SIGTERM) == 0, "graceful stop\n\(scenario.sandbox.logTail)")

            let counters = scenario.proxy.counters
            #expect(counters.putBytesReceived >= Int64(packageSize), "every part was uploaded: \(counters)")
            // At most one part twice: the one in flight at the kill, which is sent again whole even when
            // the kill came after its last byte reached the store but before the ledger recorded it.
            #expect(
                counters.putBytesReceived <= Int64(packageSize + ObjectStoreScenario.partSize),
                "sent \(counters.putBytesReceived) bytes for a package of \(packageSize): the restart started over")
            let log = (try? String(contentsOf: scenario.sandbox.log, encoding: .utf8)) ?? ""
            #expect(
                log.contains("upload.parts_done=\(partsBeforeKill)") && log.contains("resuming a multipart upload"),
                "the service says it resumed with the \(partsBeforeKill) parts recorded")
            // Killed and resumed while downloading: the parts go up as the package arrives, and the
            // restart checks each recorded part against the bytes downloaded again.
            #expect(log.contains("upload.streamed=true"), "the upload was pipelined with the download")

            let files = try await store.jobs(matching: JobFilter(domain: domain), limit: 10)
                .asyncFlatMap { try await store.files(ofJob: $0.id) }
            #expect(files.map(\.size) == [Int64(packageSize)])
            try await expectedWritten
            let objectKey = try #require(files.first?.objectKey)
            let stored = URL(fileURLWithPath: scenario.server.path(bucket: ObjectStoreScenario.bucket, key: objectKey))
            #expect(try sameBytes(stored, expected), "the stored object is the simulator's package")

            #expect(try await store.multipartUploads(startedBefore: .distantFuture).isEmpty, "the ledger is empty")
            #expect(try await scenario.uploadsInProgress().isEmpty, "the store has no unfinished upload")
            #expect(scenario.sandbox.files(under: scenario.sandbox.spool) { $0 != ".orchestrator.lock" }.isEmpty, "no spool file is left but the single-instance lock")
            #expect(scenario.objectsInBucket() == [objectKey], "the bucket holds the object and nothing else")
        }
    }

    @Test("a second run over windows already stored sends HEADs and no PUT")
    func secondRunUploadsNothing() async throws {
        let domains = ["i1.example", "i2.example"]
        let configuration = ObjectStoreScenario.simulatorConfiguration(
            domains: domains, packageBytes: 96 * 1024, emptyHourRate: 0, newestPublishedHour: ObjectStoreScenario.plannedHour(at: Date()))
        try await ObjectStoreScenario.run(name: "idempotent", simulator: configuration) { scenario in
            try scenario.writeConfig(domains: domains, lookbackHours: 3, area: "global", partConcurrency: 3)
            let first = try await scenario.runUntilEveryWindowIsDone()
            #expect(first.count >= 4 && first.allSatisfy { !$0.skipped }, "the first run uploads every package: \(first)")
            #expect(scenario.proxy.counters.requests["PUT"] == first.count)
            let objects = scenario.objectsInBucket()

            // A new database: the service knows nothing of the first run and works the same windows again.
            try FileManager.default.removeItem(at: scenario.sandbox.database.deletingLastPathComponent())
            scenario.proxy.resetCounters()
            let second = try await scenario.runUntilEveryWindowIsDone()
            #expect(!second.isEmpty && second.allSatisfy(\.skipped), "every package is found already stored: \(second)")
            // Besides the HEADs, the service's start-up cleanup lists stale multipart uploads (one GET).
            let requests = scenario.proxy.counters.requests
            #expect(requests.filter { $0.key != "GET" } == ["HEAD": second.count], "HEADs only, one per package")
            #expect(requests["GET", default: 0] <= 1, "\(requests)")
            #expect(scenario.objectsInBucket() == objects)
        }
    }
}
}

/// One end-to-end setup with an object store: the CDN simulator, `rclone serve s3` with one bucket, the
/// counting proxy in front of it, and a sandbox whose service stores into the bucket through the proxy.
struct ObjectStoreScenario {
    /// The bucket the service stores into.
    static let bucket = "archive"
    /// `sink.part_size_mib`, in bytes.
    static let partSize = 8 << 20

    /// The CDN the service copies from.
    let simulator: RunningSimulator
    /// The store; objects are files under `server.path(bucket:key:)`.
    let server: RcloneS3Server
    /// Between the service and the store, counting what the store receives.
    let proxy: SinkFaultingProxy
    /// The proxy's base URL: the service's `sink.endpoint`.
    let proxyEndpoint: String
    /// The service's configuration, database, spool and log.
    let sandbox: ServiceSandbox

    /// The hour a service started at `now` with `lookback_hours: 1` and the default one-hour availability
    /// delay plans: the hour that ended at least an hour ago.
    static func plannedHour(at now: Date) -> Date {
        Date(timeIntervalSince1970: TimeInterval((Int(now.timeIntervalSince1970) / 3600 - 2) * 3600))
    }

    /// A simulator configuration that publishes `newestPublishedHour` now and the hour after it only in
    /// about an hour: a test that straddles a full hour then gets no new package to copy (the service's
    /// new window is done as empty, the simulator's default 30-minute delay would have published it).
    static func simulatorConfiguration(
        domains: [String], packageBytes: Int, emptyHourRate: Double, newestPublishedHour: Date
    ) -> CDNSimulatorConfiguration {
        let sincePublishable = Date().timeIntervalSince(newestPublishedHour.addingTimeInterval(3600))
        return CDNSimulatorConfiguration(
            domains: domains, packageBytes: packageBytes, seed: 17,
            publicationDelay: .seconds(Int(sincePublishable) - 60), emptyHourRate: emptyHourRate)
    }

    /// Starts everything for `body` and stops it afterwards; a failure is recorded with the service's log.
    static func run(
        name: String, simulator configuration: CDNSimulatorConfiguration, _ body: (ObjectStoreScenario) async throws -> Void
    ) async throws {
        let simulator = try await CDNSimulator.start(
            configuration: configuration, logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() }))
        let sandbox = try ServiceSandbox(name: name)
        do {
            try await RcloneS3Server.with(buckets: [ObjectStoreScenario.bucket]) { server in
                try await SinkFaultingProxy.serve(upstream: server.endpoint) { endpoint, proxy in
                    try await body(
                        ObjectStoreScenario(simulator: simulator, server: server, proxy: proxy, proxyEndpoint: endpoint, sandbox: sandbox))
                }
            }
        } catch {
            try? await simulator.stop()
            Issue.record("\(error)\n\(sandbox.logTail)")
            return
        }
        try await simulator.stop()
    }

    /// Writes the service's configuration: the simulator as CDN, the bucket through the proxy as an S3
    /// store (path style, 8 MiB parts, the default 64 MiB multipart threshold), one worker.
    func writeConfig(domains: [String], lookbackHours: Int, area: String, partConcurrency: Int) throws {
        let text = """
            database: ./state/orchestrator.sqlite
            cdn:
              endpoint: \(simulator.baseURL.absoluteString)
              secret_id: AKIDsimulator
              secret_key: simulator-secret-key
              domains: [\(domains.joined(separator: ", "))]
              area: \(area)
            schedule:
              tick_seconds: 1
              lookback_hours: \(lookbackHours)
              availability_delay_minutes: 60
              publication_horizon_minutes: 60
            workers:
              concurrency: 1
              max_attempts: 8
              backoff_base_seconds: 1
              backoff_cap_seconds: 2
              lease_seconds: 10
            sink:
              kind: s3
              endpoint: \(proxyEndpoint)
              bucket: \(ObjectStoreScenario.bucket)
              region: us-east-1
              path_style: true
              secret_id: \(RcloneS3Server.accessKeyID)
              secret_key: \(RcloneS3Server.secretAccessKey)
              part_size_mib: \(ObjectStoreScenario.partSize >> 20)
              part_concurrency: \(partConcurrency)
            log:
              level: info

            """
        try text.write(to: sandbox.config, atomically: true, encoding: .utf8)
    }

    /// Runs the service until every window is done, stops it with SIGTERM, and returns the files of
    /// every window.
    func runUntilEveryWindowIsDone() async throws -> [FileRecord] {
        let service = try await sandbox.startServiceWhenReady()
        let store = try sandbox.store()
        defer { try? store.close() }
        try await waitUntil(timeout: 60, "every window done") {
            let totals = try await store.status(recentFailureLimit: 0).totals
            return totals.done >= 1 && totals.pending + totals.running + totals.failed == 0
        }
        #expect(service.stop(with: SIGTERM) == 0, "graceful stop\n\(sandbox.logTail)")
        return try await store.jobs(matching: JobFilter(), limit: 100).asyncFlatMap { try await store.files(ofJob: $0.id) }
    }

    /// The keys of the files rclone keeps in the bucket, sorted.
    func objectsInBucket() -> [String] {
        let directory = server.path(bucket: ObjectStoreScenario.bucket, key: "")
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory + path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    /// The multipart uploads the store has in progress, asked directly.
    func uploadsInProgress() async throws -> [MultipartUploadListing] {
        let client = ObjectStoreClient(
            configuration: server.configuration(bucket: ObjectStoreScenario.bucket), httpClient: .shared,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try await client.listMultipartUploads(prefix: "")
    }
}

/// Whether the files at `first` and `second` hold the same bytes, compared a MiB at a time.
func sameBytes(_ first: URL, _ second: URL) throws -> Bool {
    let one = try FileHandle(forReadingFrom: first)
    defer { try? one.close() }
    let other = try FileHandle(forReadingFrom: second)
    defer { try? other.close() }
    while true {
        let chunk = try one.read(upToCount: 1 << 20) ?? Data()
        guard chunk == (try other.read(upToCount: 1 << 20) ?? Data()) else { return false }
        if chunk.isEmpty { return true }
    }
}

/// Runs blocking, CPU-bound `work` on a Dispatch worker thread, keeping it off the cooperative pool.
func onDispatchThread<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Swift.Result { try work() }) }
    }
}

extension Sequence {
    /// The concatenated results of `transform` on each element, one after another.
    func asyncFlatMap<Element>(_ transform: (Self.Element) async throws -> [Element]) async rethrows -> [Element] {
        var results: [Element] = []
        for element in self { results += try await transform(element) }
        return results
    }
}
