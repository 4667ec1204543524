// The receiver's fast path for flat log lines, 64 bytes at a time: the bytes that matter (quotes,
// backslashes, control bytes, whitespace, punctuation) become bit masks, and strings are located from
// the unescaped quotes by a carry-less multiplication (a prefix XOR). A compact line (no whitespace
// between tokens, as senders write them) is then checked with masks alone (`scan_compact`); any other
// flat line by walking the tokens between strings (`scan_tokens`). Anything unusual answers 0, and
// the caller's general scanner reads the object instead: this file decides nothing the general
// scanner would not.
#include "line_scan.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define LINE_SCAN_TARGET __attribute__((target("avx2,pclmul,bmi")))

enum { KIND_BARE, KIND_QUOTE, KIND_OPEN, KIND_CLOSE, KIND_COLON, KIND_COMMA, KIND_BRACKET };

// The kind of token a byte starts; every byte not listed starts a bare value.
static const uint8_t token_kinds[256] = {
    ['"'] = KIND_QUOTE, ['{'] = KIND_OPEN, ['}'] = KIND_CLOSE, [':'] = KIND_COLON,
    [','] = KIND_COMMA, ['['] = KIND_BRACKET, [']'] = KIND_BRACKET,
};

// After the opening brace, a flat object's tokens repeat with period 4: a key (a string), `:`, a value
// (a string or a bare token), then `,` or the closing `}`. Byte `phase` of this word has a bit for
// each kind allowed at that phase; checking a token needs no state but its count, so no token waits
// for the one before it.
#define ALLOWED(kind) (1u << (kind))
static const uint32_t allowed_by_phase = ALLOWED(KIND_QUOTE) | (ALLOWED(KIND_COLON) << 8)
    | ((ALLOWED(KIND_QUOTE) | ALLOWED(KIND_BARE)) << 16) | ((ALLOWED(KIND_COMMA) | ALLOWED(KIND_CLOSE)) << 24);
#undef ALLOWED
enum { PHASE_KEY, PHASE_COLON, PHASE_VALUE, PHASE_SEPARATOR };

enum { FIELD_NONE, FIELD_DATE, FIELD_TIME, FIELD_DISID };

LINE_SCAN_TARGET static inline uint64_t lanes(__m256i low, __m256i high) {
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(low) | ((uint64_t)(uint32_t)_mm256_movemask_epi8(high) << 32);
}

// Bit i of the result is the XOR of bits 0 through i of `bits`: 1 from an opening quote up to, not
// including, its closing quote.
LINE_SCAN_TARGET static inline uint64_t prefix_xor(uint64_t bits) {
    __m128i product = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)bits), _mm_set1_epi8((char)0xFF), 0);
    return (uint64_t)_mm_cvtsi128_si64(product);
}

// The positions that follow an unescaped backslash. `carry` is 1 when the previous block ended with an
// unescaped backslash, and is set for the next block. Without a branch on the bytes: in each run of
// backslashes, those at an even distance from the run's start escape the byte after them. Subtracting
// the runs' starts from the odd bit positions (shifted) turns each run into a pattern of that parity
// (the method of simdjson's string scanner).
LINE_SCAN_TARGET static inline uint64_t escaped_positions(uint64_t backslashes, uint64_t *carry) {
    const uint64_t odd_bits = 0xAAAAAAAAAAAAAAAAull;
    uint64_t escaped_first = *carry;
    // A backslash escaped by the previous block's last one starts no escape of its own.
    uint64_t potential = backslashes & ~escaped_first;
    uint64_t shifted = potential << 1;
    uint64_t codes = ((shifted | odd_bits) - potential) ^ odd_bits;
    uint64_t escaped = codes ^ (backslashes | escaped_first);
    uint64_t escapes = codes & backslashes;
    *carry = escapes >> 63;
    return escaped;
}

// Which of the three fields a key whose opening quote is at `key` would name (9 bytes are read): read
// at every token, without a branch on the answer, so the token loop has no branch that depends on the
// line's text but its end.
static inline int field_named(const uint8_t *key) {
    static const char date[8] = "\"date\"", time[8] = "\"time\"", disid[8] = {'"', 'x', '-', 'd', 'i', 's', 'i', 'd'};
    uint64_t word, date_word, time_word, disid_word;
    memcpy(&word, key, 8);
    memcpy(&date_word, date, 8);
    memcpy(&time_word, time, 8);
    memcpy(&disid_word, disid, 8);
    const uint64_t six = 0xFFFFFFFFFFFFull;
    return ((word & six) == date_word) * FIELD_DATE | ((word & six) == time_word) * FIELD_TIME
        | ((word == disid_word) & (key[8] == '"')) * FIELD_DISID;
}

