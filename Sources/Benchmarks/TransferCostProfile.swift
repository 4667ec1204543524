import Core
import Crypto
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
///
/// The replaced implementations are measured beside the ones in use, in the same run: zlib's inflate
/// (`ZlibGzipVerifier`) beside ISA-L's, and the slicing-by-8 CRC-64 (`TableCRC64`) beside ISA-L's;
/// MD5 and SHA-256 are also timed alone, to show what each digest costs.
struct TransferCostProfile: Encodable {
    /// Reading the file in 1 MiB chunks, nothing else.
    var readSeconds: Double
    /// Writing the file to a new file in 1 MiB chunks and fsyncing it, as the spool does.
    var writeFsyncSeconds: Double
    /// CRC-64/XZ alone, by ISA-L (`CRC64`).
    var crc64Seconds: Double
    /// CRC-64/XZ alone, slicing-by-8 in Swift (the implementation ISA-L replaced).
    var crc64TableSeconds: Double
    /// MD5 alone.
    var md5Seconds: Double
    /// SHA-256 alone.
    var sha256Seconds: Double
    /// `StreamingDigests`: CRC-64, MD5 and SHA-256, as the download computes them.
    var digestsSeconds: Double
    /// `GzipVerifier`: inflating the whole package with ISA-L and checking every trailer.
    var gzipVerifySeconds: Double
    /// `ZlibGzipVerifier`: the same with zlib (the implementation ISA-L replaced).
    var gzipVerifyZlibSeconds: Double

    /// The JSON keys, snake_case.
    enum CodingKeys: String, CodingKey {
        case readSeconds = "read"
        case writeFsyncSeconds = "write_fsync"
        case crc64Seconds = "crc64"
        case crc64TableSeconds = "crc64_table"
        case md5Seconds = "md5"
        case sha256Seconds = "sha256"
        case digestsSeconds = "crc64_md5_sha256"
        case gzipVerifySeconds = "gzip_verify"
        case gzipVerifyZlibSeconds = "gzip_verify_zlib"
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
        var tableCRC = TableCRC64()
        let crc64Table = try timedPass(over: path) { tableCRC.update($0) }
        var md5 = Insecure.MD5()
        let md5Duration = try timedPass(over: path) { md5.update(bufferPointer: $0) }
        var sha256 = SHA256()
        let sha256Duration = try timedPass(over: path) { sha256.update(bufferPointer: $0) }
        var digests = StreamingDigests()
        let digestsDuration = try timedPass(over: path) { digests.update($0) }

        var verifier = try GzipVerifier()
        var gzipFailure: (any Error)?
        let gzip = try timedPass(over: path) { chunk in
            guard gzipFailure == nil else { return }
            do { try verifier.update(chunk) } catch { gzipFailure = error }
        }
        if let gzipFailure { throw BenchmarkError("ISA-L: the package is not valid gzip: \(gzipFailure)") }
        try verifier.finish()
        var zlibVerifier = try ZlibGzipVerifier()
        let gzipZlib = try timedPass(over: path) { chunk in
            guard gzipFailure == nil else { return }
            do { try zlibVerifier.update(chunk) } catch { gzipFailure = error }
        }
        if let gzipFailure { throw BenchmarkError("zlib: the package is not valid gzip: \(gzipFailure)") }
        try zlibVerifier.finish()

        // Keep the results observable so the passes cannot be optimized away.
        let values = digests.finalize()
        guard crc.value == values.crc64, tableCRC.value == values.crc64 else { throw BenchmarkError("CRC-64 passes disagree") }
        guard md5.finalize().hexString == values.md5, sha256.finalize().hexString == values.sha256 else {
            throw BenchmarkError("digest passes disagree")
        }
        guard verifier.decompressedByteCount == zlibVerifier.decompressedByteCount else {
            throw BenchmarkError("ISA-L and zlib inflated different sizes")
        }
        return TransferCostProfile(
            readSeconds: read.inSeconds, writeFsyncSeconds: (written + fsyncDuration).inSeconds,
            crc64Seconds: crc64.inSeconds, crc64TableSeconds: crc64Table.inSeconds, md5Seconds: md5Duration.inSeconds,
            sha256Seconds: sha256Duration.inSeconds, digestsSeconds: digestsDuration.inSeconds,
            gzipVerifySeconds: gzip.inSeconds, gzipVerifyZlibSeconds: gzipZlib.inSeconds)
    }

    /// This profile with every time rounded to milliseconds.
    var rounded: TransferCostProfile {
        func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        return TransferCostProfile(
            readSeconds: round(readSeconds), writeFsyncSeconds: round(writeFsyncSeconds), crc64Seconds: round(crc64Seconds),
            crc64TableSeconds: round(crc64TableSeconds), md5Seconds: round(md5Seconds), sha256Seconds: round(sha256Seconds),
            digestsSeconds: round(digestsSeconds), gzipVerifySeconds: round(gzipVerifySeconds),
            gzipVerifyZlibSeconds: round(gzipVerifyZlibSeconds))
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
