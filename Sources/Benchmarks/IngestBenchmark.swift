import AsyncHTTPClient
import Core
import Foundation
import Ingest
import Logging
import NIOCore
import ServiceLifecycle
import Store
import Synchronization
import TestSupport

/// `orchestrator-bench ingest`: the push receiver under load from sender-like clients.
///
/// Senders POST 512 KiB batches of realistic ~590-byte lines (JSON_Array and JSON_Newline alternately,
/// optionally gzip), each body unique, retrying on non-2xx. Five phases on the same in-process
/// server and HTTP stack: a route that reads and discards bodies (the ceiling), one that also files,
/// digests and compresses them but stores nothing (prepared), one that prepares them, writes them to
/// one file and answers after an `fdatasync` covering them (flushed: the floor of any durable route,
/// `FlushFloorFile`), the durable receiver at full speed, and the durable receiver paced at half the
/// rate it reached (acknowledgement latency). The first four take turns in rounds (each round in
/// another order), so a slower minute of the shared machine falls on all four rather than on whichever
/// ran then.
/// MB are 10^6 bytes of log data as sent, before compression.
enum IngestBenchmark {
    struct Options {
        var workDirectory = FileManager.default.temporaryDirectory.path
        var seconds = 8.0
        var senders = 8
        var gzip = false
        /// Rounds the first four phases' `seconds` are split into.
        var rounds = 4
    }

