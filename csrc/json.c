/* The JSON reader of json.h. A little over 500 lines as one file: its events, the strings'
 * unescaping, exact and correctly rounded numbers, and the RFC 3339 date-times the decoder reads
 * from strings are the parts of one reader, whose contract is json.h. */
#include "json.h"

#include <float.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(GLS_NO_SIMD)
#include <emmintrin.h>
#define GLS_SSE2 1
#else
#define GLS_SSE2 0
#endif

/* What may come next. */
enum { S_START, S_VALUE, S_FIRST_VALUE, S_FIRST_KEY, S_AFTER, S_DONE, S_ERROR };

/* 1 for the bytes a string holds as they are: not '"', '\\' or a control character. */
static const unsigned char PLAIN[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0),
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* '"' */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* '\\' */
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1),
#undef R16
};

void gls_json_init(gls_json *j, const char *s, size_t n) {
  j->s = s;
  j->n = n;
  j->pos = 0;
  j->depth = 0;
  j->state = S_START;
  j->str = NULL;
  j->len = 0;
  j->esc = 0;
}

static int fail(gls_json *j) {
  j->state = S_ERROR;
  return GLS_JSON_ERROR;
}

/* The next byte that is not white space (its position in pos), or -1 at the end. */
static int ws_slow(gls_json *j) {
  const unsigned char *s = (const unsigned char *)j->s;
  size_t i = j->pos, n = j->n;
  for (; i < n; i++) {
    unsigned char c = s[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      j->pos = i;
      return c;
    }
  }
  j->pos = n;
  return -1;
}

