import Core
import Foundation
import JobModel
import Store

/// The `status --json` document, written by `json`. Field names are a contract (`jobs` with `pending`,
/// `running`, `done`, `failed`; `domains` with `domain` and the same counts); more fields may be added,
/// none renamed.
struct StatusDocument {
    struct Counts {
        var pending: Int
        var running: Int
        var done: Int
        var failed: Int

        init(_ counts: StateCounts) {
            pending = counts.pending
            running = counts.running
            done = counts.done
            failed = counts.failed
        }
    }

    struct Settling {
        var provisional: Int
        var final: Int
        var replaced: Int
    }

    /// Downloads avoided: packages a pass found still stored and did not fetch again.
    struct DownloadsAvoided {
        var total: Int
        var copy: Int
        var reconcile: Int

        init(_ avoided: AvoidedDownloads) {
            total = avoided.total
            copy = avoided.copy
            reconcile = avoided.reconcile
        }
    }

    struct Domain {
        var source: String
        var domain: String
        var active: Bool
        var pending: Int
        var running: Int
        var done: Int
        var failed: Int
        var provisional: Int
        var final: Int
        var replaced: Int
        var downloads_avoided: Int
        var lag_seconds: Int
        var oldest_open_hour: String?
        var planned_until: String?
        var skipped_hours: Int
    }

    struct DependencyHealth {
        var dependency: String
        /// `healthy` or `outage`.
        var state: String
        var outage_since: String?
        var failures_in_a_row: Int
        var last_error_code: String?
        var last_error_message: String?
        var last_answered_at: String?
        var last_failure_at: String?
    }

    struct Outage {
        var dependency: String
        var started: String
        var ended: String
        var seconds: Int
        var failures: Int
    }

    struct Outages {
        var count: Int
        var recent: [Outage]
    }

    struct Failure {
        var source: String
        var domain: String
        var hour: String
        var attempts: Int
        var error_code: String
        var error_message: String
        var failed_at: String
    }

    var database: String
    var generated_at: String
    var jobs: Counts
    var settling: Settling
    var downloads_avoided: DownloadsAvoided
    var domains: [Domain]
    var recent_failures: [Failure]
    var skipped_hours: Int
    var dependencies: [DependencyHealth]
    var outages: Outages
    var streams: [Stream]

    /// One push stream domain.
    struct Stream {
        var domain: String
        var open_hours: Int
        var sealed_hours_waiting: Int
        var uploaded_parts: Int
        var lines_accepted: Int64
        var lines_quarantined: Int64
        var bodies_repeated: Int64
        var spool_bytes: Int64
    }

    init(_ report: StatusReport, database: String, now: Date) {
        self.database = database
        generated_at = StatusFormatter.iso(now)
        jobs = Counts(report.totals)
        settling = Settling(
            provisional: report.settling.provisional(done: report.totals.done), final: report.settling.final,
            replaced: report.settling.replaced)
        downloads_avoided = DownloadsAvoided(report.downloadsAvoided)
        domains = report.domains.map { domain in
            Domain(
                source: domain.source, domain: domain.domain, active: domain.active,
                pending: domain.counts.pending, running: domain.counts.running, done: domain.counts.done, failed: domain.counts.failed,
                provisional: domain.settling.provisional(done: domain.counts.done), final: domain.settling.final,
                replaced: domain.settling.replaced, downloads_avoided: domain.downloadsAvoided.total, lag_seconds: Int(domain.lag(at: now)),
                oldest_open_hour: domain.oldestOpenHour.map(StatusFormatter.iso), planned_until: domain.plannedUntil.map(StatusFormatter.iso),
                skipped_hours: domain.skippedHours)
        }
        skipped_hours = report.domains.reduce(0) { $0 + $1.skippedHours }
        dependencies = report.dependencies.map { health in
            DependencyHealth(
                dependency: health.dependency.rawValue, state: health.inOutage ? "outage" : "healthy",
                outage_since: health.outageSince.map(StatusFormatter.iso), failures_in_a_row: health.failures,
                last_error_code: health.lastError?.code, last_error_message: health.lastError?.message,
                last_answered_at: health.lastAnsweredAt.map(StatusFormatter.iso), last_failure_at: health.lastFailureAt.map(StatusFormatter.iso))
        }
        outages = Outages(
            count: report.outageCount,
            recent: report.recentOutages.map { outage in
                Outage(
                    dependency: outage.dependency.rawValue, started: StatusFormatter.iso(outage.started),
                    ended: StatusFormatter.iso(outage.ended), seconds: Int(outage.duration), failures: outage.failures)
            })
        streams = report.streams.map { stream in
            Stream(
                domain: stream.domain, open_hours: stream.openHours, sealed_hours_waiting: stream.sealedHoursWaiting,
                uploaded_parts: stream.uploadedParts, lines_accepted: stream.linesAccepted, lines_quarantined: stream.linesQuarantined,
                bodies_repeated: stream.bodiesRepeated, spool_bytes: stream.spoolBytes)
        }
        recent_failures = report.recentFailures.map { failure in
            Failure(
                source: failure.window.source, domain: failure.window.domain, hour: StatusFormatter.iso(failure.window.hour),
                attempts: failure.attempts, error_code: failure.error.code, error_message: failure.error.message,
                failed_at: StatusFormatter.iso(failure.failedAt))
        }
    }
}

