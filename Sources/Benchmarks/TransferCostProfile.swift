import Foundation
import Jobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the orchestrator's per-byte work costs on one core, measured apart from any network: passes
/// over the package file (from the page cache) with each piece the download loop runs on every chunk.
///
/// The download loop of `PackageDownloader` writes each chunk to the spool, feeds `StreamingDigests`
/// (CRC-64, MD5, SHA-256) and inflates it in `GzipVerifier`, one after the other on one task; the sink
/// then reads the file again for each part's MD5 and CRC-64 before sending it. Comparing these
/// single-core costs with the measured phases shows whether a phase is bound by computation.
struct TransferCostProfile: Encodable {
    /// Reading the file in 1 MiB chunks, nothing else.
    var readSeconds: Double
    /// Writing the file to a new file in 1 MiB chunks and fsyncing it, as the spool does.
    var writeFsyncSeconds: Double
    /// CRC-64/XZ alone.
    var crc64Seconds: Double
    /// `StreamingDigests`: CRC-64, MD5 and SHA-256, as the download computes them.
    var digestsSeconds: Double
    /// `GzipVerifier`: inflating the whole package and checking its trailer.
    var gzipVerifySeconds: Double

    /// The JSON keys, snake_case.
    enum CodingKeys: String, CodingKey {
        case readSeconds = "read"
        case writeFsyncSeconds = "write_fsync"
        case crc64Seconds = "crc64"
        case digestsSeconds = "crc64_md5_sha256"
        case gzipVerifySeconds = "gzip_verify"
    }

    /// Measures each pass over the file at `path`; the write pass uses a scratch file in `scratchDirectory`.
    static func measure(file path: String, scratchDirectory: String) throws -> TransferCostProfile {
        let read = try timedPass(over: path) { _ in }
        let scratch = scratchDirectory + "/write-pass.tmp"
        defer { unlink(scratch) }
        let output = open(scratch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw BenchmarkError("cannot create \(scratch): \(String(cString: strerror(errno)))") }
        var writeFailure: Int32 = 0
        let written = try timedPass(over: path) { chunk in
            var offset = 0
            while offset < chunk.count, writeFailure == 0 {
                let count = write(output, chunk.baseAddress! + offset, chunk.count - offset)
                if count > 0 { offset += count } else if errno != EINTR { writeFailure = errno }
            }
        }
        let fsyncStart = ContinuousClock.now
        let synced = fsync(output)
        let fsyncDuration = fsyncStart.duration(to: .now)
        close(output)
        guard writeFailure == 0, synced == 0 else { throw BenchmarkError("writing \(scratch) failed") }

        var crc = CRC64()
        let crc64 = try timedPass(over: path) { crc.update($0) }
        var digests = StreamingDigests()
        let digestsDuration = try timedPass(over: path) { digests.update($0) }
        var verifier = try GzipVerifier()
        var gzipFailure: (any Error)?
        let gzip = try timedPass(over: path) { chunk in
            guard gzipFailure == nil else { return }
            do { try verifier.update(chunk) } catch { gzipFailure = error }
        }
        if let gzipFailure { throw BenchmarkError("the package is not valid gzip: \(gzipFailure)") }
        try verifier.finish()
        // Keep the results observable so the passes cannot be optimized away.
        guard crc.value == digests.finalize().crc64 else { throw BenchmarkError("CRC-64 passes disagree") }
        return TransferCostProfile(
            readSeconds: read.inSeconds, writeFsyncSeconds: (written + fsyncDuration).inSeconds,
            crc64Seconds: crc64.inSeconds, digestsSeconds: digestsDuration.inSeconds, gzipVerifySeconds: gzip.inSeconds)
    }

    /// This profile with every time rounded to milliseconds.
    var rounded: TransferCostProfile {
        func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        return TransferCostProfile(
            readSeconds: round(readSeconds), writeFsyncSeconds: round(writeFsyncSeconds), crc64Seconds: round(crc64Seconds),
            digestsSeconds: round(digestsSeconds), gzipVerifySeconds: round(gzipVerifySeconds))
    }

    /// One pass over the file at `path` in 1 MiB chunks, each handed to `body`; returns the pass's duration.
    private static func timedPass(over path: String, _ body: (UnsafeRawBufferPointer) -> Void) throws -> Duration {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw BenchmarkError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        let start = ContinuousClock.now
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw BenchmarkError("reading \(path) failed: \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
        return start.duration(to: .now)
    }
}
