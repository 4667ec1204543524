import Core
import Foundation
import JobModel
import Jobs
import Logging
import ServiceLifecycle
import Synchronization

/// How the worker pool runs windows.
public struct WorkerPoolConfiguration: Sendable {
    /// Windows run at once.
    public var concurrency: Int
    /// How long to wait before looking for due windows again when none were due.
    public var pollInterval: Duration
    /// How long a graceful shutdown waits for running windows before interrupting them.
    public var shutdownGracePeriod: Duration
    /// This process's lease owner name, unique per process (`host/pid/random`).
    public var owner: String
    /// Lease length, retries and settle time, shared with the scheduler.
    public var policy: WindowPolicy

    /// Creates a configuration.
    public init(
        concurrency: Int = 4, pollInterval: Duration = .seconds(1), shutdownGracePeriod: Duration = .seconds(30),
        owner: String = LeaseOwner.current, policy: WindowPolicy = WindowPolicy()
    ) {
        self.concurrency = max(1, concurrency)
        self.pollInterval = pollInterval
        self.shutdownGracePeriod = shutdownGracePeriod
        self.owner = owner
        self.policy = policy
    }
}

/// A bounded pool of workers: leases due windows, runs each through the transfer while heartbeating its
/// lease, and records the outcome through the retry policy. A graceful shutdown stops leasing, lets
/// running windows finish for a grace period, then interrupts them and hands their windows back.
public final class WorkerPool: Service {
    private let configuration: WorkerPoolConfiguration
    private let store: any JobStore
    private let transfer: any WindowTransfer
    private let clock: any WallClock
    private let logger: Logger
    private let stopping = Mutex(false)
    /// Wakes the dispatch loop when a stop is asked for, so it does not sit out its poll interval.
    private let stopRequests = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// Set when the shutdown grace period ran out and running windows were cancelled: their errors are
    /// the interruption, not a fault of the window.
    private let interrupting = Mutex(false)

    /// Creates a pool.
    public init(configuration: WorkerPoolConfiguration, store: any JobStore, transfer: any WindowTransfer, clock: any WallClock, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.transfer = transfer
        self.clock = clock
        self.logger = logger
    }

    private enum Event: Sendable {
        /// A window finished after running for the given seconds.
        case windowFinished(TimeInterval)
        case tick
        case graceExpired
        case stopRequested
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await dispatch()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Leases and runs due windows, `concurrency` at a time, until none is due; returns how many ran.
    /// For tests and one-shot tools: the service uses `run()`.
    @discardableResult
    public func runUntilIdle() async -> Int {
        var ran = 0
        while true {
            let claimed = await claim(limit: configuration.concurrency)
            guard !claimed.isEmpty else { return ran }
            await withTaskGroup(of: Void.self) { group in
                for job in claimed {
                    group.addTask { await self.execute(job) }
                }
            }
            ran += claimed.count
        }
    }

    /// Asks the pool to stop leasing and finish (for callers that run it outside a ServiceGroup).
    public func stop() {
        stopping.withLock { $0 = true }
        stopRequests.continuation.yield()
    }

    /// Leases windows ahead of free workers only while windows are short: a leased window that waits
    /// must not outlive its lease, and with short windows one lease transaction then serves many.
    private func prefetchCount(averageDuration: TimeInterval?) -> Int {
        guard let averageDuration, averageDuration < configuration.policy.leaseDuration / 20 else { return 0 }
        return configuration.concurrency
    }

