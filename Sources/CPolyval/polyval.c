// POLYVAL (RFC 8452): the universal hash behind the receiver's body digest. Elements of GF(2^128) are
// little-endian 128-bit values, bit i the coefficient of x^i, modulo x^128 + x^127 + x^126 + x^121 + 1;
// the product POLYVAL uses is dot(a, b) = a * b * x^-128. The hash of blocks X_1 ... X_n is S_n, with
// S_0 = 0 and S_j = dot(S_(j-1) + X_j, H).
//
// Both paths reduce a 256-bit carry-less product the same way, 64 bits at a time (Montgomery): adding
// L * p, where L is the lowest 64 bits, clears them, since p's lowest 64 bits are 1; dividing by x^64
// then leaves the upper bits plus L * x^64 plus L * (x^63 + x^62 + x^57), the last a carry-less
// product of L by 0xC200000000000000. Two such steps divide by x^128.
#include "polyval.h"

#include <string.h>

#define POLYVAL_FOLD 0xC200000000000000ULL

static inline uint64_t load_le64(const uint8_t *bytes) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) value = (value << 8) | bytes[i];
    return value;
}

static inline void store_le64(uint8_t *bytes, uint64_t value) {
    for (int i = 0; i < 8; i++) bytes[i] = (uint8_t)(value >> (8 * i));
}

// The carry-less product of `a` and `b`, four bits of `b` at a time from a table of `a`'s multiples.
// The table is built from `a` (the key's side), and `b` (the data) picks its entries.
static void clmul64_portable(uint64_t a, uint64_t b, uint64_t *low, uint64_t *high) {
    uint64_t table_low[16], table_high[16];
    table_low[0] = 0;
    table_high[0] = 0;
    for (int j = 1; j < 16; j++) {
        if (j & 1) {
            table_low[j] = table_low[j - 1] ^ a;
            table_high[j] = table_high[j - 1];
        } else {
            table_low[j] = table_low[j / 2] << 1;
            table_high[j] = (table_high[j / 2] << 1) | (table_low[j / 2] >> 63);
        }
    }
    uint64_t l = 0, h = 0;
    for (int shift = 60; shift >= 0; shift -= 4) {
        h = (h << 4) | (l >> 60);
        l <<= 4;
        unsigned nibble = (unsigned)(b >> shift) & 15;
        l ^= table_low[nibble];
        h ^= table_high[nibble];
    }
    *low = l;
    *high = h;
}

// dot(a, b) on 64-bit halves (index 0 the low half).
static void dot_portable(const uint64_t a[2], const uint64_t b[2], uint64_t out[2]) {
    uint64_t p0, p1, p2, p3, m0, m1, n0, n1;
    clmul64_portable(b[0], a[0], &p0, &p1);
    clmul64_portable(b[1], a[1], &p2, &p3);
    clmul64_portable(b[0], a[1], &m0, &m1);
    clmul64_portable(b[1], a[0], &n0, &n1);
    p1 ^= m0 ^ n0;
    p2 ^= m1 ^ n1;
    // Fold p0, then the new lowest half (see the top of the file).
    uint64_t q0 = p1 ^ (p0 << 63) ^ (p0 << 62) ^ (p0 << 57);
    uint64_t q1 = p2 ^ p0 ^ (p0 >> 1) ^ (p0 >> 2) ^ (p0 >> 7);
    out[0] = q1 ^ (q0 << 63) ^ (q0 << 62) ^ (q0 << 57);
    out[1] = p3 ^ q0 ^ (q0 >> 1) ^ (q0 >> 2) ^ (q0 >> 7);
}

