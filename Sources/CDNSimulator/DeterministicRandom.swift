/// A small, fast, seedable pseudo-random generator (SplitMix64) whose output is the same on every
/// platform and in every process.
///
/// Swift's `Hasher` and `SystemRandomNumberGenerator` are deliberately unpredictable across processes, so
/// everything the simulator must reproduce (package bytes, empty hours, fault decisions) draws from this
/// generator, seeded from `stableHash` of its inputs.
struct DeterministicRandom: RandomNumberGenerator {
    private var state: UInt64

    /// A generator whose sequence is fully determined by `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// A generator seeded from text parts (e.g. seed, domain, hour, area), joined unambiguously.
    init(_ parts: String...) {
        state = stableHash(parts)
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix64(state)
    }

    /// A uniformly distributed value in `0..<1`, with 53 bits of precision.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniformly distributed integer in `0..<bound` (`bound` > 0); the tiny modulo bias is irrelevant here.
    mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
func mix64(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A 64-bit hash of text parts that is stable across processes and platforms (FNV-1a, then mixed).
///
/// Parts are separated by a byte that cannot occur in UTF-8 text, so `["ab", "c"]` and `["a", "bc"]` differ.
func stableHash(_ parts: [String]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for part in parts {
        for byte in part.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        hash = (hash ^ 0xFF) &* 0x0000_0100_0000_01B3
    }
    return mix64(hash)
}

/// A deterministic value in `0..<1` for the given parts: a coin that always lands the same way.
func stableUnit(_ parts: String...) -> Double {
    Double(stableHash(parts) >> 11) * 0x1.0p-53
}
