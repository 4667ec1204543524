import Core
import Foundation
import JobModel
import Jobs
import Logging
import Metrics
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
    let configuration: WorkerPoolConfiguration
    let store: any JobStore
    private let transfer: any WindowTransfer
    let clock: any WallClock
    let logger: Logger
    /// The dependencies' health: outages stop leasing and spare the windows' attempts.
    public let health: DependencyHealth
    private let stopping = Mutex(false)
    /// Wakes the dispatch loop when a stop is asked for, so it does not sit out its poll interval.
    private let stopRequests = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// Ends the grace period early (`interruptNow`).
    private let interruptRequests = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// Set when the shutdown grace period ran out and running windows were cancelled: their errors are
    /// the interruption, not a fault of the window.
    private let interrupting = Mutex(false)
    /// Windows whose workers finished (outcome recorded) since the dispatch loop last looked. The loop
    /// takes them all at once, so workers that finish together get their next windows in one lease.
    private let finishedWindows = Atomic<Int>(0)
    /// The running windows whose leases the pool's one lease loop renews, and that loop while it runs.
    let leases = Mutex(Leases())

    struct Leases {
        var windows: [ObjectIdentifier: RunningWindow] = [:]
        var loop: Task<Void, Never>?
    }

    /// Creates a pool. `health` must be the observer the transfer reports to; by default the pool has its
    /// own, which sees an outage only if something reports to it.
    public init(
        configuration: WorkerPoolConfiguration, store: any JobStore, transfer: any WindowTransfer, clock: any WallClock, logger: Logger,
        health: DependencyHealth? = nil
    ) {
        self.configuration = configuration
        self.store = store
        self.transfer = transfer
        self.clock = clock
        self.logger = logger
        self.health = health ?? DependencyHealth(policy: configuration.policy.outage, clock: clock, logger: logger)
    }

    private enum Event: Sendable {
        /// A worker finished; `finishedWindows` counts it.
        case windowFinished
        case tick
        case graceExpired
        case stopRequested
    }

    /// Runs until a graceful shutdown (running windows get the grace period) or until cancelled (a
    /// service group cancels its services when one of them ends early): cancellation interrupts running
    /// windows at once and hands them back, like a second signal.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await dispatch()
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.interruptNow()
        }
    }

    /// Leases and runs due windows, `concurrency` at a time, until none is due; returns how many ran.
    /// For tests and one-shot tools: the service uses `run()`.
    @discardableResult
    public func runUntilIdle() async -> Int {
        var ran = 0
        while true {
            let (limit, probe) = admitted(running: 0)
            let claimed = limit > 0 ? await claim(limit: limit) : []
            guard !claimed.isEmpty else {
                stopLeaseLoop()
                return ran
            }
            if probe { health.probeStarted() }
            ran += await withTaskGroup(of: Int.self) { group in
                for job in claimed {
                    group.addTask { await self.work(startingWith: job, probe: probe) }
                }
                return await group.reduce(0, +)
            }
        }
    }

    /// Asks the pool to stop leasing and finish (for callers that run it outside a ServiceGroup).
    public func stop() {
        stopping.withLock { $0 = true }
        stopRequests.continuation.yield()
    }

    /// Stops leasing and interrupts running windows now, without waiting out the grace period (a
    /// second signal): they are handed back without using an attempt.
    public func interruptNow() {
        stop()
        interruptRequests.continuation.yield()
    }

    /// How many windows may be leased now with `running` of them under way, and whether the one leased
    /// is a probe: all free workers while every dependency is healthy; during an outage one window, alone
    /// and only when a probe is due.
    private func admitted(running: Int) -> (limit: Int, probe: Bool) {
        switch health.admission(at: clock.now) {
        case .open: return (configuration.concurrency - running, false)
        case .probe where running == 0: return (1, true)
        case .probe, .closed: return (0, false)
        }
    }

    private func dispatch() async {
        await withTaskGroup(of: Event.self) { group in
            var running = 0
            var tickerArmed = false
            var graceArmed = false
            group.addTask { [stopRequests] in
                for await _ in stopRequests.stream { break }
                return .stopRequested
            }
            while true {
                running -= finishedWindows.exchange(0, ordering: .acquiringAndReleasing)
                let isStopping = stopping.withLock { $0 }
                if isStopping {
                    if running == 0 { break }
                    if !graceArmed {
                        graceArmed = true
                        let grace = configuration.shutdownGracePeriod
                        group.addTask { [clock, interruptRequests] in
                            await withTaskGroup(of: Void.self) { race in
                                race.addTask { try? await clock.sleep(for: grace) }
                                race.addTask { for await _ in interruptRequests.stream { break } }
                                await race.next()
                                race.cancelAll()
                            }
                            return .graceExpired
                        }
                    }
                } else if running < configuration.concurrency {
                    // Windows are leased only for free workers, so none waits leased without a heartbeat
                    // and `running` in `status` means running.
                    let (limit, probe) = admitted(running: running)
                    for job in limit > 0 ? await claim(limit: limit) : [] {
                        running += 1
                        if probe { health.probeStarted() }
                        group.addTask {
                            await self.work(startingWith: job, probe: probe)
                            self.finishedWindows.add(1, ordering: .acquiringAndReleasing)
                            return .windowFinished
                        }
                    }
                }
                // Polling is for leasing: a stopping pool waits only for its workers and the grace period.
                if !tickerArmed && !isStopping {
                    tickerArmed = true
                    let interval = configuration.pollInterval
                    group.addTask { [clock] in
                        try? await clock.sleep(for: interval)
                        return .tick
                    }
                }
                guard let event = await group.next() else { break }
                switch event {
                case .windowFinished: break
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
        stopLeaseLoop()
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

    fileprivate enum Race: Sendable {
        case finished(Result<TransferOutcome, any Error>)
        case leaseLost
        case overran
        case interrupted
    }

    /// One worker: runs `job`, then the windows it leases for itself as it records each outcome, until it
    /// leases none. Returns how many windows it ran.
    ///
    /// A worker that completed a window leases its next one in the same transaction (one window, for
    /// itself alone, so windows are still leased only for free workers), unless the pool is stopping, a
    /// dependency is in an outage (the dispatch loop then leases the probes) or the window was a probe.
    @discardableResult
    private func work(startingWith job: LeasedJob, probe: Bool) async -> Int {
        var next: LeasedJob? = job
        var isProbe = probe
        var ran = 0
        while let current = next {
            next = await execute(current, probe: isProbe)
            isProbe = false
            ran += 1
        }
        return ran
    }

    /// Runs one window while the pool's lease loop renews its lease. Returns the window the worker leased
    /// next, if any.
    private func execute(_ job: LeasedJob, probe: Bool) async -> LeasedJob? {
        let started = clock.now
        let next = await run(job, mayLeaseNext: !probe)
        Metrics.Timer(label: "orchestrator_window_duration_seconds")
            .recordNanoseconds(Duration.seconds(max(0, clock.now.timeIntervalSince(started))).saturatingNanoseconds)
        if probe { health.probeFinished() }
        await health.persist(to: store)
        return next
    }

    /// How many windows a worker recording an outcome at `now` leases for itself: one while leasing is
    /// open to every worker, none otherwise.
    private func nextLeaseLimit(mayLeaseNext: Bool, at now: Date) -> Int {
        guard mayLeaseNext, !stopping.withLock({ $0 }), case .open = health.admission(at: now) else { return 0 }
        return 1
    }

    private func run(_ job: LeasedJob, mayLeaseNext: Bool) async -> LeasedJob? {
        logger.debug("window started", metadata: Self.metadata(of: job))
        // The transfer runs in a task of its own so that the lease loop can stop it; the first of the
        // transfer ending, the lease loop stopping it and the worker being cancelled decides.
        let window = RunningWindow(job: job, deadline: clock.now.addingTimeInterval(configuration.policy.maxWindowDuration))
        let transferring = Task {
            let result: Result<TransferOutcome, any Error>
            do {
                result = .success(try await self.transfer.transfer(job.window))
            } catch {
                result = .failure(error)
            }
            window.finish()
            return result
        }
        window.attach(transferring)
        watch(window)
        let result = await withTaskCancellationHandler {
            await transferring.value
        } onCancel: {
            window.stop(.interrupted)
        }
        unwatch(window)
        let race: Race = switch window.stopped {
        case .leaseLost: .leaseLost
        case .overran: .overran
        case .interrupted: .interrupted
        case nil: .finished(result)
        }
        // The store writes outcomes through its group commit, which does not heed cancellation, so an
        // outcome (or the hand-back of an interrupted window) is recorded even when the pool was cancelled
        // at shutdown.
        do {
            return try await record(race, of: job, mayLeaseNext: mayLeaseNext)
        } catch {
            logger.error("cannot record a window's outcome; its lease will expire and it will run again",
                         metadata: Self.metadata(of: job).merging(["error.message": "\(error)"]) { $1 })
            return nil
        }
    }

    /// What every log line about a window carries. Built only for lines that are logged: formatting the
    /// hour costs more than a trivial window's whole bookkeeping.
    private static func metadata(of job: LeasedJob) -> Logger.Metadata {
        [
            "job.id": "\(job.id)", "job.domain": "\(job.window.domain)",
            "job.hour": "\(job.window.hour.formatted(.iso8601))", "job.attempt": "\(job.attempts)",
        ]
    }

    private func record(_ race: Race, of job: LeasedJob, mayLeaseNext: Bool) async throws -> LeasedJob? {
        do {
            switch race {
            case .leaseLost:
                Self.count(outcome: "lease_lost")
                logger.warning("window lease lost; another worker may run it", metadata: Self.metadata(of: job))
            case .overran:
                let limit = Duration.seconds(configuration.policy.maxWindowDuration)
                try await record(
                    TransferError.retryable(
                        "worker.window_deadline",
                        "the window ran longer than \(limit.formatted(.units(allowed: [.hours, .minutes, .seconds]))) and was stopped"),
                    of: job, interrupted: false)
            case .finished(.success(let outcome)):
                return try await record(outcome, of: job, mayLeaseNext: mayLeaseNext)
            case .finished(.failure(let error)):
                try await record(error, of: job, interrupted: interrupting.withLock { $0 })
            case .interrupted:
                try await record(CancellationError(), of: job, interrupted: true)
            }
        }
        return nil
    }

    /// Whether this run saw the window's settled packages: a reconcile pass, or a first copy made after
    /// the settle time.
    private func isSettled(_ job: LeasedJob, at now: Date) -> Bool {
        job.pass == .reconcile || now >= job.window.hour.addingTimeInterval(3600 + configuration.policy.settleDelay)
    }

    /// Records a transfer's outcome; a completion leases the worker's next window in the same call.
    private func record(_ outcome: TransferOutcome, of job: LeasedJob, mayLeaseNext: Bool) async throws -> LeasedJob? {
        let now = clock.now
        switch outcome {
        case .stored(let files):
            let (completed, next) = try await store.complete(
                job, files: files, final: isSettled(job, at: now), now: now,
                thenClaim: nextLeaseLimit(mayLeaseNext: mayLeaseNext, at: now), owner: configuration.owner,
                leaseDuration: configuration.policy.leaseDuration)
            if completed {
                Self.count(outcome: "done")
                logger.debug(job.pass == .reconcile ? "window reconciled" : "window done", metadata: Self.metadata(of: job).merging([
                    "job.files": "\(files.count)", "job.skipped": "\(files.filter(\.skipped).count)",
                ]) { $1 })
            }
            return next.first
        case .nothingPublished:
            switch configuration.policy.retry.publicationDecision(hour: job.window.hour, now: now) {
            case .empty:
                // An empty listing is final only on the reconcile pass: a second listing, made later,
                // agrees. A listing that came back empty by mistake is thus looked at once more.
                let (completed, next) = try await store.complete(
                    job, files: [], final: job.pass == .reconcile, now: now,
                    thenClaim: nextLeaseLimit(mayLeaseNext: mayLeaseNext, at: now), owner: configuration.owner,
                    leaseDuration: configuration.policy.leaseDuration)
                if completed {
                    Self.count(outcome: "done")
                    logger.debug("window done: no traffic that hour", metadata: Self.metadata(of: job))
                }
                return next.first
            case .waitUntil(let instant):
                let error = JobError(code: "source.not_published", message: "no log package listed yet; looking again later")
                _ = try await store.reschedule(job, runAt: instant, error: error, consumeAttempt: false, now: now)
                Self.count(outcome: "not_published")
                logger.debug("window not published yet", metadata: Self.metadata(of: job))
                return nil
            }
        }
    }

    private func record(_ error: any Error, of job: LeasedJob, interrupted: Bool) async throws {
        let now = clock.now
        if interrupted {
            // Interrupted by our own shutdown: hand the window back without spending an attempt.
            let record = JobError(code: "worker.interrupted", message: "the service stopped while this window was running")
            _ = try await store.reschedule(job, runAt: now, error: record, consumeAttempt: false, now: now)
            return
        }
        let unavailable = error as? DependencyUnavailable
        let transferError: any ClassifiedError = unavailable?.error ?? (error as? any ClassifiedError)
            ?? TransferError.retryable("internal", "unexpected error: \(error)")
        let record = JobError(code: transferError.code, message: transferError.detail)
        if let unavailable, health.isInOutage(unavailable.dependency) {
            // No fault of the window: it waits for the dependency without spending an attempt, and the
            // pool leases it again once a probe finds the dependency back.
            guard try await store.reschedule(job, runAt: now, error: record, consumeAttempt: false, now: now) else {
                logger.warning("window lease lost; another worker may run it", metadata: Self.metadata(of: job))
                return
            }
            Self.count(outcome: "outage_wait")
            Self.count(errorCode: transferError.code)
            logger.debug("window waits for a dependency in an outage", metadata: Self.metadata(of: job).merging([
                "dependency": "\(unavailable.dependency)", "error.code": "\(transferError.code)",
            ]) { $1 })
            return
        }
        let decision = configuration.policy.retry.decision(
            afterAttempt: job.attempts, retryable: transferError.isRetryable, now: now, random: Double.random(in: 0..<1))
        var details = Self.metadata(of: job)
        details["error.code"] = "\(transferError.code)"
        if let status = transferError.httpStatus { details["http.status"] = "\(status)" }
        if let requestID = transferError.requestID { details["cloud.request_id"] = "\(requestID)" }
        switch decision {
        case .retry(let instant):
            guard try await store.reschedule(job, runAt: instant, error: record, consumeAttempt: true, now: now) else {
                logger.warning("window lease lost; another worker may run it", metadata: details)
                return
            }
            Self.count(outcome: "retried")
            Self.count(errorCode: transferError.code)
            logger.info("window will be retried", metadata: details.merging(["job.retry_at": "\(instant.formatted(.iso8601))"]) { $1 })
        case .fail:
            // Only the lease holder may discard the window's unfinished uploads: a worker whose lease
            // was taken over would abort the new holder's.
            guard try await store.fail(job, error: record, now: now) else {
                logger.warning("window lease lost; another worker may run it", metadata: details)
                return
            }
            await transfer.abandon(job.window)
            Self.count(outcome: "failed")
            Self.count(errorCode: transferError.code)
            logger.error("window failed", metadata: details.merging(["error.message": "\(transferError.message)"]) { $1 })
        }
    }

    /// Counts a window's outcome: `done`, `retried`, `failed`, `outage_wait`, `not_published`, `lease_lost`.
    private static func count(outcome: String) {
        Counter(label: "orchestrator_window_outcomes_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// Counts an error a window met, by code.
    private static func count(errorCode: String) {
        Counter(label: "orchestrator_errors_total", dimensions: [("code", errorCode)]).increment()
    }
}