/// One window in `jobs --json`.
struct JobDocument: Encodable {
    var id: Int64
    var source: String
    var domain: String
    var hour: String
    var state: String
    var pass: String
    var final: Bool
    var attempts: Int
    var run_at: String
    var files: Int
    var bytes: Int64
    var updated_at: String
    var last_error_code: String?
    var last_error_message: String?

    init(_ job: JobSummary) {
        id = job.id
        source = job.window.source
        domain = job.window.domain
        hour = StatusFormatter.iso(job.window.hour)
        state = job.state.rawValue
        pass = job.pass.rawValue
        final = job.final
        attempts = job.attempts
        run_at = StatusFormatter.iso(job.runAt)
        files = job.fileCount
        bytes = job.byteCount
        updated_at = StatusFormatter.iso(job.updatedAt)
        last_error_code = job.lastError?.code
        last_error_message = job.lastError?.message
    }
}

extension StatusDocument {
    /// The document as `JSONEncoder` with sorted keys writes it, byte for byte, written directly
    /// (`JSONOutput`): the encoder took about a quarter of `status --json`'s time on a thousand domains.
    var json: String {
        var output = JSONOutput()
        output.object { document in
            document.field("database", database)
            document.field("dependencies") { $0.array(dependencies) { $0.write($1) } }
            document.field("domains") { $0.array(domains) { $0.write($1) } }
            document.field("downloads_avoided") { output in
                output.object { avoided in
                    avoided.field("copy", downloads_avoided.copy)
                    avoided.field("reconcile", downloads_avoided.reconcile)
                    avoided.field("total", downloads_avoided.total)
                }
            }
            document.field("generated_at", generated_at)
            document.field("jobs") { output in
                output.object { counts in
                    counts.field("done", jobs.done)
                    counts.field("failed", jobs.failed)
                    counts.field("pending", jobs.pending)
                    counts.field("running", jobs.running)
                }
            }
            document.field("outages") { output in
                output.object { fields in
                    fields.field("count", outages.count)
                    fields.field("recent") { $0.array(outages.recent) { $0.write($1) } }
                }
            }
            document.field("recent_failures") { $0.array(recent_failures) { $0.write($1) } }
            document.field("settling") { output in
                output.object { fields in
                    fields.field("final", settling.final)
                    fields.field("provisional", settling.provisional)
                    fields.field("replaced", settling.replaced)
                }
            }
            document.field("skipped_hours", skipped_hours)
            document.field("streams") { $0.array(streams) { $0.write($1) } }
        }
        return output.text
    }
}

extension JSONOutput {
    fileprivate mutating func write(_ domain: StatusDocument.Domain) {
        object { fields in
            fields.field("active", domain.active)
            fields.field("domain", domain.domain)
            fields.field("done", domain.done)
            fields.field("downloads_avoided", domain.downloads_avoided)
            fields.field("failed", domain.failed)
            fields.field("final", domain.final)
            fields.field("lag_seconds", domain.lag_seconds)
            fields.field("oldest_open_hour", domain.oldest_open_hour)
            fields.field("pending", domain.pending)
            fields.field("planned_until", domain.planned_until)
            fields.field("provisional", domain.provisional)
            fields.field("replaced", domain.replaced)
            fields.field("running", domain.running)
            fields.field("skipped_hours", domain.skipped_hours)
            fields.field("source", domain.source)
        }
    }

    fileprivate mutating func write(_ health: StatusDocument.DependencyHealth) {
        object { fields in
            fields.field("dependency", health.dependency)
            fields.field("failures_in_a_row", health.failures_in_a_row)
            fields.field("last_answered_at", health.last_answered_at)
            fields.field("last_error_code", health.last_error_code)
            fields.field("last_error_message", health.last_error_message)
            fields.field("last_failure_at", health.last_failure_at)
            fields.field("outage_since", health.outage_since)
            fields.field("state", health.state)
        }
    }

    fileprivate mutating func write(_ outage: StatusDocument.Outage) {
        object { fields in
            fields.field("dependency", outage.dependency)
            fields.field("ended", outage.ended)
            fields.field("failures", outage.failures)
            fields.field("seconds", outage.seconds)
            fields.field("started", outage.started)
        }
    }

    fileprivate mutating func write(_ failure: StatusDocument.Failure) {
        object { fields in
            fields.field("attempts", failure.attempts)
            fields.field("domain", failure.domain)
            fields.field("error_code", failure.error_code)
            fields.field("error_message", failure.error_message)
            fields.field("failed_at", failure.failed_at)
            fields.field("hour", failure.hour)
            fields.field("source", failure.source)
        }
    }

    fileprivate mutating func write(_ stream: StatusDocument.Stream) {
        object { fields in
            fields.field("bodies_repeated", stream.bodies_repeated)
            fields.field("domain", stream.domain)
            fields.field("lines_accepted", stream.lines_accepted)
            fields.field("lines_quarantined", stream.lines_quarantined)
            fields.field("open_hours", stream.open_hours)
            fields.field("sealed_hours_waiting", stream.sealed_hours_waiting)
            fields.field("spool_bytes", stream.spool_bytes)
            fields.field("uploaded_parts", stream.uploaded_parts)
        }
    }
}
