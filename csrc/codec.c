/* The encodings of codec.h. */
#include "codec.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(GLS_NO_SIMD)
#include <emmintrin.h>
#define GLS_SSE2 1
#else
#define GLS_SSE2 0
#endif

/* ---- base64 ------------------------------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0-63 for the alphabet, 64 for everything else. */
static const unsigned char B64_VALUE[256] = {
#define X64 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64
    X64, X64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64, 64, 63,               /* + / */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,               /* 0-9 */
    64, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,               /* A-O */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 64,               /* P-Z */
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,               /* a-o */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,               /* p-z */
    X64, X64, X64, X64, X64, X64, X64, X64,
#undef X64
};

size_t gls_b64_encoded_len(size_t n) {
  size_t groups = n / 3 + (n % 3 != 0);
  return groups > SIZE_MAX / 4 ? 0 : groups * 4;
}

void gls_b64_encode(char *out, const unsigned char *in, size_t n) {
  size_t i;
  for (i = 0; i + 2 < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    *out++ = B64[v >> 18];
    *out++ = B64[(v >> 12) & 63];
    *out++ = B64[(v >> 6) & 63];
    *out++ = B64[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0u);
    *out++ = B64[v >> 18];
    *out++ = B64[(v >> 12) & 63];
    *out++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
    *out = '=';
  }
}

int gls_b64_decode(unsigned char *out, const char *in, size_t n, size_t *out_len) {
  const unsigned char *s = (const unsigned char *)in;
  size_t i, o = 0;
  if (n % 4 != 0) return -1;
  for (i = 0; i < n; i += 4) {
    unsigned a = B64_VALUE[s[i]], b = B64_VALUE[s[i + 1]], c = B64_VALUE[s[i + 2]],
             d = B64_VALUE[s[i + 3]];
    if ((a | b) > 63) return -1;
    if ((c | d) > 63) {
      /* padding: only in the last group, "xx==" or "xxx=" */
      if (i + 4 != n || s[i + 3] != '=' || (c > 63 && s[i + 2] != '=')) return -1;
    }
    out[o++] = (unsigned char)(a << 2 | b >> 4);
    if (c <= 63) out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
    if ((c | d) <= 63) out[o++] = (unsigned char)((c & 3) << 6 | d);
  }
  *out_len = o;
  return 0;
}

/* ---- hex ---------------------------------------------------------------------------------- */

#if !GLS_SSE2
/* "000102...ff": two hex digits per byte in one copy. */
static const char HEX_PAIRS[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
#endif

void gls_hex_encode(char *out, const unsigned char *in, size_t n) {
  size_t i = 0;
#if GLS_SSE2
  /* 16 bytes per step: split the nibbles, interleave them high first, add '0' or 'a' - 10. */
  const __m128i low4 = _mm_set1_epi8(15), nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0'),
                letters = _mm_set1_epi8('a' - '0' - 10);
  for (; i + 16 <= n; i += 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), low4), lo = _mm_and_si128(x, low4);
    __m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
    a = _mm_add_epi8(_mm_add_epi8(a, zero), _mm_and_si128(_mm_cmpgt_epi8(a, nine), letters));
    b = _mm_add_epi8(_mm_add_epi8(b, zero), _mm_and_si128(_mm_cmpgt_epi8(b, nine), letters));
    _mm_storeu_si128((__m128i *)(void *)(out + 2 * i), a);
    _mm_storeu_si128((__m128i *)(void *)(out + 2 * i + 16), b);
  }
  for (; i < n; i++) {
    static const char digits[] = "0123456789abcdef";
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
#else
  for (; i < n; i++) memcpy(out + 2 * i, HEX_PAIRS + 2 * in[i], 2);
#endif
}

/* ---- JSON --------------------------------------------------------------------------------- */

int gls_json_quote(gls_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i, run = 0;
  gls_buf_addc(b, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[6];
    size_t elen = 2;
    if (c >= 0x20 && c != '"' && c != '\\') continue; /* most bytes: kept, in the current run */
    esc[0] = '\\';
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      elen = 6;
    }
    gls_buf_add(b, s + run, i - run);
    gls_buf_add(b, esc, elen);
    run = i + 1;
  }
  gls_buf_add(b, s + run, n - run);
  return gls_buf_addc(b, '"');
}
