import Foundation
import GRDB
import Testing
@testable import Store

/// Concurrent state changes share transactions, but one failing change does not take the others of its
/// batch down with it.
@Suite("Group commit")
struct GroupCommitTests {
    private struct Refused: Error {}

    @Test("a failing change fails alone; the other changes of its batch are written")
    func aFailingChangeFailsAlone() async throws {
        let temporary = try TemporaryStore()
        let commit = temporary.store.groupCommit
        try await temporary.store.pool.write { db in try db.execute(sql: "CREATE TABLE marks (name TEXT NOT NULL)") }
        // The first change holds the writer until the next two wait together, so those two share a batch.
        // It blocks on a semaphore that the test releases, never on the other changes: the two need a
        // thread of the cooperative pool to queue, and tests run in parallel on as few as there are cores.
        let release = DispatchSemaphore(value: 0)
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        async let first = commit.perform { db in
            startedContinuation.yield()
            release.wait()
            try db.execute(sql: "INSERT INTO marks (name) VALUES ('first')")
            return true
        }
        for await _ in started { break }
        async let failing: Bool = commit.perform { db in
            try db.execute(sql: "INSERT INTO marks (name) VALUES ('failing')")
            throw Refused()
        }
        async let good = commit.perform { db in
            try db.execute(sql: "INSERT INTO marks (name) VALUES ('good')")
            return true
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while commit.waitingCount < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(commit.waitingCount == 2, "the two changes queued behind the first")
        release.signal()
        #expect(try await first)
        let failed: Bool
        do {
            _ = try await failing
            failed = false
        } catch is Refused {
            failed = true
        }
        #expect(failed)
        #expect(try await good)
        let names = try await temporary.store.pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM marks ORDER BY name") }
        #expect(names == ["first", "good"])
    }
}
