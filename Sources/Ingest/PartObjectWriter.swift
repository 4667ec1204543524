import Core
import Foundation
import Jobs

#if canImport(Glibc)
import Glibc
#endif

/// Writes one part's object file in the work directory: the part file's bytes (already a gzip file, a
/// member per request) copied as they are, digested as they are written, fsync'd at the end.
///
/// Deterministic: a sealed part file never changes, so a part written again after a crash replaces its
/// object with identical bytes.
struct PartObjectWriter {
    private let descriptor: Int32
    private var digests = StreamingDigests()
    private let path: String

    /// Creates (truncating) the file at `path`.
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw TransferError.retryable("ingest.spool_write", "cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Appends `bytes`.
    mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            digests.update(raw)
            do {
                try FileIO.writeAll(descriptor, raw, path: path)
            } catch {
                throw TransferError.retryable("ingest.spool_write", "cannot write \(path): \(error)")
            }
        }
    }

    /// fsyncs and closes the file, and returns it with its digests.
    mutating func finish() throws -> SpooledFile {
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw TransferError.retryable("ingest.spool_write", "cannot fsync \(path): \(String(cString: strerror(errno)))")
        }
        return digests.spooledFile(at: path)
    }

    /// Closes and removes the file (on an error).
    mutating func abandon() {
        close(descriptor)
        unlink(path)
    }
}
