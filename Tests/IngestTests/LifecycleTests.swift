import Foundation
import Ingest
import JobModel
import Testing
import TestSupport

/// Sealing, late parts and backpressure: what happens to accepted lines after the 2xx.
@Suite("Ingest lifecycle")
struct LifecycleTests {
    @Test("an hour is sealed only after its grace period, into a stream window of the job table")
    func sealingWaitsForTheGrace() async throws {
        let bed = try await IngestTestBed()
        do {
            #expect(try await bed.post(SenderLog.line(time: "09:10:00").bytes).status == 200)
            bed.clock.advance(by: 15 * 60 - 1)
            #expect(try await bed.sealAndUpload().isEmpty)
            #expect(try await bed.store.streamStatus().first?.openHours == 1)
            bed.clock.advance(by: 1)
            #expect(try await bed.sealer.sealDueHours() == 1)
            let status = try #require(try await bed.store.streamStatus().first)
            #expect(status.openHours == 0)
            #expect(status.sealedHoursWaiting == 1)
            let jobs = try await bed.store.jobs(matching: JobFilter(), limit: 10)
            #expect(jobs.map(\.window) == [Window(source: "stream", domain: "www.example.com", hour: IngestTestBed.eventHour)])
            #expect(jobs.first?.state == .pending)
            try await bed.sealAndUpload()
            #expect(try await bed.store.streamStatus().first?.sealedHoursWaiting == 0)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("late lines for a sealed hour go to a second part; the first part's object is untouched")
    func lateDataMakesSecondPart() async throws {
        let bed = try await IngestTestBed()
        do {
            let first = [SenderLog.line(time: "09:01:00"), SenderLog.line(time: "09:02:00")].joined(separator: "\n")
            #expect(try await bed.post(first.bytes).status == 200)
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            let firstObject = try #require(bed.rawObject(try bed.key(part: 1)))
            let late = SenderLog.line(time: "09:59:59")
            bed.clock.advance(by: 3600)
            #expect(try await bed.post(late.bytes).status == 200)
            let ran = try await bed.sealAndUpload()
            #expect(ran.count == 1)
            #expect(bed.rawObject(try bed.key(part: 1)) == firstObject)
            #expect(try bed.object(try bed.key(part: 1)) == (first + "\n").bytes)
            #expect(try bed.object(try bed.key(part: 2)) == (late + "\n").bytes)
            #expect(try bed.key(part: 2).hasSuffix("stream-2026110109-part2.json.gz"))
            let parts = try await bed.store.parts(domain: "www.example.com", hour: IngestTestBed.eventHour)
            #expect(parts.map(\.part) == [1, 2])
            #expect(parts.allSatisfy { $0.state == "uploaded" })
            let files = try await bed.store.files(ofJob: try #require(try await bed.store.jobs(matching: JobFilter(), limit: 1).first).id)
            #expect(files.map(\.name).sorted() == ["part1", "part2"])
            // Running the window again stores nothing new and keeps both objects.
            #expect(try await bed.transfer.transfer(ran[0]) == .stored(files.sorted { $0.name < $1.name }.map { file in
                var file = file
                file.skipped = true
                file.crc64 = 0
                file.md5 = ""
                file.sha256 = ""
                return file
            }))
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("a full spool answers 503 with Retry-After; once uploaded, the sender's retry is accepted and nothing is lost")
    func backpressure() async throws {
        let first = [SenderLog.line(time: "09:01:00"), SenderLog.line(time: "09:02:00")].joined(separator: "\n")
        let second = [SenderLog.line(time: "09:03:00"), SenderLog.line(time: "09:04:00"), SenderLog.line(time: "09:05:00")].joined(separator: "\n")
        // Room for either batch alone, not for both.
        let quota = Int64(second.utf8.count + 1 + 10)
        let bed = try await IngestTestBed { $0.spoolQuotaBytes = quota }
        do {
            #expect(try await bed.post(first.bytes).status == 200)
            let refused = try await bed.post(second.bytes)
            #expect(refused.status == 503)
            #expect(refused.retryAfter == "5")
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            #expect(try await bed.store.spoolBytes() == 0)
            #expect(try await bed.post(second.bytes).status == 200)
            bed.clock.advance(by: 60)
            try await bed.sealAndUpload()
            #expect(try bed.object(try bed.key(part: 1)) == (first + "\n").bytes)
            #expect(try bed.object(try bed.key(part: 2)) == (second + "\n").bytes)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("an hour past ingest.max_part_bytes is split into parts, each sealed when full; every line stored once, in order")
    func largeHourIsSplitBySize() async throws {
        let lines = (0..<6).map { SenderLog.line(time: String(format: "09:%02d:00", $0)) }
        let lineBytes = Int64(lines[0].utf8.count + 1)
        // Two lines fit in a part, three do not.
        let bed = try await IngestTestBed { $0.maxPartBytes = 2 * lineBytes + 10 }
        do {
            for line in lines { #expect(try await bed.post(line.bytes).status == 200) }
            // Before the hour's grace is over, the full parts are sealed already and can be uploaded.
            try await bed.sealAndUpload()
            #expect(try bed.object(try bed.key(part: 1)) == (lines[0] + "\n" + lines[1] + "\n").bytes)
            #expect(try bed.object(try bed.key(part: 2)) == (lines[2] + "\n" + lines[3] + "\n").bytes)
            #expect(try bed.object(try bed.key(part: 3)) == nil)
            #expect(try await bed.store.streamStatus().first?.openHours == 1)
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            #expect(try bed.object(try bed.key(part: 3)) == (lines[4] + "\n" + lines[5] + "\n").bytes)
            let parts = try await bed.store.parts(domain: "www.example.com", hour: IngestTestBed.eventHour)
            #expect(parts.map(\.part) == [1, 2, 3])
            #expect(parts.allSatisfy { $0.state == "uploaded" && $0.lineCount == 2 })
            #expect(try await bed.store.spoolBytes() == 0)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("quarantined lines older than ingest.quarantine_retention_hours are deleted and stop counting toward the quota")
    func quarantineRetention() async throws {
        let bad = "{not json " + String(repeating: "x", count: 800)
        let good = SenderLog.line(time: "09:01:00")
        // Room for the quarantined line and one good line, not for a second good line while the bad one is kept.
        let quota = Int64(bad.utf8.count + good.utf8.count + 1 + 10)
        let bed = try await IngestTestBed {
            $0.spoolQuotaBytes = quota
            $0.quarantineRetentionHours = 2
        }
        do {
            #expect(try await bed.post((bad + "\n" + good).bytes).status == 200)
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            #expect(try await bed.store.spoolBytes() == Int64(bad.utf8.count))
            let second = SenderLog.line(time: "09:02:00") + "\n" + SenderLog.line(time: "09:03:00")
            #expect(try await bed.post(second.bytes).status == 503)
            bed.clock.advance(by: 2 * 3600 - 15 * 60 - 1)
            try await bed.sealer.sealDueHours()
            #expect(try await bed.store.spoolBytes() == Int64(bad.utf8.count), "kept until the retention is over")
            bed.clock.advance(by: 2)
            try await bed.sealer.sealDueHours()
            #expect(try await bed.store.spoolBytes() == 0)
            let status = try #require(try await bed.store.streamStatus().first)
            #expect(status.linesQuarantined == 1, "the count of lines quarantined stays")
            #expect(try await bed.post(second.bytes).status == 200)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("past ingest.max_connections a new connection is not served until one closes; the sender's retry is then stored once")
    func connectionBound() async throws {
        let line = SenderLog.line(time: "09:30:00")
        let bed = try await IngestTestBed { $0.maxConnections = 1 }
        do {
            // A keep-alive connection that was answered (so the server holds it) and then stays open.
            let held = try HeldConnection(port: bed.port, body: SenderLog.line(time: "09:29:00").bytes)
            #expect(held.response.hasPrefix("HTTP/1.1 200"), "\(held.response)")
            // The only place is taken: the next connection waits in the listen backlog, unanswered.
            await #expect(throws: (any Error).self) { try await bed.post(line.bytes, timeout: .seconds(1)) }
            held.close()
            #expect(try await bed.post(line.bytes).status == 200)
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            #expect(try bed.object(try bed.key(part: 1)) == (SenderLog.line(time: "09:29:00") + "\n" + line + "\n").bytes)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("event hours come from date and time in ingest.time_zone, with or without milliseconds")
    func timeZones() async throws {
        let bed = try await IngestTestBed { $0.timeZone = TimeZone(identifier: "Asia/Shanghai")! }
        do {
            // 17:27 in Beijing is 09:27 UTC.
            #expect(try await bed.post(SenderLog.line(time: "17:27:35:142").bytes).status == 200)
            #expect(try await bed.post(SenderLog.line(time: "17:59:59.999").bytes).status == 200)
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            #expect(try bed.object(try bed.key(part: 1)) == (SenderLog.line(time: "17:27:35:142") + "\n" + SenderLog.line(time: "17:59:59.999") + "\n").bytes)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }
}
