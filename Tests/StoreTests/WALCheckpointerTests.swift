import Foundation
import GRDB
import JobModel
@testable import Store
import Testing

/// The write-ahead log is copied into the database file by the checkpointer's own connection, and
/// still starts over, so it stays bounded, under a steady stream of commits.
@Suite struct WALCheckpointerTests {
    /// The store's checkpoint threshold in these tests: a few hundred KiB of log instead of 64 MiB.
    static let pages = 64

    /// Log frames and frames already copied, from a passive checkpoint on the writer (which copies
    /// what it can first).
    static func log(of store: SQLiteJobStore) async throws -> (frames: Int, copied: Int) {
        try await store.pool.writeWithoutTransaction { db in
            let row = try #require(try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)"))
            return (row[1], row[2])
        }
    }

    /// Waits up to 10 s for `condition`.
    static func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test("the writer's connection hands its checkpoints over: SQLite's own automatic checkpoint is off")
    func automaticCheckpointIsReplaced() async throws {
        let temporary = try TemporaryStore()
        let (automatic, limit) = try await temporary.store.pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint"), try Int.fetchOne(db, sql: "PRAGMA journal_size_limit"))
        }
        #expect(automatic == 0)
        #expect(limit == SQLiteJobStore.checkpointPages * 4096)
    }

    @Test("a commit that fills the log wakes the checkpointer, and the log starts over at a later write")
    func largeCommitIsCopiedInTheBackground() async throws {
        let temporary = try TemporaryStore(checkpointPages: Self.pages)
        let store = temporary.store
        let domains = (0..<50).map { "d\($0).example" }
        try await store.setActiveDomains(domains, source: "tencent-cdn", now: hour(0))
        try await store.plan(
            domains.map { DomainPlan(source: "tencent-cdn", domain: $0, firstHour: hour(0), endHour: hour(200)) }, now: hour(0))
        try await Self.eventually { store.checkpointer.passes >= 1 }
        #expect(store.checkpointer.passes >= 1)
        // The commit after the pass copies what the pass left, and the one after it starts the log over.
        for _ in 0..<3 { try await store.setActiveDomains(domains, source: "tencent-cdn", now: hour(1)) }
        let log = try await Self.log(of: store)
        #expect(log.frames < Self.pages, "\(log)")
    }

    @Test("a steady stream of small commits keeps the log within four times the threshold, however slow the checkpointer")
    func logStaysBoundedUnderSteadyCommits() async throws {
        let temporary = try TemporaryStore(checkpointPages: Self.pages)
        let store = temporary.store
        try await store.setActiveDomains(["a.example"], source: "tencent-cdn", now: hour(0))
        try await store.plan([DomainPlan(source: "tencent-cdn", domain: "a.example", firstHour: hour(0), endHour: hour(2_000))], now: hour(0))
        let walPath = store.path + "-wal"
        var largest = 0
        for round in 0..<2_000 {
            let job = try #require(try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 60, now: hour(3_000)).first)
            #expect(try await store.complete(job, files: [], final: true, now: hour(3_000)))
            if round % 50 == 0 {
                largest = max(largest, (try FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int) ?? 0)
            }
        }
        #expect(store.checkpointer.passes >= 1)
        // Frames of 4 KiB pages plus their 24-byte headers, and the log's 32-byte header; the commit that
        // crosses the limit adds its few pages.
        let bound = (4 * Self.pages + 8) * (4096 + 24) + 32
        #expect(largest > 0 && largest <= bound, "the log reached \(largest) bytes; bound \(bound)")
    }
}
