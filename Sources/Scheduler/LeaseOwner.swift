import Foundation
import JobModel
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Lease owner names: `host/pid/random`, so a restarted process can tell its dead predecessor's
/// leases from those of a live process.
public enum LeaseOwner {
    /// This process's owner name.
    public static let current: String = {
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        return "\(host)/\(pid)/\(UUID().uuidString.prefix(8).lowercased())"
    }()

    /// True when `owner` names a process of this host that no longer exists.
    public static func isDeadProcessOnThisHost(_ owner: String) -> Bool {
        let parts = owner.split(separator: "/")
        guard parts.count == 3, String(parts[0]) == ProcessInfo.processInfo.hostName,
              let pid = Int32(parts[1]), owner != current else { return false }
        if pid == ProcessInfo.processInfo.processIdentifier { return true }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}

extension LeaseOwner {
    /// Hands back at once the windows leased by processes of this host that no longer exist (a crashed
    /// predecessor cannot renew its leases), rather than after their leases run out. Returns how many.
    @discardableResult
    public static func releaseLeasesOfDeadProcesses(store: any JobStore, policy: WindowPolicy, now: Date, logger: Logger) async throws -> Int {
        var total = 0
        for owner in try await store.leaseOwners() where isDeadProcessOnThisHost(owner) {
            let released = try await store.releaseLeases(ownedBy: owner, maxAttempts: policy.maxAttempts, now: now)
            logger.warning("released the leases of a process that is gone", metadata: ["lease.owner": "\(owner)", "lease.released": "\(released)"])
            total += released
        }
        return total
    }
}
