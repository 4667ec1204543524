/// CRC-64/XZ, the checksum COS reports as `x-cos-hash-crc64ecma` (written there as an unsigned decimal).
///
/// Polynomial 0x42F0E1EBA9EA3693 processed reflected (0xC96C5795D7870F42), initial value and final XOR
/// all ones. Check values: `"123456789"` gives 11051210869376104954, `""` gives 0.
///
/// Table-driven, slicing-by-8: eight bytes per step through eight 256-entry tables. Feed bytes in chunks
/// of any size; the result does not depend on how the input was split.
public struct CRC64: Sendable, Equatable {
    /// The reflected polynomial.
    public static let reflectedPolynomial: UInt64 = 0xC96C_5795_D787_0F42

    /// The running register, before the final XOR.
    private var register: UInt64 = ~0

    /// Creates a checksum of nothing yet.
    public init() {}

    /// The checksum of every byte fed so far.
    public var value: UInt64 { ~register }

    /// Feeds `bytes`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        register = Self.tables.withUnsafeBufferPointer { tables in
            Self.advance(register, base, bytes.count, tables)
        }
    }

    /// Feeds `bytes` (any sequence of bytes; contiguous ones take the fast path).
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        guard handled == nil else { return }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(4096)
        for byte in bytes {
            chunk.append(byte)
            if chunk.count == 4096 {
                chunk.withUnsafeBytes { update($0) }
                chunk.removeAll(keepingCapacity: true)
            }
        }
        chunk.withUnsafeBytes { update($0) }
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var crc = CRC64()
        crc.update(bytes)
        return crc.value
    }

    /// The checksum of A followed by B, from the checksum of A, the checksum of B and B's length in bytes.
    ///
    /// Lets multipart uploads check the whole object's CRC64 from per-part values. Takes O(log n) time
    /// (zlib's GF(2) matrix method).
    public static func combine(_ first: UInt64, _ second: UInt64, secondLength: Int64) -> UInt64 {
        guard secondLength > 0 else { return first }
        // `odd` and `even` are operators that advance a CRC register over 2^k zero bits.
        var odd = [UInt64](repeating: 0, count: 64)
        odd[0] = reflectedPolynomial
        var row: UInt64 = 1
        for index in 1..<64 {
            odd[index] = row
            row <<= 1
        }
        var even = square(odd)  // two zero bits
        odd = square(even)  // four zero bits
        var crc = first
        var remaining = UInt64(secondLength)
        repeat {
            even = square(odd)  // first pass: one zero byte
            if remaining & 1 != 0 { crc = times(even, crc) }
            remaining >>= 1
            if remaining == 0 { break }
            odd = square(even)
            if remaining & 1 != 0 { crc = times(odd, crc) }
            remaining >>= 1
        } while remaining != 0
        return crc ^ second
    }

    // MARK: - Implementation

    /// `tables[k * 256 + b]`: the register contribution of byte `b` followed by `k` zero bytes.
    private static let tables: [UInt64] = {
        var tables = [UInt64](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt64(byte)
            for _ in 0..<8 {
                crc = crc & 1 != 0 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1
            }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            var crc = tables[byte]
            for slice in 1..<8 {
                crc = tables[Int(crc & 0xFF)] ^ (crc >> 8)
                tables[slice * 256 + byte] = crc
            }
        }
        return tables
    }()

    /// Advances `register` over `count` bytes at `base`.
    private static func advance(
        _ register: UInt64, _ base: UnsafeRawPointer, _ count: Int, _ tables: UnsafeBufferPointer<UInt64>
    ) -> UInt64 {
        // Safe: `tables` holds 8 * 256 entries and every index below is (slice * 256) + one byte.
        let table = tables.baseAddress.unsafelyUnwrapped
        var crc = register
        var offset = 0
        while count - offset >= 8 {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) ^ crc
            crc = table[7 * 256 + Int(word & 0xFF)]
                ^ table[6 * 256 + Int((word >> 8) & 0xFF)]
                ^ table[5 * 256 + Int((word >> 16) & 0xFF)]
                ^ table[4 * 256 + Int((word >> 24) & 0xFF)]
                ^ table[3 * 256 + Int((word >> 32) & 0xFF)]
                ^ table[2 * 256 + Int((word >> 40) & 0xFF)]
                ^ table[1 * 256 + Int((word >> 48) & 0xFF)]
                ^ table[Int(word >> 56)]
            offset += 8
        }
        while offset < count {
            let byte = base.load(fromByteOffset: offset, as: UInt8.self)
            crc = table[Int((crc ^ UInt64(byte)) & 0xFF)] ^ (crc >> 8)
            offset += 1
        }
        return crc
    }

    /// Applies the GF(2) matrix `matrix` to `vector`.
    private static func times(_ matrix: [UInt64], _ vector: UInt64) -> UInt64 {
        var sum: UInt64 = 0
        var vector = vector
        var index = 0
        while vector != 0 {
            if vector & 1 != 0 { sum ^= matrix[index] }
            vector >>= 1
            index += 1
        }
        return sum
    }

    /// The square of the GF(2) matrix `matrix`.
    private static func square(_ matrix: [UInt64]) -> [UInt64] {
        (0..<64).map { times(matrix, matrix[$0]) }
    }
}
