import Core
import Crypto
import Foundation
import NIOPosix

/// A sink that keeps objects as files under a directory: the key `a/b/c.gz` is the file
/// `<directory>/a/b/c.gz`.
///
/// Writes are atomic and durable: the bytes are copied from the spool file to `.<name>.tmp-<random>`
/// beside the final name (so the spool file can be deleted afterwards), checked against the spool file's
/// size and CRC64, fsync'd, renamed over the final name, and the directory is fsync'd. A reader sees
/// the old file or the new one, never a partial one. Files are created 0644 and directories 0755
/// (less the process umask).
///
/// Keys must be relative paths without empty, `.` or `..` segments, and no segment may look like a
/// temporary file (`.<name>.tmp-<random>`), which `removeLeftovers` would delete; other keys throw
/// `sink.invalid_key` (permanent). File system failures throw `sink.io` (retryable).
///
/// A file's identity, its stand-in for an ETag, is its inode with its modification and status-change
/// times (`stat`): replacing or writing the file changes it, so a pass can tell the file it recorded
/// is still there without reading it.
///
/// The file work (reads, the copy, the fsyncs) runs on NIO's pool for blocking I/O
/// (`NIOThreadPool.singleton`), so a slow disk holds one of its threads, never one of the few threads of
/// Swift's cooperative pool that every other task of the process needs. A call cancelled while its work
/// waits for a thread throws `CancellationError`; work already started runs to its end.
public struct LocalDirectorySink: ObjectSink {
    /// The root directory, absolute.
    public let directory: String

    /// Uses `directory` (relative to the working directory if not absolute), creating it if needed.
    public init(directory: String) throws {
        var absolute = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        while absolute.count > 1 && absolute.hasSuffix("/") { absolute.removeLast() }
        do {
            try FileIO.makeDirectories(absolute, mode: 0o755)
        } catch {
            throw TransferError.permanent("sink.directory", "cannot create the sink directory: \(error)")
        }
        self.directory = absolute
    }

