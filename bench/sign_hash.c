/* The floor for one signature: the hashes it needs with a cached signing key (SHA-256 of the
 * body, SHA-256 of the canonical request, one HMAC of the string to sign), done the two ways
 * OpenSSL 3 offers: the SHA256_* functions with the HMAC pad states computed once (what the
 * signer does), and EVP with a pre-fetched EVP_MD and reused contexts (what it does in FIPS
 * mode); and the whole C signer (gls_sigv4_sign) on the same request, in both modes.
 * Prints "bare_hash NS", "bare_hash_evp NS", "c_sign NS", "c_sign_evp NS" (nanoseconds per
 * signature, best of 3). Usage: sign_hash BODY_FILE [seconds] */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "sigv4.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
  EVP_MD *md;
  EVP_MD_CTX *mdctx;
  EVP_MAC_CTX *mac;
  SHA256_CTX ipad, opad;
  const char *body, *creq, *sts;
  size_t body_len, creq_len, sts_len;
  gls_sigv4 *s, *s_evp;
  const gls_sigv4_request *req;
} bench;

static void bare(bench *b) {
  unsigned char d[32];
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, b->body, b->body_len);
  SHA256_Final(d, &c);
  SHA256_Init(&c);
  SHA256_Update(&c, b->creq, b->creq_len);
  SHA256_Final(d, &c);
  c = b->ipad;
  SHA256_Update(&c, b->sts, b->sts_len);
  SHA256_Final(d, &c);
  c = b->opad;
  SHA256_Update(&c, d, 32);
  SHA256_Final(d, &c);
  __asm__ volatile("" : : "r"(d) : "memory"); /* the digests count as used */
}

static void bare_evp(bench *b) {
  unsigned char d[32];
  unsigned int n;
  size_t m;
  EVP_DigestInit_ex2(b->mdctx, b->md, NULL);
  EVP_DigestUpdate(b->mdctx, b->body, b->body_len);
  EVP_DigestFinal_ex(b->mdctx, d, &n);
  EVP_DigestInit_ex2(b->mdctx, b->md, NULL);
  EVP_DigestUpdate(b->mdctx, b->creq, b->creq_len);
  EVP_DigestFinal_ex(b->mdctx, d, &n);
  EVP_MAC_init(b->mac, NULL, 0, NULL);
  EVP_MAC_update(b->mac, (const unsigned char *)b->sts, b->sts_len);
  EVP_MAC_final(b->mac, d, &m, sizeof d);
}

static void full(bench *b) {
  gls_sigv4_result out;
  if (gls_sigv4_sign(b->s, b->req, &out)) abort();
}

static void full_evp(bench *b) {
  gls_sigv4_result out;
  if (gls_sigv4_sign(b->s_evp, b->req, &out)) abort();
}

static double round_ns(bench *b, void (*fn)(bench *), double limit) {
  long n = 0;
  int i;
  double t0 = now(), t;
  do {
    for (i = 0; i < 10000; i++) fn(b);
    n += 10000;
  } while ((t = now() - t0) < limit);
  return t / (double)n * 1e9;
}

static double best_ns(bench *b, void (*fn)(bench *), double limit) {
  double best = 1e30, x;
  int i;
  round_ns(b, fn, 0.1);
  for (i = 0; i < 3; i++)
    if ((x = round_ns(b, fn, limit)) < best) best = x;
  return best;
}

int main(int argc, char **argv) {
  static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  static const char token[] =
      "IQoJb3JpZ2luX2VjEBEaCXVzLXdlc3QtMiJHMEUCIQDbenchmarktokenbenchmarktokenbenchmarktoken";
  static const char url[] =
      "https://gameliftstreams.us-west-2.api.aws/streamgroups/sg-1AB2C3De4/streamsessions";
  gls_sigv4_header h = {"content-type", 12, "application/json", 16};
  gls_sigv4_request r;
  gls_sigv4_result out;
  bench b;
  char *body, digest[] = "SHA256", *creq, *sts;
  unsigned char key[32], pad[64];
  OSSL_PARAM params[2];
  EVP_MAC *hmac;
  double limit = argc > 2 ? atof(argv[2]) : 1.0;
  long len;
  int i;
  FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
  if (!f) {
    fprintf(stderr, "usage: sign_hash BODY_FILE [seconds]\n");
    return 2;
  }
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  rewind(f);
  body = malloc((size_t)len + 1);
  if (!body || fread(body, 1, (size_t)len, f) != (size_t)len) return 1;
  fclose(f);

  memset(&r, 0, sizeof r);
  r.method = "POST";
  r.method_len = 4;
  r.url = url;
  r.url_len = sizeof url - 1;
  r.headers = &h;
  r.n_headers = 1;
  r.body = body;
  r.body_len = (size_t)len;
  r.region = "us-west-2";
  r.region_len = 9;
  r.service = "gameliftstreams";
  r.service_len = 15;
  r.access_key_id = "AKIDEXAMPLE";
  r.access_key_id_len = 11;
  r.secret = secret;
  r.secret_len = sizeof secret - 1;
  r.session_token = token;
  r.session_token_len = sizeof token - 1;
  r.time = (long long)time(NULL);
  r.normalize = 1;

  b.s = gls_sigv4_new(0);
  b.s_evp = gls_sigv4_new(GLS_SIGV4_EVP);
  b.req = &r;
  if (!b.s || !b.s_evp || gls_sigv4_sign(b.s, &r, &out)) return 1;
  creq = strdup(out.canonical_request);
  sts = strdup(out.string_to_sign);
  if (gls_sigv4_signing_key(b.s, secret, sizeof secret - 1, out.amz_date, "us-west-2", 9,
                            "gameliftstreams", 15, key))
    return 1;

  memset(pad, 0x36, sizeof pad);
  for (i = 0; i < 32; i++) pad[i] ^= key[i];
  SHA256_Init(&b.ipad);
  SHA256_Update(&b.ipad, pad, sizeof pad);
  for (i = 0; i < 64; i++) pad[i] ^= 0x36 ^ 0x5c;
  SHA256_Init(&b.opad);
  SHA256_Update(&b.opad, pad, sizeof pad);

  b.md = EVP_MD_fetch(NULL, "SHA256", NULL);
  b.mdctx = EVP_MD_CTX_new();
  hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  b.mac = EVP_MAC_CTX_new(hmac);
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  if (!b.md || !b.mdctx || !b.mac || !EVP_MAC_init(b.mac, key, 32, params)) return 1;
  b.body = body;
  b.body_len = (size_t)len;
  b.creq = creq;
  b.creq_len = strlen(creq);
  b.sts = sts;
  b.sts_len = strlen(sts);

  printf("sizes body=%zu canonical_request=%zu string_to_sign=%zu\n", b.body_len, b.creq_len,
         b.sts_len);
  printf("bare_hash %.1f\n", best_ns(&b, bare, limit));
  printf("bare_hash_evp %.1f\n", best_ns(&b, bare_evp, limit));
  printf("c_sign %.1f\n", best_ns(&b, full, limit));
  printf("c_sign_evp %.1f\n", best_ns(&b, full_evp, limit));

  EVP_MAC_CTX_free(b.mac);
  EVP_MAC_free(hmac);
  EVP_MD_CTX_free(b.mdctx);
  EVP_MD_free(b.md);
  gls_sigv4_free(b.s);
  gls_sigv4_free(b.s_evp);
  free(creq);
  free(sts);
  free(body);
  return 0;
}
