import Foundation
import Scheduler

#if canImport(Glibc)
import Glibc
#endif

/// One service per database and per spool: `run` (and the demo) holds an exclusive `flock` on
/// `<database>.lock` and on `<spool>/.orchestrator.lock` for as long as it lives. The kernel drops the
/// locks when the process ends, however it ends, so a SIGKILL never leaves a stale lock behind. The lock
/// file says who holds it, for the message a second `run` prints. `status`, `jobs` and `retry` take no
/// lock: they work beside the service.
///
/// While the lock is held, every lease in the database belongs to this process or to a dead
/// predecessor, whatever hosts, containers or process ids they had.
final class InstanceLock: Sendable {
    private let descriptors: [Int32]

    private init(descriptors: [Int32]) {
        self.descriptors = descriptors
    }

    deinit {
        for descriptor in descriptors { close(descriptor) }
    }

    /// Takes both locks (only the spool's when `database` is nil: a PostgreSQL database, which several
    /// hosts share) or throws `InstanceLockError` naming the holder.
    static func acquire(database: String?, spoolDirectory: String, now: Date) throws -> InstanceLock {
        var held: [Int32] = []
        var locks = [(spoolDirectory + "/.orchestrator.lock", "spool directory \(spoolDirectory)")]
        if let database { locks.insert((database + ".lock", "database \(database)"), at: 0) }
        do {
            for (path, what) in locks {
                held.append(try lock(path, guarding: what, now: now))
            }
        } catch {
            for descriptor in held { close(descriptor) }
            throw error
        }
        return InstanceLock(descriptors: held)
    }

    private static func lock(_ path: String, guarding what: String, now: Date) throws -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw InstanceLockError(description: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.holder(of: descriptor)
            close(descriptor)
            if reason == EWOULDBLOCK {
                throw InstanceLockError(
                    description: "another orchestrator run is using the \(what): \(holder ?? "its holder did not say who it is"); "
                        + "stop it first, or give this one its own database and spool")
            }
            throw InstanceLockError(description: "cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        let identity = "pid \(getpid()) on host \(ProcessInfo.processInfo.hostName) since \(now.formatted(.iso8601)) "
            + "(lease owner \(LeaseOwner.current))\n"
        _ = ftruncate(descriptor, 0)
        _ = identity.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return descriptor
    }

    /// What the holder wrote into the lock file.
    private static func holder(of descriptor: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}

/// Another process holds the lock, or the lock file cannot be used.
struct InstanceLockError: Error, CustomStringConvertible {
    let description: String
}
