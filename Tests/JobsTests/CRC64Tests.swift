import Testing

@testable import Jobs

/// CRC-64/XZ as COS computes it (`x-cos-hash-crc64ecma`).
@Suite struct CRC64Tests {
    @Test func matchesThePublishedCheckValues() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 11_051_210_869_376_104_954)
        #expect(CRC64.checksum([UInt8]()) == 0)
        #expect(CRC64.checksum(Array("ObjectContent".utf8)) == 2_900_061_071_848_923_409)
        #expect(CRC64().value == 0)
    }

    @Test func matchesABitwiseReferenceOnEveryLengthUpTo100() {
        let data = pseudoRandomBytes(count: 100, seed: 7)
        for length in 0...data.count {
            #expect(CRC64.checksum(data[..<length]) == bitwiseCRC64(data[..<length]), "length \(length)")
        }
    }

    @Test func doesNotDependOnHowTheInputIsSplit() {
        let data = pseudoRandomBytes(count: 100_000, seed: 42)
        let whole = CRC64.checksum(data)
        #expect(whole == bitwiseCRC64(data))
        for chunkSizes in [[1], [3, 5, 7], [8], [9, 1000, 1], [4096], [65_537, 13]] {
            var crc = CRC64()
            var offset = 0
            var turn = 0
            while offset < data.count {
                let end = min(data.count, offset + chunkSizes[turn % chunkSizes.count])
                data[offset..<end].withUnsafeBytes { crc.update($0) }
                offset = end
                turn += 1
            }
            #expect(crc.value == whole, "chunks \(chunkSizes)")
        }
    }

    @Test func acceptsNonContiguousSequences() {
        let data = pseudoRandomBytes(count: 10_000, seed: 3)
        #expect(CRC64.checksum(data.lazy.map { $0 }) == CRC64.checksum(data))
        #expect(CRC64.checksum("123456789".utf8) == 11_051_210_869_376_104_954)
    }

    @Test func combinesTheChecksumsOfTwoParts() {
        let data = pseudoRandomBytes(count: 5000, seed: 9)
        for cut in [0, 1, 7, 8, 1000, 4999, 5000] {
            let first = CRC64.checksum(data[..<cut])
            let second = CRC64.checksum(data[cut...])
            #expect(CRC64.combine(first, second, secondLength: Int64(data.count - cut)) == CRC64.checksum(data), "cut \(cut)")
        }
    }
}

/// One bit at a time, straight from the definition.
func bitwiseCRC64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var crc: UInt64 = ~0
    for byte in bytes {
        crc ^= UInt64(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xC96C_5795_D787_0F42 : crc >> 1 }
    }
    return ~crc
}

/// Deterministic bytes (SplitMix64), so failures reproduce.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt8(truncatingIfNeeded: mixed ^ (mixed >> 31))
    }
}
