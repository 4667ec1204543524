#ifndef ORCHESTRATOR_LINE_SCAN_H
#define ORCHESTRATOR_LINE_SCAN_H

#include <stdint.h>

/// What `line_scan_flat_object` found in one object: offsets into the body, -1 for a field it lacks.
typedef struct {
    /// One past the object's closing brace.
    int64_t end;
    /// The top-level `date`, `time` and `x-disid` values: a string's content between its quotes, or a
    /// bare value's bytes.
    int64_t date_start, date_end;
    int64_t time_start, time_end;
    int64_t disid_start, disid_end;
    /// 1 when a raw line feed or carriage return separates two of the object's tokens.
    int32_t has_line_break;
} line_scan_result;

/// The two ways `line_scan_flat_object` reads an object, tried in this order.
enum {
    /// A compact line (no whitespace between tokens), checked with bit masks alone.
    LINE_SCAN_COMPACT = 1,
    /// Any flat line, whitespace included, by walking the tokens between strings.
    LINE_SCAN_TOKENS = 2,
};

/// Reads the object that starts with `{` at `start` in `bytes` (`count` bytes in all), stopping at
/// `limit`, when it is a flat log line: `{"key":value,...}` whose values are strings or bare tokens,
/// with JSON whitespace between tokens, no raw control byte in a string and no backslash outside one.
///
/// Returns 1 and fills `result` when it read such an object to its closing brace; returns 0 for
/// anything else (another shape, an anomaly, the limit, an escape inside a `date`, `time` or
/// `x-disid` value, or a processor without AVX2), and the caller reads the object with its general
/// scanner, which defines the result. On the objects it accepts, both give the same.
int line_scan_flat_object(const uint8_t *bytes, int64_t count, int64_t start, int64_t limit, line_scan_result *result);

/// `line_scan_flat_object` with only some of its ways (`paths`, of the enum above): for tests of each.
int line_scan_flat_object_using(const uint8_t *bytes, int64_t count, int64_t start, int64_t limit, int paths, line_scan_result *result);

/// A line already filed, whose successors `line_scan_run` compares with it: offsets in the same body.
typedef struct {
    /// Its `date` value (10 bytes) and `time` value (the hour is its first 2 bytes).
    int64_t date_start, time_start;
    /// Its `x-disid` value, compared when `match_disid` is 1 (an endpoint that maps ids to domains).
    int64_t disid_start, disid_end;
    int32_t match_disid;
} line_scan_reference;

/// Reads, from `start`, the lines that the receiver's filer would file exactly as `reference`, with
/// nothing to decide per line: compact flat objects (as the compact path reads them) whose `date` is
/// the reference's, whose `time` has the reference's hour and valid minutes, seconds and milliseconds,
/// and, with `match_disid`, whose `x-disid` is the reference's. With `array` 0 each is a whole line
/// followed by a line feed, `start` the first byte of the first; with `array` 1 each is an array
/// element right after a comma, `start` that comma. Stores each one's end (one past its `}`) in
/// `ends`, at most `capacity` of them, and returns how many; stops at the first other line, which the
/// caller reads as before. 0 on a processor without AVX2.
int64_t line_scan_run(const uint8_t *bytes, int64_t count, int64_t start, int array, const line_scan_reference *reference, int64_t *ends, int64_t capacity);

/// 1 when `line_scan_flat_object` can accept objects on this processor (it has AVX2 and PCLMULQDQ).
int line_scan_available(void);

#endif