void polyval_hash_portable(const polyval_key *key, const uint8_t *data, size_t length, uint8_t out[16]) {
    uint64_t h[2] = {load_le64(key->powers[0]), load_le64(key->powers[0] + 8)};
    uint64_t s[2] = {0, 0};
    uint8_t last[16];
    while (length > 0) {
        const uint8_t *block = data;
        if (length < 16) {
            memset(last, 0, sizeof last);
            memcpy(last, data, length);
            block = last;
        }
        s[0] ^= load_le64(block);
        s[1] ^= load_le64(block + 8);
        dot_portable(s, h, s);
        size_t taken = length < 16 ? length : 16;
        data += taken;
        length -= taken;
    }
    store_le64(out, s[0]);
    store_le64(out + 8, s[1]);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define POLYVAL_TARGET __attribute__((target("pclmul,sse2")))

POLYVAL_TARGET static inline __m128i reduce(__m128i low, __m128i high) {
    const __m128i fold = _mm_set_epi64x(0, (long long)POLYVAL_FOLD);
    __m128i t = _mm_clmulepi64_si128(low, fold, 0x00);
    low = _mm_xor_si128(_mm_shuffle_epi32(low, 0x4E), t);
    t = _mm_clmulepi64_si128(low, fold, 0x00);
    low = _mm_xor_si128(_mm_shuffle_epi32(low, 0x4E), t);
    return _mm_xor_si128(low, high);
}

// Adds the unreduced product a * b to (low, middle, high) by Karatsuba's three multiplications:
// `b_folded` holds b's two halves added, in its low half. `middle` collects (a0 + a1)(b0 + b1), from
// which `finish` takes the low and high products back out.
POLYVAL_TARGET static inline void multiply_add(__m128i a, __m128i b, __m128i b_folded, __m128i *low, __m128i *middle, __m128i *high) {
    *low = _mm_xor_si128(*low, _mm_clmulepi64_si128(a, b, 0x00));
    *high = _mm_xor_si128(*high, _mm_clmulepi64_si128(a, b, 0x11));
    __m128i a_folded = _mm_xor_si128(a, _mm_shuffle_epi32(a, 0x4E));
    *middle = _mm_xor_si128(*middle, _mm_clmulepi64_si128(a_folded, b_folded, 0x00));
}

POLYVAL_TARGET static inline __m128i finish(__m128i low, __m128i middle, __m128i high) {
    middle = _mm_xor_si128(middle, _mm_xor_si128(low, high));
    return reduce(_mm_xor_si128(low, _mm_slli_si128(middle, 8)), _mm_xor_si128(high, _mm_srli_si128(middle, 8)));
}

POLYVAL_TARGET static inline __m128i folded(__m128i b) {
    return _mm_xor_si128(b, _mm_shuffle_epi32(b, 0x4E));
}

POLYVAL_TARGET static inline __m128i dot(__m128i a, __m128i b) {
    __m128i low = _mm_setzero_si128(), middle = _mm_setzero_si128(), high = _mm_setzero_si128();
    multiply_add(a, b, folded(b), &low, &middle, &high);
    return finish(low, middle, high);
}

// Eight blocks at a time: S' = dot(S + X_1, H^8) + dot(X_2, H^7) + ... + dot(X_8, H), the products
// summed before one reduction (dot is linear in each argument). Takes S and returns it, so the wide
// path below hands its tail here.
POLYVAL_TARGET static __m128i hash_clmul_from(const polyval_key *key, __m128i s, const uint8_t *data, size_t length) {
    __m128i powers[8], powers_folded[8];
    for (int i = 0; i < 8; i++) {
        powers[i] = _mm_loadu_si128((const __m128i *)key->powers[i]);
        powers_folded[i] = folded(powers[i]);
    }
    while (length >= 128) {
        __m128i low = _mm_setzero_si128(), middle = _mm_setzero_si128(), high = _mm_setzero_si128();
        multiply_add(_mm_xor_si128(s, _mm_loadu_si128((const __m128i *)data)), powers[7], powers_folded[7], &low, &middle, &high);
        for (int i = 1; i < 8; i++) {
            multiply_add(_mm_loadu_si128((const __m128i *)(data + 16 * i)), powers[7 - i], powers_folded[7 - i], &low, &middle, &high);
        }
        s = finish(low, middle, high);
        data += 128;
        length -= 128;
    }
    while (length >= 16) {
        s = dot(_mm_xor_si128(s, _mm_loadu_si128((const __m128i *)data)), powers[0]);
        data += 16;
        length -= 16;
    }
    if (length > 0) {
        uint8_t last[16] = {0};
        memcpy(last, data, length);
        s = dot(_mm_xor_si128(s, _mm_loadu_si128((const __m128i *)last)), powers[0]);
    }
    return s;
}

POLYVAL_TARGET static void hash_clmul(const polyval_key *key, const uint8_t *data, size_t length, uint8_t out[16]) {
    _mm_storeu_si128((__m128i *)out, hash_clmul_from(key, _mm_setzero_si128(), data, length));
}

#define POLYVAL_WIDE_TARGET __attribute__((target("avx2,vpclmulqdq,pclmul,sse2")))

// Sixteen blocks at a time, two to a 256-bit register, for processors whose carry-less multiplication
// takes 256-bit registers (VPCLMULQDQ): block pair i is multiplied by (H^(16-2i), H^(15-2i)), the two
// lanes' unreduced sums are added, and one reduction follows. The tail goes by 128-bit registers.
POLYVAL_WIDE_TARGET static void hash_wide(const polyval_key *key, const uint8_t *data, size_t length, uint8_t out[16]) {
    __m128i s = _mm_setzero_si128();
    if (length >= 256) {
        __m256i pairs[8], pairs_folded[8];
        for (int i = 0; i < 8; i++) {
            pairs[i] = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)key->powers[14 - 2 * i]),
                                        _mm_loadu_si128((const __m128i *)key->powers[15 - 2 * i]));
            pairs_folded[i] = _mm256_xor_si256(pairs[i], _mm256_shuffle_epi32(pairs[i], 0x4E));
        }
        while (length >= 256) {
            __m256i low = _mm256_setzero_si256(), middle = _mm256_setzero_si256(), high = _mm256_setzero_si256();
            for (int i = 0; i < 8; i++) {
                __m256i x = _mm256_loadu_si256((const __m256i *)(data + 32 * i));
                if (i == 0) x = _mm256_xor_si256(x, _mm256_zextsi128_si256(s));
                low = _mm256_xor_si256(low, _mm256_clmulepi64_epi128(x, pairs[i], 0x00));
                high = _mm256_xor_si256(high, _mm256_clmulepi64_epi128(x, pairs[i], 0x11));
                __m256i x_folded = _mm256_xor_si256(x, _mm256_shuffle_epi32(x, 0x4E));
                middle = _mm256_xor_si256(middle, _mm256_clmulepi64_epi128(x_folded, pairs_folded[i], 0x00));
            }
            s = finish(_mm_xor_si128(_mm256_castsi256_si128(low), _mm256_extracti128_si256(low, 1)),
                       _mm_xor_si128(_mm256_castsi256_si128(middle), _mm256_extracti128_si256(middle, 1)),
                       _mm_xor_si128(_mm256_castsi256_si128(high), _mm256_extracti128_si256(high, 1)));
            data += 256;
            length -= 256;
        }
    }
    _mm_storeu_si128((__m128i *)out, hash_clmul_from(key, s, data, length));
}

