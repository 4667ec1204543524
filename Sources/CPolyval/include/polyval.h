#ifndef ORCHESTRATOR_POLYVAL_H
#define ORCHESTRATOR_POLYVAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A POLYVAL key (RFC 8452) made ready for hashing: `powers[i]` is H^(i+1) in POLYVAL's field, as a
/// little-endian 128-bit value, so eight blocks (sixteen, on 256-bit registers) can be multiplied and
/// reduced together.
typedef struct polyval_key {
    uint8_t powers[16][16];
} polyval_key;

/// The ways `polyval_hash_using` can compute the hash, each wider than the one before.
enum {
    /// Portable C.
    POLYVAL_PATH_PORTABLE = 0,
    /// The carry-less multiplication on 128-bit registers (PCLMULQDQ).
    POLYVAL_PATH_CLMUL = 1,
    /// The carry-less multiplication on 256-bit registers (VPCLMULQDQ with AVX2).
    POLYVAL_PATH_WIDE = 2,
};

/// Prepares `key` from the 16 bytes of H.
void polyval_key_init(polyval_key *key, const uint8_t h[16]);

/// POLYVAL of `data` (its last partial block padded with zero bytes) under `key`, into `out`, with the
/// carry-less multiplication instruction where the processor has it and portable C otherwise. The two
/// give the same result; the length is not part of the hash, so callers that need it append it.
void polyval_hash(const polyval_key *key, const uint8_t *data, size_t length, uint8_t out[16]);

/// The same hash by `path` or, where the processor lacks it, by the widest path it has; for tests.
void polyval_hash_using(const polyval_key *key, const uint8_t *data, size_t length, uint8_t out[16], int path);

/// The widest path this processor has (`POLYVAL_PATH_...`).
int polyval_widest_path(void);

/// The same hash by the portable C code alone, for tests.
void polyval_hash_portable(const polyval_key *key, const uint8_t *data, size_t length, uint8_t out[16]);

/// 1 when `polyval_hash` uses the carry-less multiplication instruction.
int polyval_accelerated(void);

#ifdef __cplusplus
}
#endif

#endif
