import AsyncHTTPClient
import CDNSimulator
import Core
import Foundation
import JobModel
import Logging
import Store
@testable import TencentCloud
import TestSupport
import Testing

@testable import Jobs

/// The object store sink against a real S3 store (`rclone serve s3`, which checks SigV4 signatures and
/// `Content-MD5`) behind a proxy that counts what the store receives and injects faults.
@Suite("Object store sink", .serialized)
struct ObjectStoreSinkTests {
    let key = "cdnlog/a.example/20261101/2026110100-a.example.gz"

    @Test("a small file is one PUT, verified, and HEAD then reports its size and MD5")
    func simpleUploadIsVerified() async throws {
        try await SinkTestBed.run { bed in
            let sink = bed.sink()
            let bytes = sinkTestBytes(300_000, seed: 1)
            let file = try bed.spool(bytes)
            #expect(try await sink.existingObject(at: key) == nil)
            let etag = try await sink.store(file, at: key)
            #expect(etag == file.md5, "a simple upload's ETag is its MD5")
            #expect(bed.stored(key) == bytes)
            #expect(bed.proxy.counters.requests == ["HEAD": 1, "PUT": 1])
            let existing = try #require(try await sink.existingObject(at: key))
            #expect(existing == StoredObject(size: file.size, crc64: nil, md5: file.md5, etag: file.md5))
            #expect(existing.matches(file))
        }
    }

    @Test(
        "a second run of the pipeline over the same windows sends HEADs only",
        arguments: [false, true])
    func secondRunSendsHeadsOnly(multipart: Bool) async throws {
        try await SinkTestBed.run { bed in
            var quiet = Logger(label: "cdn-simulator")
            quiet.logLevel = .critical
            let configuration = CDNSimulatorConfiguration(packageBytes: 96 << 10, seed: 5, emptyHourRate: 0)
            let simulator = try await CDNSimulator.start(configuration: configuration, logger: quiet)
            do {
                let source = TencentCDNClient(
                    configuration: TencentCDNConfiguration(
                        endpoint: simulator.baseURL.absoluteString,
                        credentials: TencentCredentials(secretID: configuration.secretID, secretKey: configuration.secretKey)),
                    httpClient: bed.httpClient, logger: quiet)
                let downloader = PackageDownloader(
                    httpClient: bed.httpClient, spoolDirectory: bed.directory + "/spool", logger: quiet, timeout: .seconds(30))
                // Packages are 48 to 144 KiB: with 32 KiB parts every one goes up in two to five parts.
                let sink = multipart ? bed.sink(multipartThreshold: 32 << 10, minimumPartSize: 32 << 10) : bed.sink()
                let transfer = LogPackageTransfer(
                    source: source, downloader: downloader, sink: sink,
                    keyTemplate: try KeyTemplate(KeyTemplate.defaultTemplate), logger: quiet)
                let hour = Date().addingTimeInterval(-3 * 3600).startOfHour
                let windows = configuration.domains.flatMap { domain in
                    [hour, hour.addingTimeInterval(-3600)].map { Window(source: "tencent-cdn", domain: domain, hour: $0) }
                }
                func run() async throws -> [FileRecord] {
                    var records: [FileRecord] = []
                    for window in windows {
                        guard case .stored(let stored) = try await transfer.transfer(window) else {
                            Issue.record("no package listed for \(window)")
                            continue
                        }
                        records += stored
                    }
                    return records
                }

                let first = try await run()
                #expect(first.count >= windows.count)
                #expect(first.allSatisfy { !$0.skipped })
                let puts = bed.proxy.counters.requests["PUT"] ?? 0
                #expect(multipart ? puts > first.count : puts == first.count)
                for record in first {
                    let stored = try #require(bed.stored(record.objectKey))
                    #expect(Int64(stored.count) == record.size)
                    #expect(CRC64.checksum(stored) == record.crc64)
                }

                bed.proxy.resetCounters()
                let second = try await run()
                #expect(second.map(\.objectKey) == first.map(\.objectKey))
                #expect(second.allSatisfy { $0.skipped })
                #expect(bed.proxy.counters.requests == ["HEAD": first.count], "the second run only asks what is stored")
                try await simulator.stop()
            } catch {
                try? await simulator.stop()
                throw error
            }
        }
    }

