/* A fuzz target for the C signer: URL parsing, path canonicalisation (both modes), the canonical
 * query, header canonicalisation and the whole signature, on arbitrary bytes, checked two ways:
 * - the sanitizers (the fuzzer is built with AddressSanitizer and UndefinedBehaviorSanitizer);
 * - against a second copy of the signer built without its SSE2 code (GLS_NO_SIMD), whose public
 *   functions tools/fuzz.sh renames to scalar_gls_*: both copies must produce the same bytes.
 *
 * `make fuzz` builds it with libFuzzer and runs it for FUZZ_SECONDS. Not part of `make test`:
 * fuzzing runs by hand, like the benchmarks.
 *
 * Input layout: byte 0 holds the flags (normalize, presign, sign_body, omit_session_token,
 * session token); the rest is split at '\n' into the URL, then header name/value pairs, and the
 * last piece is the body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define MAX_HEADERS 16

/* The scalar copy (same source, -DGLS_NO_SIMD, symbols renamed). */
gls_sigv4 *scalar_gls_sigv4_new(int flags);
const char *scalar_gls_sigv4_sign(gls_sigv4 *s, const gls_sigv4_request *req, gls_sigv4_result *out);
int scalar_gls_sigv4_canonical_uri(gls_buf *out, const char *path, size_t len, int normalize);
int scalar_gls_sigv4_canonical_query(gls_sigv4 *s, gls_buf *out, const char *query, size_t len);
void scalar_gls_buf_free(gls_buf *b);

static gls_sigv4 *signer, *scalar;

static void same(const char *what, const char *a, size_t an, const char *b, size_t bn) {
  if (an == bn && (an == 0 || memcmp(a, b, an) == 0)) return;
  fprintf(stderr, "fuzz_sigv4: the SSE2 and scalar builds differ in %s:\n  %.*s\n  %.*s\n", what,
          (int)an, a ? a : "", (int)bn, b ? b : "");
  abort();
}

/* Splits data at '\n' into at most max pieces; the last one takes the rest. */
static size_t split(const char *data, size_t size, const char **at, size_t *len, size_t max) {
  size_t n = 0, start = 0, i;
  for (i = 0; i < size && n + 1 < max; i++) {
    if (data[i] == '\n') {
      at[n] = data + start;
      len[n++] = i - start;
      start = i + 1;
    }
  }
  at[n] = data + start;
  len[n++] = size - start;
  return n;
}

/* The path of a URL piece: from its third '/' ("scheme://host/path"), else all of it. */
static size_t path_start(const char *p, size_t n) {
  size_t i, slashes = 0;
  for (i = 0; i < n; i++)
    if (p[i] == '/' && ++slashes == 3) return i;
  return 0;
}

static void check_building_blocks(const char *p, size_t n) {
  gls_buf a = GLS_BUF_INIT, b = GLS_BUF_INIT;
  size_t from = path_start(p, n);
  int normalize;
  for (normalize = 0; normalize <= 1; normalize++) {
    if (gls_sigv4_canonical_uri(&a, p + from, n - from, normalize) != 0) abort();
    if (scalar_gls_sigv4_canonical_uri(&b, p + from, n - from, normalize) != 0) abort();
    same("the canonical URI", a.p, a.len, b.p, b.len);
    a.len = b.len = 0;
  }
  if (gls_sigv4_canonical_query(signer, &a, p, n) != 0) abort();
  if (scalar_gls_sigv4_canonical_query(scalar, &b, p, n) != 0) abort();
  same("the canonical query", a.p, a.len, b.p, b.len);
  gls_buf_free(&a);
  scalar_gls_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *at[2 + 2 * MAX_HEADERS];
  size_t len[2 + 2 * MAX_HEADERS], pieces, i, nh = 0;
  gls_sigv4_header headers[MAX_HEADERS];
  gls_sigv4_request r;
  gls_sigv4_result res, sres;
  const char *err, *serr;
  uint8_t flags;

  if (!signer && !(signer = gls_sigv4_new(0))) abort();
  if (!scalar && !(scalar = scalar_gls_sigv4_new(0))) abort();
  if (size < 1) return 0;
  flags = data[0];
  pieces = split((const char *)data + 1, size - 1, at, len, 2 + 2 * MAX_HEADERS);
  check_building_blocks(at[0], len[0]);

  memset(&r, 0, sizeof r);
  r.method = "POST";
  r.method_len = 4;
  r.url = at[0];
  r.url_len = len[0];
  for (i = 1; i + 2 <= pieces - 1 && nh < MAX_HEADERS; i += 2) {
    headers[nh].name = at[i];
    headers[nh].name_len = len[i];
    headers[nh].value = at[i + 1];
    headers[nh].value_len = len[i + 1];
    nh++;
  }
  r.headers = headers;
  r.n_headers = nh;
  if (pieces > 1) {
    r.body = at[pieces - 1];
    r.body_len = len[pieces - 1];
  }
  r.region = "us-west-2";
  r.region_len = 9;
  r.service = "gameliftstreams";
  r.service_len = 15;
  r.access_key_id = "AKIDEXAMPLE";
  r.access_key_id_len = 11;
  r.secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  r.secret_len = 40;
  if (flags & 16) {
    r.session_token = "token/with+chars=";
    r.session_token_len = 17;
  }
  r.time = 1795389529;
  r.normalize = flags & 1;
  r.presign = (flags & 2) ? 900 : 0;
  r.sign_body = (flags & 4) != 0;
  r.omit_session_token = (flags & 8) != 0;

  err = gls_sigv4_sign(signer, &r, &res);
  serr = scalar_gls_sigv4_sign(scalar, &r, &sres);
  if ((err == NULL) != (serr == NULL)) same("whether the request is refused", "", 0, "x", 1);
  if (err) {
    same("the refusal", err, strlen(err), serr, strlen(serr));
    return 0;
  }
  /* What the result promises: strings NUL-terminated at their lengths (header names and values
   * may hold NUL bytes, and are signed as given), a 64-digit signature, a string to sign of four
   * lines, and a URL exactly when presigning. */
  if (res.canonical_request[res.canonical_request_len] != '\0') abort();
  if (res.string_to_sign[res.string_to_sign_len] != '\0') abort();
  if (strlen(res.string_to_sign) != res.string_to_sign_len) abort();
  for (i = 0, nh = 0; i < res.string_to_sign_len; i++) nh += res.string_to_sign[i] == '\n';
  if (nh != 3) abort();
  if (strspn(res.signature, "0123456789abcdef") != 64 || res.signature[64] != '\0') abort();
  if ((res.url != NULL) != (r.presign > 0)) abort();
  if (res.url && res.url[res.url_len] != '\0') abort();
  if (!res.url && (!res.authorization || res.authorization[res.authorization_len] != '\0')) abort();

  same("the canonical request", res.canonical_request, res.canonical_request_len,
       sres.canonical_request, sres.canonical_request_len);
  same("the string to sign", res.string_to_sign, res.string_to_sign_len, sres.string_to_sign,
       sres.string_to_sign_len);
  same("the host", res.host, res.host_len, sres.host, sres.host_len);
  same("the URL", res.url, res.url ? res.url_len : 0, sres.url, sres.url ? sres.url_len : 0);
  same("the signature", res.signature, 64, sres.signature, 64);
  same("the payload hash", res.payload_hash, 64, sres.payload_hash, 64);
  return 0;
}
