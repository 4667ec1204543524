#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed POSIX file call, with the path and the system's explanation.
package struct FileIOError: Error, CustomStringConvertible {
    /// What was attempted, e.g. `open`.
    package var operation: String
    /// The file involved.
    package var path: String
    /// The `errno` value.
    package var code: Int32

    /// `operation path: strerror`.
    package var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }

    /// Creates an error for a failed `operation` on `path` with `errno` value `code`.
    package init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }
}

/// The few blocking POSIX file calls the spool and the local sink need: exclusive creation, full
/// writes, reads, fsync of files and directories, atomic rename. EINTR is retried everywhere.
///
/// Blocking: a local disk answers in microseconds, except `synchronize`, which waits for the device. The
/// sinks' whole-file work (reads, copies, fsyncs, part digests) runs on NIO's blocking-I/O pool; the
/// download writes each received chunk on its own task, one chunk at a time.
package enum FileIO {
    /// Creates `path` for writing; fails if it exists (`O_EXCL`), so a random name never clobbers.
    package static func createExclusive(_ path: String, mode: mode_t) throws(FileIOError) -> Int32 {
        try retrying("open", path) { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
    }

    /// Opens `path` for reading, or returns nil when it does not exist.
    package static func openForReading(_ path: String) throws(FileIOError) -> Int32? {
        do throws(FileIOError) {
            return try retrying("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        } catch where error.code == ENOENT {
            return nil
        }
    }

    /// Writes all of `bytes`, looping over short writes.
    package static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(FileIOError) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = try retrying("write", path) { write(descriptor, base + offset, bytes.count - offset) }
            offset += written
        }
    }

    /// Opens `path` for writing, creating it with `mode` when missing; says whether it was created (its
    /// directory entry then needs `synchronizeDirectory` to be durable).
    package static func openForWriting(_ path: String, mode: mode_t) throws(FileIOError) -> (descriptor: Int32, created: Bool) {
        do throws(FileIOError) {
            return (try createExclusive(path, mode: mode), true)
        } catch where error.code == EEXIST {
            return (try retrying("open", path) { open(path, O_WRONLY | O_CLOEXEC) }, false)
        }
    }

    /// Writes all of `bytes` at `offset` (`pwrite`), looping over short writes; the file offset is unused.
    package static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws(FileIOError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let written = try retrying("write", path) { pwrite(descriptor, base + done, bytes.count - done, off_t(offset) + off_t(done)) }
            done += written
        }
    }

    /// Reads up to `buffer.count` bytes at `offset` (`pread`); 0 means end of file.
    package static func readChunk(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(FileIOError) -> Int {
        try retrying("read", path) { pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Flushes the file's data, and the metadata needed to read it back (its size), to the device.
    package static func synchronizeData(_ descriptor: Int32, path: String) throws(FileIOError) {
        #if canImport(Darwin)
        _ = try retrying("fsync", path) { fsync(descriptor) }
        #else
        _ = try retrying("fdatasync", path) { fdatasync(descriptor) }
        #endif
    }

    /// Cuts the file at `path` to `length` bytes.
    package static func truncateFile(_ path: String, to length: Int64) throws(FileIOError) {
        _ = try retrying("truncate", path) { truncate(path, off_t(length)) }
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    package static func readChunk(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(FileIOError) -> Int {
        try retrying("read", path) { read(descriptor, buffer.baseAddress, buffer.count) }
    }

    /// Flushes the file's data and metadata to the device.
    package static func synchronize(_ descriptor: Int32, path: String) throws(FileIOError) {
        _ = try retrying("fsync", path) { fsync(descriptor) }
    }

    /// Flushes a directory, making creations and renames inside it durable.
    package static func synchronizeDirectory(_ path: String) throws(FileIOError) {
        let descriptor = try retrying("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(descriptor) }
        try synchronize(descriptor, path: path)
    }

    /// Closes `descriptor`; a failure here can mean lost writes on network file systems.
    package static func closeDescriptor(_ descriptor: Int32, path: String) throws(FileIOError) {
        // Not retried on EINTR: on Linux the descriptor is released whatever close returns.
        if close(descriptor) != 0 { throw FileIOError(operation: "close", path: path, code: errno) }
    }

    /// Removes the file at `path`, if any.
    package static func removeIfPresent(_ path: String) {
        _ = unlink(path)
    }

    /// Atomically renames `source` over `destination` (same file system).
    package static func replace(_ destination: String, with source: String) throws(FileIOError) {
        _ = try retrying("rename", destination) { rename(source, destination) }
    }

    /// The size of the file at `path`, nil when nothing is there; throws when `path` is not a regular file.
    package static func regularFileSize(_ path: String) throws(FileIOError) -> Int64? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FileIOError(operation: "stat", path: path, code: errno)
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw FileIOError(operation: "stat", path: path, code: EISDIR) }
        return Int64(info.st_size)
    }

    /// The size of the regular file at `path` and a string that changes whenever the file is replaced
    /// (its inode) or written (its modification and status-change times, to the nanosecond); nil when
    /// nothing is there. Throws when `path` is not a regular file.
    package static func regularFileIdentity(_ path: String) throws(FileIOError) -> (size: Int64, identity: String)? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FileIOError(operation: "stat", path: path, code: errno)
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw FileIOError(operation: "stat", path: path, code: EISDIR) }
        #if canImport(Darwin)
        let (modified, changed) = (info.st_mtimespec, info.st_ctimespec)
        #else
        let (modified, changed) = (info.st_mtim, info.st_ctim)
        #endif
        let identity = "\(info.st_ino)-\(modified.tv_sec).\(modified.tv_nsec)-\(changed.tv_sec).\(changed.tv_nsec)"
        return (Int64(info.st_size), identity)
    }

    /// Creates `path` and any missing parents with `mode`, fsyncing each parent that gained an entry.
    package static func makeDirectories(_ path: String, mode: mode_t) throws(FileIOError) {
        var created: [String] = []
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) == 0 {
                created.append(current)
            } else if errno != EEXIST {
                throw FileIOError(operation: "mkdir", path: current, code: errno)
            }
        }
        for directory in created { try synchronizeDirectory(parent(of: directory)) }
    }

    /// The directory part of `path` (`.` for a bare name, `/` for a top-level entry).
    package static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// 32 random hex digits.
    package static func randomName() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let text = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
    }

    /// Runs `call` until it does not fail with EINTR; throws its errno on any other failure.
    private static func retrying<Result: BinaryInteger>(
        _ operation: String, _ path: String, _ call: () -> Result
    ) throws(FileIOError) -> Result {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno != EINTR { throw FileIOError(operation: operation, path: path, code: errno) }
        }
    }
}
