import Foundation
import Ingest
import JobModel
import Testing
import TestSupport

/// The spool commits a batch of stamped chunks without an fsync of the index: a power loss may take
/// those index entries back, never the lines, which were fsync'd before the 2xx. These tests leave
/// what such a power loss leaves (the database as it was at an earlier fsync'd commit, the part files
/// as written) and check that a restart takes every acknowledged body back, once.
@Suite("Spool recovery after a power loss")
struct SpoolRecoveryTests {
    /// The hour before the event hour; its lines go to a second part file.
    static let earlierHour = IngestTestBed.eventHour.addingTimeInterval(-3600)

    /// A body of `count` lines in each of `hours` (`"09"` is the event hour, `"08"` the one before),
    /// every line marked with `id`; and its lines by hour.
    static func body(_ id: String, hours: [String], count: Int = 4) -> (bytes: [UInt8], lines: [String: [String]]) {
        var lines: [String: [String]] = [:]
        for hour in hours {
            lines[hour] = (0..<count).map { SenderLog.line(time: "\(hour):1\($0):00", uri: "/p?id=\(id)-\(hour)-\($0)\\u0026x=1") }
        }
        return (hours.flatMap { lines[$0]! }.joined(separator: "\n").bytes, lines)
    }

    /// The NDJSON of the lines of `bodies` in `hour`, in order.
    static func ndjson(_ hour: String, _ bodies: [(bytes: [UInt8], lines: [String: [String]])]) -> [UInt8] {
        bodies.flatMap { $0.lines[hour] ?? [] }.map { $0 + "\n" }.joined().bytes
    }

    /// The database's files as they are now: what a power loss leaves when this was its last fsync'd
    /// commit (the shared-memory index is rebuilt from the log on opening).
    struct DatabaseSnapshot {
        static let names = ["orchestrator.sqlite", "orchestrator.sqlite-wal"]
        let contents: [String: Data]

        init(of directory: URL) {
            contents = Self.names.reduce(into: [:]) { map, name in
                map[name] = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
            }
        }

