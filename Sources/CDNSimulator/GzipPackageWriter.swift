import CZlib
import Foundation

/// Writes a gzip file of an exact, predetermined size filled with log lines.
///
/// The size is known before compression starts (the listing announces it), so the writer compresses
/// whole lines as raw deflate while the output stays safely below the budget, then frames it itself:
/// a gzip header whose `FEXTRA` field pads the file to the exact size, the deflate data, and the usual
/// CRC32/ISIZE trailer. Any gzip reader (zlib, `gzip -d`, Python) accepts the padding; the decompressed
/// content is only the log lines.
///
/// Deterministic: the same lines, the same compression level and the same flush points give the same bytes
/// (for a given zlib build). Memory stays at zlib's state plus one chunk, whatever the file size: the
/// deflate data goes to a scratch file next to the destination, which is then framed into the destination.
struct GzipPackageWriter {
    /// zlib compression level: fixed, as a different level gives different bytes; 1 (fastest) because
    /// generation time is what a large package costs, and the ratio (about 5.7:1) is still realistic.
    static let compressionLevel: Int32 = 1
    /// Header (10), `XLEN` (2), padding subfield header (4) and trailer (8).
    static let framingBytes = 24
    /// The most uncompressed input fed between two sync flushes.
    static let chunkBytes = 256 * 1024

    /// Writes exactly `size` bytes (at least `PackageCatalog.minimumSize`) of gzip to `destination`, the
    /// content being the first lines of `lines` that fit. Replaces any existing file. Blocking; run it off
    /// the server's threads.
    static func write(size: Int, lines: inout LogLineGenerator, to destination: URL) throws {
        let scratch = destination.appendingPathExtension("deflate")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let deflated = try deflateLines(budget: size - framingBytes, lines: &lines, to: scratch)
        let padding = size - framingBytes - deflated.compressedBytes
        guard padding >= 0, padding <= 65_531 else {
            throw SimulatorError("package framing failed: \(deflated.compressedBytes) deflate bytes for \(size) total")
        }
        try frame(scratch: scratch, padding: padding, deflated: deflated, to: destination)
    }

    /// What `deflateLines` produced.
    private struct Deflated {
        var compressedBytes: Int
        var crc: UInt32
        var inputBytes: UInt64
    }

    /// Compresses whole lines into `scratch` as raw deflate, ending with a final block, using at most
    /// `budget` bytes. Each chunk's input is bounded so that even incompressible input (stored blocks,
    /// 5 bytes per block, plus the sync-flush marker) cannot overrun the budget.
    private static func deflateLines(budget: Int, lines: inout LogLineGenerator, to scratch: URL) throws -> Deflated {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        // windowBits -15: raw deflate, 32 KiB window; memLevel 8 and the default strategy, all fixed.
        let status = deflateInit2_(stream, compressionLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw SimulatorError("zlib deflateInit2 failed with status \(status)") }
        guard FileManager.default.createFile(atPath: scratch.path, contents: nil) else {
            throw SimulatorError("cannot create \(scratch.path)")
        }
        let output = try FileHandle(forWritingTo: scratch)
        defer { try? output.close() }

        var result = Deflated(compressedBytes: 0, crc: UInt32(crc32(0, nil, 0)), inputBytes: 0)
        var chunk: [UInt8] = []
        var nextLine: [UInt8] = []
        lines.appendLine(to: &nextLine)
        let finishReserve = 8
        while true {
            let remaining = budget - finishReserve - result.compressedBytes
            let allowed = min(chunkBytes, remaining - 20 - 5 * (remaining / 16_000 + 1))
            chunk.removeAll(keepingCapacity: true)
            while chunk.count + nextLine.count <= allowed {
                chunk.append(contentsOf: nextLine)
                nextLine.removeAll(keepingCapacity: true)
                lines.appendLine(to: &nextLine)
            }
            if chunk.isEmpty { break }
            result.crc = chunk.withUnsafeBufferPointer { UInt32(crc32(uLong(result.crc), $0.baseAddress, uInt($0.count))) }
            result.inputBytes += UInt64(chunk.count)
            result.compressedBytes += try compress(chunk, flush: Z_SYNC_FLUSH, stream: stream, into: output)
        }
        result.compressedBytes += try compress([], flush: Z_FINISH, stream: stream, into: output)
        return result
    }

    /// Feeds `input` to zlib with `flush`, writes everything zlib produces, returns its length.
    private static func compress(
        _ input: [UInt8], flush: Int32, stream: UnsafeMutablePointer<z_stream>, into output: FileHandle
    ) throws -> Int {
        var produced = 0
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        try input.withUnsafeBufferPointer { inputPointer in
            // zlib never writes through next_in.
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inputPointer.baseAddress)
            stream.pointee.avail_in = uInt(inputPointer.count)
            defer { stream.pointee.next_in = nil }
            while true {
                let (status, written) = buffer.withUnsafeMutableBufferPointer { outputPointer in
                    stream.pointee.next_out = outputPointer.baseAddress
                    stream.pointee.avail_out = uInt(outputPointer.count)
                    let status = deflate(stream, flush)
                    return (status, outputPointer.count - Int(stream.pointee.avail_out))
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw SimulatorError("zlib deflate failed with status \(status)")
                }
                if written > 0 {
                    try output.write(contentsOf: buffer[0..<written])
                    produced += written
                }
                // Done when zlib had room to spare (all flushed) or reported the end of the stream.
                if status == Z_STREAM_END || (flush != Z_FINISH && stream.pointee.avail_out > 0) { break }
            }
        }
        return produced
    }

    /// Writes header, padding, the scratch file's deflate data and the trailer to `destination`.
    private static func frame(scratch: URL, padding: Int, deflated: Deflated, to destination: URL) throws {
        var header: [UInt8] = [0x1F, 0x8B, 8, 0x04, 0, 0, 0, 0, 0, 3]  // FEXTRA, mtime 0, Unix
        appendLittleEndian(UInt32(4 + padding), bytes: 2, to: &header)  // XLEN
        header += [UInt8(ascii: "P"), UInt8(ascii: "D")]  // subfield id: padding
        appendLittleEndian(UInt32(padding), bytes: 2, to: &header)
        header += [UInt8](repeating: 0, count: padding)

        guard FileManager.default.createFile(atPath: destination.path, contents: Data(header)) else {
            throw SimulatorError("cannot create \(destination.path)")
        }
        let output = try FileHandle(forWritingTo: destination)
        defer { try? output.close() }
        try output.seekToEnd()
        let input = try FileHandle(forReadingFrom: scratch)
        defer { try? input.close() }
        while let block = try input.read(upToCount: 1 << 20), !block.isEmpty {
            try output.write(contentsOf: block)
        }
        var trailer: [UInt8] = []
        appendLittleEndian(deflated.crc, bytes: 4, to: &trailer)
        appendLittleEndian(UInt32(truncatingIfNeeded: deflated.inputBytes), bytes: 4, to: &trailer)
        try output.write(contentsOf: trailer)
    }

    private static func appendLittleEndian(_ value: UInt32, bytes: Int, to buffer: inout [UInt8]) {
        for index in 0..<bytes { buffer.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}
