import Foundation
import Ingest
import JobModel
import TestSupport
import Testing

/// The receiver's HTTP contract, against a real server on loopback and a real SQLite spool.
@Suite("Ingest protocol")
struct ProtocolTests {
    @Test("JSON_Newline: every line is stored byte for byte, escapes included, in the hour's gzip NDJSON object")
    func newlineBodyStoredByteForByte() async throws {
        let bed = try await IngestTestBed()
        do {
            let lines = [SenderLog.line(time: "09:00:00"), SenderLog.line(time: "09:30:15:142", uri: "/a?x=\\u2029\\u003e"), SenderLog.line(time: "09:59:59")]
            let reply = try await bed.post(("\n" + lines.joined(separator: "\r\n") + "\n\n").bytes)
            #expect(reply.status == 200)
            #expect(reply.text == #"{"accepted":3,"quarantined":0}"#)
            bed.clock.advance(by: 15 * 60)
            let ran = try await bed.sealAndUpload()
            #expect(ran == [Window(source: "stream", domain: "www.example.com", hour: IngestTestBed.eventHour)])
            let stored = try #require(try bed.object(try bed.key(part: 1)))
            #expect(stored == (lines.joined(separator: "\n") + "\n").bytes)
            #expect(String(decoding: stored, as: UTF8.self).contains(#"\u2028 AppleWebKit"#))
            let status = try await bed.store.streamStatus()
            #expect(status.first?.linesAccepted == 3)
            #expect(status.first?.uploadedParts == 1)
            #expect(status.first?.spoolBytes == 0)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("JSON_Array, pretty-printed and gzip-encoded: the elements become NDJSON lines, values unchanged")
    func arrayBodyWithGzip() async throws {
        let bed = try await IngestTestBed()
        do {
            let lines = [SenderLog.line(time: "09:00:01"), SenderLog.line(time: "09:00:02")]
            let body = "  [\n  \(lines[0]),\n\t\(lines[1])\n]\n"
            let reply = try await bed.post(body.bytes, gzip: true)
            #expect(reply.status == 200)
            #expect(reply.text == #"{"accepted":2,"quarantined":0}"#)
            let pretty = #"[{"date": "2026-11-01",\#n "time": "09:10:00", "cs-uri": "/x\u0026y"}]"#
            #expect(try await bed.post(pretty.bytes).status == 200)
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            let stored = try #require(try bed.object(try bed.key(part: 1)))
            #expect(stored == (lines.joined(separator: "\n") + "\n" + #"{"date": "2026-11-01", "time": "09:10:00", "cs-uri": "/x\u0026y"}"# + "\n").bytes)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("the required header: missing or wrong is 401 and stores nothing; right is 200")
    func authenticationHeader() async throws {
        let bed = try await IngestTestBed()
        do {
            let body = SenderLog.line().bytes
            #expect(try await bed.post(body, headers: [:]).status == 401)
            #expect(try await bed.post(body, headers: ["X-Api-Key": "s3crex"]).status == 401)
            #expect(try await bed.post(body, headers: ["X-Api-Key": "s3cret-longer"]).status == 401)
            #expect(try await bed.store.spoolBytes() == 0)
            #expect(try await bed.post(body, headers: ["x-api-key": "s3cret"]).status == 200)
            #expect(try await bed.post(body, path: "/logs/other").status == 404)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("413 for a body over ingest.max_body_bytes and for a gzip bomb; the bomb is inflated only up to the limit")
    func sizeLimits() async throws {
        let bed = try await IngestTestBed { configuration in
            configuration.maxBodyBytes = 64 << 10
            configuration.maxDecompressedBytes = 256 << 10
        }
        do {
            let big = Array(repeating: SenderLog.line(), count: 200).joined(separator: "\n").bytes
            #expect(big.count > 64 << 10)
            #expect(try await bed.post(big).status == 413)
            // 64 MiB of zeros compress to about 64 KiB; with spaces they are a valid-looking body too.
            let bomb = Gzip.compress([UInt8](repeating: 0x20, count: 32 << 20))
            #expect(bomb.count < 64 << 10)
            let bombReply = try await bed.post(bomb, headers: IngestTestBed.authorization.merging(["Content-Encoding": "gzip"]) { $1 })
            #expect(bombReply.status == 413, "\(bombReply.text)")
            #expect(try await bed.post(Array("not gzip at all".utf8), headers: IngestTestBed.authorization.merging(["Content-Encoding": "gzip"]) { $1 }).status == 400)
            #expect(try await bed.store.spoolBytes() == 0)
            #expect(try await bed.post(SenderLog.line().bytes).status == 200)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("400 for garbage, an empty body and a body with no valid line; nothing stored but the quarantine")
    func garbageIsRefused() async throws {
        let bed = try await IngestTestBed()
        do {
            #expect(try await bed.post("hello world".bytes).status == 400)
            #expect(try await bed.post([]).status == 400)
            #expect(try await bed.post("  \n\n ".bytes).status == 400)
            #expect(try await bed.post("[1, 2, \"x\"]".bytes).status == 400)
            #expect(try await bed.post(#"{"date":"2026-11-01"}"#.bytes).status == 400)
            #expect(try await bed.store.streamStatus().reduce(0) { $0 + $1.linesAccepted } == 0)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("a bad line inside a good batch is quarantined and counted; the others are stored")
    func quarantineInsideGoodBatch() async throws {
        let bed = try await IngestTestBed()
        do {
            let body = [
                SenderLog.line(time: "09:01:00"), "{not json", SenderLog.line(time: "25:00:00"), #"{"date":"2026-11-01","cs-uri":"/no-time"}"#,
                "[1]", SenderLog.line(time: "09:02:00"),
            ].joined(separator: "\n")
            let reply = try await bed.post(body.bytes)
            #expect(reply.status == 200)
            #expect(reply.text == #"{"accepted":2,"quarantined":4}"#)
            let status = try #require(try await bed.store.streamStatus().first)
            #expect(status.linesAccepted == 2)
            #expect(status.linesQuarantined == 4)
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            #expect(try bed.object(try bed.key(part: 1)) == (SenderLog.line(time: "09:01:00") + "\n" + SenderLog.line(time: "09:02:00") + "\n").bytes)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("a body sent again (a sender's retry) is acknowledged and stored once")
    func repeatedBodyStoredOnce() async throws {
        let bed = try await IngestTestBed()
        do {
            let body = [SenderLog.line(time: "09:01:00"), SenderLog.line(time: "09:02:00")].joined(separator: "\n").bytes
            #expect(try await bed.post(body).status == 200)
            let again = try await bed.post(body, gzip: true)
            #expect(again.status == 200)
            #expect(again.text == #"{"accepted":0,"repeated":true}"#)
            bed.clock.advance(by: 15 * 60)
            try await bed.sealAndUpload()
            #expect(try bed.object(try bed.key(part: 1)) == body + [0x0A])
            #expect(try await bed.store.streamStatus().first?.bodiesRepeated == 1)
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    @Test("x-disid decides the domain on a shared endpoint; an unknown property is quarantined")
    func disidMap() async throws {
        let shared = IngestEndpoint(path: "/logs", disidDomains: ["12345": "www.example.com", "777": "img.example.com"], headers: ["ctl-cdn": "log_streaming"])
        let bed = try await IngestTestBed { $0.endpoints = [shared] }
        do {
            let body = [
                SenderLog.line(time: "09:01:00"), SenderLog.line(time: "09:02:00", extra: #","x-disid":"777""#),
                #"{"date":"2026-11-01","time":"09:03:00","x-disid":999}"#,
            ].joined(separator: "\n")
            let reply = try await bed.post(body.bytes, path: "/logs", headers: ["ctl-cdn": "log_streaming"])
            #expect(reply.status == 200)
            #expect(reply.text == #"{"accepted":2,"quarantined":1}"#)
            #expect(try await bed.store.streamStatus().map(\.domain) == ["", "img.example.com", "www.example.com"])
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }
}
