import ArgumentParser
import Core
import Foundation
import JobModel
import Store
import TencentCloud

/// `orchestrator backfill`: plans windows for an explicit range.
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill", abstract: "Plan the windows of a domain for an explicit range of hours (at most the last 30 days).")

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: "The domain.")
    var domain: String

    @Option(name: .long, help: "First hour (inclusive), e.g. 2026-11-01 or 2026-11-01T05:00Z.", transform: TimeArgument.parse)
    var from: Date

    @Option(name: .long, help: "End (exclusive); at most the end of the current hour.", transform: TimeArgument.parse)
    var to: Date

    func validate() throws {
        guard from < to else { throw ValidationError("--from must be before --to") }
        let now = SystemWallClock().now
        // An hour that has not begun has no logs; a typo such as 2062 would otherwise plan decades of
        // windows in one transaction.
        let latest = now.startOfHour.addingTimeInterval(3600)
        guard to <= latest else {
            throw ValidationError("--to is in the future; the latest end is the end of the current hour (\(latest.formatted(.iso8601)))")
        }
        let oldest = now.addingTimeInterval(-30 * 86400).startOfHour
        guard from >= oldest else {
            throw ValidationError("--from is more than 30 days ago; Tencent CDN keeps logs 30 days (earliest: \(oldest.formatted(.iso8601)))")
        }
    }

    func run() async throws {
        let store = try await storeOptions.openStore()
        let plan = DomainPlan(source: TencentCDNClient.sourceName, domain: domain, firstHour: from.startOfHour, endHour: to, advancesWatermark: false)
        let planned = try await store.plan([plan], now: SystemWallClock().now)
        print("planned \(planned) new window\(planned == 1 ? "" : "s") for \(domain) (\(plan.hourCount) hours in range)")
    }
}
