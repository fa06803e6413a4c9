/* JSON text (RFC 8259) read in place, as a stream of events (plain C, no Lua): the one JSON
 * reader of the C core. The response decoder (ljson.c) and the paginator's resume tokens read
 * through it. Every event is checked against the grammar before it is handed out, so a reader
 * that skips what it does not want still refuses a text that is not JSON.
 *
 * Choices, where RFC 8259 leaves room or lua-cjson (the decoder before this one) differed:
 * - strict RFC 8259 grammar: no "1.", "-.5", "1.e3", leading zeros, "+1", NaN, Infinity, hex,
 *   trailing commas, byte order mark; nothing but white space after the value (cjson stopped at
 *   a NUL byte and ignored what followed);
 * - a control character (U+0000-U+001F) inside a string must be escaped, as RFC 8259 says
 *   (cjson let U+0001-U+001F through raw); `\u` escapes give UTF-8, a surrogate pair one code
 *   point, a lone surrogate is refused (as cjson did);
 * - bytes that are not UTF-8 pass through as they are (as cjson did; nothing here interprets
 *   them, and checking would cost a pass over every string);
 * - nesting deeper than GLS_JSON_MAX_DEPTH is refused (cjson's limit, 1000). */
#ifndef GLS_JSON_H
#define GLS_JSON_H

#include <stddef.h>

#define GLS_JSON_MAX_DEPTH 1000

/* Events. */
enum {
  GLS_JSON_ERROR = 0, /* not JSON (sticky: every later call says it again) */
  GLS_JSON_EOF,       /* the end: after the value, or of a text of white space only */
  GLS_JSON_OBJ,       /* '{': KEY and a value each, until END */
  GLS_JSON_ARR,       /* '[': values until END */
  GLS_JSON_END,       /* the end of the innermost object or array */
  GLS_JSON_KEY,       /* a member's name (str, len, esc), its ':' read */
  GLS_JSON_STR,
  GLS_JSON_NUM,       /* str, len: the number's text; esc: its GLS_JSON_FRAC | GLS_JSON_EXP */
  GLS_JSON_TRUE,
  GLS_JSON_FALSE,
  GLS_JSON_NULL
};

/* A number's parts beyond the integer (gls_json_scan_number's flags). */
enum { GLS_JSON_FRAC = 1, GLS_JSON_EXP = 2 };

typedef struct gls_json {
  const char *s;
  size_t n, pos;
  int depth, state;
  const char *str; /* KEY, STR: the bytes between the quotes; NUM: the number */
  size_t len;
  int esc;         /* KEY, STR: they hold escapes (see gls_json_unescape); NUM: its flags */
  unsigned char arrays[GLS_JSON_MAX_DEPTH / 8 + 1]; /* a bit per open level: it is an array */
} gls_json;

/* A reader of the n bytes at s (which it never copies: they must outlive it). */
void gls_json_init(gls_json *j, const char *s, size_t n);

/* The next event. */
int gls_json_next(gls_json *j);

/* Skips the value whose first event ev was just read: to its END for an OBJ or ARR (without
 * recursion), nothing for a scalar. 1, or 0 when the text is not JSON (ev included). */
int gls_json_skip(gls_json *j, int ev);

/* The n bytes of a string that the reader passed (a KEY's or STR's str and len, escapes and
 * all) with their escapes decoded, into out (room for n bytes: decoding never lengthens). Its
 * length. */
size_t gls_json_unescape(const char *s, size_t n, char *out);

/* The length of the RFC 8259 number at the start of s (n bytes), 0 when there is none; flags
 * tells its parts. "0x1" gives 1: what follows is the caller's to judge. */
size_t gls_json_scan_number(const char *s, size_t n, int *flags);

/* A number's value. is_int: i holds it exactly (an integer without fraction or exponent that a
 * long long holds; a date-time without fraction); d holds it in every case, correctly rounded
 * (+-HUGE_VAL beyond the doubles, as strtod). */
typedef struct gls_json_num {
  int is_int;
  long long i;
  double d;
} gls_json_num;

/* The value of a number gls_json_scan_number accepted (s, n and its flags). 1, or 0 when out of
 * memory (beyond 15 significant digits or a power of ten a double holds, strtod decides, on a
 * copy when the number is longer than 120 bytes). Right in any locale. */
int gls_json_number(const char *s, size_t n, int flags, gls_json_num *out);

/* Epoch seconds of an RFC 3339 date-time (the AWS SDKs' date-time format: "T" between date and
 * time, an optional fraction, then "Z" or an offset "+HH:MM"), into out (is_int when it has no
 * fraction, or one of zeros). 1; 0 when the text is not one or names a day or time that does
 * not exist (month 13, 31 April, 29 February 2026, hour 24, minute 60; second 60 is a leap
 * second, as RFC 3339 and the JS SDK v3 allow); -1 when out of memory (a fraction of more
 * than 120 digits needs a copy). */
int gls_rfc3339(const char *s, size_t n, gls_json_num *out);

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (m 1-12). */
long long gls_days_from_civil(long long y, long long m, long long d);

#endif
