import Foundation
import JobModel
import Logging

/// Lease owner names: `host/pid/random`. The random part makes each process's name its own even
/// where hosts share a name or pids repeat (containers, where the service is often pid 1).
public enum LeaseOwner {
    /// This process's owner name.
    public static let current: String = {
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        return "\(host)/\(pid)/\(UUID().uuidString.prefix(8).lowercased())"
    }()
}

extension LeaseOwner {
    /// Hands back at once every window leased by another owner, rather than after their leases run
    /// out. Only for a process that holds the database's single-instance lock: every other owner is
    /// then a predecessor that is gone, whatever host or pid it had. Returns how many.
    @discardableResult
    public static func releaseLeasesOfPredecessors(store: any JobStore, policy: WindowPolicy, now: Date, logger: Logger) async throws -> Int {
        var total = 0
        for owner in try await store.leaseOwners() where owner != current {
            let released = try await store.releaseLeases(ownedBy: owner, maxAttempts: policy.maxAttempts, now: now)
            logger.warning("released the leases of a predecessor that is gone", metadata: ["lease.owner": "\(owner)", "lease.released": "\(released)"])
            total += released
        }
        return total
    }
}
