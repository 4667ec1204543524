// CRC-32 as gzip defines it (RFC 1952: the reflected polynomial 0xEDB88320, register and result
// inverted), folded 128 bytes at a time with 256-bit carry-less multiplication (VPCLMULQDQ), as in
// Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction": four 256-bit
// accumulators, each two 16-byte blocks, are multiplied forward by x^1024 (two constants per lane, for
// its low and high halves) and the next 128 bytes added; the eight blocks left are folded into one by
// x^128, and the last block and any bytes after it go through zlib's `crc32_z`, which also takes inputs
// too short to fold and processors without the instruction.
#include "crc32_wide.h"

#include <zlib.h>

// The folding constants: bit-reflected x^(D+32) and x^(D-32) modulo the polynomial, shifted left by
// one, for a distance of D = 1024 and D = 128 bits (the low half of a block is multiplied by the first).
#define FOLD_1024_LOW 0x1e88ef372ull
#define FOLD_1024_HIGH 0x14a7fe880ull
#define FOLD_128_LOW 0x1751997d0ull
#define FOLD_128_HIGH 0xccaa009eull

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define CRC_WIDE_TARGET __attribute__((target("avx2,vpclmulqdq,pclmul")))

CRC_WIDE_TARGET static inline __m128i fold128(__m128i x, __m128i constants) {
    return _mm_xor_si128(_mm_clmulepi64_si128(x, constants, 0x00), _mm_clmulepi64_si128(x, constants, 0x11));
}

CRC_WIDE_TARGET static inline __m256i fold256(__m256i x, __m256i constants) {
    return _mm256_xor_si256(_mm256_clmulepi64_epi128(x, constants, 0x00), _mm256_clmulepi64_epi128(x, constants, 0x11));
}

CRC_WIDE_TARGET static uint32_t folded(uint32_t crc, const uint8_t *data, size_t length) {
    const __m128i by128 = _mm_set_epi64x((long long)FOLD_128_HIGH, (long long)FOLD_128_LOW);
    const __m256i by1024 = _mm256_set_epi64x((long long)FOLD_1024_HIGH, (long long)FOLD_1024_LOW, (long long)FOLD_1024_HIGH, (long long)FOLD_1024_LOW);
    __m256i accumulators[4];
    for (int i = 0; i < 4; i++) accumulators[i] = _mm256_loadu_si256((const __m256i *)(data + 32 * i));
    // The register enters as the first four bytes' XOR.
    accumulators[0] = _mm256_xor_si256(accumulators[0], _mm256_zextsi128_si256(_mm_cvtsi32_si128((int)~crc)));
    data += 128;
    length -= 128;
    while (length >= 128) {
        for (int i = 0; i < 4; i++) {
            accumulators[i] = _mm256_xor_si256(fold256(accumulators[i], by1024), _mm256_loadu_si256((const __m256i *)(data + 32 * i)));
        }
        data += 128;
        length -= 128;
    }
    __m128i block = _mm256_castsi256_si128(accumulators[0]);
    block = _mm_xor_si128(fold128(block, by128), _mm256_extracti128_si256(accumulators[0], 1));
    for (int i = 1; i < 4; i++) {
        block = _mm_xor_si128(fold128(block, by128), _mm256_castsi256_si128(accumulators[i]));
        block = _mm_xor_si128(fold128(block, by128), _mm256_extracti128_si256(accumulators[i], 1));
    }
    while (length >= 16) {
        block = _mm_xor_si128(fold128(block, by128), _mm_loadu_si128((const __m128i *)data));
        data += 16;
        length -= 16;
    }
    // The folded block has the CRC the whole input had so far, taken from a register of zero.
    uint8_t last[16];
    _mm_storeu_si128((__m128i *)last, block);
    return (uint32_t)crc32_z(crc32(0xFFFFFFFFu, last, 16), data, length);
}

int crc32_wide_available(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
}

uint32_t crc32_wide(uint32_t crc, const uint8_t *data, size_t length) {
    if (length >= 256 && crc32_wide_available()) return folded(crc, data, length);
    return (uint32_t)crc32_z(crc, data, length);
}

#else

int crc32_wide_available(void) { return 0; }

uint32_t crc32_wide(uint32_t crc, const uint8_t *data, size_t length) { return (uint32_t)crc32_z(crc, data, length); }

#endif