// Records the value whose first byte is at `position` for `field`; 0 when the general scanner must
// decide (an escape or control byte in the string, the limit). Out of line: it runs for two or three
// of a line's tokens, and inlined it would take registers the token loop needs.
__attribute__((noinline)) LINE_SCAN_TARGET static int record_value(const uint8_t *bytes, int64_t position, int64_t limit, int field, line_scan_result *result) {
    int64_t start, end;
    if (position >= limit) return 0;
    if (bytes[position] == '"') {
        start = position + 1;
        end = start;
        // A value shorter than 32 bytes (dates, times, ids) ends at the first quote of one load.
        if (start + 32 <= limit) {
            const __m256i chunk = _mm256_loadu_si256((const __m256i *)(bytes + start)), below_space = _mm256_set1_epi8(0x1F);
            uint32_t quotes = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(chunk, _mm256_set1_epi8('"')));
            uint32_t stops = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
                _mm256_cmpeq_epi8(chunk, _mm256_set1_epi8('\\')), _mm256_cmpeq_epi8(_mm256_max_epu8(chunk, below_space), below_space)));
            if (quotes) {
                unsigned length = (unsigned)__builtin_ctz(quotes);
                if (stops & ((1u << length) - 1)) return 0;
                end = start + length;
                goto recorded;
            }
        }
        while (end < limit && bytes[end] != '"') {
            if (bytes[end] == '\\' || bytes[end] < 0x20) return 0;
            end++;
        }
        if (end >= limit) return 0;
    } else {
        start = position;
        end = start;
        while (end < limit) {
            uint8_t byte = bytes[end];
            if (byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r' || byte == ',' || byte == '}') break;
            end++;
        }
    }
recorded:
    switch (field) {
    case FIELD_DATE:
        result->date_start = start;
        result->date_end = end;
        break;
    case FIELD_TIME:
        result->time_start = start;
        result->time_end = end;
        break;
    default:
        result->disid_start = start;
        result->disid_end = end;
        break;
    }
    return 1;
}

// The bytes of one 64-byte block that matter to the token walk (`scan_tokens`), one bit per byte.
typedef struct {
    uint64_t quotes, backslashes, controls, spaces, breaks, opens, closes, brackets, colons, commas;
} block_bits;

LINE_SCAN_TARGET static inline void classify(const uint8_t *source, block_bits *bits) {
    const __m256i low = _mm256_loadu_si256((const __m256i *)source), high = _mm256_loadu_si256((const __m256i *)(source + 32));
#define MATCHING(byte) lanes(_mm256_cmpeq_epi8(low, _mm256_set1_epi8(byte)), _mm256_cmpeq_epi8(high, _mm256_set1_epi8(byte)))
    const __m256i below_space = _mm256_set1_epi8(0x1F);
    bits->quotes = MATCHING('"');
    bits->backslashes = MATCHING('\\');
    bits->controls = lanes(_mm256_cmpeq_epi8(_mm256_max_epu8(low, below_space), below_space),
                           _mm256_cmpeq_epi8(_mm256_max_epu8(high, below_space), below_space));
    bits->breaks = MATCHING('\n') | MATCHING('\r');
    bits->spaces = bits->breaks | MATCHING(' ') | MATCHING('\t');
    bits->opens = MATCHING('{');
    bits->closes = MATCHING('}');
    bits->brackets = MATCHING('[') | MATCHING(']');
    bits->colons = MATCHING(':');
    bits->commas = MATCHING(',');
#undef MATCHING
}

// The compact path's classes of bytes, one bit each, found with two table lookups (`pshufb`) per 32
// bytes: one by the byte's low nibble, one by its high nibble, the results ANDed. A bit's bytes are
// then exactly its low nibbles times its high nibbles, so each bit below is such a product:
enum {
    CLASS_QUOTE = 1 << 0,     // "                 low 2, high 2
    CLASS_BACKSLASH = 1 << 1, // \                 low C, high 5
    CLASS_CLOSE = 1 << 2,     // }                 low D, high 7
    CLASS_COLON = 1 << 3,     // :                 low A, high 3
    CLASS_COMMA = 1 << 4,     // ,                 low C, high 2
    CLASS_BRACKET = 1 << 5,   // [ ] { }           low B or D, high 5 or 7
    CLASS_SPACE = 1 << 6,     // space             low 0, high 2
    CLASS_CONTROL = 1 << 7,   // 0x00 to 0x1F      any low, high 0 or 1
};

