import ArgumentParser
import Foundation
import Store

/// `orchestrator jobs`: lists windows.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List windows, newest hour first.")

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "Only windows in this state (pending, running, done, failed).")
    var state: JobState?

    @Option(name: .long, help: "Only this domain.")
    var domain: String?

    @Option(name: .long, help: "Only hours at or after this time.", transform: TimeArgument.parse)
    var since: Date?

    @Option(name: .long, help: "Only hours before this time.", transform: TimeArgument.parse)
    var until: Date?

    @Option(name: .long, help: "At most this many windows.")
    var limit = 50

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    func run() async throws {
        let store = try await storeOptions.openStore()
        let jobs = try await store.jobs(matching: JobFilter(state: state, domain: domain, since: since, until: until), limit: limit)
        if json {
            print(try StatusFormatter.json(jobs))
        } else {
            print(StatusFormatter.table(jobs))
        }
    }
}

extension JobState: ExpressibleByArgument {}

/// `orchestrator backfill`: plans windows for an explicit range.
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill", abstract: "Plan the windows of a domain for an explicit range of hours (at most the last 30 days).")

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "The domain.")
    var domain: String

    @Option(name: .long, help: "First hour (inclusive), e.g. 2026-11-01 or 2026-11-01T05:00Z.", transform: TimeArgument.parse)
    var from: Date

    @Option(name: .long, help: "End (exclusive).", transform: TimeArgument.parse)
    var to: Date

    func validate() throws {
        guard from < to else { throw ValidationError("--from must be before --to") }
        let oldest = Date().addingTimeInterval(-30 * 86400).startOfHour
        guard from >= oldest else {
            throw ValidationError("--from is more than 30 days ago; Tencent CDN keeps logs 30 days (earliest: \(oldest.formatted(.iso8601)))")
        }
    }

    func run() async throws {
        let store = try await storeOptions.openStore()
        let plan = DomainPlan(source: TencentSource.name, domain: domain, firstHour: from.startOfHour, endHour: to, advancesWatermark: false)
        let planned = try await store.plan([plan], now: Date())
        print("planned \(planned) new window\(planned == 1 ? "" : "s") for \(domain) (\(plan.hourCount) hours in range)")
    }
}

/// Parses the time arguments operators type.
enum TimeArgument {
    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH`, `YYYY-MM-DDTHH:MM`, with an optional `Z` or offset, or a full
    /// ISO 8601 instant; times without a zone are UTC.
    static func parse(_ text: String) throws -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = try? Date(trimmed, strategy: .iso8601) { return date }
        var candidate = trimmed.replacingOccurrences(of: " ", with: "T")
        let hasZone = candidate.hasSuffix("Z") || candidate.range(of: #"[+-]\d\d:?\d\d$"#, options: .regularExpression) != nil
        if !hasZone { candidate += "Z" }
        let zone = candidate.hasSuffix("Z") ? "Z" : String(candidate.suffix(6))
        let body = candidate.hasSuffix("Z") ? String(candidate.dropLast()) : String(candidate.dropLast(6))
        let padded: String
        switch body.count {
        case 10: padded = body + "T00:00:00"
        case 13: padded = body + ":00:00"
        case 16: padded = body + ":00"
        default: padded = body
        }
        if let date = try? Date(padded + zone, strategy: .iso8601) { return date }
        throw ValidationError("cannot read '\(text)' as a time; use e.g. 2026-11-20, 2026-11-20T13:00Z or 2026-11-20T13:00:00+08:00")
    }
}
