import Core
import Foundation
import JobModel
import Jobs
import Logging
import Synchronization

/// The pool's one lease loop: it renews the leases of every running window and stops the windows
/// that lost their lease or ran too long.
extension WorkerPool {
    /// Starts renewing `window`'s lease, and the pool's lease loop if it is not running.
    func watch(_ window: RunningWindow) {
        leases.withLock { leases in
            leases.windows[ObjectIdentifier(window)] = window
            if leases.loop == nil {
                leases.loop = Task { await self.keepLeased() }
            }
        }
    }

    /// Stops renewing `window`'s lease.
    func unwatch(_ window: RunningWindow) {
        _ = leases.withLock { $0.windows.removeValue(forKey: ObjectIdentifier(window)) }
    }

    /// Ends the lease loop now if no window is running, rather than at its next wake-up.
    func stopLeaseLoop() {
        let loop = leases.withLock { leases -> Task<Void, Never>? in
            guard leases.windows.isEmpty, let loop = leases.loop else { return nil }
            leases.loop = nil
            return loop
        }
        loop?.cancel()
    }

    /// The pool's lease loop, one for all running windows: renews every lease each third of its duration
    /// (the renewals go to the store together, in one group commit), and stops a window whose lease was
    /// lost (`.leaseLost`) or that ran past the policy's longest window (`.overran`). Ends when no window
    /// is running.
    private func keepLeased() async {
        let interval = Duration.seconds(configuration.policy.leaseDuration / 3)
        while true {
            let windows = leases.withLock { leases -> [RunningWindow]? in
                if leases.windows.isEmpty {
                    leases.loop = nil
                    return nil
                }
                return leases.windows.values.filter(\.isRunning)
            }
            guard let windows else { return }
            // Wakes at the next deadline if it comes before the next renewal. Windows registered while it
            // sleeps have later deadlines, and leases good for three intervals.
            let now = clock.now
            let wait = windows.map { Duration.seconds(max(0, $0.deadline.timeIntervalSince(now))) }.reduce(interval, min)
            do {
                try await clock.sleep(for: wait)
            } catch {
                return
            }
            let due = leases.withLock { $0.windows.values.filter(\.isRunning) }
            await withTaskGroup(of: Void.self) { group in
                for window in due {
                    group.addTask { await self.renew(window) }
                }
            }
        }
    }

    /// Renews one running window's lease, or stops the window when it overran or lost its lease.
    private func renew(_ window: RunningWindow) async {
        let now = clock.now
        guard now < window.deadline else { return window.stop(.overran) }
        do {
            if try await !store.heartbeat(window.job, until: now.addingTimeInterval(configuration.policy.leaseDuration), now: now) {
                window.stop(.leaseLost)
            }
        } catch {
            logger.warning("heartbeat failed; will retry", metadata: ["job.id": "\(window.job.id)", "error.message": "\(error)"])
        }
    }
}

/// A running window as the pool's lease loop sees it: its lease, its deadline, and why the window was
/// stopped, if it was stopped before its transfer ended.
final class RunningWindow: Sendable {
    /// Why a window was stopped before its transfer ended.
    enum Stop: Sendable {
        case leaseLost
        case overran
        case interrupted
    }

    private struct State {
        var stopped: Stop?
        var finished = false
        var transfer: Task<Result<TransferOutcome, any Error>, Never>?
    }

    let job: LeasedJob
    /// When the window has run for the policy's longest window.
    let deadline: Date
    private let state = Mutex(State())

    init(job: LeasedJob, deadline: Date) {
        self.job = job
        self.deadline = deadline
    }

    /// Why the window was stopped, or nil when its transfer ended first.
    var stopped: Stop? { state.withLock { $0.stopped } }

    /// Whether the transfer is still under way and nothing stopped it: its lease is to be renewed.
    var isRunning: Bool { state.withLock { !$0.finished && $0.stopped == nil } }

    /// Gives the window the task running its transfer, for `stop` to cancel.
    func attach(_ transfer: Task<Result<TransferOutcome, any Error>, Never>) {
        state.withLock { $0.transfer = transfer }
    }

    /// Marks the transfer ended: from now on nothing stops the window.
    func finish() {
        state.withLock { $0.finished = true }
    }

    /// Stops the window for `reason` and cancels its transfer, unless the transfer ended or something
    /// stopped the window first.
    func stop(_ reason: Stop) {
        let transfer = state.withLock { state -> Task<Result<TransferOutcome, any Error>, Never>? in
            guard !state.finished, state.stopped == nil else { return nil }
            state.stopped = reason
            return state.transfer
        }
        transfer?.cancel()
    }
}