static const uint8_t classes_by_low[16] = {
    [0x0] = CLASS_SPACE | CLASS_CONTROL, [0x1] = CLASS_CONTROL, [0x2] = CLASS_QUOTE | CLASS_CONTROL, [0x3] = CLASS_CONTROL,
    [0x4] = CLASS_CONTROL, [0x5] = CLASS_CONTROL, [0x6] = CLASS_CONTROL, [0x7] = CLASS_CONTROL, [0x8] = CLASS_CONTROL,
    [0x9] = CLASS_CONTROL, [0xA] = CLASS_COLON | CLASS_CONTROL, [0xB] = CLASS_BRACKET | CLASS_CONTROL,
    [0xC] = CLASS_BACKSLASH | CLASS_COMMA | CLASS_CONTROL, [0xD] = CLASS_CLOSE | CLASS_BRACKET | CLASS_CONTROL,
    [0xE] = CLASS_CONTROL, [0xF] = CLASS_CONTROL,
};

static const uint8_t classes_by_high[16] = {
    [0x0] = CLASS_CONTROL, [0x1] = CLASS_CONTROL, [0x2] = CLASS_QUOTE | CLASS_COMMA | CLASS_SPACE, [0x3] = CLASS_COLON,
    [0x5] = CLASS_BACKSLASH | CLASS_BRACKET, [0x7] = CLASS_CLOSE | CLASS_BRACKET,
};

// What the compact path needs of a block, one bit per byte. Any byte that cannot be part of a bare
// value (whitespace, brackets and braces, `:` and `,`) is in `structural`; no byte of `{` but the
// line's first is needed on its own (see `scan_compact`).
typedef struct {
    uint64_t quotes, backslashes, controls, closes, colons, commas, structural;
} compact_bits;

// Bit 7 of each byte of `classes` shifted from bit `bit`, as a 32-bit mask. The 16-bit shift moves no
// bit of one byte into another's bit 7.
#define CLASS_LANES(low, high, bit)                                                                             \
    lanes(_mm256_slli_epi16(low, 7 - (bit)), _mm256_slli_epi16(high, 7 - (bit)))

LINE_SCAN_TARGET static inline __m256i classes_of(__m256i bytes, __m256i by_low, __m256i by_high) {
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    return _mm256_and_si256(_mm256_shuffle_epi8(by_low, _mm256_and_si256(bytes, nibble)),
                            _mm256_shuffle_epi8(by_high, _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble)));
}

LINE_SCAN_TARGET static inline void classify_compact(const uint8_t *source, compact_bits *bits) {
    const __m256i by_low = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)classes_by_low));
    const __m256i by_high = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)classes_by_high));
    const __m256i low = classes_of(_mm256_loadu_si256((const __m256i *)source), by_low, by_high);
    const __m256i high = classes_of(_mm256_loadu_si256((const __m256i *)(source + 32)), by_low, by_high);
    bits->controls = lanes(low, high);
    bits->quotes = CLASS_LANES(low, high, 0);
    bits->backslashes = CLASS_LANES(low, high, 1);
    bits->closes = CLASS_LANES(low, high, 2);
    bits->colons = CLASS_LANES(low, high, 3);
    bits->commas = CLASS_LANES(low, high, 4);
    const __m256i structural = _mm256_set1_epi8(CLASS_CLOSE | CLASS_COLON | CLASS_COMMA | CLASS_BRACKET | CLASS_SPACE);
    const __m256i zero = _mm256_setzero_si256();
    bits->structural = ~lanes(_mm256_cmpeq_epi8(_mm256_and_si256(low, structural), zero),
                              _mm256_cmpeq_epi8(_mm256_and_si256(high, structural), zero));
}
#undef CLASS_LANES

// Where a block's strings are: `inside` has a bit from each opening quote up to, not including, its
// closing quote; `quotes` the quotes that open or close one (not escaped). The carries cross blocks.
typedef struct {
    uint64_t escape_carry, string_carry;
} string_carries;

typedef struct {
    uint64_t escaped, quotes, inside, outside;
} block_strings;