    @Test("a body altered in flight is refused by Content-MD5 as retryable; the retry stores the right bytes")
    func alteredBodyIsRefused() async throws {
        try await SinkTestBed.run { bed in
            let sink = bed.sink()
            let bytes = sinkTestBytes(200_000, seed: 2)
            let file = try bed.spool(bytes)
            bed.proxy.inject(.init(corruptPut: 1))
            let error = await #expect(throws: TransferError.self) { try await sink.store(file, at: key) }
            #expect(error?.code == "BadDigest")
            #expect(error?.isRetryable == true)
            #expect(bed.stored(key) == nil, "the store never holds the altered bytes")
            #expect(try await sink.existingObject(at: key) == nil)

            try await sink.store(file, at: key)
            #expect(bed.stored(key) == bytes)
        }
    }

    @Test("a part altered in flight is refused as retryable; the retry stores the right bytes")
    func alteredPartIsRefused() async throws {
        try await SinkTestBed.run { bed in
            let sink = bed.sink(multipartThreshold: 1 << 20, minimumPartSize: 1 << 20, partConcurrency: 1)
            let bytes = sinkTestBytes((4 << 20) + 1234, seed: 3)
            let file = try bed.spool(bytes)
            bed.proxy.inject(.init(corruptPut: 2))
            let error = await #expect(throws: TransferError.self) { try await sink.store(file, at: key) }
            #expect(error?.code == "BadDigest")
            #expect(error?.isRetryable == true)
            #expect(try await bed.ledger.multipartUpload(forKey: key)?.parts.map(\.number) == [1])

            bed.proxy.resetCounters()
            try await sink.store(file, at: key)
            // A store that keeps the upload after refusing a part gets the 4 missing parts. rclone fails
            // the whole upload once a refused part has reached its backend: the first part sent answers
            // NoSuchUpload, and the sink starts over with all 5.
            let startedOver = bed.logs.lines.contains { $0.contains("starting it over") }
            #expect(bed.proxy.counters.partsForwarded == (startedOver ? 1 + 5 : 4))
            #expect(bed.stored(key) == bytes)
            #expect(try await bed.ledger.multipartUpload(forKey: key) == nil)
        }
    }

    @Test("an ETag of other bytes from the store is the retryable sink.verify_mismatch, never a success")
    func falseETagIsAMismatch() async throws {
        try await SinkTestBed.run { bed in
            let sink = bed.sink()
            let file = try bed.spool(sinkTestBytes(50_000, seed: 4))
            bed.proxy.inject(.init(falseETagPut: 1))
            let error = await #expect(throws: TransferError.self) { try await sink.store(file, at: key) }
            #expect(error?.code == "sink.verify_mismatch")
            #expect(error?.isRetryable == true)
            #expect(bed.logs.lines.contains { $0.hasPrefix("error ") && $0.contains("object.key=\(key)") })
        }
    }

    @Test("when the store answers a PUT without ETag or CRC64, a HEAD verifies the object")
    func missingETagIsVerifiedByHead() async throws {
        try await SinkTestBed.run { bed in
            let sink = bed.sink()
            let bytes = sinkTestBytes(70_000, seed: 10)
            let file = try bed.spool(bytes)
            bed.proxy.inject(.init(missingETagPut: 1))
            try await sink.store(file, at: key)
            #expect(bed.proxy.counters.requests == ["PUT": 1, "HEAD": 1])
            #expect(bed.stored(key) == bytes)
        }
    }

    @Test("a 23 MiB file goes up in 5 MiB parts, byte-identical, and is not sent again")
    func multipartUploadIsByteIdentical() async throws {
        try await SinkTestBed.run { bed in
            let sink = bed.sink(multipartThreshold: 8 << 20, minimumPartSize: 5 << 20)
            let bytes = sinkTestBytes(23 << 20, seed: 5)
            let file = try bed.spool(bytes)
            let etag = try await sink.store(file, at: key)
            #expect(bed.stored(key) == bytes)
            let headETag = try await sink.existingObject(at: key)?.etag
            #expect(etag != nil && etag == headETag, "the ETag returned is the one HEAD reports")
            let counters = bed.proxy.counters
            #expect(counters.partsForwarded == 5)
            #expect(counters.putBytesForwarded == file.size)
            #expect(counters.requests["POST"] == 2, "one upload created, one completed")
            #expect(counters.mostConcurrentPuts > 1 && counters.mostConcurrentPuts <= 3, "parts go up 3 at a time")
            #expect(try await bed.ledger.multipartUpload(forKey: key) == nil)
            #expect(try await bed.uploadsInProgress().isEmpty)
            #expect(try await sink.existingObject(at: key)?.matches(file) == true)

            bed.proxy.resetCounters()
            try await sink.store(file, at: key)
            #expect(bed.proxy.counters.requests == ["HEAD": 1], "an identical object is not uploaded again")
        }
    }

