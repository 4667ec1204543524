import AsyncHTTPClient
import CDNSimulator
import Core
import Foundation
import JobModel
import Jobs
import Logging
@testable import Scheduler
@testable import Store
import Synchronization
import TencentCloud

/// A real SQLite store in a temporary directory that outlives reopenings (for restart tests).
final class TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("jobs.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scheduler-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func open() throws -> SQLiteJobStore { try SQLiteJobStore(path: path) }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

/// 2026-11-01T00:00:00Z.
let referenceHour = Date(timeIntervalSince1970: 1_793_491_200)

func hour(_ offset: Int) -> Date {
    referenceHour.addingTimeInterval(TimeInterval(offset) * 3600)
}

/// A source whose domain list the test controls; listing packages is not used by the scheduler.
final class ScriptedDomainSource: LogSource {
    private let current: Mutex<Result<[String], TransferError>>
    private let calls = Mutex(0)

    init(domains: [String], sourceName: String = "tencent-cdn") {
        current = Mutex(.success(domains))
        self.sourceName = sourceName
    }

    func set(_ result: Result<[String], TransferError>) { current.withLock { $0 = result } }

    var domainCalls: Int { calls.withLock { $0 } }

    let sourceName: String

    func packages(domain: String, hour: Date) async throws -> [LogPackage] { [] }

    func domains() async throws -> [String] {
        calls.withLock { $0 += 1 }
        return try current.withLock { $0 }.get()
    }
}

/// A transfer whose outcome per domain the test scripts; records what ran.
final class ScriptedTransfer: WindowTransfer {
    private let outcomes: Mutex<[String: Result<TransferOutcome, TransferError>]>
    private let ran = Mutex<[Window]>([])
    private let abandoned = Mutex<[Window]>([])

    var windowsAbandoned: [Window] { abandoned.withLock { $0 } }

    func abandon(_ window: Window) async {
        abandoned.withLock { $0.append(window) }
    }

    init(_ outcomes: [String: Result<TransferOutcome, TransferError>]) { self.outcomes = Mutex(outcomes) }

    var windowsRun: [Window] { ran.withLock { $0 } }

    /// Runs inside every transfer before its outcome, e.g. to take the window's lease away.
    let duringTransfer = Mutex<(@Sendable () async throws -> Void)?>(nil)

    func transfer(_ window: Window) async throws -> TransferOutcome {
        ran.withLock { $0.append(window) }
        if let hook = duringTransfer.withLock({ $0 }) { try await hook() }
        let outcome = outcomes.withLock { $0[window.domain] } ?? .success(.stored([]))
        return try outcome.get()
    }
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// The CDN client of a pipeline test, against an in-process simulator with its default credentials.
/// No client-side pacing: it would wait on the manual clock, which only the test moves.
func simulatorSource(_ simulator: RunningSimulator, httpClient: HTTPClient, clock: any WallClock) -> TencentCDNClient {
    TencentCDNClient(
        configuration: TencentCDNConfiguration(
            endpoint: simulator.baseURL.absoluteString,
            credentials: TencentCredentials(secretID: "AKIDsimulator", secretKey: "simulator-secret-key"), area: "mainland",
            requestsPerSecond: 0),
        httpClient: httpClient, logger: quietLogger, clock: clock)
}