LINE_SCAN_TARGET static inline block_strings locate_strings(uint64_t quotes, uint64_t backslashes, string_carries *carries) {
    block_strings strings;
    strings.escaped = (backslashes | carries->escape_carry) ? escaped_positions(backslashes, &carries->escape_carry) : 0;
    strings.quotes = quotes & ~strings.escaped;
    strings.inside = prefix_xor(strings.quotes) ^ carries->string_carry;
    carries->string_carry = (uint64_t)((int64_t)strings.inside >> 63);
    strings.outside = ~(strings.inside | strings.quotes);
    return strings;
}

// The source of the block at `base`: the body itself, or a copy padded with spaces near the body's end
// (a block's 64 bytes, and the 9 bytes a key is compared on from its last position).
static inline const uint8_t *block_source(const uint8_t *bytes, int64_t count, int64_t base, uint8_t padded[64 + 16]) {
    if (base + 64 + 16 <= count) return bytes + base;
    memset(padded, ' ', 64 + 16);
    memcpy(padded, bytes + base, (size_t)(count - base));
    return padded;
}

// Reads the block at `base`: its source (see `block_source`), its bits and its strings.
LINE_SCAN_TARGET static inline const uint8_t *read_block(
    const uint8_t *bytes, int64_t count, int64_t base, uint8_t padded[64 + 16], string_carries *carries, block_bits *bits, block_strings *strings) {
    const uint8_t *source = block_source(bytes, count, base, padded);
    classify(source, bits);
    *strings = locate_strings(bits->quotes, bits->backslashes, carries);
    return source;
}

static inline void clear_result(line_scan_result *result) {
    result->date_start = result->date_end = result->time_start = result->time_end = -1;
    result->disid_start = result->disid_end = -1;
    result->has_line_break = 0;
}

// A compact flat object (no whitespace between tokens, as senders write lines), checked with no loop
// over its tokens: each kind of token constrains the byte right after it, as bit masks shifted by
// one. From the opening brace, those successors chain through every byte up to the first closing
// brace, so if every one holds, the bytes are exactly `{`, then key, `:`, value pairs separated by
// `,`, then `}`:
// - after `{` or `,`: a string, which is a key;
// - after a key's closing quote: `:`;
// - after `:`: a string (a value) or a bare byte;
// - after a value's closing quote: `,` or `}`;
// - after a bare byte: another, `,` or `}`.
// A key's closing quote is found by adding the key's opening quote to `inside`: the carry runs through
// the string's bits and stops on the bit after them. Only keys of the length of `date`, `time` and
// `x-disid` are read.
LINE_SCAN_TARGET static int scan_compact(const uint8_t *bytes, int64_t count, int64_t start, int64_t limit, line_scan_result *result) {
    clear_result(result);
    string_carries carries = {0, 0};
    unsigned char key_carry = 0;
    uint64_t key_start_carry = 0, key_end_carry = 0, colon_carry = 0, value_end_carry = 0, bare_carry = 0;
    uint8_t padded[64 + 16];
    for (int64_t base = start; base < limit; base += 64) {
        compact_bits bits;
        const uint8_t *source = block_source(bytes, count, base, padded);
        classify_compact(source, &bits);
        block_strings strings = locate_strings(bits.quotes, bits.backslashes, &carries);
        uint64_t outside = strings.outside;
        uint64_t opening = strings.quotes & strings.inside, closing = strings.quotes & ~strings.inside;
        // The line's opening brace; any other `{` outside a string is structural, so whatever comes
        // before it rejects it.
        uint64_t opens = base == start;
        uint64_t closes = bits.closes & outside, colons = bits.colons & outside, commas = bits.commas & outside;
        uint64_t bare = outside & ~bits.structural;
        uint64_t key_starts = opening & (((opens | commas) << 1) | key_start_carry);
        unsigned long long sum;
        key_carry = _addcarry_u64(key_carry, strings.inside, key_starts, &sum);
        uint64_t key_ends = (uint64_t)sum & ~strings.inside & closing;
        uint64_t value_ends = closing & ~key_ends;
        uint64_t violations = ((((opens | commas) << 1) | key_start_carry) & ~opening)
            | (((key_ends << 1) | key_end_carry) & ~colons)
            | (((colons << 1) | colon_carry) & ~(opening | bare))
            | (((value_ends << 1) | value_end_carry) & ~(commas | closes))
            | (((bare << 1) | bare_carry) & ~(bare | commas | closes))
            | (bits.controls & strings.inside & ~strings.escaped) | (bits.backslashes & outside) | (bits.controls & outside);
        key_start_carry = (opens | commas) >> 63;
        key_end_carry = key_ends >> 63;
        colon_carry = colons >> 63;
        value_end_carry = value_ends >> 63;
        bare_carry = bare >> 63;
        uint64_t within = limit - base >= 64 ? ~0ull : (1ull << (limit - base)) - 1;
        uint64_t ends = closes & within;
        uint64_t through = ends ? (ends ^ (ends - 1)) : within;
        if (violations & through) return 0;
        // Keys whose closing quote is 5 or 8 bytes on, or in the next block.
        uint64_t candidates = key_starts & through & ((key_ends >> 5) | (key_ends >> 8) | (0xFFull << 56));
        while (candidates) {
            unsigned bit = (unsigned)__builtin_ctzll(candidates);
            candidates &= candidates - 1;
            int field = field_named(source + bit);
            if (field != FIELD_NONE && !record_value(bytes, base + bit + (field == FIELD_DISID ? 10 : 7), limit, field, result)) return 0;
        }
        if (ends) {
            result->end = base + __builtin_ctzll(ends) + 1;
            return 1;
        }
    }
    return 0;
}