    @Test("an upload cut short resumes in a new sink with only the missing parts")
    func interruptedUploadResumes() async throws {
        try await SinkTestBed.run { bed in
            let bytes = sinkTestBytes(23 << 20, seed: 6)
            let file = try bed.spool(bytes)
            let partSize: Int64 = 5 << 20
            bed.proxy.inject(.init(partsBeforeFailure: 2))
            let error = await #expect(throws: TransferError.self) {
                try await bed.sink(multipartThreshold: 8 << 20, minimumPartSize: partSize).store(file, at: key)
            }
            #expect(error?.isRetryable == true)
            let record = try #require(try await bed.ledger.multipartUpload(forKey: key))
            #expect(record.parts.count == 2)
            #expect(try await bed.uploadsInProgress().map(\.uploadID) == [record.uploadID])
            let sentBefore = bed.proxy.counters.putBytesForwarded

            bed.proxy.inject(.init())
            bed.proxy.resetCounters()
            // A new sink, as after a restart: only the ledger remembers the upload.
            try await bed.sink(multipartThreshold: 8 << 20, minimumPartSize: partSize).store(file, at: key)
            let counters = bed.proxy.counters
            #expect(counters.requests["POST"] == 1, "no new upload: only Complete")
            #expect(counters.partsForwarded == 3)
            #expect(counters.putBytesForwarded == file.size - record.parts.reduce(0) { $0 + $1.size })
            #expect(sentBefore + counters.putBytesForwarded < file.size + partSize)
            #expect(bed.stored(key) == bytes)
            #expect(try await bed.ledger.multipartUpload(forKey: key) == nil)
            #expect(try await bed.uploadsInProgress().isEmpty)
        }
    }

    @Test("an upload the store no longer knows is started over")
    func vanishedUploadStartsOver() async throws {
        try await SinkTestBed.run { bed in
            let sink = bed.sink(multipartThreshold: 1 << 20, minimumPartSize: 1 << 20)
            let bytes = sinkTestBytes((3 << 20) + 17, seed: 7)
            let file = try bed.spool(bytes)
            bed.proxy.inject(.init(partsBeforeFailure: 1))
            await #expect(throws: TransferError.self) { try await sink.store(file, at: key) }
            let record = try #require(try await bed.ledger.multipartUpload(forKey: key))
            try await bed.client(throughProxy: false).abortMultipartUpload(key: key, uploadID: record.uploadID)

            bed.proxy.inject(.init())
            try await sink.store(file, at: key)
            #expect(bed.stored(key) == bytes)
            #expect(try await bed.ledger.multipartUpload(forKey: key) == nil)
            #expect(bed.logs.lines.contains { $0.contains("starting it over") })
        }
    }

    @Test("a permanent error aborts the upload: nothing is left at the store or in the ledger")
    func permanentErrorAbortsTheUpload() async throws {
        try await SinkTestBed.run { bed in
            let sink = bed.sink(multipartThreshold: 1 << 20, minimumPartSize: 1 << 20)
            let file = try bed.spool(sinkTestBytes(3 << 20, seed: 8))
            bed.proxy.inject(.init(partsBeforeFailure: 1, partFailure: (403, "AccessDenied")))
            let error = await #expect(throws: TransferError.self) { try await sink.store(file, at: key) }
            #expect(error?.code == "AccessDenied")
            #expect(error?.isRetryable == false)
            #expect(bed.proxy.counters.requests["DELETE"] == 1)
            #expect(try await bed.ledger.multipartUpload(forKey: key) == nil)
            #expect(try await bed.uploadsInProgress().isEmpty)
            #expect(bed.stored(key) == nil)
        }
    }

    @Test("stale uploads are aborted: the ledger's and the store's under the prefix, nothing else")
    func staleUploadsAreAborted() async throws {
        try await SinkTestBed.run { bed in
            let now = Date()
            let twoDaysAgo = now.addingTimeInterval(-2 * 86_400)
            let inAnHour = now.addingTimeInterval(3600)
            let file = try bed.spool(sinkTestBytes(2 << 20, seed: 9))
            bed.proxy.inject(.init(partsBeforeFailure: 0))
            // Left by a retryable failure two days ago (by the ledger's clock).
            await #expect(throws: TransferError.self) {
                try await bed.sink(multipartThreshold: 1 << 20, minimumPartSize: 1 << 20, clock: ManualWallClock(now: twoDaysAgo))
                    .store(file, at: "cdnlog/old.gz")
            }
            // In progress, recorded an hour ahead: as if the store's clock were behind ours.
            await #expect(throws: TransferError.self) {
                try await bed.sink(multipartThreshold: 1 << 20, minimumPartSize: 1 << 20, clock: ManualWallClock(now: inAnHour))
                    .store(file, at: "cdnlog/recent.gz")
            }
            bed.proxy.inject(.init())
            let direct = bed.client(throughProxy: false)
            // Created, then a crash before the ledger recorded it.
            _ = try await direct.createMultipartUpload(key: "cdnlog/orphan.gz")
            // Someone else's, outside the service's prefix.
            _ = try await direct.createMultipartUpload(key: "other/upload.gz")
            let sink = bed.sink()

            #expect(await sink.abortUploads(startedBefore: now.addingTimeInterval(-86_400), keyPrefix: "cdnlog/") == 1)
            #expect(try await bed.ledger.multipartUpload(forKey: "cdnlog/old.gz") == nil)
            #expect(try await bed.uploadsInProgress().map(\.key).sorted() == ["cdnlog/orphan.gz", "cdnlog/recent.gz", "other/upload.gz"])

            // Without a prefix the store's listing could be anyone's: only the ledger is trusted.
            #expect(await sink.abortUploads(startedBefore: Date().addingTimeInterval(60), keyPrefix: "") == 0)
            #expect(try await bed.uploadsInProgress().count == 3)

            #expect(await sink.abortUploads(startedBefore: Date().addingTimeInterval(60), keyPrefix: "cdnlog/") == 1)
            #expect(try await bed.uploadsInProgress().map(\.key).sorted() == ["cdnlog/recent.gz", "other/upload.gz"])
            #expect(try await bed.ledger.multipartUpload(forKey: "cdnlog/recent.gz") != nil)
            #expect(bed.logs.lines.filter { $0.contains("multipart upload aborted") }.count == 2)
        }
    }
}

