#if ISAL
import CISAL
#endif
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

    #if ISAL
    @Test func isalsCRC64ECMAReflectedIsCRC64XZ() {
        // The check value of the CRC-64/XZ catalogue entry, straight from ISA-L: value in, value out.
        let check = Array("123456789".utf8)
        #expect(crc64_ecma_refl(0, check, UInt64(check.count)) == 0x995D_C9BB_DF19_39FA)
        let head = crc64_ecma_refl(0, check, 4)
        #expect(check.withUnsafeBufferPointer { crc64_ecma_refl(head, $0.baseAddress! + 4, 5) } == 0x995D_C9BB_DF19_39FA)
        #expect(crc64_ecma_refl(0, check, 0) == 0)
    }
    #endif

    @Test func theTableUsedWithoutISALAgreesOnEveryLengthUpTo100AndAcrossSplits() {
        let data = pseudoRandomBytes(count: 100, seed: 11)
        for length in 0...data.count {
            var table = TableCRC64()
            data[..<length].withUnsafeBytes { table.update($0) }
            #expect(table.value == bitwiseCRC64(data[..<length]), "length \(length)")
            var continued = TableCRC64(continuing: CRC64.checksum(data[..<(length / 2)]))
            data[(length / 2)..<length].withUnsafeBytes { continued.update($0) }
            #expect(continued.value == table.value, "length \(length) split in two")
        }
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

    @Test func matchesABitwiseReferenceAtLengthsAroundFoldingBlockSizes() {
        // ISA-L folds 128 bytes at a time after a 256-byte minimum; check on both sides of its edges.
        let data = pseudoRandomBytes(count: 70_000, seed: 13)
        for length in [15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 257, 383, 384, 385, 1023, 4097, 65_536, 70_000] {
            #expect(CRC64.checksum(data[..<length]) == bitwiseCRC64(data[..<length]), "length \(length)")
            #expect(CRC64.checksum(data[1..<length]) == bitwiseCRC64(data[1..<length]), "length \(length) unaligned")
        }
    }

    @Test func combinesTheChecksumsOfTwoParts() {
        let data = pseudoRandomBytes(count: 5000, seed: 9)
        for cut in [0, 1, 7, 8, 1000, 4999, 5000] {
            let first = CRC64.checksum(data[..<cut])
            let second = CRC64.checksum(data[cut...])
            #expect(CRC64.combine(first, second, secondLength: Int64(data.count - cut)) == CRC64.checksum(data), "cut \(cut)")
        }
    }

    @Test func combinesPartCRCsOfAMultipartUploadIntoTheObjectsCRC() {
        // As the object-store sinks check COS's x-cos-hash-crc64ecma: parts of unequal size, folded left.
        let data = pseudoRandomBytes(count: 1 << 20, seed: 21)
        let cuts = [0, 262_144, 262_145, 700_000, data.count]
        var combined = CRC64().value
        for (start, end) in zip(cuts, cuts.dropFirst()) {
            combined = CRC64.combine(combined, CRC64.checksum(data[start..<end]), secondLength: Int64(end - start))
        }
        #expect(combined == bitwiseCRC64(data))
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
