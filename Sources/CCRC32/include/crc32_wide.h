#ifndef ORCHESTRATOR_CRC32_WIDE_H
#define ORCHESTRATOR_CRC32_WIDE_H

#include <stddef.h>
#include <stdint.h>

/// The gzip CRC-32 of `data` continued from `crc` (0 to start), as zlib's `crc32` gives it: folded with
/// 256-bit carry-less multiplication where the processor has it (`crc32_wide_available`), by zlib's
/// `crc32_z` otherwise and for inputs under 256 bytes.
uint32_t crc32_wide(uint32_t crc, const uint8_t *data, size_t length);

/// 1 when `crc32_wide` folds (AVX2 and VPCLMULQDQ).
int crc32_wide_available(void);

#endif
