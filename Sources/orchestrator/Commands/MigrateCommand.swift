import ArgumentParser
import Foundation
import Store

/// `orchestrator migrate`: upgrades the database's schema to this binary's, the one thing the
/// inspection commands (`status`, `jobs`, `retry`, `backfill`) never do.
///
/// Safe beside a running service and other openers: each migration runs in its own `IMMEDIATE`
/// transaction that re-reads what is applied.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Upgrade the database's schema to this binary's (the inspection commands never do).")

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let store = try await storeOptions.openStore(schema: .migrate)
        defer { store.closeStore() }
        if store.appliedMigrations.isEmpty {
            print("\(store.path) is current; nothing to migrate")
        } else {
            print("\(store.path): applied \(store.appliedMigrations.joined(separator: ", "))")
        }
    }
}
