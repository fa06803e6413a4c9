/* Unit tests of the pure C SigV4 signer (csrc/sigv4.c), without Lua. A little over 500 lines as
 * one file: the signer's C API in one program, which make test runs built as is and without SIMD. */
#include "ctest.h"
#include "sigv4.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T0 1440938160LL /* 2015-08-30T12:36:00Z */

static const char *uri(gls_buf *b, const char *path, int normalize) {
  CHECK(gls_sigv4_canonical_uri(b, path, strlen(path), normalize) == 0);
  return b->p;
}

static void test_canonical_uri(void) {
  gls_buf b = GLS_BUF_INIT;
  CHECK_STR(uri(&b, "", 1), "/");
  CHECK_STR(uri(&b, "/", 1), "/");
  CHECK_STR(uri(&b, "//", 1), "/");
  CHECK_STR(uri(&b, "//", 0), "//");
  CHECK_STR(uri(&b, "//example//", 1), "/example/");
  CHECK_STR(uri(&b, "/example/..", 1), "/");
  CHECK_STR(uri(&b, "/example/..", 0), "/example/..");
  CHECK_STR(uri(&b, "/a/b/../../..", 1), "/");
  CHECK_STR(uri(&b, "/a/./b/../c", 1), "/a/c");
  CHECK_STR(uri(&b, "/./", 1), "/");
  CHECK_STR(uri(&b, "/example space/", 1), "/example%20space/");
  CHECK_STR(uri(&b, "/\xe1\x88\xb4", 1), "/%E1%88%B4");
  CHECK_STR(uri(&b, "/-._~AZaz09", 1), "/-._~AZaz09");
  /* Paths that are their own canonical form (copied as they are) and near misses. */
  CHECK_STR(uri(&b, "/streamgroups/sg-1AB2C3De4/streamsessions", 1),
            "/streamgroups/sg-1AB2C3De4/streamsessions");
  CHECK_STR(uri(&b, "/a/b/", 1), "/a/b/");
  CHECK_STR(uri(&b, "/a//b", 0), "/a//b");
  CHECK_STR(uri(&b, "/a//b", 1), "/a/b");
  CHECK_STR(uri(&b, "a/b", 1), "/a/b");
  CHECK_STR(uri(&b, "a/b", 0), "a/b");
  CHECK_STR(uri(&b, "/a+b", 1), "/a%2Bb");
  /* Already-encoded wire paths are encoded again (the non-S3 rule). */
  CHECK_STR(uri(&b, "/streamgroups/arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1AB2C3De4/streamsessions", 1),
            "/streamgroups/arn%253Aaws%253Agameliftstreams%253Aus-west-2%253A111122223333%253Astreamgroup%252Fsg-1AB2C3De4/streamsessions");
  /* A long path makes the buffer grow several times. */
  {
    char big[3000];
    size_t i;
    for (i = 0; i < sizeof big - 1; i++) big[i] = (i % 10 == 0) ? '/' : ':';
    big[sizeof big - 1] = '\0';
    CHECK(gls_sigv4_canonical_uri(&b, big, strlen(big), 1) == 0);
    CHECK(b.len == 300 + (sizeof big - 1 - 300) * 3); /* 300 slashes, 2699 colons as %3A */
  }
  gls_buf_free(&b);
  CHECK(b.p == NULL && b.len == 0);
}

