import Dispatch
import Foundation

/// Generated packages kept on disk, so that repeated downloads of a package cost one generation.
///
/// Files live in a private temporary directory and are evicted least recently used first once their total
/// passes the capacity; a file being served is pinned (`checkout` ... `release`) and never evicted. Concurrent
/// requests for the same package wait for one generation. Generation runs on a Dispatch worker thread,
/// not on the server's event loops or the cooperative pool, because it is long, blocking and CPU-bound.
actor PackageCache {
    private struct Entry {
        var file: URL
        var size: Int
        var lastUse: UInt64
        var pins: Int
    }

    private let catalog: PackageCatalog
    private let directory: URL
    private let capacityBytes: Int
    private var entries: [PackageKey: Entry] = [:]
    private var waiters: [PackageKey: [CheckedContinuation<URL, any Error>]] = [:]
    private var useCounter: UInt64 = 0
    private var totalBytes = 0
    private var directoryCreated = false

    /// A cache for `catalog`'s packages in a new directory under the system's temporary directory.
    init(catalog: PackageCatalog, capacityBytes: Int) {
        self.catalog = catalog
        self.capacityBytes = capacityBytes
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cdn-simulator-\(UUID().uuidString)", isDirectory: true)
    }

    /// The file holding `key`'s package, generated if needed and pinned until `release(_:)`.
    func checkout(_ key: PackageKey) async throws -> URL {
        useCounter += 1
        if var entry = entries[key] {
            entry.pins += 1
            entry.lastUse = useCounter
            entries[key] = entry
            return entry.file
        }
        if waiters[key] != nil {
            return try await withCheckedThrowingContinuation { waiters[key, default: []].append($0) }
        }
        waiters[key] = []
        let file = directory.appendingPathComponent("\(key.hourStart)-\(key.area.rawValue)-v\(key.version)-\(key.domain).gz")
        do {
            try createDirectoryIfNeeded()
            try await Self.generate(key, catalog: catalog, to: file)
        } catch {
            for waiter in waiters.removeValue(forKey: key) ?? [] { waiter.resume(throwing: error) }
            throw error
        }
        let waiting = waiters.removeValue(forKey: key) ?? []
        let size = catalog.size(of: key)
        entries[key] = Entry(file: file, size: size, lastUse: useCounter, pins: 1 + waiting.count)
        totalBytes += size
        for waiter in waiting { waiter.resume(returning: file) }
        evictIfNeeded()
        return file
    }

    /// Unpins a file obtained from `checkout(_:)`.
    func release(_ key: PackageKey) {
        guard var entry = entries[key] else { return }
        entry.pins = max(0, entry.pins - 1)
        entries[key] = entry
        evictIfNeeded()
    }

    /// Deletes every cached file and the directory.
    func removeAll() {
        entries.removeAll()
        totalBytes = 0
        if directoryCreated { try? FileManager.default.removeItem(at: directory) }
        directoryCreated = false
    }

    private func createDirectoryIfNeeded() throws {
        guard !directoryCreated else { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        directoryCreated = true
    }

    private func evictIfNeeded() {
        while totalBytes > capacityBytes {
            let candidates = entries.filter { $0.value.pins == 0 }
            guard let (key, entry) = candidates.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return }
            entries[key] = nil
            totalBytes -= entry.size
            try? FileManager.default.removeItem(at: entry.file)
        }
    }

    private static func generate(_ key: PackageKey, catalog: PackageCatalog, to file: URL) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result { try catalog.writePackage(key, to: file) })
            }
        }
    }
}