static inline int ws(gls_json *j) {
  if (j->pos < j->n && (unsigned char)j->s[j->pos] > ' ') return (unsigned char)j->s[j->pos];
  return ws_slow(j);
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The four hex digits at s (the caller checked they are there), or -1. */
static long hex4(const unsigned char *s) {
  int a = hexval(s[0]), b = hexval(s[1]), c = hexval(s[2]), d = hexval(s[3]);
  if ((a | b | c | d) < 0) return -1;
  return (long)a << 12 | b << 8 | c << 4 | d;
}

/* The escape at s[i] ('\\'), n bytes in all: its length, or 0 when it is not one (a lone
 * surrogate included). */
static size_t escape_len(const unsigned char *s, size_t i, size_t n) {
  long hi, lo;
  if (i + 1 >= n) return 0;
  switch (s[i + 1]) {
  case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': return 2;
  case 'u': break;
  default: return 0;
  }
  if (n - i < 6 || (hi = hex4(s + i + 2)) < 0) return 0;
  if (hi < 0xD800 || hi > 0xDFFF) return 6;
  if (hi > 0xDBFF || n - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u') return 0;
  lo = hex4(s + i + 8);
  return lo >= 0xDC00 && lo <= 0xDFFF ? 12 : 0;
}

/* The string whose opening quote is at pos: str, len and esc set, pos past its closing quote.
 * Inlined in its two callers: it is most of the reading. */
static inline __attribute__((always_inline)) int scan_string(gls_json *j) {
  const unsigned char *s = (const unsigned char *)j->s;
  size_t start = j->pos + 1, i = start, n = j->n, e;
  int esc = 0;
  for (;;) {
#if GLS_SSE2
    /* 16 bytes a step to the first '"', '\\' or control character */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  c1f = _mm_set1_epi8(0x1F), zero = _mm_setzero_si128();
    while (i + 16 <= n) {
      __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
      __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmpeq_epi8(_mm_subs_epu8(x, c1f), zero));
      unsigned mask = (unsigned)_mm_movemask_epi8(hit);
      if (mask) {
        i += (size_t)__builtin_ctz(mask);
        break;
      }
      i += 16;
    }
#endif
    while (i < n && PLAIN[s[i]]) i++;
    if (i >= n) return 0;
    if (s[i] == '"') break;
    if (s[i] != '\\' || (e = escape_len(s, i, n)) == 0) return 0; /* a control character */
    esc = 1;
    i += e;
  }
  j->str = j->s + start;
  j->len = i - start;
  j->esc = esc;
  j->pos = i + 1;
  return 1;
}

static int push(gls_json *j, int array) {
  int d = j->depth;
  unsigned char bit = (unsigned char)(1u << (d & 7));
  if (d >= GLS_JSON_MAX_DEPTH) return 0;
  if (array) j->arrays[d >> 3] |= bit;
  else j->arrays[d >> 3] &= (unsigned char)~bit;
  j->depth = d + 1;
  return 1;
}

static int in_array(const gls_json *j) {
  int d = j->depth - 1;
  return j->arrays[d >> 3] >> (d & 7) & 1;
}

static int literal(gls_json *j, const char *word, size_t len, int ev) {
  if (j->n - j->pos < len || memcmp(j->s + j->pos, word, len) != 0) return fail(j);
  j->pos += len;
  j->state = S_AFTER;
  return ev;
}

/* A value, whose first byte c is at pos. */
static int value(gls_json *j, int c) {
  switch (c) {
  case '{':
    if (!push(j, 0)) return fail(j);
    j->pos++;
    j->state = S_FIRST_KEY;
    return GLS_JSON_OBJ;
  case '[':
    if (!push(j, 1)) return fail(j);
    j->pos++;
    j->state = S_FIRST_VALUE;
    return GLS_JSON_ARR;
  case '"':
    if (!scan_string(j)) return fail(j);
    j->state = S_AFTER;
    return GLS_JSON_STR;
  case 't': return literal(j, "true", 4, GLS_JSON_TRUE);
  case 'f': return literal(j, "false", 5, GLS_JSON_FALSE);
  case 'n': return literal(j, "null", 4, GLS_JSON_NULL);
  default: {
    int flags = 0;
    size_t len = gls_json_scan_number(j->s + j->pos, j->n - j->pos, &flags);
    if (c < 0 || len == 0) return fail(j);
    j->str = j->s + j->pos;
    j->len = len;
    j->esc = flags;
    j->pos += len;
    j->state = S_AFTER;
    return GLS_JSON_NUM;
  }
  }
}

/* A member's name and its ':', whose first byte c is at pos. */
static int key(gls_json *j, int c) {
  if (c != '"' || !scan_string(j) || ws(j) != ':') return fail(j);
  j->pos++;
  j->state = S_VALUE;
  return GLS_JSON_KEY;
}

static int close_level(gls_json *j) {
  j->pos++;
  j->depth--;
  j->state = S_AFTER;
  return GLS_JSON_END;
}

int gls_json_next(gls_json *j) {
  int c = ws(j);
  switch (j->state) { /* one call of value and of key each: the compiler inlines them here */
  case S_START:
    if (c < 0) {
      j->state = S_DONE;
      return GLS_JSON_EOF;
    }
    break;
  case S_VALUE: break;
  case S_FIRST_VALUE:
    if (c == ']') return close_level(j);
    break;
  case S_FIRST_KEY:
    if (c == '}') return close_level(j);
    goto name;
  case S_AFTER:
    if (j->depth == 0) {
      if (c >= 0) return fail(j);
      j->state = S_DONE;
      return GLS_JSON_EOF;
    }
    if (c == ',') {
      j->pos++;
      c = ws(j);
      if (in_array(j)) break;
      goto name;
    }
    if (c == (in_array(j) ? ']' : '}')) return close_level(j);
    return fail(j);
  case S_DONE: return GLS_JSON_EOF;
  default: return GLS_JSON_ERROR;
  }
  return value(j, c);
name:
  return key(j, c);
}

int gls_json_skip(gls_json *j, int ev) {
  int depth;
  if (ev == GLS_JSON_ERROR) return 0;
  if (ev != GLS_JSON_OBJ && ev != GLS_JSON_ARR) return 1;
  depth = j->depth - 1;
  do {
    ev = gls_json_next(j);
    if (ev == GLS_JSON_ERROR) return 0;
  } while (ev != GLS_JSON_END || j->depth != depth);
  return 1;
}

/* Code point cp as UTF-8 at out: its length. */
static size_t utf8(char *out, unsigned long cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 63));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 63));
    out[2] = (char)(0x80 | (cp & 63));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18);
  out[1] = (char)(0x80 | (cp >> 12 & 63));
  out[2] = (char)(0x80 | (cp >> 6 & 63));
  out[3] = (char)(0x80 | (cp & 63));
  return 4;
}

