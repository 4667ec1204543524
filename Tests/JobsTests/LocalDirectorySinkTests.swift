import Foundation
import Testing

@testable import Jobs

/// The directory sink: atomic writes, skip detection, safety.
@Suite struct LocalDirectorySinkTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID().uuidString)").path

    @Test func storesAtomicallyAndReportsWhatIsStored() async throws {
        defer { cleanUp() }
        let sink = try LocalDirectorySink(directory: root + "/bucket/nested")
        let file = try spool(Array("first version\n".utf8))
        let key = "cdnlog/www.test.com/20190904/2019090423-www.test.com.gz"
        #expect(try await sink.existingObject(at: key) == nil)

        let identity = try #require(try await sink.store(file, at: key))
        let path = sink.directory + "/" + key
        #expect(FileManager.default.contents(atPath: path) == Data("first version\n".utf8))
        #expect(FileManager.default.fileExists(atPath: file.path), "the spool file stays for the pipeline to delete")
        let stored = try #require(try await sink.existingObject(at: key))
        #expect(stored == StoredObject(size: file.size, crc64: file.crc64, md5: file.md5, etag: identity))
        #expect(try await sink.identity(ofObjectAt: key) == ObjectIdentity(size: file.size, etag: identity))
        #expect(stored.matches(file))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try sink.removeLeftovers() == 0, "no temporary file remains")
    }

    @Test func replacesAnObjectAndTellsVersionsApart() async throws {
        defer { cleanUp() }
        let sink = try LocalDirectorySink(directory: root)
        let old = try spool(Array("version A\n".utf8))
        let new = try spool(Array("version B\n".utf8))  // same size, different bytes
        try await sink.store(old, at: "k.gz")
        #expect(try await sink.existingObject(at: "k.gz")?.matches(new) == false)
        try await sink.store(new, at: "k.gz")
        #expect(try await sink.existingObject(at: "k.gz")?.matches(new) == true)
        #expect(try await sink.existingObject(at: "k.gz")?.matches(old) == false)
        #expect(FileManager.default.contents(atPath: root + "/k.gz") == Data("version B\n".utf8))
    }

    @Test func refusesASpoolFileThatChangedAndKeepsTheOldObject() async throws {
        defer { cleanUp() }
        let sink = try LocalDirectorySink(directory: root)
        let original = try spool(Array("original\n".utf8))
        try await sink.store(original, at: "a/k.gz")
        var tampered = try spool(Array("replacement\n".utf8))
        tampered.crc64 ^= 1
        let error = await #expect(throws: TransferError.self) { try await sink.store(tampered, at: "a/k.gz") }
        #expect(error?.code == "sink.verify")
        #expect(FileManager.default.contents(atPath: root + "/a/k.gz") == Data("original\n".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/a") == ["k.gz"])
    }

    @Test(arguments: ["", "/etc/passwd", "../escape", "a/../../escape", "a//b", "a/./b", "a/..", "a/",
                      "a/.b.gz.tmp-0123456789abcdef0123456789abcdef"])
    func rejectsKeysThatLeaveTheDirectory(key: String) async throws {
        defer { cleanUp() }
        let sink = try LocalDirectorySink(directory: root + "/bucket")
        let file = try spool(Array("x".utf8))
        let storeError = await #expect(throws: TransferError.self) { try await sink.store(file, at: key) }
        #expect(storeError?.code == "sink.invalid_key")
        #expect(storeError?.isRetryable == false)
        let readError = await #expect(throws: TransferError.self) { try await sink.existingObject(at: key) }
        #expect(readError?.code == "sink.invalid_key")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["bucket", "spool"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/bucket").isEmpty)
    }

    @Test func removesOnlyTemporaryFilesACrashLeft() async throws {
        defer { cleanUp() }
        let sink = try LocalDirectorySink(directory: root)
        let leftovers = [".x.gz.tmp-0123456789abcdef0123456789abcdef", "a/b/.y.gz.tmp-fedcba9876543210fedcba9876543210"]
        let keep = [".hidden", "x.gz", "a/b/z.tmp-123", "a/.y.gz.tmp-short"]
        for name in leftovers + keep {
            try FileManager.default.createDirectory(
                atPath: (root as NSString).appendingPathComponent((name as NSString).deletingLastPathComponent),
                withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: root + "/" + name, contents: Data([1])))
        }
        #expect(try sink.removeLeftovers() == 2)
        for name in leftovers { #expect(!FileManager.default.fileExists(atPath: root + "/" + name), "\(name)") }
        for name in keep { #expect(FileManager.default.fileExists(atPath: root + "/" + name), "\(name)") }
    }

    @Test func reportsADirectoryUnderAKeyAsAnError() async throws {
        defer { cleanUp() }
        let sink = try LocalDirectorySink(directory: root)
        try FileManager.default.createDirectory(atPath: root + "/dir", withIntermediateDirectories: true)
        let error = await #expect(throws: TransferError.self) { try await sink.existingObject(at: "dir") }
        #expect(error?.code == "sink.io")
    }

    /// A spool file holding `bytes`, with its digests.
    private func spool(_ bytes: [UInt8]) throws -> SpooledFile {
        let directory = root + "/spool"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + UUID().uuidString + ".part"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        var digests = StreamingDigests()
        bytes.withUnsafeBytes { digests.update($0) }
        return digests.spooledFile(at: path)
    }

    private func cleanUp() {
        try? FileManager.default.removeItem(atPath: root)
    }
}