        func restore(into directory: URL) throws {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("orchestrator.sqlite-shm"))
            for name in Self.names {
                let url = directory.appendingPathComponent(name)
                try? FileManager.default.removeItem(at: url)
                if let data = contents[name] { try data.write(to: url) }
            }
        }
    }

    static func fileSize(_ url: URL) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
    }

    @Test("bodies acknowledged after the last fsync'd commit are taken back from the part files, across two hours, and a retry of one is a repeat")
    func acknowledgedBodiesAreTakenBack() async throws {
        let bed = try await IngestTestBed()
        let a = Self.body("a", hours: ["09", "08"])
        let b = Self.body("b", hours: ["09"]), c = Self.body("c", hours: ["09", "08"]), d = Self.body("d", hours: ["08"])
        do {
            // The first body makes both parts, so its commit is fsync'd: the power loss keeps it.
            #expect(try await bed.post(a.bytes).status == 200)
            let snapshot = DatabaseSnapshot(of: bed.directory)
            for body in [b, c, d] { #expect(try await bed.post(body.bytes).text.contains("\"accepted\":")) }
            await bed.stop(keepingFiles: true)
            try snapshot.restore(into: bed.directory)
        } catch {
            await bed.stop()
            throw error
        }
        let reopened = try await IngestTestBed(reopening: bed.directory)
        do {
            #expect(reopened.spool.recovered.bodies == 3)
            #expect(reopened.spool.recovered.lines == 16)
            let retry = try await reopened.post(b.bytes)
            #expect(retry.status == 200)
            #expect(retry.text.contains("\"repeated\":true"))
            let e = Self.body("e", hours: ["09"])
            #expect(try await reopened.post(e.bytes).text.contains("\"accepted\":4"))
            let status = try #require(try await reopened.store.streamStatus().first)
            #expect(status.linesAccepted == 28)
            #expect(status.bodiesRepeated == 1)
            reopened.clock.advance(by: 15 * 60)
            #expect(try await reopened.sealAndUpload().count == 2)
            #expect(try reopened.object(try reopened.key(part: 1)) == Self.ndjson("09", [a, b, c, e]))
            #expect(try reopened.object(try reopened.key(hour: Self.earlierHour, part: 1)) == Self.ndjson("08", [a, c, d]))
        } catch {
            await reopened.stop()
            throw error
        }
        await reopened.stop()
    }

    @Test("a body whose chunk in another part file never reached the disk is not taken back, nor anything after it; the sender's retry is stored")
    func incompleteBodyIsCut() async throws {
        let bed = try await IngestTestBed()
        let a = Self.body("a", hours: ["09", "08"]), c = Self.body("c", hours: ["09", "08"]), f = Self.body("f", hours: ["09"])
        var sizes: (event: Int, earlier: Int) = (0, 0)
        do {
            #expect(try await bed.post(a.bytes).status == 200)
            let snapshot = DatabaseSnapshot(of: bed.directory)
            sizes = (try Self.fileSize(bed.partFile()), try Self.fileSize(bed.partFile(hour: Self.earlierHour)))
            #expect(try await bed.post(c.bytes).status == 200)
            #expect(try await bed.post(f.bytes).status == 200)
            await bed.stop(keepingFiles: true)
            try snapshot.restore(into: bed.directory)
            // The earlier hour's file lost what was written after the snapshot: `c` is there only in part.
            let handle = try FileHandle(forWritingTo: bed.partFile(hour: Self.earlierHour))
            try handle.truncate(atOffset: UInt64(sizes.earlier))
            try handle.close()
        } catch {
            await bed.stop()
            throw error
        }
        let reopened = try await IngestTestBed(reopening: bed.directory)
        do {
            #expect(reopened.spool.recovered.bodies == 0)
            #expect(try Self.fileSize(reopened.partFile()) == sizes.event)
            #expect(try await reopened.post(c.bytes).text.contains("\"accepted\":8"))
            #expect(try await reopened.post(f.bytes).text.contains("\"accepted\":4"))
            reopened.clock.advance(by: 15 * 60)
            try await reopened.sealAndUpload()
            #expect(try reopened.object(try reopened.key(part: 1)) == Self.ndjson("09", [a, c, f]))
            #expect(try reopened.object(try reopened.key(hour: Self.earlierHour, part: 1)) == Self.ndjson("08", [a, c]))
        } catch {
            await reopened.stop()
            throw error
        }
        await reopened.stop()
    }

    @Test("a whole stamped copy of a body already recorded (what a failed batch leaves past the committed length) is not taken back")
    func recordedBodyIsNotTakenTwice() async throws {
        let bed = try await IngestTestBed()
        let a = Self.body("a", hours: ["09"]), x = Self.body("x", hours: ["09"])
        do {
            #expect(try await bed.post(a.bytes).status == 200)
            let before = try Self.fileSize(bed.partFile())
            #expect(try await bed.post(x.bytes).status == 200)
            await bed.stop(keepingFiles: true)
            let file = bed.partFile()
            let member = try #require(FileManager.default.contents(atPath: file.path)).dropFirst(before)
            let handle = try FileHandle(forWritingTo: file)
            try handle.seekToEnd()
            try handle.write(contentsOf: member)
            try handle.close()
        } catch {
            await bed.stop()
            throw error
        }
        let reopened = try await IngestTestBed(reopening: bed.directory)
        do {
            #expect(reopened.spool.recovered.bodies == 0)
            #expect(reopened.spool.repaired.cut == 1)
            reopened.clock.advance(by: 15 * 60)
            try await reopened.sealAndUpload()
            #expect(try reopened.object(try reopened.key(part: 1)) == Self.ndjson("09", [a, x]))
        } catch {
            await reopened.stop()
            throw error
        }
        await reopened.stop()
    }

    @Test("stamped members are gzip to any reader; the stamp reader finds each stamp and stops at zeros, a torn member, a changed byte or an unstamped member")
    func stampReader() throws {
        let compressor = LineCompressor()
        let bodies = (0..<3).map { Self.body("m\($0)", hours: ["09"], count: 2).bytes + [0x0A] }
        let stamps = (0..<3).map { index in
            SpoolChunkStamp(
                body: UInt64(index) &* 0x9E37_79B9_7F4A_7C15, index: index % 2, count: 2 - index / 2, lineCount: 2, byteCount: bodies[index].count,
                bodyDigest: (0..<32).map { UInt8(truncatingIfNeeded: $0 * 7 + index) }, acceptedAt: 1_793_527_200 + Int64(index))
        }
        let members = (0..<3).map { index in
            bodies[index].withUnsafeBufferPointer { compressor.compress([.body(0..<bodies[index].count)], in: $0, stamp: stamps[index]) }
        }
        let file = members.joined().map { $0 }
        func read(_ bytes: [UInt8]) -> [StampedChunk] { bytes.withUnsafeBytes { StampedMember.read($0) } }
        let all = (0..<3).map { StampedChunk(stamp: stamps[$0], length: members[$0].count) }
        #expect(try Gzip.decompress(file) == bodies.joined().map { $0 })
        #expect(read(file) == all)
        #expect(read(file + [UInt8](repeating: 0, count: 100)) == all)
        let second = members[0].count..<(members[0].count + members[1].count)
        for cut in second.dropFirst() { #expect(read(Array(file[..<cut])) == [all[0]]) }
        for offset in second {
            var changed = file
            changed[offset] ^= 0x10
            let found = read(changed)
            // A changed bit that deflate ignores (the padding after the last block) changes nothing read.
            #expect(found == [all[0]] || (found == all && (try? Gzip.decompress(changed)) == bodies.joined().map { $0 }), "byte \(offset)")
        }
        #expect(read(members[0] + GzipMember.compress(bodies[1]) + members[2]) == [all[0]])
        // The compressor that stamped members writes an unstamped one without a stamp (or a stale one).
        let plain = bodies[1].withUnsafeBufferPointer { compressor.compress([.body(0..<bodies[1].count)], in: $0) }
        #expect(plain[3] == 0, "no optional header field")
        #expect(try Gzip.decompress(plain) == bodies[1])
    }
}
