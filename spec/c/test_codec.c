/* Unit tests of the growable buffer (csrc/buf.c) and the encodings (csrc/codec.c), without Lua. */
#include "buf.h"
#include "codec.h"
#include "ctest.h"
#include "paginator.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_buf(void) {
  gls_buf b = GLS_BUF_INIT;
  size_t i, bad = 0;
  CHECK(gls_buf_add(&b, "", 0) == GLS_BUF_OK && b.p && b.p[0] == '\0' && b.len == 0);
  for (i = 0; i < 10000; i++) bad += gls_buf_addc(&b, (char)('a' + i % 26)) != GLS_BUF_OK;
  CHECK(b.len == 10000 && b.p[10000] == '\0' && b.cap > b.len && b.p[9999] == 'a' + 9999 % 26);
  gls_buf_reset(&b);
  CHECK(b.len == 0 && b.p[0] == '\0' && b.cap >= 10001); /* keeps its block */
  gls_buf_free(&b);
  CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
  /* a limit: exactly max bytes fit, one more fails and the failure sticks until a reset */
  b.max = 1000;
  for (i = 0; i < 1000; i++) bad += gls_buf_add(&b, "x", 1) != GLS_BUF_OK;
  CHECK(gls_buf_add(&b, "y", 1) == GLS_BUF_TOO_BIG);
  CHECK(gls_buf_add(&b, "", 0) == GLS_BUF_TOO_BIG && b.len == 1000 && b.cap == 1001);
  gls_buf_reset(&b);
  CHECK(gls_buf_adds(&b, "again") == GLS_BUF_OK && strcmp(b.p, "again") == 0);
  CHECK(gls_buf_reserve(&b, SIZE_MAX - 2) == GLS_BUF_TOO_BIG);
  gls_buf_free(&b);
  CHECK(b.max == 1000 && b.err == GLS_BUF_OK);
  /* a wiped buffer grows by copy and keeps its bytes */
  {
    gls_buf w = GLS_BUF_INIT;
    w.wipe = 1;
    for (i = 0; i < 3000; i++) bad += gls_buf_add(&w, "0123456789", 10) != GLS_BUF_OK;
    CHECK(w.len == 30000 && memcmp(w.p + 29990, "0123456789", 10) == 0 && w.p[30000] == '\0');
    gls_buf_free(&w);
    CHECK(w.p == NULL && w.wipe == 1);
  }
  CHECK(gls_buf_reserve(&b, SIZE_MAX) == GLS_BUF_TOO_BIG);
  gls_buf_free(&b);
  CHECK(bad == 0);
}

static const char *b64(const char *in, size_t n, char *out) {
  size_t len = gls_b64_encoded_len(n);
  gls_b64_encode(out, (const unsigned char *)in, n);
  out[len] = '\0';
  return out;
}

static int decodes(const char *in, const char *want, size_t want_len) {
  unsigned char out[64];
  size_t n = 0;
  return gls_b64_decode(out, in, strlen(in), &n) == 0 && n == want_len && memcmp(out, want, n) == 0;
}

static void test_base64(void) {
  /* RFC 4648 section 10 */
  static const char *vec[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
                                 {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  static const char *bad[] = {"Zg", "Zg=", "Zm9", "Zg=a", "Z===", "====", "=Zm9", "Zg==Zg==",
                              "Zm9v!A==", "Zm9v\n", " Zm9v", "Zm9-YmFy", "Zm9_YmFy", "Zm9vYmF\x80",
                              NULL};
  char out[64];
  unsigned char dec[64];
  size_t i, n;
  for (i = 0; i < sizeof vec / sizeof vec[0]; i++) {
    CHECK_STR(b64(vec[i][0], strlen(vec[i][0]), out), vec[i][1]);
    CHECK(decodes(vec[i][1], vec[i][0], strlen(vec[i][0])));
  }
  CHECK_STR(b64("\xfb\xff\xbf", 3, out), "+/+/");
  for (i = 0; bad[i]; i++) CHECK(gls_b64_decode(dec, bad[i], strlen(bad[i]), &n) == -1);
  CHECK(gls_b64_decode(dec, "Zm9vYmF\0", 8, &n) == -1);
  CHECK(gls_b64_encoded_len(SIZE_MAX) == 0);
  /* every byte value round-trips at every length up to 40 */
  {
    unsigned char all[40];
    char enc[64];
    for (i = 0; i < sizeof all; i++) all[i] = (unsigned char)(i * 37 + 200);
    for (n = 0; n <= sizeof all; n++) {
      size_t len = gls_b64_encoded_len(n), got = 0;
      gls_b64_encode(enc, all, n);
      CHECK(len == (n + 2) / 3 * 4);
      CHECK(gls_b64_decode(dec, enc, len, &got) == 0 && got == n && memcmp(dec, all, n) == 0);
    }
  }
}

static void test_hex(void) {
  unsigned char in[37];
  char out[75], want[75];
  size_t i, n;
  static const char digits[] = "0123456789abcdef";
  for (i = 0; i < sizeof in; i++) in[i] = (unsigned char)(i * 7 + 0xf0);
  for (n = 0; n <= sizeof in; n++) { /* the 16-byte steps and their tails */
    for (i = 0; i < n; i++) {
      want[2 * i] = digits[in[i] >> 4];
      want[2 * i + 1] = digits[in[i] & 15];
    }
    gls_hex_encode(out, in, n);
    CHECK(memcmp(out, want, 2 * n) == 0);
  }
}

static const char *quote(gls_buf *b, const char *s, size_t n) {
  gls_buf_reset(b);
  CHECK(gls_json_quote(b, s, n) == GLS_BUF_OK);
  return b->p;
}

static void test_json_quote(void) {
  gls_buf b = GLS_BUF_INIT;
  CHECK_STR(quote(&b, "", 0), "\"\"");
  CHECK_STR(quote(&b, "plain", 5), "\"plain\"");
  CHECK_STR(quote(&b, "a\"b\\c/", 6), "\"a\\\"b\\\\c/\"");
  CHECK_STR(quote(&b, "\b\f\n\r\t", 5), "\"\\b\\f\\n\\r\\t\"");
  CHECK_STR(quote(&b, "\x01\x1f", 2), "\"\\u0001\\u001f\"");
  CHECK_STR(quote(&b, "\0x", 2), "\"\\u0000x\"");
  /* DEL and UTF-8 as they are: RFC 8259 asks to escape U+0000-U+001F only (JSON.stringify too) */
  CHECK_STR(quote(&b, "\x7f\xc3\xa9", 3), "\"\x7f\xc3\xa9\"");
  gls_buf_free(&b);
}

/* The paginator's resume tokens go through the same quoter and base64. */
static void test_resume_token_encoding(void) {
  size_t len, raw_len = 0;
  char *tok = gls_paginator_encode_token("a\x7f\n", 3, 2, &len);
  unsigned char raw[128];
  const char want[] = "{\"NextToken\": \"a\x7f\\n\", \"boto_truncate_amount\": 2}";
  CHECK(tok != NULL && len % 4 == 0);
  CHECK(tok && gls_b64_decode(raw, tok, len, &raw_len) == 0);
  CHECK(raw_len == sizeof want - 1 && memcmp(raw, want, raw_len) == 0);
  free(tok);
}

int main(void) {
  test_buf();
  test_base64();
  test_hex();
  test_json_quote();
  test_resume_token_encoding();
  return CTEST_DONE();
}
