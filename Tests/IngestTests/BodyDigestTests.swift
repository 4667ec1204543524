import CPolyval
import Crypto
import Foundation
import GRDB
import JobModel
import TestSupport
import Testing
@testable import Ingest
@testable import Store

/// The keyed body digest that recognises a sender's retry: POLYVAL as RFC 8452 defines it, the same by
/// the carry-less multiplication and by the portable code, and a retry across the upgrade from SHA-256
/// digests still recognised.
@Suite("Body digest")
struct BodyDigestTests {
    @Test("POLYVAL gives RFC 8452's value, by both paths")
    func rfcVector() {
        let key = bytes(hex: "25629347589242761d31f826ba4b757b")
        let data = bytes(hex: "4f4f95668c83dfb6401762bb2d01a262") + bytes(hex: "d1a24ddd2721d006bbe45f20d3c9f362")
        let expected = bytes(hex: "f7a3b47b846119fae5b7866cf5e5b77e")
        for path in Self.paths { #expect(BodyDigest.polyval(key: key, data, path: path) == expected, "path \(path)") }
    }

    @Test("each path is on where /proc/cpuinfo shows its instructions, and they agree with each other and the definition")
    func pathsAgree() throws {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ").map(String.init) } ?? []
        let expected = flags.contains("vpclmulqdq") && flags.contains("avx2") ? Int(POLYVAL_PATH_WIDE) : flags.contains("pclmulqdq") ? Int(POLYVAL_PATH_CLMUL) : Int(POLYVAL_PATH_PORTABLE)
        #expect(BodyDigest.widestPath == expected)
        var random = SystemRandomNumberGenerator()
        let key = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        let data = (0..<9000).map { _ in UInt8.random(in: 0...255, using: &random) }
        for length in Array(0...300) + [511, 512, 513, 1023, 1024, 1025, 8191, 9000] {
            let slice = Array(data[(length % 5)...].prefix(length))
            let portable = BodyDigest.polyval(key: key, slice, path: Int(POLYVAL_PATH_PORTABLE))
            #expect(BodyDigest.polyval(key: key, slice, path: Int(POLYVAL_PATH_CLMUL)) == portable, "length \(length)")
            #expect(BodyDigest.polyval(key: key, slice, path: Int(POLYVAL_PATH_WIDE)) == portable, "length \(length)")
            if length <= 80 { #expect(portable == Self.polyvalByDefinition(key: key, slice), "length \(length)") }
        }
    }

    /// The paths POLYVAL can take, portable first.
    static let paths = [Int(POLYVAL_PATH_PORTABLE), Int(POLYVAL_PATH_CLMUL), Int(POLYVAL_PATH_WIDE)]

    @Test("the digest depends on every byte, the length and the key")
    func digestSeparates() {
        let key = [UInt8](repeating: 7, count: 32)
        let digest = BodyDigest(key: key)
        let body = Array("{\"a\":1}\n{\"a\":2}\n".utf8)
        let value = body.withUnsafeBytes { digest.digest(of: $0) }
        #expect(value.count == 32)
        #expect(value == body.withUnsafeBytes { BodyDigest(key: key).digest(of: $0) })
        #expect(value != (body + [0]).withUnsafeBytes { digest.digest(of: $0) })
        var changed = body
        changed[3] ^= 1
        #expect(value != changed.withUnsafeBytes { digest.digest(of: $0) })
        var otherKey = key
        otherKey[20] ^= 1
        #expect(value != body.withUnsafeBytes { BodyDigest(key: otherKey).digest(of: $0) })
    }

    @Test("each spool gets its own random key, kept across a reopen")
    func keyPerSpool() async throws {
        let first = try await IngestTestBed()
        let second = try await IngestTestBed()
        #expect(first.spool.bodyDigestKey.count == BodyDigest.keyByteCount)
        #expect(first.spool.bodyDigestKey != second.spool.bodyDigestKey)
        let reopened = try SQLiteStreamSpool(store: first.store, directory: first.directory.appendingPathComponent("spool/stream").path, encode: { $0 })
        #expect(reopened.bodyDigestKey == first.spool.bodyDigestKey)
        await first.stop()
        await second.stop()
    }

    @Test("a body accepted before keyed digests (its SHA-256 recorded) is still a repeat after the upgrade, until the window forgets it")
    func repeatAcrossTheUpgrade() async throws {
        let body = [SenderLog.line(time: "09:01:00"), SenderLog.line(time: "09:02:00")].joined(separator: "\n").bytes
        let bed = try await IngestTestBed(beforeSpoolOpens: { store in
            // What the version before keyed digests left: the body accepted ten minutes ago, by its SHA-256.
            try await store.pool.write { db in
                try db.execute(
                    sql: "INSERT INTO stream_bodies (sha256, accepted_at) VALUES (?, ?)",
                    arguments: [Data(SHA256.hash(data: body)), Int64(IngestTestBed.start.timeIntervalSince1970) - 600])
            }
        })
        do {
            #expect(bed.spool.holdsSHA256Digests)
            let again = try await bed.post(body)
            #expect(again.status == 200)
            #expect(again.text == #"{"accepted":0,"repeated":true}"#)
            let other = [SenderLog.line(time: "09:03:00")].joined(separator: "\n").bytes
            #expect(try await bed.post(other).text == #"{"accepted":1,"quarantined":0}"#)
            #expect(try await bed.post(other).text == #"{"accepted":0,"repeated":true}"#)
            bed.clock.advance(by: 2 * 3600)
            try await bed.sealAndUpload()
            #expect(!bed.spool.holdsSHA256Digests)
            #expect(try bed.object(try bed.key(part: 1)) == other + [0x0A])
        } catch {
            await bed.stop()
            throw error
        }
        await bed.stop()
    }

    private func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    /// POLYVAL straight from RFC 8452's definition, one bit at a time: dot(a, b) = a * b * x^-128 modulo
    /// x^128 + x^127 + x^126 + x^121 + 1, elements little-endian.
    static func polyvalByDefinition(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        func element(_ bytes: ArraySlice<UInt8>) -> UInt128 {
            bytes.enumerated().reduce(UInt128(0)) { $0 | UInt128($1.element) << (8 * $1.offset) }
        }
        let low: UInt128 = (1 << 127) | (1 << 126) | (1 << 121) | 1
        func dot(_ a: UInt128, _ b: UInt128) -> UInt128 {
            var product: UInt128 = 0
            var shifted = a
            for bit in 0..<128 {
                if (b >> bit) & 1 == 1 { product ^= shifted }
                let carry = shifted >> 127
                shifted <<= 1
                if carry == 1 { shifted ^= low }
            }
            for _ in 0..<128 {
                // Times x^-1: add the modulus when the constant term is set, then divide by x.
                product = product & 1 == 1 ? ((product ^ low) >> 1) | (1 << 127) : product >> 1
            }
            return product
        }
        let h = element(key[...])
        var s: UInt128 = 0
        var offset = 0
        while offset < data.count {
            var block = Array(data[offset..<min(offset + 16, data.count)])
            block += [UInt8](repeating: 0, count: 16 - block.count)
            s = dot(s ^ element(block[...]), h)
            offset += 16
        }
        return (0..<16).map { UInt8(truncatingIfNeeded: s >> (8 * $0)) }
    }
}
