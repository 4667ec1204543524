import AsyncHTTPClient
import Core
import Crypto
import JobModel
import NIOCore

extension PackageDownloader {
    /// The most bytes a batch collects before it is handed to the stages.
    static let batchBytes = 512 << 10
    /// Batches queued per stage: with `batchBytes`, at most about 3 MiB of one body is held in memory
    /// (the batches queued for the slowest stage, the one each stage works on, the one being collected).
    static let stageQueueCapacity = 4

    /// What a stage hands back when the body has passed through it.
    private enum StageOutcome: Sendable {
        case inflated
        case digested(StreamingDigests)
        case spooled
    }

    /// Streams `body` through three concurrent stages over bounded queues: the gzip check (inflating),
    /// the whole-body digests, and the spool file write with the per-part digests when `cutting` is
    /// given. On two cores a download takes about as long as its slowest stage (the inflate), not the sum.
    ///
    /// The download loop itself only counts, checks the length and batches the chunks (shared, not
    /// copied). A chunk that would take the body past the announced length is not handed on: the
    /// download fails there. A stage that fails stops the download at the next batch; its error is thrown.
    static func readBody(
        _ body: HTTPClientResponse.Body, of package: LogPackage, contentLength: Int64?, into descriptor: Int32, path: String,
        progress: TransferProgress, cutting: PartCutting?
    ) async throws -> SpooledFile {
        let announced = contentLength ?? package.announcedSize
        let inflating = StageQueue(capacity: stageQueueCapacity)
        let digesting = StageQueue(capacity: stageQueueCapacity)
        let spooling = StageQueue(capacity: stageQueueCapacity)
        let queues = [inflating, digesting, spooling]
        return try await withThrowingTaskGroup(of: StageOutcome.self) { group in
            group.addTask { try await inflate(from: inflating) }
            group.addTask { await digest(from: digesting) }
            group.addTask { try await spool(from: spooling, into: descriptor, path: path, cutting: cutting) }
            let received: Int64?
            do {
                defer { queues.forEach { $0.close() } }
                received = try await produce(
                    body, of: package, contentLength: contentLength, announced: announced, partSize: cutting?.partSize, into: queues,
                    progress: progress)
            }
            // The length first, as the bytes arrived; then the stages' verdicts (a stage that stopped the
            // download early throws its error here).
            if let received, let contentLength, received < contentLength {
                throw TransferError.retryable(
                    "download.truncated", "package \(package.name) ended after \(received) of \(contentLength) bytes")
            }
            if let received, let announced = package.announcedSize, received != announced {
                throw sizeMismatch(package, "received \(received) bytes but the listing said \(announced)")
            }
            var digests: StreamingDigests?
            while let outcome = try await group.next() {
                if case .digested(let value) = outcome { digests = value }
            }
            guard received != nil, let digests else {
                throw TransferError.unavailable("download.spool", "a stage of the download of \(package.name) ended early")
            }
            return digests.spooledFile(at: path)
        }
    }

    /// The download loop: reads `body`, checks its length against `announced`, and hands batches of
    /// chunks to every queue. Returns the bytes received, or nil when a stage gave up (its error tells why).
    ///
    /// A batch is handed on once it holds `batchBytes`, and also as soon as it completes a part of
    /// `partSize`, so a part goes up once its last byte arrived, even when the source pauses there.
    private static func produce(
        _ body: HTTPClientResponse.Body, of package: LogPackage, contentLength: Int64?, announced: Int64?, partSize: Int64?,
        into queues: [StageQueue], progress: TransferProgress
    ) async throws -> Int64? {
        var received: Int64 = 0
        var partEnd = partSize ?? Int64.max
        var batch: StageQueue.Batch = []
        var batchSize = 0
        var iterator = body.makeAsyncIterator()
        func handOn() async -> Bool {
            defer { (batch, batchSize) = ([], 0) }
            for queue in queues {
                guard await queue.send(batch) else { return false }
            }
            return true
        }
        while true {
            let next: ByteBuffer?
            do {
                next = try await iterator.next()
            } catch {
                throw bodyFailure(error, package: package, received: received, expected: contentLength)
            }
            guard let buffer = next else { break }
            if let announced, received + Int64(buffer.readableBytes) > announced {
                let source = contentLength != nil ? "its Content-Length" : "the listing's size"
                throw sizeMismatch(package, "the body goes on past \(source) of \(announced) bytes")
            }
            received += Int64(buffer.readableBytes)
            progress.add(buffer.readableBytes)
            batch.append(buffer)
            batchSize += buffer.readableBytes
            var full = batchSize >= batchBytes
            if let partSize, received >= partEnd {
                full = true
                partEnd = (received / partSize + 1) * partSize
            }
            if full, !(await handOn()) { return nil }
        }
        // Ended by cancellation, the body stops early: not a short package.
        try Task.checkCancellation()
        if batchSize > 0, !(await handOn()) { return nil }
        return received
    }

    /// The gzip check: inflates every batch and discards the output; throws `download.corrupt_gzip`.
    private static func inflate(from queue: StageQueue) async throws -> StageOutcome {
        defer { queue.abandon() }
        var verifier = try GzipVerifier()
        while let batch = await queue.next() {
            for buffer in batch {
                try buffer.withUnsafeReadableBytes { try verifier.update($0) }
            }
        }
        try verifier.finish()
        return .inflated
    }

    /// Size, CRC-64, MD5 and SHA-256 of the whole body.
    private static func digest(from queue: StageQueue) async -> StageOutcome {
        defer { queue.abandon() }
        var digests = StreamingDigests()
        while let batch = await queue.next() {
            for buffer in batch {
                buffer.withUnsafeReadableBytes { digests.update($0) }
            }
        }
        return .digested(digests)
    }

    /// Writes every batch to the spool file and, with `cutting`, digests each part and tells it once its
    /// last byte is written.
    private static func spool(from queue: StageQueue, into descriptor: Int32, path: String, cutting: PartCutting?) async throws -> StageOutcome {
        defer { queue.abandon() }
        var parts = cutting.map { PartDigester(cutting: $0, path: path) }
        while let batch = await queue.next() {
            for buffer in batch {
                try buffer.withUnsafeReadableBytes { bytes in
                    try FileIO.writeAll(descriptor, bytes, path: path)
                    parts?.update(bytes)
                }
            }
        }
        return .spooled
    }
}

/// The digests of the parts of a spool file as it is written, telling each part when it is complete.
private struct PartDigester {
    let cutting: PartCutting
    let path: String
    private var number = 1
    private var partStart: Int64 = 0
    private var position: Int64 = 0
    private var md5 = Insecure.MD5()
    private var crc = CRC64()

    init(cutting: PartCutting, path: String) {
        self.cutting = cutting
        self.path = path
    }

    /// The end of the current part in the file.
    private var partEnd: Int64 { min(partStart + cutting.partSize, cutting.fileSize) }

    /// Feeds the next bytes written; tells every part they complete.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        while !rest.isEmpty, partStart < cutting.fileSize {
            let take = Int(min(Int64(rest.count), partEnd - position))
            let slice = UnsafeRawBufferPointer(rebasing: rest.prefix(take))
            md5.update(bufferPointer: slice)
            crc.update(slice)
            position += Int64(take)
            rest = rest.dropFirst(take)
            if position == partEnd {
                cutting.written(
                    SpooledPart(
                        path: path, number: number, offset: partStart, length: position - partStart, md5: Array(md5.finalize()),
                        crc64: crc.value))
                number += 1
                partStart = position
                md5 = Insecure.MD5()
                crc = CRC64()
            }
        }
    }
}
