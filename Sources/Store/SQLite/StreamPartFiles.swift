import Core
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One part of one stream domain-hour, as a key.
struct StreamPartKey: Hashable, Sendable {
    /// The stream domain.
    var domain: String
    /// The UTC start of the event hour, in Unix seconds.
    var hour: Int64
    /// The part number.
    var part: Int64
}

/// The push spool's data: one append-only file of NDJSON per open or sealed part, in one directory.
///
/// A part file holds exactly the bytes its `stream_parts.byte_count` says, plus, after a crash, bytes of
/// requests that were never acknowledged: a write lands at the committed length, the file is fsync'd
/// before the index commits, and a restart cuts every file back to its committed length. Readers never
/// go past the committed length either.
///
/// Writes and `synchronizeWritten` run on the database's single writer (inside the spool's group
/// commit), so they never race; the lock only guards the cache of open descriptors against `close`
/// from sealing and uploads. Thread-safe.
final class StreamPartFiles: Sendable {
    private struct State {
        /// Descriptors of parts being written, opened on first write.
        var open: [StreamPartKey: Int32] = [:]
        /// Parts written since the last `synchronizeWritten`.
        var written: Set<StreamPartKey> = []
        /// A part file was created since the last `synchronizeWritten`: the directory needs an fsync.
        var directoryChanged = false
    }

    /// The directory of the part files.
    let directory: String
    private let state = Mutex(State())
    /// More open descriptors than this and the cache is emptied (they are reopened when written again).
    private static let maximumOpen = 256

    /// Part files under `directory`, created (mode 0700) if missing.
    init(directory: String) throws {
        self.directory = directory
        do {
            try FileIO.makeDirectories(directory, mode: 0o700)
        } catch {
            throw StoreError("store.spool_unwritable", "cannot create the stream spool directory \(directory): \(error)")
        }
    }

    /// The file of `key`: `<hour>-part<N>-<domain>.ndjson.gz`, the domain with every byte other than
    /// letters, digits, `.`, `-` and `_` percent-encoded (a long domain is cut and given a digest).
    func path(of key: StreamPartKey) -> String {
        "\(directory)/\(key.hour)-part\(key.part)-\(Self.fileSafe(key.domain)).ndjson.gz"
    }

    /// Writes `bytes` into the part file of `key` at `offset` (its committed length).
    func write(_ bytes: [UInt8], to key: StreamPartKey, at offset: Int64) throws {
        let path = path(of: key)
        try state.withLock { state in
            let descriptor: Int32
            if let known = state.open[key] {
                descriptor = known
            } else {
                if state.open.count >= Self.maximumOpen {
                    for (_, open) in state.open { Glibc.close(open) }
                    state.open.removeAll()
                }
                let (opened, created) = try FileIO.openForWriting(path, mode: 0o600)
                state.open[key] = opened
                if created { state.directoryChanged = true }
                descriptor = opened
            }
            try bytes.withUnsafeBytes { try FileIO.writeAll(descriptor, $0, at: offset, path: path) }
            state.written.insert(key)
        }
    }

    /// fsyncs every part file written since the last call (and the directory, when files were created).
    func synchronizeWritten() throws {
        try state.withLock { state in
            let written = state.written
            let directoryChanged = state.directoryChanged
            state.written.removeAll(keepingCapacity: true)
            state.directoryChanged = false
            for key in written {
                let path = path(of: key)
                if let descriptor = state.open[key] {
                    try FileIO.synchronizeData(descriptor, path: path)
                } else if let descriptor = try FileIO.openForReading(path) {
                    // Closed since it was written (sealed when full, or the cache was emptied): an fsync
                    // through any descriptor flushes the file.
                    defer { Glibc.close(descriptor) }
                    try FileIO.synchronizeData(descriptor, path: path)
                }
            }
            if directoryChanged { try FileIO.synchronizeDirectory(directory) }
        }
    }

    /// Closes the descriptor of `key`, if open.
    func close(_ key: StreamPartKey) {
        state.withLock { state in
            if let descriptor = state.open.removeValue(forKey: key) { Glibc.close(descriptor) }
        }
    }

    /// Closes the descriptors of every part whose hour starts before `hour` (sealed parts).
    func closeParts(before hour: Int64) {
        state.withLock { state in
            for (key, descriptor) in state.open where key.hour < hour {
                Glibc.close(descriptor)
                state.open.removeValue(forKey: key)
            }
        }
    }

    /// Closes every descriptor.
    func closeAll() {
        state.withLock { state in
            for (_, descriptor) in state.open { Glibc.close(descriptor) }
            state.open.removeAll()
        }
    }

    /// Removes the file of `key` (after its upload was recorded).
    func remove(_ key: StreamPartKey) {
        close(key)
        FileIO.removeIfPresent(path(of: key))
    }

    /// Up to `maxBytes` of the part file of `key` from `offset`, never past `committed`.
    func read(_ key: StreamPartKey, from offset: Int64, maxBytes: Int, committed: Int64) throws -> [UInt8] {
        let count = Int(max(0, min(Int64(maxBytes), committed - offset)))
        guard count > 0 else { return [] }
        let path = path(of: key)
        guard let descriptor = try FileIO.openForReading(path) else {
            throw StoreError("store.spool_damaged", "the stream spool file \(path) is missing; it should hold \(committed) bytes")
        }
        defer { Glibc.close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while filled < count {
                let read = try FileIO.readChunk(descriptor, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: offset + Int64(filled), path: path)
                guard read > 0 else {
                    throw StoreError(
                        "store.spool_damaged", "the stream spool file \(path) ends at \(offset + Int64(filled)) bytes; it should hold \(committed)")
                }
                filled += read
            }
        }
        return bytes
    }

    /// Start-up repair: cuts each file of `committed` back to its committed length (the rest belongs
    /// to requests that were never acknowledged) and removes every other part file (parts already
    /// uploaded, or whose first write never committed). Run before any write, under the instance lock.
    /// Returns how many files it cut and removed.
    func repair(committed: [StreamPartKey: Int64]) throws -> (cut: Int, removed: Int) {
        let byName = Dictionary(uniqueKeysWithValues: committed.map { (key, length) in ((path(of: key) as NSString).lastPathComponent, length) })
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StoreError("store.spool_unreadable", "cannot list the stream spool directory \(directory): \(error)")
        }
        var cut = 0
        var removed = 0
        for name in names where name.hasSuffix(".ndjson.gz") {
            let path = directory + "/" + name
            guard let length = byName[name] else {
                FileIO.removeIfPresent(path)
                removed += 1
                continue
            }
            if let size = try FileIO.regularFileSize(path), size > length {
                try FileIO.truncateFile(path, to: length)
                guard let descriptor = try FileIO.openForReading(path) else { continue }
                defer { Glibc.close(descriptor) }
                try FileIO.synchronize(descriptor, path: path)
                cut += 1
            }
        }
        if removed > 0 { try FileIO.synchronizeDirectory(directory) }
        return (cut, removed)
    }

    /// `domain` as a file name fragment.
    static func fileSafe(_ domain: String) -> String {
        var text = ""
        for byte in domain.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
                text.append(Character(Unicode.Scalar(byte)))
            default:
                text += String(format: "%%%02X", byte)
            }
        }
        guard text.utf8.count > 160 else { return text }
        // FNV-1a: stable across processes, unlike `hashValue`; with the kept prefix, distinct enough.
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in domain.utf8 { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(text.prefix(140)) + "~" + String(digest, radix: 16)
    }
}
