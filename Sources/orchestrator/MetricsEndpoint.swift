import Core
import Foundation
import Hummingbird
import JobModel
import Logging
import Prometheus
import Scheduler
import ServiceLifecycle
import Store
import Synchronization

/// `/metrics`, `/healthz` and `/readyz` on `metrics.listen`.
///
/// `/metrics` is Prometheus text: what the libraries count through swift-metrics (window outcomes,
/// errors by code, bytes downloaded and uploaded, windows planned, window and CDN API durations), then
/// gauges read from the database at scrape time with the very query `status --json` uses, so the two
/// always agree: windows by state, final windows, replaced packages, downloads avoided, skipped hours,
/// each domain's lag, each dependency's outage state and the outages that ended, and the push spool's
/// bytes per stream domain. The push receiver's counters (`orchestrator_ingest_*_total`) come through
/// swift-metrics.
///
/// `/healthz` answers 200 while the process serves. `/readyz` answers 200 only when the service is not
/// stopping, the database takes a write, the scheduler ticked within three tick intervals, and no
/// dependency is in an outage; otherwise 503 with the reasons, one per line.
///
/// It is a service of the command's group and nothing else: it has no signal handling of its own, and
/// the group stops it last, so it answers through a graceful stop until the running windows are done.
struct MetricsEndpoint: Service {
    let address: ListenAddress
    let registry: PrometheusCollectorRegistry
    let store: any OperatedStore
    /// Nil in a push-only deployment, which has no scheduler to be ready.
    let scheduler: SchedulerService?
    let health: DependencyHealth
    let clock: any WallClock
    /// Set when the service begins to stop.
    let stopping: StopFlag
    let logger: Logger

    func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("/metrics") { _, _ in
            let text = registry.emitToString() + (try await Self.statusGauges(store: store, now: clock.now))
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/readyz") { _, _ in
            let problems = await readinessProblems()
            return Response(
                status: problems.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: problems.isEmpty ? "ready\n" : problems.joined(separator: "\n") + "\n")))
        }
        let logger = self.logger
        let host = address.host
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "orchestrator-metrics"),
            onServerRunning: { channel in
                logger.info("metrics listening", metadata: ["metrics.address": "\(host):\(channel.localAddress?.port ?? 0)"])
            },
            logger: logger)
        // `run()`, not `runService()`: the latter runs a group of its own that traps SIGTERM, stops this
        // endpoint at the first signal and so ends a service early, which makes the command's group
        // cancel every other service instead of letting them stop gracefully.
        try await application.run()
    }

    /// Why the service is not ready; empty when it is.
    private func readinessProblems() async -> [String] {
        var problems: [String] = []
        if stopping.isSet { problems.append("stopping: running windows are finishing") }
        do {
            try await store.checkWritable()
        } catch {
            problems.append("database not writable: \(error)")
        }
        let now = clock.now
        if let scheduler, let last = scheduler.lastTickAt {
            if now.timeIntervalSince(last) > 3 * scheduler.tickInterval + 5 {
                problems.append("scheduler last ticked at \(last.formatted(.iso8601))")
            }
        } else if scheduler != nil {
            problems.append("scheduler has not ticked yet")
        }
        for dependency in health.outages {
            problems.append("dependency \(dependency) in an outage")
        }
        return problems
    }

    /// The gauges read from the database, in Prometheus text format.
    static func statusGauges(store: any OperatedStore, now: Date) async throws -> String {
        let report = try await store.status(recentFailureLimit: 0)
        var text = ""
        func gauge(_ name: String, _ help: String, _ samples: [([(String, String)], Double)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (labels, value) in samples {
                let labelText = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
                text += "\(name)\(labelText) \(value == value.rounded() ? String(Int64(value)) : String(value))\n"
            }
        }
        gauge("orchestrator_windows", "Windows by state, as status --json counts them.",
              JobState.allCases.map { ([("state", $0.rawValue)], Double(report.totals[$0])) })
        gauge("orchestrator_windows_final", "Done windows whose logs settled and were checked once more.",
              [([], Double(report.settling.final))])
        gauge("orchestrator_packages_replaced", "Packages the reconcile passes found changed and stored again.",
              [([], Double(report.settling.replaced))])
        gauge("orchestrator_downloads_avoided", "Packages a pass found still stored and did not download.",
              [([("pass", "copy")], Double(report.downloadsAvoided.copy)), ([("pass", "reconcile")], Double(report.downloadsAvoided.reconcile))])
        gauge("orchestrator_skipped_hours", "Hours planning passed over, older than the lookback, per domain.",
              report.domains.map { ([("source", $0.source), ("domain", $0.domain)], Double($0.skippedHours)) })
        gauge("orchestrator_domain_lag_seconds", "From the end of each domain's oldest hour not yet done to now.",
              report.domains.map { ([("source", $0.source), ("domain", $0.domain)], $0.lag(at: now)) })
        gauge("orchestrator_dependency_outage", "1 while the dependency is in an outage.",
              report.dependencies.map { ([("dependency", $0.dependency.rawValue)], $0.inOutage ? 1 : 0) })
        gauge("orchestrator_dependency_outages_ended", "Outages that ended, in all.", [([], Double(report.outageCount))])
        let streams = try await store.streamStatus()
        if !streams.isEmpty {
            gauge("orchestrator_ingest_spool_bytes", "Bytes of accepted and quarantined lines the push spool holds, per stream domain.",
                  streams.map { ([("domain", $0.domain)], Double($0.spoolBytes)) })
        }
        return text
    }

    /// A label value with `\`, `"` and newlines escaped.
    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// A one-way flag: set once, read from any task.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }

    func set() { value.store(true, ordering: .releasing) }
}