    private func dispatch() async {
        await withTaskGroup(of: Event.self) { group in
            var running = 0
            var ready: [LeasedJob] = []
            var averageDuration: TimeInterval?
            var tickerArmed = false
            var graceArmed = false
            group.addTask { [stopRequests] in
                for await _ in stopRequests.stream { break }
                return .stopRequested
            }
            while true {
                let isStopping = stopping.withLock { $0 }
                if isStopping {
                    if !ready.isEmpty {
                        await handBack(ready)
                        ready.removeAll()
                    }
                    if running == 0 { break }
                    if !graceArmed {
                        graceArmed = true
                        let grace = configuration.shutdownGracePeriod
                        group.addTask { [clock] in
                            try? await clock.sleep(for: grace)
                            return .graceExpired
                        }
                    }
                } else if running < configuration.concurrency {
                    if ready.isEmpty {
                        ready = await claim(limit: configuration.concurrency - running + prefetchCount(averageDuration: averageDuration))
                    }
                    while running < configuration.concurrency, !ready.isEmpty {
                        let job = ready.removeFirst()
                        running += 1
                        group.addTask { [clock] in
                            let started = clock.now
                            await self.execute(job)
                            return .windowFinished(clock.now.timeIntervalSince(started))
                        }
                    }
                }
                if !tickerArmed {
                    tickerArmed = true
                    let interval = configuration.pollInterval
                    group.addTask { [clock] in
                        try? await clock.sleep(for: interval)
                        return .tick
                    }
                }
                guard let event = await group.next() else { break }
                switch event {
                case .windowFinished(let duration):
                    running -= 1
                    averageDuration = averageDuration.map { 0.8 * $0 + 0.2 * duration } ?? duration
                case .tick: tickerArmed = false
                case .stopRequested: break
                case .graceExpired:
                    logger.warning("worker pool interrupting running windows at shutdown", metadata: ["pool.running": "\(running)"])
                    interrupting.withLock { $0 = true }
                    group.cancelAll()
                }
            }
            group.cancelAll()
        }
    }

    /// Returns leased windows that never started (shutdown) without spending their attempt.
    private func handBack(_ jobs: [LeasedJob]) async {
        let now = clock.now
        let error = JobError(code: "worker.interrupted", message: "the service stopped before this window started")
        for job in jobs {
            _ = try? await store.reschedule(job, runAt: now, error: error, consumeAttempt: false, now: now)
        }
    }

    private func claim(limit: Int) async -> [LeasedJob] {
        do {
            return try await store.claimDueJobs(
                owner: configuration.owner, limit: limit, leaseDuration: configuration.policy.leaseDuration, now: clock.now)
        } catch {
            logger.error("cannot lease windows", metadata: ["error.message": "\(error)"])
            return []
        }
    }

    private enum Race: Sendable {
        case finished(Result<TransferOutcome, any Error>)
        case leaseLost
        case interrupted
    }

