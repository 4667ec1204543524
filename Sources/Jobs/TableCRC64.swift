/// CRC-64/XZ by slicing-by-8 in Swift: what `CRC64` computes with when the package is built without
/// ISA-L (the `ISAL` trait off), and what the `transfer` benchmark measures beside ISA-L's.
package struct TableCRC64 {
    /// The running register, before the final XOR.
    private var register: UInt64 = ~0

    /// The checksum of every byte fed so far.
    package var value: UInt64 { ~register }

    /// Nothing fed yet.
    package init() {}

    /// Going on from the finished checksum `value` of the bytes fed before.
    package init(continuing value: UInt64) { register = ~value }

    /// Feeds `bytes`.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        register = Self.tables.withUnsafeBufferPointer { tables in
            Self.advance(register, base, bytes.count, tables)
        }
    }

    /// `tables[k * 256 + b]`: the register contribution of byte `b` followed by `k` zero bytes.
    private static let tables: [UInt64] = {
        var tables = [UInt64](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt64(byte)
            for _ in 0..<8 {
                crc = crc & 1 != 0 ? (crc >> 1) ^ 0xC96C_5795_D787_0F42 : crc >> 1
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
}
