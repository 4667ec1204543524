import Core
import Foundation
import JobModel
import Store

/// Renders `status` and `jobs` output: aligned tables for people, JSON for scripts.
enum StatusFormatter {
    /// The `status` table.
    static func table(_ report: StatusReport, database: String, now: Date) -> String {
        var lines: [String] = []
        let totals = report.totals
        lines.append("database \(database) at \(iso(now))")
        lines.append("windows: \(totals.done) done, \(totals.pending) pending, \(totals.running) running, \(totals.failed) failed (\(totals.total) in all)")
        lines.append("done windows: \(report.settling.provisional(done: totals.done)) provisional, \(report.settling.final) final; \(report.settling.replaced) package\(report.settling.replaced == 1 ? "" : "s") replaced by reconciling")
        let avoided = report.downloadsAvoided
        lines.append("downloads avoided: \(avoided.total) (\(avoided.copy) on copy passes, \(avoided.reconcile) on reconcile passes)")
        lines.append(dependencyLine(report.dependencies, now: now))
        for outage in report.recentOutages.prefix(5) {
            lines.append("  outage of \(outage.dependency) from \(iso(outage.started)) to \(iso(outage.ended)) (\(duration(outage.duration)), \(outage.failures) failures)")
        }
        if report.outageCount > 5 { lines.append("  (\(report.outageCount) outages in all)") }
        let skipped = report.domains.reduce(0) { $0 + $1.skippedHours }
        lines.append("skipped hours: \(skipped == 0 ? "none" : "\(skipped), older than schedule.lookback_hours when planned (see SKIPPED)")")
        lines.append("")
        var rows = [["DOMAIN", "SOURCE", "DONE", "FINAL", "PENDING", "RUNNING", "FAILED", "REPLACED", "AVOIDED", "SKIPPED", "LAG", "PLANNED UNTIL"]]
        for domain in report.domains {
            rows.append([
                domain.domain + (domain.active ? "" : " (inactive)"), domain.source,
                "\(domain.counts.done)", "\(domain.settling.final)", "\(domain.counts.pending)", "\(domain.counts.running)",
                "\(domain.counts.failed)", "\(domain.settling.replaced)", "\(domain.downloadsAvoided.total)", "\(domain.skippedHours)",
                duration(domain.lag(at: now)), domain.plannedUntil.map(iso) ?? "-",
            ])
        }
        lines.append(contentsOf: align(rows, rightAligned: 2...10))
        if report.domains.isEmpty {
            lines.append("(no domains yet: the service plans them on its first tick)")
        }
        if !report.streams.isEmpty {
            lines.append("")
            lines.append("push streams (spool: \(report.streams.reduce(0) { $0 + $1.spoolBytes }) bytes):")
            var streamRows = [["DOMAIN", "OPEN HOURS", "SEALED WAITING", "UPLOADED PARTS", "LINES", "QUARANTINED", "REPEATED BODIES", "SPOOL BYTES"]]
            for stream in report.streams {
                streamRows.append([
                    stream.domain.isEmpty ? "(unknown)" : stream.domain, "\(stream.openHours)", "\(stream.sealedHoursWaiting)",
                    "\(stream.uploadedParts)", "\(stream.linesAccepted)", "\(stream.linesQuarantined)", "\(stream.bodiesRepeated)",
                    "\(stream.spoolBytes)",
                ])
            }
            lines.append(contentsOf: align(streamRows, rightAligned: 1...7))
        }
        if !report.recentFailures.isEmpty {
            lines.append("")
            lines.append("recent failures (retry with `orchestrator retry --failed`):")
            for failure in report.recentFailures {
                lines.append(printable("  \(iso(failure.window.hour))  \(failure.window.domain)  attempts \(failure.attempts)  \(failure.error.code): \(failure.error.message)"))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `dependencies: cdn_api healthy, sink OUTAGE since ... (12 failures; last store.network: ...)`.
    private static func dependencyLine(_ states: [DependencyState], now: Date) -> String {
        let parts = states.map { state -> String in
            guard let since = state.outageSince else { return "\(state.dependency) healthy" }
            let last = state.lastError.map { "; last \($0.code): \($0.message)" } ?? ""
            return printable("\(state.dependency) OUTAGE since \(iso(since)) (\(duration(now.timeIntervalSince(since))), \(state.failures) failures\(last))")
        }
        return "dependencies: " + parts.joined(separator: ", ")
    }

    /// The `status --json` object: `jobs` with the four counts, `domains` with the same per domain.
    static func json(_ report: StatusReport, database: String, now: Date) -> String {
        StatusDocument(report, database: database, now: now).json
    }

    /// The `jobs` table.
    static func table(_ jobs: [JobSummary]) -> String {
        var rows = [["ID", "HOUR", "DOMAIN", "STATE", "ATTEMPTS", "FILES", "BYTES", "LAST ERROR"]]
        for job in jobs {
            let state = job.state == .done ? (job.final ? "done (final)" : "done") : job.pass == .reconcile ? "\(job.state.rawValue) (reconcile)" : job.state.rawValue
            rows.append([
                "\(job.id)", iso(job.window.hour), job.window.domain, state, "\(job.attempts)",
                "\(job.fileCount)", "\(job.byteCount)", lastError(of: job),
            ])
        }
        return (align(rows, rightAligned: 4...6) + (jobs.isEmpty ? ["(no windows match)"] : [])).joined(separator: "\n")
    }

    /// The LAST ERROR column: for a done window the error it recovered from, or `none`.
    private static func lastError(of job: JobSummary) -> String {
        let text = job.lastError.map { "\($0.code): \($0.message)" }
        guard job.state == .done else { return text ?? "" }
        return text.map { "recovered from \($0)" } ?? "none"
    }

    /// The `jobs --json` array.
    static func json(_ jobs: [JobSummary]) throws -> String {
        try encode(jobs.map(JobDocument.init))
    }

    /// JSON with sorted keys (`jobs --json`; `status --json` writes its larger document with
    /// `JSONOutput`, in the same bytes). Codable rather than JSONSerialization: on Linux the latter
    /// compares keys through CFLocale and took over 100 ms for a thousand domains.
    private static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// `2026-12-01T19:00:00Z` (`Date.iso8601Seconds`).
    static func iso(_ date: Date) -> String {
        date.iso8601Seconds
    }

    /// `2h 5m`, `3d 4h`, `0m`.
    static func duration(_ seconds: TimeInterval) -> String {
        let minutes = Int(seconds / 60)
        if minutes < 60 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 48 { return "\(hours)h \(minutes % 60)m" }
        return "\(hours / 24)d \(hours % 24)h"
    }

    /// `text` safe to print to a terminal: domain names, package names and the remote error text in
    /// it come from outside, and a control character (an escape sequence, a carriage return) would
    /// let them rewrite the operator's screen. Each is shown as `\u{XX}` instead.
    static func printable(_ text: String) -> String {
        // Most text is printable ASCII, which needs no look-up of each character's category.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Pads the cells of `rows` into columns; every cell made printable first.
    static func align(_ rows: [[String]], rightAligned: ClosedRange<Int>) -> [String] {
        let rows = rows.map { $0.map(printable) }
        guard let columns = rows.first?.count else { return [] }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ").trimmingBlanks()
        }
    }
}

extension String {
    /// The string without leading and trailing blanks (spaces, tabs and the other Unicode space
    /// separators: what `trimmingCharacters(in: .whitespaces)` removes), without Foundation's bridging,
    /// which took a tenth of `status`'s time for a thousand domains.
    fileprivate func trimmingBlanks() -> String {
        func isBlank(_ scalar: Unicode.Scalar) -> Bool {
            scalar == " " || scalar == "\t" || (!scalar.isASCII && scalar.properties.generalCategory == .spaceSeparator)
        }
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isBlank($0) }), let last = scalars.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(scalars[first...last])
    }
}
