import CPolyval
import Crypto

/// The digest that recognises a sender's retry: a keyed hash of the decompressed body.
///
/// POLYVAL (RFC 8452) under the first 16 bytes of the spool's key, over the body padded with zero bytes
/// to whole 16-byte blocks; then HMAC-SHA-256, under the key's other 16 bytes, of that value and the
/// body's length (8 bytes, little-endian), so bodies that differ only in trailing zero bytes differ.
/// For two different bodies of up to n blocks, POLYVAL agrees under at most n of the 2^128 keys: with a
/// random key no sender knows, two different 4 MiB bodies share a digest with probability at most
/// 2^-110. The HMAC keeps the POLYVAL key from being solved for from stored digests.
///
/// It replaced SHA-256, which cost 0.72 ns per byte on one core, about an eighth of the durable
/// route's CPU; POLYVAL with the carry-less multiplication instruction costs about 0.2, and about half
/// that where the instruction takes 256-bit registers (VPCLMULQDQ).
public struct BodyDigest: Sendable {
    /// Bytes of key: 16 for POLYVAL, 16 for the HMAC.
    public static let keyByteCount = 32

    private let polyvalKey: polyval_key
    private let macKey: SymmetricKey

    /// A digest under `key` (`keyByteCount` bytes, e.g. `StreamSpool.bodyDigestKey`).
    public init(key: [UInt8]) {
        precondition(key.count == Self.keyByteCount, "a body digest key is \(Self.keyByteCount) bytes")
        polyvalKey = Self.polyvalKey(key)
        macKey = SymmetricKey(data: key[16...])
    }

    /// The POLYVAL key made ready from the first 16 bytes of `key`.
    private static func polyvalKey(_ key: [UInt8]) -> polyval_key {
        precondition(key.count >= 16, "a POLYVAL key is 16 bytes")
        var prepared = polyval_key()
        key.withUnsafeBufferPointer { polyval_key_init(&prepared, $0.baseAddress) }
        return prepared
    }

    /// The 32-byte digest of `body`.
    public func digest(of body: UnsafeRawBufferPointer) -> [UInt8] {
        var value = [UInt8](repeating: 0, count: 24)
        withUnsafePointer(to: polyvalKey) { key in
            value.withUnsafeMutableBufferPointer { out in
                polyval_hash(key, body.baseAddress?.assumingMemoryBound(to: UInt8.self), body.count, out.baseAddress)
            }
        }
        for index in 0..<8 { value[16 + index] = UInt8(truncatingIfNeeded: UInt64(body.count) >> (8 * index)) }
        return Array(HMAC<SHA256>.authenticationCode(for: value, using: macKey))
    }

    /// POLYVAL alone, by `path` (`POLYVAL_PATH_...`; the widest this processor has by default, and the
    /// widest it has below `path` where it lacks `path`), for tests.
    static func polyval(key: [UInt8], _ data: [UInt8], path: Int = Int(POLYVAL_PATH_WIDE)) -> [UInt8] {
        var prepared = polyvalKey(key)
        var out = [UInt8](repeating: 0, count: 16)
        data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                polyval_hash_using(&prepared, input.baseAddress, input.count, output.baseAddress, Int32(path))
            }
        }
        return out
    }

    /// The widest way POLYVAL is computed here (`POLYVAL_PATH_...`).
    static var widestPath: Int { Int(polyval_widest_path()) }

    /// Whether POLYVAL runs on the carry-less multiplication instruction here.
    static var accelerated: Bool { polyval_accelerated() != 0 }
}
