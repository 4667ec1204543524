import Core
import Foundation
import JobModel
import Jobs
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Runs a `stream` window: stores each sealed part of the domain-hour as one gzip NDJSON object (its
/// spool file, a gzip member per request) through the sink, verified, and only then marks it uploaded
/// and deletes its file from the spool.
///
/// Idempotent: parts already uploaded are reported as skipped; a part whose object is there with the
/// same bytes (a crash after storing, before recording) is not sent again.
public struct StreamTransfer: WindowTransfer {
    /// The `source` of stream windows in the job table.
    public static let sourceName = "stream"

    private let spool: any StreamSpool
    private let sink: any ObjectSink
    private let keyTemplate: StreamKeyTemplate
    private let workDirectory: String
    private let clock: any WallClock
    private let logger: Logger

    /// Creates the transfer; part files are written under `workDirectory` while they are stored.
    public init(spool: any StreamSpool, sink: any ObjectSink, keyTemplate: StreamKeyTemplate, workDirectory: String, clock: any WallClock, logger: Logger) {
        self.spool = spool
        self.sink = sink
        self.keyTemplate = keyTemplate
        self.workDirectory = workDirectory
        self.clock = clock
        self.logger = logger
    }

    public func transfer(_ window: Window) async throws -> TransferOutcome {
        var records: [FileRecord] = []
        for part in try await spool.parts(domain: window.domain, hour: window.hour) {
            let key = keyTemplate.key(domain: part.domain, hour: part.hour, part: part.part)
            if part.state == "uploaded" {
                records.append(FileRecord(
                    area: "stream", name: "part\(part.part)", size: part.objectSize ?? 0, crc64: 0, md5: "", sha256: "",
                    objectKey: part.objectKey ?? key, skipped: true))
                continue
            }
            let file = try await writePart(part)
            defer { unlink(file.path) }
            let skipped: Bool
            if let existing = try await sink.existingObject(at: key), existing.matches(file) {
                skipped = true
            } else {
                try await sink.store(file, at: key)
                skipped = false
            }
            try await spool.markUploaded(part, objectKey: key, objectSize: file.size, now: clock.now)
            logger.debug("stream part stored", metadata: [
                "stream.domain": "\(part.domain)", "stream.part": "\(part.part)", "object.key": "\(key)", "stream.lines": "\(part.lineCount)",
            ])
            records.append(FileRecord(
                area: "stream", name: "part\(part.part)", size: file.size, crc64: file.crc64, md5: file.md5, sha256: file.sha256,
                objectKey: key, skipped: skipped))
        }
        return .stored(records)
    }

    /// The part's object, a copy of its spool file (gzip members of its lines, in the order they were
    /// accepted), in the work directory.
    private func writePart(_ part: StreamPart) async throws -> SpooledFile {
        let path = "\(workDirectory)/stream-\(UUID().uuidString).part.gz"
        var writer = try PartObjectWriter(path: path)
        do {
            var offset: Int64 = 0
            while true {
                let lines = try await spool.read(part, from: offset, maxBytes: 1 << 20)
                guard !lines.isEmpty else { break }
                try writer.write(lines)
                offset += Int64(lines.count)
            }
            return try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
    }
}