/* A slow, obviously right canonical URI: split, normalise, encode segment by segment. */
static void ref_uri(const char *p, size_t n, int normalize, char *out) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i = 0, o = 0;
  if (n == 0) {
    strcpy(out, "/");
    return;
  }
  if (!normalize) {
    for (i = 0; i < n; i++) {
      unsigned char c = (unsigned char)p[i];
      if (c == '/' || c == '-' || c == '.' || c == '_' || c == '~' || (c >= 'a' && c <= 'z') ||
          (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        out[o++] = (char)c;
      } else {
        out[o++] = '%';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
      }
    }
    out[o] = '\0';
    return;
  }
  while (i < n) {
    size_t start, k;
    while (i < n && p[i] == '/') i++;
    start = i;
    while (i < n && p[i] != '/') i++;
    if (i == start || (i - start == 1 && p[start] == '.')) continue;
    if (i - start == 2 && p[start] == '.' && p[start + 1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      continue;
    }
    out[o++] = '/';
    for (k = start; k < i; k++) {
      char seg[2] = {p[k], 0};
      ref_uri(seg, 1, 0, out + o);
      o += strlen(out + o);
    }
  }
  if (o == 0) out[o++] = '/';
  else if (p[n - 1] == '/') out[o++] = '/';
  out[o] = '\0';
}

/* How many of the two modes (normalised or not) canonicalise path unlike the reference. */
static size_t uri_mismatches(gls_buf *b, const char *path, size_t len) {
  char want[256];
  size_t bad = 0;
  int norm;
  for (norm = 0; norm <= 1; norm++) {
    ref_uri(path, len, norm, want);
    if (gls_sigv4_canonical_uri(b, path, len, norm) != 0 || strcmp(b->p, want) != 0) bad++;
  }
  return bad;
}

/* Every path up to 6 characters over a small alphabet agrees with the reference, whichever
 * route (the plain-path copy or the segment walk) the signer takes. */
static void test_canonical_uri_exhaustive(void) {
  static const char alpha[] = "/a.~ %";
  gls_buf b = GLS_BUF_INIT;
  char path[8];
  size_t len, k, a = sizeof alpha - 1, bad = 0;
  for (len = 0; len <= 6; len++) {
    size_t total = 1, idx;
    for (k = 0; k < len; k++) total *= a;
    for (idx = 0; idx < total; idx++) {
      size_t x = idx;
      for (k = 0; k < len; k++, x /= a) path[k] = alpha[x % a];
      path[len] = '\0';
      bad += uri_mismatches(&b, path, len);
    }
  }
  CHECK(bad == 0);
  gls_buf_free(&b);
}

/* Long paths take the 16-bytes-at-a-time check: every position of a 41-byte path holds each
 * byte that matters to it once, and the result agrees with the reference. */
static void test_canonical_uri_long(void) {
  static const char probe[] = "/.%~-_ aZz09@[`{:\x80\xff";
  gls_buf b = GLS_BUF_INIT;
  char path[48];
  size_t len = 41, k, c, bad = 0;
  for (k = 0; k < len; k++) {
    for (c = 0; c < sizeof probe - 1; c++) {
      memset(path, 'a', len);
      path[0] = '/';
      path[20] = '/';
      path[k] = probe[c];
      path[len] = '\0';
      bad += uri_mismatches(&b, path, len);
    }
  }
  CHECK(bad == 0);
  gls_buf_free(&b);
}

static const char *query(gls_sigv4 *s, gls_buf *b, const char *q) {
  CHECK(gls_sigv4_canonical_query(s, b, q, strlen(q)) == 0);
  return b->p ? b->p : "";
}

static void test_canonical_query(void) {
  gls_sigv4 *s = gls_sigv4_new(0);
  gls_buf b = GLS_BUF_INIT;
  CHECK(s != NULL);
  CHECK_STR(query(s, &b, ""), "");
  CHECK_STR(query(s, &b, "Param2=value2&Param1=value1"), "Param1=value1&Param2=value2");
  CHECK_STR(query(s, &b, "b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
  CHECK_STR(query(s, &b, "Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
  CHECK_STR(query(s, &b, "k=a+b%20c&k2=%7e%2f&bad=%zz%4"), "bad=%25zz%254&k=a%2Bb%20c&k2=~%2F");
  CHECK_STR(query(s, &b, "&&x=1&&"), "x=1");
  /* Sorted on the encoded form: "%3A" sorts before "0". */
  CHECK_STR(query(s, &b, "a0=1&a:=2"), "a%3A=2&a0=1");
  gls_buf_free(&b);
  gls_sigv4_free(s);
}

static void test_hashes(int flags) {
  gls_sigv4 *s = gls_sigv4_new(flags);
  char hex[65];
  unsigned char mac[32];
  static const unsigned char jefe[32] = {
      0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
      0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  CHECK(gls_sigv4_sha256_hex(s, "abc", 3, hex) == 0);
  CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(gls_sigv4_hmac_sha256(s, "Jefe", 4, "what do ya want for nothing?", 28, mac) == 0);
  CHECK(memcmp(mac, jefe, 32) == 0);
  gls_sigv4_free(s);
}

static gls_sigv4_request vanilla(void) {
  gls_sigv4_request r;
  memset(&r, 0, sizeof r);
  r.method = "GET";
  r.method_len = 3;
  r.url = "https://example.amazonaws.com/";
  r.url_len = strlen(r.url);
  r.region = "us-east-1";
  r.region_len = 9;
  r.service = "service";
  r.service_len = 7;
  r.access_key_id = "AKIDEXAMPLE";
  r.access_key_id_len = 11;
  r.secret = SECRET;
  r.secret_len = strlen(SECRET);
  r.time = T0;
  r.normalize = 1;
  return r;
}

static void test_get_vanilla(int flags) {
  gls_sigv4 *s = gls_sigv4_new(flags);
  gls_sigv4_request r = vanilla();
  gls_sigv4_result out;
  CHECK(gls_sigv4_sign(s, &r, &out) == NULL);
  CHECK_STR(out.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_STR(out.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  CHECK_STR(out.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  CHECK_STR(out.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  CHECK_STR(out.amz_date, "20150830T123600Z");
  CHECK(out.url == NULL && !out.host_given && out.host_len == 21);
  /* Signing again hits the key cache and gives the same signature. */
  CHECK(gls_sigv4_derivations(s) == 1);
  CHECK(gls_sigv4_sign(s, &r, &out) == NULL);
  CHECK_STR(out.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  CHECK(gls_sigv4_derivations(s) == 1);

  /* get-vanilla, query variant. */
  r.presign = 3600;
  CHECK(gls_sigv4_sign(s, &r, &out) == NULL);
  CHECK_STR(out.signature, "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d");
  CHECK_STR(out.url,
            "https://example.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
            "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z"
            "&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature="
            "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d");
  CHECK(out.authorization == NULL);
  gls_sigv4_free(s);
}

static void test_headers_and_token(int flags) {
  gls_sigv4 *s = gls_sigv4_new(flags);
  gls_sigv4_request r = vanilla();
  gls_sigv4_result out;
  gls_sigv4_header h[] = {{"My-Header1", 10, "value4", 6}, {"User-Agent", 10, "ua", 2},
                          {"my-header1", 10, "  a \n  b  ", 10}, {"Authorization", 13, "x", 1}};
  r.headers = h;
  r.n_headers = 4;
  r.session_token = "TOKEN";
  r.session_token_len = 5;
  r.url = "http://127.0.0.1:8000/x";
  r.url_len = strlen(r.url);
  CHECK(gls_sigv4_sign(s, &r, &out) == NULL);
  CHECK_STR(out.canonical_request,
            "GET\n/x\n\nhost:127.0.0.1:8000\nmy-header1:value4,a b\nx-amz-date:20150830T123600Z\n"
            "x-amz-security-token:TOKEN\n\nhost;my-header1;x-amz-date;x-amz-security-token\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(gls_sigv4_header_role(&r, "user-agent", 10) == GLS_SIGV4_UNSIGNED);
  CHECK(gls_sigv4_header_role(&r, "authorization", 13) == GLS_SIGV4_REPLACED);
  CHECK(gls_sigv4_header_role(&r, "x-amz-security-token", 20) == GLS_SIGV4_REPLACED);
  CHECK(gls_sigv4_header_role(&r, "content-type", 12) == GLS_SIGV4_SIGNED);
  r.omit_session_token = 1;
  CHECK(gls_sigv4_sign(s, &r, &out) == NULL);
  CHECK(strstr(out.canonical_request, "TOKEN") == NULL);
  CHECK_STR(out.signed_headers, "host;my-header1;x-amz-date");
  gls_sigv4_free(s);
}

static void test_key_cache(int flags) {
  gls_sigv4 *s = gls_sigv4_new(flags);
  unsigned char k1[32], k2[32], k3[32];
  /* The signing key from the SigV4 documentation's example (secret ...EXAMPLEKEY, 20150830,
   * us-east-1, iam). */
  static const char want_iam[] = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9";
  char hex[65];
  size_t i;
  CHECK(gls_sigv4_signing_key(s, SECRET, strlen(SECRET), "20150830", "us-east-1", 9, "iam", 3, k1) == 0);
  for (i = 0; i < 32; i++) {
    hex[2 * i] = "0123456789abcdef"[k1[i] >> 4];
    hex[2 * i + 1] = "0123456789abcdef"[k1[i] & 15];
  }
  hex[64] = '\0';
  CHECK_STR(hex, want_iam);
  CHECK(gls_sigv4_derivations(s) == 1);
  /* Each change of secret, date, region or service derives a new key. */
  CHECK(gls_sigv4_signing_key(s, "other", 5, "20150830", "us-east-1", 9, "iam", 3, k2) == 0);
  CHECK(memcmp(k1, k2, 32) != 0);
  CHECK(gls_sigv4_signing_key(s, SECRET, strlen(SECRET), "20150831", "us-east-1", 9, "iam", 3, k2) == 0);
  CHECK(memcmp(k1, k2, 32) != 0);
  CHECK(gls_sigv4_signing_key(s, SECRET, strlen(SECRET), "20150830", "us-east-2", 9, "iam", 3, k2) == 0);
  CHECK(memcmp(k1, k2, 32) != 0);
  CHECK(gls_sigv4_derivations(s) == 4);
  /* Four entries: the first is still there. */
  CHECK(gls_sigv4_signing_key(s, SECRET, strlen(SECRET), "20150830", "us-east-1", 9, "iam", 3, k3) == 0);
  CHECK(memcmp(k1, k3, 32) == 0);
  CHECK(gls_sigv4_derivations(s) == 4);
  /* A fifth evicts one; asking for the first again re-derives the same key. */
  CHECK(gls_sigv4_signing_key(s, SECRET, strlen(SECRET), "20150830", "us-east-1", 9, "sts", 3, k2) == 0);
  CHECK(gls_sigv4_signing_key(s, SECRET, strlen(SECRET), "20150830", "us-east-1", 9, "iam", 3, k3) == 0);
  CHECK(memcmp(k1, k3, 32) == 0);
  /* A secret longer than the stack buffer. */
  {
    char longsecret[400];
    memset(longsecret, 'k', sizeof longsecret);
    CHECK(gls_sigv4_signing_key(s, longsecret, sizeof longsecret, "20150830", "r", 1, "s", 1, k2) == 0);
  }
  gls_sigv4_free(s);
  gls_sigv4_free(NULL);
}

static void test_bad_urls(void) {
  gls_sigv4 *s = gls_sigv4_new(0);
  gls_sigv4_request r = vanilla();
  gls_sigv4_result out;
  const char *bad[] = {"example.com/", "https:///", "https://u@h/", "https://h:8x/", "://h/", NULL};
  size_t i;
  for (i = 0; bad[i]; i++) {
    r.url = bad[i];
    r.url_len = strlen(bad[i]);
    CHECK(gls_sigv4_sign(s, &r, &out) != NULL);
  }
  r.url = "https://h";
  r.url_len = 9;
  r.time = 400000000000LL; /* after year 9999 */
  CHECK(gls_sigv4_sign(s, &r, &out) != NULL);
  gls_sigv4_free(s);
}

/* The bindings' number rules (both bindings call these). */
static void test_arg_rules(void) {
  long long v = 7;
  CHECK(gls_sigv4_arg_time(1440938160.9, &v) == NULL && v == 1440938160LL);
  CHECK(gls_sigv4_arg_time(-0.5, &v) == NULL && v == -1);
  CHECK(gls_sigv4_arg_time(-62135596800.0, &v) == NULL && v == -62135596800LL);
  CHECK(gls_sigv4_arg_time(253402300799.0, &v) == NULL && v == 253402300799LL);
  v = 7;
  CHECK(gls_sigv4_arg_time(253402300800.0, &v) != NULL && v == 7);
  CHECK(gls_sigv4_arg_time(-62135596801.0, &v) != NULL);
  CHECK(gls_sigv4_arg_time(1e300, &v) != NULL && gls_sigv4_arg_time(0.0 / 0.0, &v) != NULL);
  CHECK(gls_sigv4_arg_presign(1, &v) == NULL && v == 1);
  CHECK(gls_sigv4_arg_presign(GLS_SIGV4_MAX_PRESIGN, &v) == NULL && v == GLS_SIGV4_MAX_PRESIGN);
  CHECK(gls_sigv4_arg_presign(0, &v) != NULL && gls_sigv4_arg_presign(1.5, &v) != NULL);
  CHECK(gls_sigv4_arg_presign(GLS_SIGV4_MAX_PRESIGN + 1, &v) != NULL);
  CHECK(gls_sigv4_arg_presign(1e300, &v) != NULL && gls_sigv4_arg_presign(0.0 / 0.0, &v) != NULL);
}

/* NUL, CR or LF at every position of a region of every length to 40 (both sides of the 8- and
 * 16-byte steps, and the overlapping last 16) is refused; bytes that share their low bits with
 * them (0x8A, 0x8D, 0x80, 0x0B) are not. */
static void test_line_breaks(void) {
  static const char breaks[] = {'\0', '\r', '\n'}, lookalikes[] = {'\x8a', '\x8d', '\x80', '\x0b'};
  gls_sigv4 *s = gls_sigv4_new(0);
  gls_sigv4_request r = vanilla();
  gls_sigv4_result out;
  gls_sigv4_header h = {"X-V", 3, NULL, 0};
  char v[40];
  size_t len, k, c, bad = 0;
  for (len = 1; len <= sizeof v; len++) {
    for (k = 0; k < len; k++) {
      for (c = 0; c < sizeof breaks + sizeof lookalikes; c++) {
        const char *err;
        int is_break = c < sizeof breaks;
        memset(v, 'a', sizeof v);
        v[k] = is_break ? breaks[c] : lookalikes[c - sizeof breaks];
        r.region = v;
        r.region_len = len;
        err = gls_sigv4_sign(s, &r, &out);
        if (is_break ? !err || strcmp(err, "region must not contain CR, LF or NUL") != 0
                     : err != NULL)
          bad++;
        r.region = "us-east-1";
        r.region_len = 9;
        h.value = v;
        h.value_len = len;
        r.headers = &h;
        r.n_headers = 1;
        err = gls_sigv4_sign(s, &r, &out);
        if (is_break ? !err || strncmp(err, "headers[\"X-V\"] must not", 23) != 0 : err != NULL)
          bad++;
        r.n_headers = 0;
      }
    }
  }
  CHECK(bad == 0);
  /* a fold (line break, then a space or tab) stays in a value */
  h.value = "a\r\n b\n\tc";
  h.value_len = strlen(h.value);
  r.headers = &h;
  r.n_headers = 1;
  CHECK(gls_sigv4_sign(s, &r, &out) == NULL);
  gls_sigv4_free(s);
}

/* A 40-byte host takes the 16-bytes-at-a-time scan: each byte that stops it, at every position,
 * gives the host or the error the byte-by-byte rules give. */
static void test_long_host(void) {
  static const char stops[] = " \x01\x7f@/?#:]\x80\xff";
  gls_sigv4 *s = gls_sigv4_new(0);
  gls_sigv4_request r = vanilla();
  gls_sigv4_result out;
  char url[96], want[64];
  size_t k, c, n = 40, bad = 0;
  for (k = 0; k <= n; k++) {
    for (c = 0; c < sizeof stops - 1; c++) {
      char ch = stops[c];
      const char *err, *want_err = NULL;
      size_t len = 0;
      len += (size_t)sprintf(url, "https://");
      memset(url + len, 'h', k);
      len += k;
      url[len++] = ch;
      memset(url + len, 'h', n - k);
      len += n - k;
      memcpy(url + len, "/p", 3);
      len += 2;
      want[0] = '\0';
      if (ch == ' ' || ch == '\x01' || ch == '\x7f') want_err = "control character";
      else if (ch == '@') want_err = "user info";
      else if ((ch == '/' || ch == '?' || ch == '#' || ch == ':') && k == 0) want_err = "no host";
      else if (ch == ':' && k < n) want_err = "port is not a number";
      else if (ch == '/' || ch == '?' || ch == '#' || ch == ':') snprintf(want, sizeof want, "%.*s", (int)k, url + 8);
      else snprintf(want, sizeof want, "%.*s", (int)(n + 1), url + 8);
      r.url = url;
      r.url_len = len;
      err = gls_sigv4_sign(s, &r, &out);
      if (want_err ? !err || !strstr(err, want_err)
                   : err || out.host_len != strlen(want) || memcmp(out.host, want, out.host_len) != 0)
        bad++;
    }
  }
  CHECK(bad == 0);
  gls_sigv4_free(s);
}

/* The allocation-free SHA256_* path and the EVP path give the same bytes: every body length
 * over the block boundaries, header and query signing, a session token, and keys that come and
 * go through the cache (five regions for four entries). */
static void test_modes_agree(void) {
  gls_sigv4 *fast = gls_sigv4_new(0), *evp = gls_sigv4_new(GLS_SIGV4_EVP);
  static const char *const regions[] = {"us-east-1", "us-west-2", "eu-west-1", "ap-south-1",
                                        "sa-east-1"};
  char body[300], hex1[65], hex2[65];
  gls_sigv4_header h = {"content-type", 12, "application/json", 16};
  size_t n, mismatches = 0, signatures = 0;
  CHECK(gls_sigv4_uses_evp(evp) == 1);
#ifdef OPENSSL_NO_DEPRECATED_3_0
  CHECK(gls_sigv4_uses_evp(fast) == 1); /* no SHA256_* in this OpenSSL */
#else
  CHECK(gls_sigv4_uses_evp(fast) == !!EVP_default_properties_is_fips_enabled(NULL));
#endif
  for (n = 0; n < sizeof body; n++) body[n] = (char)('a' + n % 26);
  for (n = 0; n <= sizeof body; n++) {
    gls_sigv4_request r = vanilla();
    gls_sigv4_result a, b;
    char sig[65], creq[1024];
    if (gls_sigv4_sha256_hex(fast, body, n, hex1) || gls_sigv4_sha256_hex(evp, body, n, hex2) ||
        strcmp(hex1, hex2) != 0)
      mismatches++;
    r.body = body;
    r.body_len = n;
    r.headers = &h;
    r.n_headers = 1;
    r.region = regions[n % 5];
    r.region_len = strlen(r.region);
    r.time = T0 + (long long)(n / 100) * 86400; /* a new day every 100 bodies */
    r.session_token = n % 2 ? "TOKEN" : NULL;
    r.session_token_len = n % 2 ? 5 : 0;
    r.presign = n % 3 == 0 ? 900 : 0;
    if (gls_sigv4_sign(fast, &r, &a) != NULL) {
      mismatches++;
      continue;
    }
    memcpy(sig, a.signature, sizeof sig);
    snprintf(creq, sizeof creq, "%s", a.canonical_request);
    if (gls_sigv4_sign(evp, &r, &b) != NULL || strcmp(sig, b.signature) != 0 ||
        strcmp(creq, b.canonical_request) != 0)
      mismatches++;
    signatures++;
  }
  CHECK(signatures == sizeof body + 1);
  CHECK(mismatches == 0);
  CHECK(gls_sigv4_derivations(fast) == gls_sigv4_derivations(evp));
  CHECK(gls_sigv4_derivations(fast) > 5); /* the cache turned over */
  gls_sigv4_free(fast);
  gls_sigv4_free(evp);
}

/* One cached key for many signatures: the HMAC state after the string to sign's first block
 * (the date to the second and the scope) is kept with the key, so the signatures of one second
 * share it. Seconds that change, come back and repeat, with other requests each time, sign
 * as the EVP path (which keeps no such state) does. */
static void test_same_key_seconds(void) {
  gls_sigv4 *fast = gls_sigv4_new(0), *evp = gls_sigv4_new(GLS_SIGV4_EVP);
  static const long long seconds[] = {0, 0, 1, 1, 0, 2, 2, 2, 1, 41039, 0}; /* to 23:59:59 */
  char path[64];
  size_t n, mismatches = 0;
  for (n = 0; n < 11 * 20; n++) {
    gls_sigv4_request r = vanilla();
    gls_sigv4_result a, b;
    char sig[65];
    snprintf(path, sizeof path, "https://example.amazonaws.com/p%u?x=%u", (unsigned)n, (unsigned)(n % 3));
    r.url = path;
    r.url_len = strlen(path);
    r.time = T0 + seconds[n % 11];
    r.presign = n % 4 == 0 ? 60 : 0;
    if (gls_sigv4_sign(fast, &r, &a) != NULL) {
      mismatches++;
      continue;
    }
    memcpy(sig, a.signature, sizeof sig);
    if (gls_sigv4_sign(evp, &r, &b) != NULL || strcmp(sig, b.signature) != 0) mismatches++;
  }
  CHECK(mismatches == 0);
  CHECK(gls_sigv4_derivations(fast) == 1); /* one key (one day) served them all */
  gls_sigv4_free(fast);
  gls_sigv4_free(evp);
}

int main(void) {
  int modes[] = {0, GLS_SIGV4_EVP};
  size_t m;
  test_canonical_uri();
  test_canonical_uri_exhaustive();
  test_canonical_uri_long();
  test_canonical_query();
  for (m = 0; m < 2; m++) {
    test_hashes(modes[m]);
    test_get_vanilla(modes[m]);
    test_headers_and_token(modes[m]);
    test_key_cache(modes[m]);
  }
  test_modes_agree();
  test_same_key_seconds();
  test_bad_urls();
  test_arg_rules();
  test_line_breaks();
  test_long_host();
  return CTEST_DONE();
}