    /// Runs the benchmark when `arguments` start with `ingest`; returns false otherwise.
    static func runIfRequested(_ arguments: [String]) async throws -> Bool {
        guard arguments.first == "ingest" else { return false }
        var options = Options()
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            switch flag {
            case "--work-dir": options.workDirectory = rest.popFirst() ?? options.workDirectory
            case "--seconds": options.seconds = Double(rest.popFirst() ?? "") ?? options.seconds
            case "--senders": options.senders = Int(rest.popFirst() ?? "") ?? options.senders
            case "--rounds": options.rounds = max(1, Int(rest.popFirst() ?? "") ?? options.rounds)
            case "--gzip": options.gzip = true
            default: throw UsageError(message: "unknown option \(flag) for ingest")
            }
        }
        try await run(options)
        return true
    }

    static func run(_ options: Options) async throws {
        let directory = options.workDirectory + "/ingest-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteJobStore(path: directory + "/orchestrator.sqlite")
        let spool = try SQLiteStreamSpool(store: store, directory: directory + "/stream", encode: GzipMember.compress, readStamps: StampedMember.read)
        let floor = try FlushFloorFile(path: directory + "/flushed.bin")
        var configuration = IngestConfiguration()
        configuration.port = 0
        configuration.spoolQuotaBytes = 1 << 40
        configuration.maxConcurrentRequests = 256
        configuration.endpoints = [IngestEndpoint(path: "/logs/bench.example", domain: "bench.example", headers: ["X-Api-Key": "bench"])]
        var logger = Logger(label: "ingest-bench")
        logger.logLevel = .warning
        let receiver = IngestReceiver(configuration: configuration, spool: spool, clock: SystemWallClock(), logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = IngestServer(configuration: configuration, receiver: receiver, logger: logger, discardPath: "/discard", preparePath: "/prepare",
            flushRoute: IngestServer.FlushRoute(path: "/flush", write: floor.write)
        ) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: logger))
        let serverTask = Task { try await group.run() }
        var port = 0
        for await bound in ports { port = bound }
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.senders)))
        let bodies = BodyFactory(gzip: options.gzip)
        let sequences = Counter()
        Progress.say(
            "ingest: \(options.senders) senders, 512 KiB batches, \(options.gzip ? "gzip" : "identity"), \(Int(options.seconds)) s per phase, the first four in \(options.rounds) rounds")

        // The ceiling, prepared, flushed and durable phases in turns: round r starts with phase r mod 4.
        let names = ["ceiling", "prepared", "flushed", "durable"]
        let routes = ["/discard", "/prepare", "/flush", "/logs/bench.example"]
        var samples = [PhaseSample](repeating: PhaseSample(), count: routes.count)
        var roundRatios: [Double] = []
        for round in 0..<options.rounds {
            var turns = [PhaseSample](repeating: PhaseSample(), count: routes.count)
            for turn in 0..<routes.count {
                let index = (round + turn) % routes.count
                turns[index] = try await phase(
                    url: "http://127.0.0.1:\(port)\(routes[index])", seconds: options.seconds / Double(options.rounds), options: options,
                    bodies: bodies, sequences: sequences, client: client, pace: nil)
                samples[index].add(turns[index])
                let turn = turns[index].result
                Progress.say(
                    "ingest: round \(round + 1), \(names[index]): \(format(turn.megabytesPerSecond)) MB/s, \(format(turn.cpuNanosecondsPerByte)) ns CPU per byte on \(format(turn.cores)) cores")
            }
            roundRatios.append(round2(turns[3].result.megabytesPerSecond / max(turns[0].result.megabytesPerSecond, 0.001)))
        }
        let (ceiling, prepared, flushed, full) = (samples[0].result, samples[1].result, samples[2].result, samples[3].result)
        Progress.say("ingest: ceiling (read and discard): \(format(ceiling.megabytesPerSecond)) MB/s, \(format(ceiling.cpuNanosecondsPerByte)) ns CPU per byte on \(format(ceiling.cores)) cores")
        Progress.say("ingest: prepared, not stored (filing, digest, compression): \(format(prepared.megabytesPerSecond)) MB/s, \(format(prepared.cpuNanosecondsPerByte)) ns CPU per byte on \(format(prepared.cores)) cores")
        Progress.say("ingest: flushed, not indexed (prepared, one file, group fdatasync): \(format(flushed.megabytesPerSecond)) MB/s, \(format(flushed.cpuNanosecondsPerByte)) ns CPU per byte on \(format(flushed.cores)) cores")
        Progress.say("ingest: durable at full speed: \(format(full.megabytesPerSecond)) MB/s, \(Int(full.linesPerSecond)) lines/s, p50 \(format(full.p50)) ms, p99 \(format(full.p99)) ms, \(format(full.cpuNanosecondsPerByte)) ns CPU per byte on \(format(full.cores)) cores")
        let halfSample = try await phase(
            url: "http://127.0.0.1:\(port)/logs/bench.example", seconds: options.seconds, options: options, bodies: bodies, sequences: sequences,
            client: client, pace: full.requestsPerSecond / 2)
        let half = halfSample.result
        Progress.say("ingest: durable at half that rate: \(format(half.megabytesPerSecond)) MB/s, p50 \(format(half.p50)) ms, p99 \(format(half.p99)) ms")
        let costs = try IngestCostProfile.measure(
            plain: options.gzip ? BodyFactory(gzip: false) : bodies, compressed: options.gzip ? bodies : BodyFactory(gzip: true),
            endpoint: configuration.endpoints[0])
        Progress.say("ingest: one core's CPU per byte of each durable step, ns: \(costs.nanosecondsPerByte.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        let spoolBytes = try await store.spoolBytes()
        let partFiles = try FileManager.default.contentsOfDirectory(atPath: directory + "/stream")
        let fileBytes = try partFiles.reduce(Int64(0)) { total, name in
            total + ((try FileManager.default.attributesOfItem(atPath: directory + "/stream/" + name)[.size] as? NSNumber)?.int64Value ?? 0)
        }
        Progress.say("ingest: spool holds \(spoolBytes) bytes of lines in \(fileBytes) bytes of part files")

        try await client.shutdown()
        await group.triggerGracefulShutdown()
        _ = try? await serverTask.value
        spool.close()
        floor.close()
        try store.close()
        let report: [String: Any] = [
            "benchmark": "ingest", "senders": options.senders, "gzip": options.gzip, "seconds_per_phase": options.seconds, "rounds": options.rounds,
            "lines_per_second": Int(full.linesPerSecond), "mb_per_second": round2(full.megabytesPerSecond),
            "p50_ack_ms": round2(half.p50), "p99_ack_ms": round2(half.p99),
            "full_rate_p50_ack_ms": round2(full.p50), "full_rate_p99_ack_ms": round2(full.p99),
            "half_rate_mb_per_second": round2(half.megabytesPerSecond),
            "ceiling_mb_per_second": round2(ceiling.megabytesPerSecond),
            "prepared_mb_per_second": round2(prepared.megabytesPerSecond),
            "flushed_mb_per_second": round2(flushed.megabytesPerSecond),
            "flushed_ratio": round2(flushed.megabytesPerSecond / max(ceiling.megabytesPerSecond, 0.001)),
            "ratio": round2(full.megabytesPerSecond / max(ceiling.megabytesPerSecond, 0.001)),
            "round_ratios": roundRatios,
            "retried_requests": full.retries + half.retries, "repeated_requests": samples[3].tally.repeated + halfSample.tally.repeated,
            "spool_line_bytes": spoolBytes, "spool_file_bytes": fileBytes,
            "phase_cpu_ns_per_byte": [
                "ceiling": round2(ceiling.cpuNanosecondsPerByte), "prepared": round2(prepared.cpuNanosecondsPerByte), "flushed": round2(flushed.cpuNanosecondsPerByte),
                "durable": round2(full.cpuNanosecondsPerByte),
            ],
            "phase_cpu_cores": [
                "ceiling": round2(ceiling.cores), "prepared": round2(prepared.cores), "flushed": round2(flushed.cores), "durable": round2(full.cores),
            ],
            "step_cpu_ns_per_byte": costs.nanosecondsPerByte, "step_deflated_bytes": costs.deflatedBytes,
        ]
        let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        Progress.line(String(decoding: json, as: UTF8.self))
    }

    struct PhaseResult {
        var megabytesPerSecond: Double
        var linesPerSecond: Double
        var requestsPerSecond: Double
        var p50: Double
        var p99: Double
        var retries: Int
        /// CPU the whole process (senders and server) spent per byte of log data.
        var cpuNanosecondsPerByte: Double
        /// CPU seconds per second of the phase: how many cores it kept busy.
        var cores: Double
    }

    /// What one or more runs of a phase measured, to be added up.
    struct PhaseSample {
        var tally = Tally()
        var seconds = 0.0
        var cpuSeconds = 0.0

        mutating func add(_ other: PhaseSample) {
            tally.bytes += other.tally.bytes
            tally.lines += other.tally.lines
            tally.requests += other.tally.requests
            tally.retries += other.tally.retries
            tally.repeated += other.tally.repeated
            tally.latencies += other.tally.latencies
            seconds += other.seconds
            cpuSeconds += other.cpuSeconds
        }

        var result: PhaseResult {
            let sorted = tally.latencies.sorted()
            func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            let seconds = max(seconds, 1e-9)
            return PhaseResult(
                megabytesPerSecond: Double(tally.bytes) / 1e6 / seconds, linesPerSecond: Double(tally.lines) / seconds,
                requestsPerSecond: Double(tally.requests) / seconds, p50: percentile(0.5), p99: percentile(0.99), retries: tally.retries,
                cpuNanosecondsPerByte: cpuSeconds * 1e9 / Double(max(tally.bytes, 1)), cores: cpuSeconds / seconds)
        }
    }

    /// Numbers handed out in order from 0, to any task: a run's body sequence numbers (each request of
    /// any phase takes the next, so no body is sent twice and the spool never answers one as a repeat,
    /// which costs less than storing it) and a paced phase's send slots.
    final class Counter: Sendable {
        private let counter = Mutex(0)

        func next() -> Int {
            counter.withLock { value in
                defer { value += 1 }
                return value
            }
        }
    }

    /// What the senders of one phase share.
    final class PhaseState: Sendable {
        let tally = Mutex(Tally())
        let slots = Counter()
    }

    struct Tally: Sendable {
        var bytes = 0
        var lines = 0
        var requests = 0
        var retries = 0
        /// Requests answered as a repeat of a body already stored: none when every body is unique.
        var repeated = 0
        var latencies: [Double] = []
    }

    /// Senders post for `seconds`; with `pace`, all of them together send at most that many requests a
    /// second.
    static func phase(
        url: String, seconds: Double, options: Options, bodies: BodyFactory, sequences: Counter, client: HTTPClient, pace: Double?
    ) async throws -> PhaseSample {
        let shared = PhaseState()
        let cpuAtStart = IngestCostProfile.processCPUTime()
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int(seconds * 1000))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<options.senders {
                group.addTask { [shared] in
                    // One body buffer per format, reused from request to request (see `BodyFactory.fill`).
                    var buffers = [ByteBuffer(), ByteBuffer()]
                    while ContinuousClock.now < deadline {
                        if let pace {
                            let slot = shared.slots.next()
                            let due = started + .milliseconds(Int(Double(slot) / pace * 1000))
                            if due > deadline { break }
                            if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                        }
                        let sequence = sequences.next()
                        let format = sequence % 2
                        let body = bodies.fill(&buffers[format], sequence: sequence, array: format == 0)
                        let sentAt = ContinuousClock.now
                        var retries = 0
                        var repeated = false
                        while true {
                            var request = HTTPClientRequest(url: url)
                            request.method = .POST
                            request.headers.add(name: "X-Api-Key", value: "bench")
                            if options.gzip { request.headers.add(name: "Content-Encoding", value: "gzip") }
                            request.body = .bytes(buffers[format])
                            if let response = try? await client.execute(request, timeout: .seconds(30)) {
                                let answer = try? await response.body.collect(upTo: 1 << 16)
                                if response.status.code / 100 == 2 {
                                    // A body the spool already holds is acknowledged without being stored.
                                    repeated = answer.map { String(buffer: $0).contains("\"repeated\":true") } ?? false
                                    break
                                }
                            }
                            retries += 1
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        let elapsed = ContinuousClock.now - sentAt
                        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                        shared.tally.withLock {
                            $0.bytes += body.logBytes
                            $0.lines += body.lineCount
                            $0.requests += 1
                            $0.retries += retries
                            $0.repeated += repeated ? 1 : 0
                            $0.latencies.append(milliseconds)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        return PhaseSample(
            tally: shared.tally.withLock { $0 }, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            cpuSeconds: (IngestCostProfile.processCPUTime() - cpuAtStart).inSeconds)
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
    static func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}

/// Unique 512 KiB bodies without building each from scratch: a fixed batch of lines whose first line
/// carries the request's sequence number in a fixed-width field, patched per request. With gzip, the
/// fixed part is compressed once and a small second gzip member with the unique line follows it.
struct BodyFactory: Sendable {
    struct Body {
        var payload: [UInt8]
        var logBytes: Int
        var lineCount: Int
    }

    private let lines: [String]
    private let gzip: Bool
    private let arrayTail: [UInt8]
    private let newlineTail: [UInt8]
    private let compressedArrayTail: [UInt8]
    private let compressedNewlineTail: [UInt8]

    init(gzip: Bool) {
        self.gzip = gzip
        var lines: [String] = []
        var size = 0
        var index = 0
        while size < 512 * 1024 - 700 {
            let line = BodyFactory.line(index)
            lines.append(line)
            size += line.utf8.count + 1
            index += 1
        }
        self.lines = lines
        arrayTail = Array(("," + lines.dropFirst().joined(separator: ",") + "]").utf8)
        newlineTail = Array(("\n" + lines.dropFirst().joined(separator: "\n") + "\n").utf8)
        compressedArrayTail = Gzip.compress(arrayTail)
        compressedNewlineTail = Gzip.compress(newlineTail)
    }

    func body(sequence: Int, array: Bool) -> Body {
        var buffer = ByteBuffer()
        let (logBytes, lineCount) = fill(&buffer, sequence: sequence, array: array)
        return Body(payload: Array(buffer.readableBytesView), logBytes: logBytes, lineCount: lineCount)
    }

    /// The body of request `sequence` in `buffer`, as `body` makes it, with no new 512 KiB of memory
    /// when `buffer` already holds a body of this format: only the unique first line (fixed width) is
    /// written again. A sender that made a fresh body per request would cost, under `MallocArenas`'
    /// fixed mmap threshold, page faults and zeroing the receiver on another machine never pays for.
    /// Returns the log bytes and lines the body carries.
    func fill(_ buffer: inout ByteBuffer, sequence: Int, array: Bool) -> (logBytes: Int, lineCount: Int) {
        let head = Array(((array ? "[" : "") + BodyFactory.line(0, sequence: sequence)).utf8)
        let tail = array ? arrayTail : newlineTail
        if gzip {
            buffer.clear()
            buffer.writeBytes(Gzip.compress(head))
            buffer.writeBytes(array ? compressedArrayTail : compressedNewlineTail)
        } else if buffer.readableBytes == head.count + tail.count {
            buffer.setBytes(head, at: buffer.readerIndex)
        } else {
            buffer.clear()
            buffer.reserveCapacity(head.count + tail.count)
            buffer.writeBytes(head)
            buffer.writeBytes(tail)
        }
        return (head.count + tail.count, lines.count)
    }

    /// A line in the sender's shape (`SenderLog`, shared with the tests), about 590 bytes, varied by
    /// `index`; `sequence` makes the first line of each body unique.
    static func line(_ index: Int, sequence: Int = 0) -> String {
        let second = index % 3600
        return SenderLog.line(
            date: "2026-11-01", time: String(format: "%02d:%02d:%02d:%03d", 10, second / 60, second % 60, index % 1000),
            uri: "/assets/app-\(index).js?v=\(String(format: "%012d", sequence))\\u0026cache=\(index % 7)",
            clientIP: "203.0.\(index % 250).\(index % 199)", bytes: 10_000 + index * 37 % 50_000)
    }
}