    /// The file that holds `key`; throws `sink.invalid_key` for keys that would leave the directory.
    public func path(forKey key: String) throws(TransferError) -> String {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.contains("\0"),
            segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !Self.isTemporaryName($0) })
        else {
            throw TransferError.permanent("sink.invalid_key", "the key \"\(key)\" is not a safe relative path")
        }
        return directory + "/" + key
    }

    /// The size, CRC64, MD5 and identity of the file under `key` (read in full), or nil when there is none.
    public func existingObject(at key: String) async throws -> StoredObject? {
        let path = try path(forKey: key)
        return try await NIOThreadPool.singleton.runIfActive { try Self.digestsOfFile(at: path, key: key) }
    }

    /// The size and identity of the file under `key` (one `stat`), or nil when there is none.
    public func identity(ofObjectAt key: String) async throws -> ObjectIdentity? {
        let path = try path(forKey: key)
        do {
            return try FileIO.regularFileIdentity(path).map { ObjectIdentity(size: $0.size, etag: $0.identity) }
        } catch {
            throw TransferError.unavailable("sink.io", "cannot look at the object \(key): \(error)")
        }
    }

    /// Copies `file` to `key` atomically (see the type's documentation), leaving `file` in place, and
    /// returns the stored file's identity.
    @discardableResult
    public func store(_ file: SpooledFile, at key: String) async throws -> String? {
        let target = try path(forKey: key)
        return try await NIOThreadPool.singleton.runIfActive { try Self.copy(file, to: target, key: key) }
    }

    /// Deletes the temporary files a crash left anywhere under the directory; returns how many.
    ///
    /// Call at start-up, before any `store`: it would delete a running store's temporary file.
    @discardableResult
    public func removeLeftovers() throws -> Int {
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw TransferError.retryable("sink.io", "cannot list the sink directory \(directory)")
        }
        var removed = 0
        while let relative = walker.nextObject() as? String {
            let name = relative.split(separator: "/").last ?? Substring(relative)
            if Self.isTemporaryName(name) {
                FileIO.removeIfPresent(directory + "/" + relative)
                removed += 1
            }
        }
        return removed
    }

    // MARK: - Implementation

    /// The size, CRC64, MD5 and identity of the file at `path`, nil when there is none. Blocking.
    private static func digestsOfFile(at path: String, key: String) throws(TransferError) -> StoredObject? {
        do {
            guard let identity = try FileIO.regularFileIdentity(path), let descriptor = try FileIO.openForReading(path) else {
                return nil
            }
            defer { try? FileIO.closeDescriptor(descriptor, path: path) }
            var crc = CRC64()
            var md5 = Insecure.MD5()
            let size = try Self.forEachChunk(of: descriptor, path: path) { chunk in
                crc.update(chunk)
                md5.update(bufferPointer: chunk)
            }
            return StoredObject(size: size, crc64: crc.value, md5: md5.finalize().hexString, etag: identity.identity)
        } catch {
            throw TransferError.unavailable("sink.io", "cannot read the object \(key): \(error)")
        }
    }

    /// Copies `file` to `target` through a temporary file, checks, fsyncs and renames it; returns the
    /// stored file's identity. Blocking.
    private static func copy(_ file: SpooledFile, to target: String, key: String) throws(TransferError) -> String? {
        let parent = FileIO.parent(of: target)
        let name = target[target.index(after: target.lastIndex(of: "/") ?? target.startIndex)...]
        let temporary = parent + "/." + name + ".tmp-" + FileIO.randomName()
        var source: Int32?
        var destination: Int32?
        var identity: String?
        do {
            try FileIO.makeDirectories(parent, mode: 0o755)
            guard let opened = try FileIO.openForReading(file.path) else {
                throw TransferError.retryable("sink.spool_missing", "the spool file for \(key) is gone")
            }
            source = opened
            let output = try FileIO.createExclusive(temporary, mode: 0o644)
            destination = output
            var crc = CRC64()
            let size = try Self.forEachChunk(of: opened, path: file.path) { chunk in
                try FileIO.writeAll(output, chunk, path: temporary)
                crc.update(chunk)
            }
            guard size == file.size, crc.value == file.crc64 else {
                throw TransferError.retryable(
                    "sink.verify",
                    "the spool file for \(key) has \(size) bytes with CRC64 \(crc.value), not \(file.size) bytes with \(file.crc64)")
            }
            try FileIO.synchronize(output, path: temporary)
            destination = nil
            try FileIO.closeDescriptor(output, path: temporary)
            try FileIO.replace(target, with: temporary)
            try FileIO.synchronizeDirectory(parent)
            identity = (try? FileIO.regularFileIdentity(target))?.identity
        } catch {
            if let destination { try? FileIO.closeDescriptor(destination, path: temporary) }
            FileIO.removeIfPresent(temporary)
            if let source { try? FileIO.closeDescriptor(source, path: file.path) }
            if let error = error as? TransferError { throw error }
            throw TransferError.unavailable("sink.io", "cannot store the object \(key): \(error)")
        }
        if let source { try? FileIO.closeDescriptor(source, path: file.path) }
        return identity
    }

    /// Whether `name` is one of this sink's temporary file names: `.<name>.tmp-<32 hex digits>`.
    private static func isTemporaryName(_ name: Substring) -> Bool {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { return false }
        let suffix = name[marker.upperBound...]
        return suffix.count == 32 && suffix.allSatisfy(\.isHexDigit)
    }

    /// Reads `descriptor` to its end in 1 MiB chunks, handing each to `body`; returns the byte count.
    private static func forEachChunk(
        of descriptor: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let count = try FileIO.readChunk(descriptor, into: buffer, path: path)
            if count == 0 { return total }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            total += Int64(count)
        }
    }
}
