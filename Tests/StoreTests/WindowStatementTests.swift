import Foundation
import GRDB
import JobModel
import Testing
@testable import Store

/// The statements the worker pool runs for every window stay cheap: SQLite builds no temporary b-tree
/// for them (which cost about a quarter of the queue's CPU before migration 0009), and the check on a
/// window's state still refuses anything but the four states, on a new database and on one upgraded.
@Suite("The statements run for every window")
struct WindowStatementTests {
    /// Opcodes of a temporary b-tree or sort: an `IN` list, a subquery's or `RETURNING`'s rows, a sort.
    private static let temporaryStructures: Set<String> = ["OpenEphemeral", "OpenAutoindex", "SorterOpen"]

    @Test("leasing, heartbeating, completing, rescheduling and failing a window open no temporary b-tree")
    func noTemporaryBTree() async throws {
        let temporary = try TemporaryStore()
        // On the writer's connection: a read-only connection compiles no constraint checks.
        let plans = try await temporary.store.pool.writeWithoutTransaction { db in
            try SQLiteJobStore.WindowStatements.all.map { sql in
                // NULL for every parameter: the plan does not depend on the values.
                let nulls = StatementArguments(Array(repeating: DatabaseValue.null, count: sql.filter { $0 == "?" }.count))
                return (sql, try Row.fetchAll(db, sql: "EXPLAIN " + sql, arguments: nulls).map { $0["opcode"] as String })
            }
        }
        #expect(plans.count == 8)
        for (sql, opcodes) in plans {
            let temporary = opcodes.filter(Self.temporaryStructures.contains)
            #expect(temporary.isEmpty, "\(temporary) in the plan of: \(sql)")
        }
    }

    @Test("planning writes its windows without evaluating the checks, and every later statement evaluates them again")
    func checksAreBackAfterPlanning() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        try await store.setActiveDomains(["a.example"], source: "tencent-cdn", now: hour(0))
        // A cached statement prepared before the plan, and one prepared after it.
        _ = try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 60, now: hour(0))
        #expect(try await store.plan([DomainPlan(source: "tencent-cdn", domain: "a.example", firstHour: hour(0), endHour: hour(24))], now: hour(0)) == 24)
        _ = try await store.claimDueJobs(owner: "w", limit: 1, leaseDuration: 60, now: hour(30))
        try await store.pool.write { db in
            let ignoring = try Int.fetchOne(db, sql: "PRAGMA ignore_check_constraints")
            #expect(ignoring == 0)
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE jobs SET state = 'lost' WHERE hour = ?", arguments: [hour(5).timeIntervalSince1970]) }
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO jobs (domain_id, hour, fair_tag, run_at, created_at, updated_at) VALUES (1, 1800, 1, 0, 0, 0)")
            }
        }
    }

    @Test("the state check refuses an unknown state on a new database and on one upgraded from 0008")
    func stateCheckHolds() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("window-statements-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let upgraded = directory.appendingPathComponent("upgraded.sqlite").path
        try OlderDatabase.create(at: upgraded, migrations: Migrations.names.firstIndex(of: "0009_job_state_check")!)
        let queue = try DatabaseQueue(path: upgraded)
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO domains (id, source, domain, created_at, updated_at) VALUES (1, 'tencent-cdn', 'a.example', 0, 0);
                INSERT INTO jobs (id, domain_id, hour, state, fair_tag, run_at, attempts, lease_owner, lease_token, lease_until,
                    created_at, updated_at)
                VALUES (7, 1, 3600, 'running', 1, 0, 2, 'host/1/old', 'token-7', 7200, 0, 0);
                """)
        }
        try queue.close()

        let fresh = directory.appendingPathComponent("fresh.sqlite").path
        for path in [fresh, upgraded] {
            let store = try SQLiteJobStore(path: path)
            defer { try? store.close() }
            if path == upgraded {
                #expect(store.appliedMigrations == Array(Migrations.names.drop { $0 < "0009_job_state_check" }))
                let row = try await store.pool.read { db in
                    try Row.fetchOne(db, sql: "SELECT state, attempts, lease_token FROM jobs WHERE id = 7")
                }
                #expect(row == ["state": "running", "attempts": 2, "lease_token": "token-7"])
            } else {
                try await store.pool.write { db in
                    try db.execute(sql: """
                        INSERT INTO domains (id, source, domain, created_at, updated_at) VALUES (1, 'tencent-cdn', 'a.example', 0, 0);
                        INSERT INTO jobs (id, domain_id, hour, fair_tag, run_at, created_at, updated_at) VALUES (7, 1, 3600, 1, 0, 0, 0);
                        """)
                }
            }
            for state in ["pending", "done", "failed"] {
                try await store.pool.write { db in
                    try db.execute(
                        sql: "UPDATE jobs SET state = ?, lease_owner = NULL, lease_token = NULL, lease_until = NULL WHERE id = 7",
                        arguments: [state])
                }
            }
            await #expect(throws: DatabaseError.self, "\(path)") {
                try await store.pool.write { db in
                    try db.execute(sql: "UPDATE jobs SET state = 'paused' WHERE id = 7")
                }
            }
            let state = try await store.pool.read { db in try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE id = 7") }
            #expect(state == "failed")
        }
    }
}

/// The direct binding and stepping the window statements use.
@Suite("Statements stepped through SQLite's C interface")
struct DirectStatementTests {
    @Test("binds integers and text, reads rows back, reports SQLite's error and stays usable after it")
    func bindsStepsAndFails() async throws {
        let temporary = try TemporaryStore()
        try await temporary.store.pool.writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL CHECK (body <> 'bad'))")
            let insert = try DirectStatement("INSERT INTO notes (id, body) VALUES (?, ?)", in: db)
            for (id, body) in [(1, "first ✓"), (2, "second")] {
                insert.bind(1, Int64(id))
                insert.bind(2, body)
                #expect(try insert.execute() == 1)
            }
            insert.bind(1, 3)
            insert.bind(2, "bad")
            #expect {
                try insert.execute()
            } throws: { error in
                let error = try #require(error as? DatabaseError)
                return error.resultCode == .SQLITE_CONSTRAINT && error.message?.contains("CHECK constraint failed") == true
            }
            insert.bind(1, 3)
            insert.bind(2, "third")
            #expect(try insert.execute() == 1)

            let select = try DirectStatement("SELECT id, body FROM notes WHERE id >= ? ORDER BY id", in: db)
            select.bind(1, 1)
            var rows: [String] = []
            try select.forEachRow { rows.append("\(select.int64(0)) \(select.text(1))") }
            #expect(rows == ["1 first ✓", "2 second", "3 third"])
        }
    }
}