// Any flat object, whitespace included: the tokens between strings are walked, each checked by its
// place in the repeating key, colon, value, separator pattern.
LINE_SCAN_TARGET static int scan_tokens(const uint8_t *bytes, int64_t count, int64_t start, int64_t limit, line_scan_result *result) {
    clear_result(result);
    string_carries carries = {0, 0};
    uint64_t bare_carry = 0;
    uint32_t tokens_read = 0, well_formed = 1;
    int pending = FIELD_NONE;
    uint8_t padded[64 + 16];
    for (int64_t base = start; base < limit; base += 64) {
        block_bits bits;
        block_strings strings;
        const uint8_t *source = read_block(bytes, count, base, padded, &carries, &bits, &strings);
        uint64_t outside = strings.outside, inside = strings.inside;
        uint64_t punctuation = bits.opens | bits.closes | bits.brackets | bits.colons | bits.commas;
        uint64_t bare = outside & ~bits.spaces & ~punctuation;
        uint64_t bare_starts = bare & ~((bare << 1) | bare_carry);
        bare_carry = bare >> 63;
        uint64_t within = limit - base >= 64 ? ~0ull : (1ull << (limit - base)) - 1;
        uint64_t tokens = ((strings.quotes & inside) | (punctuation & outside) | bare_starts) & within;
        // What the general scanner must judge: a raw control byte in a string, a backslash outside
        // one, a control byte between tokens that is not whitespace.
        uint64_t anomalies = ((bits.controls & inside & ~strings.escaped) | (bits.backslashes & outside) | (bits.controls & outside & ~bits.spaces)) & within;
        // The opening brace is the first token of the first block.
        if (base == start) tokens &= ~1ull;
        while (tokens) {
            unsigned bit = (unsigned)__builtin_ctzll(tokens);
            tokens &= tokens - 1;
            int64_t position = base + bit;
            unsigned kind = token_kinds[source[bit]], phase = tokens_read & 3;
            well_formed &= allowed_by_phase >> (phase * 8 + kind);
            tokens_read++;
            int named = field_named(source + bit);
            pending = phase == PHASE_KEY ? named : pending;
            if ((phase == PHASE_VALUE) & (pending != FIELD_NONE)) {
                if (!(well_formed & 1) || !record_value(bytes, position, limit, pending, result)) return 0;
                pending = FIELD_NONE;
            } else if (kind == KIND_CLOSE) {
                uint64_t through = bit == 63 ? ~0ull : (2ull << bit) - 1;
                if (!(well_formed & 1) || (anomalies & through)) return 0;
                result->has_line_break |= (bits.breaks & outside & through) != 0;
                result->end = position + 1;
                return 1;
            }
        }
        if (!(well_formed & 1)) return 0;
        if (anomalies) return 0;
        result->has_line_break |= (bits.breaks & outside & within) != 0;
    }
    return 0;
}