int polyval_accelerated(void) {
    return __builtin_cpu_supports("pclmul");
}

static int polyval_wide(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
}

#else

int polyval_accelerated(void) {
    return 0;
}

static int polyval_wide(void) {
    return 0;
}

#endif

void polyval_key_init(polyval_key *key, const uint8_t h[16]) {
    uint64_t power[2] = {load_le64(h), load_le64(h + 8)};
    const uint64_t first[2] = {power[0], power[1]};
    for (int i = 0; i < 16; i++) {
        store_le64(key->powers[i], power[0]);
        store_le64(key->powers[i] + 8, power[1]);
        dot_portable(power, first, power);
    }
}

int polyval_widest_path(void) {
    return polyval_wide() ? POLYVAL_PATH_WIDE : polyval_accelerated() ? POLYVAL_PATH_CLMUL : POLYVAL_PATH_PORTABLE;
}

void polyval_hash_using(const polyval_key *key, const uint8_t *data, size_t length, uint8_t out[16], int path) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (path > polyval_widest_path()) path = polyval_widest_path();
    if (path == POLYVAL_PATH_WIDE) {
        hash_wide(key, data, length, out);
        return;
    }
    if (path == POLYVAL_PATH_CLMUL) {
        hash_clmul(key, data, length, out);
        return;
    }
#else
    (void)path;
#endif
    polyval_hash_portable(key, data, length, out);
}

void polyval_hash(const polyval_key *key, const uint8_t *data, size_t length, uint8_t out[16]) {
    polyval_hash_using(key, data, length, out, POLYVAL_PATH_WIDE);
}