size_t gls_json_unescape(const char *s, size_t n, char *out) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, o = 0;
  while (i < n) {
    const char *bs = memchr(s + i, '\\', n - i);
    size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
    unsigned long cp;
    memmove(out + o, s + i, run); /* out may be s: decoding in place */
    o += run;
    i += run;
    if (i + 1 >= n) break;
    switch (s[i + 1]) {
    case 'b': out[o++] = '\b'; break;
    case 'f': out[o++] = '\f'; break;
    case 'n': out[o++] = '\n'; break;
    case 'r': out[o++] = '\r'; break;
    case 't': out[o++] = '\t'; break;
    case 'u':
      if (n - i < 6) return o;
      cp = (unsigned long)hex4(u + i + 2);
      if (cp >= 0xD800 && cp <= 0xDBFF && n - i >= 12) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)hex4(u + i + 8) - 0xDC00);
        i += 6;
      }
      o += utf8(out + o, cp);
      i += 4;
      break;
    default: out[o++] = s[i + 1]; /* '"', '\\', '/' */
    }
    i += 2;
  }
  return o;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

size_t gls_json_scan_number(const char *s, size_t n, int *flags) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  int f = 0;
  if (i < n && u[i] == '-') i++;
  if (i >= n || !is_digit(u[i])) return 0;
  if (u[i++] != '0')
    while (i < n && is_digit(u[i])) i++;
  if (i < n && u[i] == '.') {
    if (++i >= n || !is_digit(u[i])) return 0;
    while (i < n && is_digit(u[i])) i++;
    f |= GLS_JSON_FRAC;
  }
  if (i < n && (u[i] | 0x20) == 'e') {
    if (++i < n && (u[i] == '+' || u[i] == '-')) i++;
    if (i >= n || !is_digit(u[i])) return 0;
    while (i < n && is_digit(u[i])) i++;
    f |= GLS_JSON_EXP;
  }
  *flags = f;
  return i;
}

/* The exact powers of ten a double holds. */
static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* strtod of the text a then b (an, bn bytes), in any locale: a copy with the locale's decimal
 * point for '.'. 1, or 0 when out of memory. */
static int slow_double(const char *a, size_t an, const char *b, size_t bn, double *out) {
  char stack[128], *buf = stack, *o;
  const char *dp = localeconv()->decimal_point;
  size_t dl = strlen(dp), k, need = an + bn + (dl > 1 ? dl - 1 : 0) + 1;
  const char *parts[2] = {a, b};
  size_t lens[2] = {an, bn};
  if (need > sizeof stack && !(buf = malloc(need))) return 0;
  o = buf;
  for (k = 0; k < 2; k++) {
    size_t i;
    for (i = 0; i < lens[k]; i++) {
      if (parts[k][i] == '.' && dl) {
        memcpy(o, dp, dl);
        o += dl;
      } else {
        *o++ = parts[k][i];
      }
    }
  }
  *o = '\0';
  *out = strtod(buf, NULL);
  if (buf != stack) free(buf);
  return 1;
}

/* The double nearest to the decimal number whose digits are ip (in) then fp (fn), times ten to
 * the e10, negated with neg; text (tn bytes) says the same for strtod when the exact fast path
 * (at most 15 significant digits and a power of ten a double holds, both exact, so one
 * correctly rounded operation) does not apply. */
static int decimal(int neg, const char *ip, size_t in, const char *fp, size_t fn, long e10,
                   const char *pre, size_t pn, const char *text, size_t tn, double *out) {
  uint64_t m = 0;
  int sig = 0;
  size_t k;
  double d;
  /* the significant digits (leading zeros left out) into m, while there are at most 15 */
  for (k = 0; k < in && sig <= 15; k++) {
    sig += m != 0 || ip[k] != '0';
    m = m * 10 + (uint64_t)(ip[k] - '0');
  }
  for (k = 0; k < fn && sig <= 15; k++) {
    sig += m != 0 || fp[k] != '0';
    m = m * 10 + (uint64_t)(fp[k] - '0');
  }
  e10 -= (long)fn;
#if FLT_EVAL_METHOD == 0
  if (sig <= 15 && (m == 0 || (e10 >= -22 && e10 <= 22))) {
    d = (double)m;
    if (m) d = e10 < 0 ? d / POW10[-e10] : d * POW10[e10];
    *out = neg ? -d : d;
    return 1;
  }
#endif
  if (!slow_double(pre, pn, text, tn, &d)) return 0;
  *out = d;
  return 1;
}