// Whether the time at `time` (`length` bytes) is valid as the filer reads times (`HH:MM:SS` or
// `HH:MM:SS:mmm`, `.` also before the milliseconds; minutes under 60, seconds under 61) and has the
// hour of `reference`.
static inline int time_in_hour(const uint8_t *time, int64_t length, const uint8_t *reference) {
    if ((length != 8 && length != 12) || time[0] != reference[0] || time[1] != reference[1] || time[2] != ':' || time[5] != ':') return 0;
    unsigned minute_tens = time[3] - (unsigned)'0', minute_units = time[4] - (unsigned)'0';
    unsigned second_tens = time[6] - (unsigned)'0', second_units = time[7] - (unsigned)'0';
    if (minute_tens > 5 || minute_units > 9 || second_units > 9 || second_tens > 6 || (second_tens == 6 && second_units != 0)) return 0;
    if (length == 12) {
        if ((time[8] != ':' && time[8] != '.') || time[9] - (unsigned)'0' > 9 || time[10] - (unsigned)'0' > 9 || time[11] - (unsigned)'0' > 9) return 0;
    }
    return 1;
}

// Whether a line `scan_compact` read files as `reference` does.
static inline int files_as(const uint8_t *bytes, const line_scan_result *line, const line_scan_reference *reference) {
    if (line->date_start < 0 || line->time_start < 0 || line->date_end - line->date_start != 10
        || memcmp(bytes + line->date_start, bytes + reference->date_start, 10) != 0
        || !time_in_hour(bytes + line->time_start, line->time_end - line->time_start, bytes + reference->time_start))
        return 0;
    if (!reference->match_disid) return 1;
    int64_t length = reference->disid_end - reference->disid_start;
    return line->disid_start >= 0 && line->disid_end - line->disid_start == length
        && memcmp(bytes + line->disid_start, bytes + reference->disid_start, (size_t)length) == 0;
}

int64_t line_scan_run(const uint8_t *bytes, int64_t count, int64_t start, int array, const line_scan_reference *reference, int64_t *ends, int64_t capacity) {
    if (!line_scan_available()) return 0;
    int64_t found = 0, position = start;
    line_scan_result line;
    while (found < capacity) {
        if (array) {
            // `,{` right after the element before: a compact array.
            if (position + 1 >= count || bytes[position] != ',' || bytes[position + 1] != '{') break;
            if (!scan_compact(bytes, count, position + 1, count, &line) || !files_as(bytes, &line, reference)) break;
        } else {
            // A line that is one compact object and its line feed.
            if (position >= count || bytes[position] != '{') break;
            const uint8_t *feed = memchr(bytes + position, '\n', (size_t)(count - position));
            if (!feed) break;
            int64_t limit = feed - bytes;
            if (!scan_compact(bytes, count, position, limit, &line) || line.end != limit || !files_as(bytes, &line, reference)) break;
        }
        ends[found++] = line.end;
        position = array ? line.end : line.end + 1;
    }
    return found;
}

int line_scan_available(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul");
}

int line_scan_flat_object_using(const uint8_t *bytes, int64_t count, int64_t start, int64_t limit, int paths, line_scan_result *result) {
    if (start < 0 || start >= limit || limit > count || bytes[start] != '{' || !line_scan_available()) return 0;
    return ((paths & LINE_SCAN_COMPACT) && scan_compact(bytes, count, start, limit, result))
        || ((paths & LINE_SCAN_TOKENS) && scan_tokens(bytes, count, start, limit, result));
}

int line_scan_flat_object(const uint8_t *bytes, int64_t count, int64_t start, int64_t limit, line_scan_result *result) {
    return line_scan_flat_object_using(bytes, count, start, limit, LINE_SCAN_COMPACT | LINE_SCAN_TOKENS, result);
}

#else

int line_scan_available(void) { return 0; }

int64_t line_scan_run(const uint8_t *bytes, int64_t count, int64_t start, int array, const line_scan_reference *reference, int64_t *ends, int64_t capacity) {
    (void)bytes, (void)count, (void)start, (void)array, (void)reference, (void)ends, (void)capacity;
    return 0;
}

int line_scan_flat_object_using(const uint8_t *bytes, int64_t count, int64_t start, int64_t limit, int paths, line_scan_result *result) {
    (void)bytes, (void)count, (void)start, (void)limit, (void)paths, (void)result;
    return 0;
}

int line_scan_flat_object(const uint8_t *bytes, int64_t count, int64_t start, int64_t limit, line_scan_result *result) {
    return line_scan_flat_object_using(bytes, count, start, limit, LINE_SCAN_COMPACT | LINE_SCAN_TOKENS, result);
}

#endif