/// The pure parts: how files are cut, the S3 multipart ETag, what counts as an MD5 ETag.
@Suite("Object store sink: multipart plan")
struct ObjectStoreSinkPlanTests {
    /// File size, minimum part size, expected part size, expected part count.
    static let cases: [(Int64, Int64, Int64, Int)] = [
        (1 << 30, 8 << 20, 8 << 20, 128),
        (100 << 30, 8 << 20, 11 << 20, 9_310),
        (5 << 40, 8 << 20, 525 << 20, 9_987),
        (64 << 20, 8 << 20, 8 << 20, 8),
        (23 << 20, 5 << 20, 5 << 20, 5),
        (100 << 10, 32 << 10, 32 << 10, 4),
    ]

    @Test(
        "parts are the minimum size unless that makes more than 10,000, then a whole number of MiB",
        arguments: ObjectStoreSinkPlanTests.cases)
    func partSizes(fileSize: Int64, minimum: Int64, partSize: Int64, count: Int) {
        let plan = MultipartPlan(fileSize: fileSize, minimumPartSize: minimum)
        #expect(plan.partSize == partSize)
        #expect(plan.partCount == count)
        #expect(plan.partCount <= MultipartPlan.maximumPartCount)
        let last = plan.range(ofPart: count)
        #expect(last.offset + last.length == fileSize)
        #expect(last.length > 0 && last.length <= partSize)
    }

    @Test("the S3 multipart ETag is the MD5 of the parts' MD5s, with the part count")
    func multipartETag() {
        // md5("hello "), md5("world"); the expected value computed with Python's hashlib.
        let etag = MultipartPlan.multipartETag(partMD5s: ["f814893777bcc2295fff05f00e508da6", "7d793037a0760186574b0282f2f435e7"])
        #expect(etag == "e09e4fd6265b36115fe3db32df945d84-2")
    }

    @Test("only a plain 32-digit hex ETag counts as an MD5")
    func plainMD5() {
        #expect(ObjectStoreSink.plainMD5("B1946AC92492D2347C6235B4D2611184") == "b1946ac92492d2347c6235b4d2611184")
        #expect(ObjectStoreSink.plainMD5("0374a70397ce7f7e8e0de4b3425c691b-3") == nil)
        #expect(ObjectStoreSink.plainMD5("b1946ac92492d2347c6235b4d261118") == nil)
        #expect(ObjectStoreSink.plainMD5("z1946ac92492d2347c6235b4d2611184") == nil)
        #expect(ObjectStoreSink.plainMD5(nil) == nil)
    }
}