int gls_json_number(const char *s, size_t n, int flags, gls_json_num *out) {
  const char *ip, *fp = "", *p = s, *end = s + n;
  size_t in, fn = 0;
  long e10 = 0;
  int neg = *p == '-';
  p += neg;
  ip = p;
  while (p < end && is_digit((unsigned char)*p)) p++;
  in = (size_t)(p - ip);
  out->is_int = 0;
  out->i = 0;
  if (!flags) {
    /* an integer: exact when a long long holds it (always with up to 18 digits) */
    uint64_t m = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    size_t k = 0;
    if (in <= 18)
      for (; k < in; k++) m = m * 10 + (unsigned)(ip[k] - '0');
    else
      for (; k < in; k++) {
        unsigned digit = (unsigned)(ip[k] - '0');
        if (m > (lim - digit) / 10) break;
        m = m * 10 + digit;
      }
    if (k == in) {
      out->is_int = 1;
      out->i = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(long long)m) : (long long)m;
      out->d = neg ? -(double)m : (double)m;
      return 1;
    }
  }
  if (p < end && *p == '.') {
    fp = ++p;
    while (p < end && is_digit((unsigned char)*p)) p++;
    fn = (size_t)(p - fp);
  }
  if (p < end) { /* the exponent, held at +-100000: past that it is 0 or HUGE_VAL for strtod */
    int eneg = 0;
    p++;
    if (*p == '+' || *p == '-') eneg = *p++ == '-';
    for (; p < end; p++)
      if (e10 < 100000) e10 = e10 * 10 + (*p - '0');
    if (eneg) e10 = -e10;
  }
  return decimal(neg, ip, in, fp, fn, e10, "", 0, s, n, &out->d);
}

/* The two digits at s, or -1. */
static int two(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  return is_digit(u[0]) && is_digit(u[1]) ? (u[0] - '0') * 10 + (u[1] - '0') : -1;
}

static long long floor_div(long long a, long long b) {
  long long q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

long long gls_days_from_civil(long long y, long long m, long long d) {
  long long era, yoe, mp, doy, doe;
  if (m <= 2) y -= 1;
  era = floor_div(y, 400);
  yoe = y - era * 400;
  mp = (m + 9) % 12;
  doy = (153 * mp + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int gls_rfc3339(const char *s, size_t n, gls_json_num *out) {
  static const int days_in[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y1, y2, mo, d, h, mi, sec, leap;
  long long y, t, offset = 0;
  size_t i = 19, fs = 0, fn = 0;
  if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':')
    return 0;
  y1 = two(s);
  y2 = two(s + 2);
  mo = two(s + 5);
  d = two(s + 8);
  h = two(s + 11);
  mi = two(s + 14);
  sec = two(s + 17);
  if ((y1 | y2 | mo | d | h | mi | sec) < 0) return 0;
  y = y1 * 100 + y2;
  leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60) return 0;
  if (d > days_in[mo - 1] && !(mo == 2 && d == 29 && leap)) return 0;
  if (s[i] == '.') {
    fs = ++i;
    while (i < n && is_digit((unsigned char)s[i])) i++;
    fn = i - fs;
    if (fn == 0) return 0;
  }
  if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
    offset = 0;
  } else {
    int oh, om;
    if (n - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':') return 0;
    oh = two(s + i + 1);
    om = two(s + i + 4);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return 0;
    offset = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
  }
  t = gls_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
  out->is_int = 1;
  out->i = t;
  out->d = (double)t;
  if (fn) {
    double frac;
    if (!decimal(0, "0", 1, s + fs, fn, 0, "0.", 2, s + fs, fn, &frac)) return -1;
    if (frac > 0) {
      out->is_int = 0;
      out->d = (double)t + frac;
    }
  }
  return 1;
}
