import Foundation
import Core
import GRDB
import JobModel
import Testing
@testable import Store

/// The push spool's layout: lines in one append-only file per part, only the index in the database,
/// and the start-up repair that makes the files agree with the index again after a crash. The spool
/// writes each chunk's data as given; these tests give it NDJSON as is (`encode` is the identity).
@Suite("Stream spool files")
struct StreamSpoolFileTests {
    static let domain = "www.example.com"
    static let now = referenceHour.addingTimeInterval(7200)
    static let limits = SpoolLimits(quotaBytes: 1 << 30)

    @Test("accepted lines are written once, to the part's file; the database holds the index, not the lines")
    func linesLiveInPartFiles() async throws {
        let temporary = try TemporaryStore()
        let directory = temporary.directory.appendingPathComponent("stream").path
        let spool = try SQLiteStreamSpool(store: temporary.store, directory: directory, encode: { $0 })
        defer { spool.close() }
        #expect(try await append(["{\"a\":1}", "{\"a\":2}"], digest: 1, to: spool) == .stored)
        #expect(try await append(["{\"a\":3}"], digest: 2, to: spool) == .stored)
        let expected = Array("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n".utf8)
        let files = try partFiles(in: directory)
        #expect(files.count == 1)
        #expect(files.values.first == expected)
        let (chunks, byteCount) = try await temporary.store.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM stream_chunks") ?? -1,
             try Int64.fetchOne(db, sql: "SELECT file_bytes FROM stream_parts") ?? -1)
        }
        #expect(chunks == 0)
        #expect(byteCount == Int64(expected.count))
        try await spool.sealParts(hoursBefore: Self.now, source: "stream", forgetBodiesBefore: referenceHour, forgetQuarantineBefore: referenceHour, now: Self.now)
        let part = try #require(try await spool.parts(domain: Self.domain, hour: referenceHour).first)
        #expect(try await spool.read(part, from: 0, maxBytes: 1 << 20) == expected)
        #expect(try await spool.read(part, from: 8, maxBytes: 8) == Array(expected[8..<16]))
        #expect(try await spool.read(part, from: Int64(expected.count), maxBytes: 1 << 20).isEmpty)
    }

    @Test("a restart cuts each part file back to its committed length and removes files of no open or sealed part")
    func restartRepairsFiles() async throws {
        let temporary = try TemporaryStore()
        let directory = temporary.directory.appendingPathComponent("stream").path
        var spool = try SQLiteStreamSpool(store: temporary.store, directory: directory, encode: { $0 })
        #expect(try await append(["{\"a\":1}"], digest: 1, to: spool) == .stored)
        spool.close()
        // What a crash leaves: bytes of a request written but never committed, and the file of a part
        // whose first request never committed.
        let path = try #require(try partFiles(in: directory).keys.first)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"never\":\"acknowledged\"}\n".utf8))
        try handle.close()
        let orphan = directory + "/1793494800-part1-img.example.com.ndjson.gz"
        #expect(FileManager.default.createFile(atPath: orphan, contents: Data("{\"b\":1}\n".utf8)))

        spool = try SQLiteStreamSpool(store: temporary.store, directory: directory, encode: { $0 })
        defer { spool.close() }
        #expect(spool.repaired.cut == 1)
        #expect(spool.repaired.removed == 1)
        #expect(try partFiles(in: directory) == [path: Array("{\"a\":1}\n".utf8)])
        #expect(try await append(["{\"a\":2}"], digest: 2, to: spool) == .stored)
        #expect(try partFiles(in: directory) == [path: Array("{\"a\":1}\n{\"a\":2}\n".utf8)])
    }

    @Test("recording a part uploaded deletes its file and its bytes from the spool's total")
    func uploadDeletesTheFile() async throws {
        let temporary = try TemporaryStore()
        let directory = temporary.directory.appendingPathComponent("stream").path
        let spool = try SQLiteStreamSpool(store: temporary.store, directory: directory, encode: { $0 })
        defer { spool.close() }
        #expect(try await append(["{\"a\":1}"], digest: 1, to: spool) == .stored)
        try await spool.sealParts(hoursBefore: Self.now, source: "stream", forgetBodiesBefore: referenceHour, forgetQuarantineBefore: referenceHour, now: Self.now)
        let part = try #require(try await spool.parts(domain: Self.domain, hour: referenceHour).first)
        #expect(try await spool.markUploaded(part, objectKey: "k", objectSize: 10, now: Self.now))
        #expect(try partFiles(in: directory).isEmpty)
        #expect(try await spool.spoolBytes() == 0)
        #expect(try await spool.markUploaded(part, objectKey: "k", objectSize: 10, now: Self.now) == false)
    }

    @Test("lines the previous layout kept in the database move into part files when the spool opens")
    func chunksOfThePreviousLayoutMove() async throws {
        let temporary = try TemporaryStore()
        let directory = temporary.directory.appendingPathComponent("stream").path
        let hour = referenceHour.unixSeconds
        try await temporary.store.pool.write { db in
            try db.execute(
                sql: "INSERT INTO stream_parts (domain, hour, part, line_count, byte_count, created_at) VALUES (?, ?, 1, 3, 24, ?)",
                arguments: [Self.domain, hour, hour])
            for lines in ["{\"a\":1}\n{\"a\":2}\n", "{\"a\":3}\n"] {
                try db.execute(
                    sql: "INSERT INTO stream_chunks (domain, hour, part, line_count, lines) VALUES (?, ?, 1, ?, ?)",
                    arguments: [Self.domain, hour, lines.split(separator: "\n").count, Data(lines.utf8)])
            }
        }
        let spool = try SQLiteStreamSpool(store: temporary.store, directory: directory, encode: { $0 })
        defer { spool.close() }
        #expect(try await temporary.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM stream_chunks") } == 0)
        #expect(try partFiles(in: directory).values.first == Array("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n".utf8))
        // New lines go after the moved ones.
        #expect(try await append(["{\"a\":4}"], digest: 4, to: spool) == .stored)
        try await spool.sealParts(hoursBefore: Self.now, source: "stream", forgetBodiesBefore: referenceHour, forgetQuarantineBefore: referenceHour, now: Self.now)
        let part = try #require(try await spool.parts(domain: Self.domain, hour: referenceHour).first)
        #expect(try await spool.read(part, from: 0, maxBytes: 1 << 20) == Array("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}\n".utf8))
    }

    @Test("an identical body is a repeat even after a restart, and stores nothing")
    func repeatsSurviveARestart() async throws {
        let temporary = try TemporaryStore()
        let directory = temporary.directory.appendingPathComponent("stream").path
        var spool = try SQLiteStreamSpool(store: temporary.store, directory: directory, encode: { $0 })
        #expect(try await append(["{\"a\":1}"], digest: 7, to: spool) == .stored)
        spool.close()
        spool = try SQLiteStreamSpool(store: temporary.store, directory: directory, encode: { $0 })
        defer { spool.close() }
        #expect(try await append(["{\"a\":1}"], digest: 7, to: spool) == .repeated)
        #expect(try partFiles(in: directory).values.first == Array("{\"a\":1}\n".utf8))
    }

    private func append(_ lines: [String], digest: UInt8, to spool: SQLiteStreamSpool) async throws -> SpoolAppendResult {
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        let append = SpoolAppend(
            bodyDigest: [UInt8](repeating: digest, count: 32),
            chunks: [SpoolChunk(domain: Self.domain, hour: referenceHour, lineCount: lines.count, byteCount: bytes.count, data: bytes)],
            quarantined: [])
        return try await spool.append(append, limits: Self.limits, repeatedSince: Self.now.addingTimeInterval(-3600), now: Self.now)
    }

    /// The part files in `directory`, by path, with their contents.
    private func partFiles(in directory: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".ndjson.gz") {
            files[directory + "/" + name] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
        }
        return files
    }
}