    /// Runs one window while a sibling task renews its lease; whichever ends first decides.
    private func execute(_ job: LeasedJob) async {
        let metadata: Logger.Metadata = [
            "job.id": "\(job.id)", "job.domain": "\(job.window.domain)",
            "job.hour": "\(job.window.hour.formatted(.iso8601))", "job.attempt": "\(job.attempts)",
        ]
        logger.debug("window started", metadata: metadata)
        let race = await withTaskGroup(of: Race.self) { group -> Race in
            group.addTask {
                do {
                    return .finished(.success(try await self.transfer.transfer(job.window)))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                await self.keepLeased(job) ? .leaseLost : .interrupted
            }
            let first = await group.next() ?? .interrupted
            group.cancelAll()
            return first
        }
        // The store writes outcomes through its group commit, outside this task, so an outcome (or the
        // hand-back of an interrupted window) is recorded even when the pool was cancelled at shutdown.
        do {
            try await record(race, of: job, metadata: metadata)
        } catch {
            logger.error("cannot record a window's outcome; its lease will expire and it will run again",
                         metadata: metadata.merging(["error.message": "\(error)"]) { $1 })
        }
    }

    private func record(_ race: Race, of job: LeasedJob, metadata: Logger.Metadata) async throws {
        do {
            switch race {
            case .leaseLost:
                logger.warning("window lease lost; another worker may run it", metadata: metadata)
            case .finished(.success(let outcome)):
                try await record(outcome, of: job, metadata: metadata)
            case .finished(.failure(let error)):
                try await record(error, of: job, metadata: metadata, interrupted: interrupting.withLock { $0 })
            case .interrupted:
                try await record(CancellationError(), of: job, metadata: metadata, interrupted: true)
            }
        }
    }

    /// Renews the lease every third of its duration. Returns true when the lease was lost, false when
    /// the task was cancelled.
    private func keepLeased(_ job: LeasedJob) async -> Bool {
        let interval = Duration.seconds(configuration.policy.leaseDuration / 3)
        while true {
            do {
                try await clock.sleep(for: interval)
            } catch {
                return false
            }
            do {
                let now = clock.now
                if try await !store.heartbeat(job, until: now.addingTimeInterval(configuration.policy.leaseDuration), now: now) {
                    return true
                }
            } catch {
                logger.warning("heartbeat failed; will retry", metadata: ["job.id": "\(job.id)", "error.message": "\(error)"])
            }
        }
    }

    /// Whether this run saw the window's settled packages: a reconcile pass, or a first copy made after
    /// the settle time.
    private func isSettled(_ job: LeasedJob, at now: Date) -> Bool {
        job.pass == .reconcile || now >= job.window.hour.addingTimeInterval(3600 + configuration.policy.settleDelay)
    }

    private func record(_ outcome: TransferOutcome, of job: LeasedJob, metadata: Logger.Metadata) async throws {
        let now = clock.now
        switch outcome {
        case .stored(let files):
            if try await store.complete(job, files: files, final: isSettled(job, at: now), now: now) {
                logger.debug(job.pass == .reconcile ? "window reconciled" : "window done", metadata: metadata.merging([
                    "job.files": "\(files.count)", "job.skipped": "\(files.filter(\.skipped).count)",
                ]) { $1 })
            }
        case .nothingPublished:
            switch configuration.policy.retry.publicationDecision(hour: job.window.hour, now: now) {
            case .empty:
                if try await store.complete(job, files: [], final: isSettled(job, at: now), now: now) {
                    logger.debug("window done: no traffic that hour", metadata: metadata)
                }
            case .waitUntil(let instant):
                let error = JobError(code: "source.not_published", message: "no log package listed yet; looking again later")
                _ = try await store.reschedule(job, runAt: instant, error: error, consumeAttempt: false, now: now)
                logger.debug("window not published yet", metadata: metadata)
            }
        }
    }

    private func record(_ error: any Error, of job: LeasedJob, metadata: Logger.Metadata, interrupted: Bool) async throws {
        let now = clock.now
        if interrupted {
            // Interrupted by our own shutdown: hand the window back without spending an attempt.
            let record = JobError(code: "worker.interrupted", message: "the service stopped while this window was running")
            _ = try await store.reschedule(job, runAt: now, error: record, consumeAttempt: false, now: now)
            return
        }
        let transferError: any ClassifiedError = (error as? any ClassifiedError)
            ?? TransferError.retryable("internal", "unexpected error: \(error)")
        let record = JobError(code: transferError.code, message: transferError.detail)
        let decision = configuration.policy.retry.decision(
            afterAttempt: job.attempts, retryable: transferError.isRetryable, now: now, random: Double.random(in: 0..<1))
        var details = metadata
        details["error.code"] = "\(transferError.code)"
        switch decision {
        case .retry(let instant):
            guard try await store.reschedule(job, runAt: instant, error: record, consumeAttempt: true, now: now) else {
                logger.warning("window lease lost; another worker may run it", metadata: details)
                return
            }
            logger.info("window will be retried", metadata: details.merging(["job.retry_at": "\(instant.formatted(.iso8601))"]) { $1 })
        case .fail:
            // Only the lease holder may discard the window's unfinished uploads: a worker whose lease
            // was taken over would abort the new holder's.
            guard try await store.fail(job, error: record, now: now) else {
                logger.warning("window lease lost; another worker may run it", metadata: details)
                return
            }
            await transfer.abandon(job.window)
            logger.error("window failed", metadata: details.merging(["error.message": "\(transferError.message)"]) { $1 })
        }
    }
}
