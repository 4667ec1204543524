import Crypto
import Foundation
import Ingest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What each step of a durable request costs on one core, per byte of log data, measured apart from
/// HTTP on the benchmark's own bodies: the scan and filing (also with the lines read byte by byte), the
/// body digest (and SHA-256, the digest before it), the gzip member of the lines, and for `--gzip`
/// bodies the inflate; beside them, for comparison, a copy of the body into a fresh buffer and into a
/// reused one, and ISA-L's stateless deflate at several settings.
///
/// Times are the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other processes on the
/// shared machine slow the wall clock but hardly these figures. Set beside the CPU each phase of the
/// benchmark spends per byte (`phase_cpu_ns_per_byte`), they give the budget: on a machine whose cores
/// are all busy, the durable rate over the ceiling is the ceiling's CPU per byte over the durable
/// route's (HTTP plus these steps).
struct IngestCostProfile {
    /// Nanoseconds of CPU per byte of log data, by step name.
    var nanosecondsPerByte: [String: Double]
    /// The benchmark body's NDJSON (`lines`) and its gzip member at each deflate setting, in bytes.
    var deflatedBytes: [String: Int]

    /// Measures each step on the identity bodies of `plain` and the gzip bodies of `compressed`.
    static func measure(plain: BodyFactory, compressed: BodyFactory, endpoint: IngestEndpoint) throws -> IngestCostProfile {
        let newline = plain.body(sequence: 1, array: false)
        let array = plain.body(sequence: 2, array: true)
        let filer = BatchFiler(endpoint: endpoint, timeZone: TimeZone(identifier: "UTC")!)
        var costs: [String: Double] = [:]
        var sizes: [String: Int] = [:]

        costs["copy"] = perByte(newline) { body in
            let copy = [UInt8](unsafeUninitializedCapacity: body.count) { buffer, count in
                _ = buffer.initialize(fromContentsOf: body)
                count = body.count
            }
            return Int(copy[copy.count / 2])
        }
        // The same copy into one buffer allocated once: without the fresh mapping (page faults, the
        // kernel's zeroing, the unmapping) that a new buffer of 256 KiB or more costs under `MallocArenas`.
        let reused = UnsafeMutableRawBufferPointer.allocate(byteCount: newline.payload.count, alignment: 64)
        defer { reused.deallocate() }
        costs["copy_reused_buffer"] = perByte(newline) { body in
            reused.copyMemory(from: UnsafeRawBufferPointer(body))
            return Int(reused[body.count / 2])
        }
        costs["file_newline"] = perByte(newline) { filer.file($0).acceptedLines }
        costs["file_array"] = perByte(array) { filer.file($0).acceptedLines }
        // The same with every line read byte by byte (the receiver before `CLineScan`).
        let bytewise = BatchFiler(endpoint: endpoint, timeZone: TimeZone(identifier: "UTC")!, vectored: false)
        costs["file_newline_bytewise"] = perByte(newline) { bytewise.file($0).acceptedLines }
        costs["file_array_bytewise"] = perByte(array) { bytewise.file($0).acceptedLines }
        // The receiver's keyed body digest, and SHA-256 (its digest before migration 0010) beside it.
        let digest = BodyDigest(key: [UInt8](repeating: 0x5A, count: BodyDigest.keyByteCount))
        costs["body_digest"] = perByte(newline) { body in Int(digest.digest(of: UnsafeRawBufferPointer(body))[0]) }
        costs["sha256"] = perByte(newline) { body in
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(body))
            return Int(Array(hasher.finalize())[0])
        }
        let newlineChunks = filer.file(newline.payload).chunks
        let arrayChunks = filer.file(array.payload).chunks
        guard newlineChunks.count == 1, arrayChunks.count == 1 else { throw BenchmarkError("the benchmark bodies should file into one chunk each") }
        let compressors = ReusePool { LineCompressor() }
        costs["deflate_newline"] = perByte(newline) { body in compressors.withItem { $0.compress(newlineChunks[0].pieces, in: body).count } }
        costs["deflate_array"] = perByte(array) { body in compressors.withItem { $0.compress(arrayChunks[0].pieces, in: body).count } }
        let lines = newlineChunks[0].ndjson(in: newline.payload)
        sizes["lines"] = lines.count
        sizes["deflate"] = newline.payload.withUnsafeBufferPointer { body in compressors.withItem { $0.compress(newlineChunks[0].pieces, in: body).count } }
        // One call of ISA-L's stateless deflate on the lines as one array (the receiver's former way,
        // before which it copied the lines into a fresh array: `copy`), at its other settings too: level
        // 0, and levels 1 and 2 with their default level buffers.
        for (name, level, buffer) in [
            ("deflate_stateless", 1, 0), ("deflate_stateless_level0", 0, 0), ("deflate_stateless_level1_buffer", 1, 282_624),
            ("deflate_stateless_level2_buffer", 2, 331_776),
        ] {
            costs[name] = perByte(newline) { _ in lines.withUnsafeBytes { GzipMember.compress($0, level: UInt32(level), levelBufferSize: buffer).count } }
            sizes[name] = lines.withUnsafeBytes { GzipMember.compress($0, level: UInt32(level), levelBufferSize: buffer).count }
        }

        let gzipBody = compressed.body(sequence: 3, array: false)
        let inflated = try GzipInflater.inflate(gzipBody.payload, limit: 1 << 25)
        guard inflated.count == gzipBody.logBytes else { throw BenchmarkError("the gzip body inflated to \(inflated.count) bytes, not \(gzipBody.logBytes)") }
        let inflateBuffer = InflateBuffer()
        costs["inflate"] = perByte(gzipBody) { body in
            (try? GzipInflater.inflate(UnsafeRawBufferPointer(body), limit: 1 << 25, into: inflateBuffer) { $0.count }) ?? 0
        }
        costs["inflate_fresh_buffer"] = perByte(gzipBody) { body in
            (try? GzipInflater.inflate(UnsafeRawBufferPointer(body), limit: 1 << 25) { $0.count }) ?? 0
        }
        // What a durable request adds to reading its body, by the receiver's current steps: filing,
        // the body digest and the gzip member, half the bodies of each format.
        costs["durable_steps"] = (costs["file_newline"]! + costs["file_array"]! + costs["deflate_newline"]! + costs["deflate_array"]!) / 2
            + costs["body_digest"]!
        return IngestCostProfile(nanosecondsPerByte: costs.mapValues { ($0 * 1000).rounded() / 1000 }, deflatedBytes: sizes)
    }

    /// The calling thread's CPU time.
    static func threadCPUTime() -> Duration {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return .seconds(spec.tv_sec) + .nanoseconds(spec.tv_nsec)
    }

    /// The process's CPU time, user and system, all threads.
    static func processCPUTime() -> Duration {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return .seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + .microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }

    /// CPU nanoseconds per byte of `body`'s log data that `step` takes on its payload, over repeated
    /// runs of at least a quarter of a CPU second (after one warm-up run).
    private static func perByte(_ body: BodyFactory.Body, _ step: (UnsafeBufferPointer<UInt8>) -> Int) -> Double {
        body.payload.withUnsafeBufferPointer { payload in
            var observed = step(payload)
            var runs = 0
            let start = threadCPUTime()
            var spent = Duration.zero
            while spent < .milliseconds(250) {
                observed &+= step(payload)
                runs += 1
                spent = threadCPUTime() - start
            }
            // Keeps the results observable, so no run is optimized away.
            if observed == Int.min { Progress.say("ingest: unreachable") }
            return spent.inSeconds * 1e9 / Double(runs * body.logBytes)
        }
    }
}
