/* SigV4 in plain C over reusable buffers: no Lua, no globals, no per-call allocation once warm.
 *
 * One file, over 500 lines, because the signer is one algorithm over one private state (the
 * signer struct with its buffers and signing-key cache): URL parsing, canonical URI and query,
 * canonical headers (with their SSE2 and scalar scanners), hashing and the result all write the
 * same buffers. The shared codecs (hex, JSON quoting) are in codec.c, the buffers in buf.c. */
#include "sigv4.h"

#include "codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The SHA256_* functions are deprecated in OpenSSL 3 but not removed; they are the only way to
 * hash there without an allocation per digest (EVP re-creates its provider context on every
 * init). A build without them, and a process in FIPS mode, go through EVP instead. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#if !defined(OPENSSL_NO_DEPRECATED_3_0)
#define GLS_LOW_LEVEL 1
#else
#define GLS_LOW_LEVEL 0
#endif

/* With SSE2 (every x86-64) the hex encoding, the scan of the URL's host, the check for an
 * already canonical path and the one for line breaks go 16 bytes at a time. GLS_NO_SIMD builds the portable code alone,
 * which the C tests also run. */
#if defined(__SSE2__) && !defined(GLS_NO_SIMD)
#include <emmintrin.h>
#define GLS_SSE2 1
#else
#define GLS_SSE2 0
#endif

#define KEY_CACHE 4
#define ALGORITHM "AWS4-HMAC-SHA256"

typedef struct {
  char *blob; /* secret | region | service (wiped on replacement) */
  size_t secret_len, region_len, service_len;
  char date[8];
  unsigned char key[32];
  EVP_MAC_CTX *mac; /* EVP mode: keyed with the signing key, a re-init reuses its pad states */
#if GLS_LOW_LEVEL
  SHA256_CTX ipad, opad; /* low-level mode: the HMAC states after the key's inner/outer block */
  /* and the inner state after the last string to sign's first block, which only the date (to
   * the second) and the scope make: the signatures of one second share it */
  SHA256_CTX head;
  unsigned char head_block[64];
  int head_ok;
#endif
} key_entry;

typedef struct {
  const char *name, *value;
  size_t name_len, value_len, name_off, idx;
  int clean; /* made by the signer: nothing to trim */
} hent;

typedef struct {
  size_t ko, kl, vo, vl;
  const char *k, *v;
} qparam;

struct gls_sigv4 {
  int evp; /* hash through EVP (forced, FIPS mode, or no SHA256_* in this OpenSSL) */
  EVP_MD *md;
  EVP_MAC *hmac;
  EVP_MD_CTX *mdctx;
  EVP_MAC_CTX *mac; /* scratch HMAC for derivations and hmac_sha256 */
  key_entry cache[KEY_CACHE];
  unsigned next_victim;
  unsigned long derivations;
  long long last_time; /* gmtime is not free: signatures within one second share the date */
  char last_date[17];
  char err[192]; /* a message that names a header (static messages need no room) */
  gls_buf creq, sts, auth, url, path, query, qscratch, hnames, hcanon, shdrs, scope, cred;
  hent *h;
  size_t h_cap;
  qparam *q;
  size_t q_cap;
};

static const char HEX_UPPER[] = "0123456789ABCDEF";
/* Designated initialisers marking 0-9 A-Z a-z, for the character tables below. */
#define ALNUM_ENTRIES                                                                         \
  ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,     \
  ['8'] = 1, ['9'] = 1,                                                                       \
  ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,     \
  ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,     \
  ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,     \
  ['Y'] = 1, ['Z'] = 1,                                                                       \
  ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,     \
  ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,     \
  ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,     \
  ['y'] = 1, ['z'] = 1

/* RFC 3986 unreserved characters: A-Z a-z 0-9 - _ . ~ */
static const unsigned char UNRESERVED[256] = {['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
                                              ALNUM_ENTRIES};

/* ---- encoding ----------------------------------------------------------------------------- */

static int unreserved(unsigned char c) { return UNRESERVED[c]; }

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* RFC 3986 encoding; decode first turns valid %XX into the byte it stands for. */
static int encode_into(gls_buf *out, const char *p, size_t len, int keep_slash, int decode) {
  size_t i;
  char *w;
  if (gls_buf_reserve(out, len * 3)) return -1;
  w = out->p + out->len;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)p[i];
    if (decode && c == '%' && i + 2 < len) {
      int hi = hexval((unsigned char)p[i + 1]), lo = hexval((unsigned char)p[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = (unsigned char)(hi * 16 + lo);
        i += 2;
      }
    }
    if (unreserved(c) || (keep_slash && c == '/')) {
      *w++ = (char)c;
    } else {
      *w++ = '%';
      *w++ = HEX_UPPER[c >> 4];
      *w++ = HEX_UPPER[c & 15];
    }
  }
  out->len = (size_t)(w - out->p);
  out->p[out->len] = '\0';
  return 0;
}

int gls_sigv4_uri_encode(gls_buf *out, const char *p, size_t len, int keep_slash) {
  return encode_into(out, p, len, keep_slash, 0);
}

/* Unreserved characters except '.', and '/': a path made of these (starting with '/', with no
 * empty segment) is its own canonical form, normalised or not. */
static const unsigned char PLAIN_PATH[256] = {['-'] = 1, ['_'] = 1, ['~'] = 1, ['/'] = 1,
                                              ALNUM_ENTRIES};

#if GLS_SSE2
/* Bytes in [lo, hi] (both below 0x80, so signed compares are right for every byte). */
static inline __m128i in_range(__m128i x, char lo, char hi) {
  return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8((char)(lo - 1))),
                       _mm_cmpgt_epi8(_mm_set1_epi8((char)(hi + 1)), x));
}
#endif

static int plain_path(const char *p, size_t len) {
  size_t i = 1;
  if (p[0] != '/') return 0;
#if GLS_SSE2
  /* 16 bytes at a time: letters (case folded), digits, - _ ~ /, and no '/' after a '/'. */
  for (; i + 16 <= len; i += 16) {
    const __m128i slash = _mm_set1_epi8('/');
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    __m128i prev = _mm_loadu_si128((const __m128i *)(const void *)(p + i - 1));
    __m128i ok = _mm_or_si128(in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z'),
                              in_range(x, '0', '9'));
    __m128i xs = _mm_cmpeq_epi8(x, slash);
    ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')),
                                       _mm_cmpeq_epi8(x, _mm_set1_epi8('_'))));
    ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('~')), xs));
    ok = _mm_andnot_si128(_mm_and_si128(xs, _mm_cmpeq_epi8(prev, slash)), ok);
    if (_mm_movemask_epi8(ok) != 0xffff) return 0;
  }
#endif
  for (; i < len; i++) {
    unsigned char c = (unsigned char)p[i];
    if (!PLAIN_PATH[c] || (c == '/' && p[i - 1] == '/')) return 0;
  }
  return 1;
}

/* Non-S3 rule: the wire path is encoded once more, segment by segment. */
int gls_sigv4_canonical_uri(gls_buf *out, const char *path, size_t len, int normalize) {
  size_t i = 0;
  gls_buf_reset(out);
  if (len == 0) return gls_buf_addc(out, '/');
  if (plain_path(path, len)) return gls_buf_add(out, path, len);
  if (!normalize) return encode_into(out, path, len, 1, 0);
  while (i < len) {
    size_t start, n;
    while (i < len && path[i] == '/') i++;
    start = i;
    while (i < len && path[i] != '/') i++;
    n = i - start;
    if (n == 0 || (n == 1 && path[start] == '.')) continue;
    if (n == 2 && path[start] == '.' && path[start + 1] == '.') {
      while (out->len > 0 && out->p[out->len - 1] != '/') out->len--;
      if (out->len > 0) out->len--; /* the slash before the dropped segment */
      out->p[out->len] = '\0';
      continue;
    }
    if (gls_buf_addc(out, '/') || encode_into(out, path + start, n, 0, 0)) return -1;
  }
  if (out->len == 0) return gls_buf_addc(out, '/');
  if (path[len - 1] == '/') return gls_buf_addc(out, '/');
  return 0;
}

/* ---- query -------------------------------------------------------------------------------- */

static int q_push(gls_sigv4 *s, size_t n) {
  if (n <= s->q_cap) return 0;
  {
    size_t cap = s->q_cap ? s->q_cap : 16;
    qparam *q;
    while (cap < n) cap *= 2;
    q = realloc(s->q, cap * sizeof *q);
    if (!q) return -1;
    s->q = q;
    s->q_cap = cap;
  }
  return 0;
}

static int q_add(gls_sigv4 *s, size_t *nq, const char *k, size_t kl, const char *v, size_t vl,
                 int decode) {
  qparam *p;
  if (q_push(s, *nq + 1)) return -1;
  p = &s->q[*nq];
  p->ko = s->qscratch.len;
  if (encode_into(&s->qscratch, k, kl, 0, decode)) return -1;
  p->kl = s->qscratch.len - p->ko;
  p->vo = s->qscratch.len;
  if (encode_into(&s->qscratch, v, vl, 0, decode)) return -1;
  p->vl = s->qscratch.len - p->vo;
  (*nq)++;
  return 0;
}

static int q_parse(gls_sigv4 *s, size_t *nq, const char *q, size_t len) {
  size_t i = 0;
  while (i < len) {
    size_t start = i, eq;
    while (i < len && q[i] != '&') i++;
    if (i > start) {
      eq = start;
      while (eq < i && q[eq] != '=') eq++;
      if (eq < i) {
        if (q_add(s, nq, q + start, eq - start, q + eq + 1, i - eq - 1, 1)) return -1;
      } else if (q_add(s, nq, q + start, i - start, "", 0, 1)) {
        return -1;
      }
    }
    i++;
  }
  return 0;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
  int c = memcmp(a, b, al < bl ? al : bl);
  if (c) return c;
  return al < bl ? -1 : al > bl;
}

static int q_cmp(const void *a, const void *b) {
  const qparam *x = a, *y = b;
  int c = bytes_cmp(x->k, x->kl, y->k, y->kl);
  return c ? c : bytes_cmp(x->v, x->vl, y->v, y->vl);
}

static int q_emit(gls_sigv4 *s, size_t nq, gls_buf *out) {
  size_t i;
  gls_buf_reset(out);
  for (i = 0; i < nq; i++) {
    s->q[i].k = s->qscratch.p + s->q[i].ko;
    s->q[i].v = s->qscratch.p + s->q[i].vo;
  }
  if (nq > 16) {
    qsort(s->q, nq, sizeof *s->q, q_cmp);
  } else {
    /* A handful of parameters: insertion sort beats qsort's indirect calls. */
    for (i = 1; i < nq; i++) {
      qparam t = s->q[i];
      size_t j = i;
      for (; j > 0 && q_cmp(&s->q[j - 1], &t) > 0; j--) s->q[j] = s->q[j - 1];
      s->q[j] = t;
    }
  }
  for (i = 0; i < nq; i++) {
    if ((i && gls_buf_addc(out, '&')) || gls_buf_add(out, s->q[i].k, s->q[i].kl) || gls_buf_addc(out, '=') ||
        gls_buf_add(out, s->q[i].v, s->q[i].vl))
      return -1;
  }
  return 0;
}

int gls_sigv4_canonical_query(gls_sigv4 *s, gls_buf *out, const char *query, size_t len) {
  size_t nq = 0;
  gls_buf_reset(&s->qscratch);
  if (q_parse(s, &nq, query, len)) return -1;
  return q_emit(s, nq, out);
}

/* ---- hashing ------------------------------------------------------------------------------ */

/* A 32-byte digest as 64 lower-case hex digits and a NUL. */
static void hex32(const unsigned char d[32], char hex[65]) {
  gls_hex_encode(hex, d, 32);
  hex[64] = '\0';
}

static int sha256(gls_sigv4 *s, const void *data, size_t len, unsigned char d[32]) {
  unsigned int n = 0;
#if GLS_LOW_LEVEL
  if (!s->evp) {
    SHA256_CTX c;
    return SHA256_Init(&c) && SHA256_Update(&c, data, len) && SHA256_Final(d, &c) ? 0 : -1;
  }
#endif
  if (!EVP_DigestInit_ex2(s->mdctx, s->md, NULL) || !EVP_DigestUpdate(s->mdctx, data, len) ||
      !EVP_DigestFinal_ex(s->mdctx, d, &n) || n != 32)
    return -1;
  return 0;
}

int gls_sigv4_sha256_hex(gls_sigv4 *s, const void *data, size_t len, char hex[65]) {
  unsigned char d[32];
  if (sha256(s, data, len, d)) return -1;
  hex32(d, hex);
  return 0;
}

static int mac_once(EVP_MAC_CTX *ctx, const void *key, size_t key_len, const void *msg,
                    size_t msg_len, unsigned char mac[32]) {
  size_t n = 0;
  /* A NULL key re-initialises with the key the context already holds. */
  if (!EVP_MAC_init(ctx, key, key_len, NULL) || !EVP_MAC_update(ctx, msg, msg_len) ||
      !EVP_MAC_final(ctx, mac, &n, 32) || n != 32)
    return -1;
  return 0;
}

static EVP_MAC_CTX *mac_new(gls_sigv4 *s) {
  char digest[] = "SHA256";
  OSSL_PARAM params[2];
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(s->hmac);
  if (!ctx) return NULL;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  if (!EVP_MAC_CTX_set_params(ctx, params)) {
    EVP_MAC_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

int gls_sigv4_hmac_sha256(gls_sigv4 *s, const void *key, size_t key_len, const void *msg,
                          size_t msg_len, unsigned char mac[32]) {
  static const unsigned char empty = 0;
  /* EVP_MAC_init treats a NULL key as "keep the old one": an empty key must not be NULL. */
  return mac_once(s->mac, key_len ? key : &empty, key_len, msg, msg_len, mac);
}

/* ---- signing-key cache -------------------------------------------------------------------- */

static void entry_clear(key_entry *e) {
  if (e->blob) {
    OPENSSL_cleanse(e->blob, e->secret_len + e->region_len + e->service_len);
    free(e->blob);
  }
  OPENSSL_cleanse(e->key, sizeof e->key);
#if GLS_LOW_LEVEL
  OPENSSL_cleanse(&e->ipad, sizeof e->ipad);
  OPENSSL_cleanse(&e->opad, sizeof e->opad);
  OPENSSL_cleanse(&e->head, sizeof e->head);
  e->head_ok = 0;
#endif
  e->blob = NULL;
  e->secret_len = e->region_len = e->service_len = 0;
}

/* Prepares the entry's HMAC with its fresh key: the keyed EVP context, or the two pad states. */
static int key_ready(gls_sigv4 *s, key_entry *e) {
#if GLS_LOW_LEVEL
  if (!s->evp) {
    unsigned char pad[64];
    size_t i;
    int ok;
    memset(pad, 0x36, sizeof pad);
    for (i = 0; i < sizeof e->key; i++) pad[i] ^= e->key[i];
    ok = SHA256_Init(&e->ipad) && SHA256_Update(&e->ipad, pad, sizeof pad);
    for (i = 0; i < sizeof pad; i++) pad[i] ^= 0x36 ^ 0x5c;
    ok = ok && SHA256_Init(&e->opad) && SHA256_Update(&e->opad, pad, sizeof pad);
    OPENSSL_cleanse(pad, sizeof pad);
    return ok ? 0 : -1;
  }
#endif
  return EVP_MAC_init(e->mac, e->key, 32, NULL) ? 0 : -1;
}

/* HMAC-SHA256 of msg with the entry's key. */
static int key_mac(gls_sigv4 *s, key_entry *e, const void *msg, size_t len, unsigned char mac[32]) {
#if GLS_LOW_LEVEL
  if (!s->evp) {
    SHA256_CTX c;
    int ok;
    if (len >= sizeof e->head_block) {
      if (!e->head_ok || memcmp(e->head_block, msg, sizeof e->head_block) != 0) {
        e->head = e->ipad;
        e->head_ok = SHA256_Update(&e->head, msg, sizeof e->head_block);
        if (!e->head_ok) return -1;
        memcpy(e->head_block, msg, sizeof e->head_block);
      }
      c = e->head;
      msg = (const unsigned char *)msg + sizeof e->head_block;
      len -= sizeof e->head_block;
    } else {
      c = e->ipad;
    }
    ok = SHA256_Update(&c, msg, len) && SHA256_Final(mac, &c);
    c = e->opad;
    /* No wipe needed: SHA256_Final wipes the block buffer, and the state it leaves is the MAC. */
    return ok && SHA256_Update(&c, mac, 32) && SHA256_Final(mac, &c) ? 0 : -1;
  }
#endif
  return mac_once(e->mac, NULL, 0, msg, len, mac);
}

static key_entry *key_get(gls_sigv4 *s, const char *secret, size_t sl, const char *date8,
                          const char *region, size_t rl, const char *service, size_t svl) {
  unsigned char k1[32], stackbuf[132], *ks;
  key_entry *e;
  size_t i;
  int ok;
  for (i = 0; i < KEY_CACHE; i++) {
    e = &s->cache[i];
    if (e->blob && e->secret_len == sl && e->region_len == rl && e->service_len == svl &&
        memcmp(e->date, date8, 8) == 0 && memcmp(e->blob, secret, sl) == 0 &&
        memcmp(e->blob + sl, region, rl) == 0 && memcmp(e->blob + sl + rl, service, svl) == 0)
      return e;
  }
  /* Miss: take a free slot, else the next victim in turn. */
  for (i = 0; i < KEY_CACHE && s->cache[i].blob; i++) {}
  if (i == KEY_CACHE) i = s->next_victim++ % KEY_CACHE;
  e = &s->cache[i];
  entry_clear(e);
  if (s->evp && !e->mac && !(e->mac = mac_new(s))) return NULL;
  ks = sl + 4 <= sizeof stackbuf ? stackbuf : malloc(sl + 4);
  if (!ks) return NULL;
  memcpy(ks, "AWS4", 4);
  memcpy(ks + 4, secret, sl);
  ok = !mac_once(s->mac, ks, sl + 4, date8, 8, k1) &&
       !mac_once(s->mac, k1, 32, region, rl, e->key) &&
       !mac_once(s->mac, e->key, 32, service, svl, k1) &&
       !mac_once(s->mac, k1, 32, "aws4_request", 12, e->key) && !key_ready(s, e) &&
       (e->blob = malloc(sl + rl + svl + 1)) != NULL;
  OPENSSL_cleanse(ks, sl + 4);
  if (ks != stackbuf) free(ks);
  OPENSSL_cleanse(k1, sizeof k1);
  if (!ok) {
    entry_clear(e);
    return NULL;
  }
  memcpy(e->blob, secret, sl);
  memcpy(e->blob + sl, region, rl);
  memcpy(e->blob + sl + rl, service, svl);
  e->secret_len = sl;
  e->region_len = rl;
  e->service_len = svl;
  memcpy(e->date, date8, 8);
  s->derivations++;
  return e;
}

int gls_sigv4_signing_key(gls_sigv4 *s, const char *secret, size_t secret_len, const char *date8,
                          const char *region, size_t region_len, const char *service,
                          size_t service_len, unsigned char key[32]) {
  key_entry *e = key_get(s, secret, secret_len, date8, region, region_len, service, service_len);
  if (!e) return -1;
  memcpy(key, e->key, 32);
  return 0;
}

unsigned long gls_sigv4_derivations(const gls_sigv4 *s) { return s->derivations; }
int gls_sigv4_uses_evp(const gls_sigv4 *s) { return s->evp; }

/* ---- life cycle --------------------------------------------------------------------------- */

/* The i-th scratch buffer, NULL past the last. */
static gls_buf *scratch(gls_sigv4 *s, size_t i) {
  gls_buf *all[] = {&s->creq,   &s->sts,    &s->auth,   &s->url,   &s->path,  &s->query,
                    &s->qscratch, &s->hnames, &s->hcanon, &s->shdrs, &s->scope, &s->cred};
  return i < sizeof all / sizeof all[0] ? all[i] : NULL;
}

gls_sigv4 *gls_sigv4_new(int flags) {
  gls_sigv4 *s = calloc(1, sizeof *s);
  gls_buf *b;
  size_t i;
  if (!s) return NULL;
  /* every scratch buffer may hold the session token or a secret-derived value: wiped */
  for (i = 0; (b = scratch(s, i)) != NULL; i++) b->wipe = 1;
  s->evp = !GLS_LOW_LEVEL || (flags & GLS_SIGV4_EVP) || EVP_default_properties_is_fips_enabled(NULL);
  s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
  s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  s->mdctx = EVP_MD_CTX_new();
  if (!s->md || !s->hmac || !s->mdctx || !(s->mac = mac_new(s))) {
    gls_sigv4_free(s);
    return NULL;
  }
  return s;
}

void gls_sigv4_free(gls_sigv4 *s) {
  gls_buf *b;
  size_t i;
  if (!s) return;
  for (i = 0; i < KEY_CACHE; i++) {
    entry_clear(&s->cache[i]);
    EVP_MAC_CTX_free(s->cache[i].mac);
  }
  EVP_MAC_CTX_free(s->mac);
  EVP_MD_CTX_free(s->mdctx);
  EVP_MAC_free(s->hmac);
  EVP_MD_free(s->md);
  for (i = 0; (b = scratch(s, i)) != NULL; i++) gls_buf_free(b);
  free(s->h);
  free(s->q);
  free(s);
}

/* ---- headers ------------------------------------------------------------------------------ */

#define LIT(s) s, sizeof(s) - 1

static int name_eq(const char *n, size_t len, const char *lit, size_t lit_len) {
  return lit_len == len && memcmp(n, lit, len) == 0;
}


int gls_sigv4_header_role(const gls_sigv4_request *r, const char *n, size_t len) {
  static const struct {
    const char *name;
    size_t len;
  } unsigned_names[] = {{LIT("user-agent")}, {LIT("expect")}, {LIT("x-amzn-trace-id")},
                        {LIT("connection")}, {LIT("keep-alive")}, {LIT("proxy-authorization")},
                        {LIT("te")}, {LIT("trailer")}, {LIT("transfer-encoding")}, {LIT("upgrade")}};
  size_t i;
  /* Every special name starts with one of these letters: most headers leave at once. */
  if (len < 2 || !memchr("aceptkux", n[0], 8)) return GLS_SIGV4_SIGNED;
  if (name_eq(n, len, LIT("authorization")) || name_eq(n, len, LIT("x-amz-date")))
    return GLS_SIGV4_REPLACED;
  if (r->session_token && r->session_token_len > 0 && name_eq(n, len, LIT("x-amz-security-token")))
    return GLS_SIGV4_REPLACED;
  if (r->sign_body && r->presign <= 0 && name_eq(n, len, LIT("x-amz-content-sha256")))
    return GLS_SIGV4_REPLACED;
  for (i = 0; i < sizeof unsigned_names / sizeof unsigned_names[0]; i++)
    if (name_eq(n, len, unsigned_names[i].name, unsigned_names[i].len)) return GLS_SIGV4_UNSIGNED;
  return GLS_SIGV4_SIGNED;
}

static const unsigned char WS[256] = {[' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1};

static int is_ws(char c) { return WS[(unsigned char)c]; }

/* Trim, and fold every run of whitespace (folded lines included) into one space. */
/* True when no byte is a control character or a space (8 bytes at a time). */
static int all_printable(const char *v, size_t n) {
  const uint64_t highs = 0x8080808080808080u, lim = 0x2121212121212121u;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, v + i, 8);
    /* A byte below 0x21 borrows: the classic "has a byte less than" test. */
    if ((x - lim) & ~x & highs) return 0;
  }
  for (; i < n; i++)
    if ((unsigned char)v[i] <= 0x20) return 0;
  return 1;
}

static int add_trimmed(gls_buf *b, const char *v, size_t n) {
  size_t i = 0, j = n;
  char *w;
  if (all_printable(v, n)) return gls_buf_add(b, v, n);
  while (i < j && is_ws(v[i])) i++;
  while (j > i && is_ws(v[j - 1])) j--;
  if (gls_buf_reserve(b, j - i)) return -1;
  w = b->p + b->len;
  while (i < j) {
    if (is_ws(v[i])) {
      *w++ = ' ';
      while (i < j && is_ws(v[i])) i++;
    } else {
      *w++ = v[i++];
    }
  }
  b->len = (size_t)(w - b->p);
  b->p[b->len] = '\0';
  return 0;
}

/* bytes_cmp for header names, which are never empty: most differ in their first byte. */
static int name_cmp(const hent *x, const hent *y) {
  int c = (unsigned char)x->name[0] - (unsigned char)y->name[0];
  return c ? c : bytes_cmp(x->name, x->name_len, y->name, y->name_len);
}

static int h_cmp(const void *a, const void *b) {
  const hent *x = a, *y = b;
  int c = name_cmp(x, y);
  if (c) return c;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void h_set(hent *e, const char *name, size_t nl, const char *v, size_t vl, size_t idx) {
  e->name = name;
  e->name_len = nl;
  e->name_off = (size_t)-1;
  e->value = v;
  e->value_len = vl;
  e->idx = idx;
  e->clean = 0;
}

/* True when p holds CR, LF or NUL: what would end a header line early, or start another, in the
 * caller's HTTP layer. With SSE2 16 bytes at a time (a string of 16 or more ends with a load of
 * its last 16, overlapping what was checked); else 8 at a time (the "has a zero byte" test, on
 * x, x ^ LF and x ^ CR). */
#if GLS_SSE2
static int breaks16(const char *p) {
  __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\r')));
  return _mm_movemask_epi8(_mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_setzero_si128()))) != 0;
}
#endif

static int has_line_break(const char *p, size_t n) {
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  size_t i = 0;
#if GLS_SSE2
  if (n >= 16) {
    for (; i + 16 <= n; i += 16)
      if (breaks16(p + i)) return 1;
    return i < n && breaks16(p + n - 16);
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t x, lf, cr;
    memcpy(&x, p + i, 8);
    lf = x ^ (ones * '\n');
    cr = x ^ (ones * '\r');
    if (((x - ones) & ~x & highs) | ((lf - ones) & ~lf & highs) | ((cr - ones) & ~cr & highs))
      return 1;
  }
  for (; i < n; i++)
    if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') return 1;
  return 0;
}

/* A header value may hold a line break only as an obsolete fold: CR LF or LF followed by a space
 * or tab (the AWS SigV4 suite's get-header-value-multiline), which continues the line and cannot
 * start a header of its own. NUL, a bare CR and any other line break are refused. */
static int bad_header_value(const char *p, size_t n) {
  size_t i;
  if (!has_line_break(p, n)) return 0;
  for (i = 0; i < n; i++) {
    char c = p[i];
    if (c == '\0') return 1;
    if (c == '\r') {
      if (i + 1 >= n || p[i + 1] != '\n') return 1;
      c = p[++i];
    }
    if (c == '\n' && (i + 1 >= n || (p[i + 1] != ' ' && p[i + 1] != '\t'))) return 1;
  }
  return 0;
}

/* Fills hcanon ("name:value\n" lines) and shdrs ("a;b;c"). */
static const char *build_headers(gls_sigv4 *s, const gls_sigv4_request *r, gls_sigv4_result *out,
                                 int query_mode, int token_signed) {
  size_t i, n = 0, need = r->n_headers + 4;
  if (need > s->h_cap) {
    size_t cap = s->h_cap ? s->h_cap : 16;
    hent *h;
    while (cap < need) cap *= 2;
    h = realloc(s->h, cap * sizeof *h);
    if (!h) return "out of memory";
    s->h = h;
    s->h_cap = cap;
  }
  gls_buf_reset(&s->hnames);
  out->host_given = 0;
  for (i = 0; i < r->n_headers; i++) {
    const gls_sigv4_header *src = &r->headers[i];
    size_t off = s->hnames.len, k;
    char *w;
    if (src->name_len == 0) return "header name is empty";
    if (has_line_break(src->name, src->name_len)) return "header names must not contain CR, LF or NUL";
    if (bad_header_value(src->value, src->value_len)) {
      snprintf(s->err, sizeof s->err,
               "headers[\"%.*s\"] must not contain NUL, CR or LF (except a line break before a "
               "space or tab)",
               (int)(src->name_len > 64 ? 64 : src->name_len), src->name);
      return s->err;
    }
    if (gls_buf_reserve(&s->hnames, src->name_len)) return "out of memory";
    w = s->hnames.p + off;
    for (k = 0; k < src->name_len; k++) {
      char c = src->name[k];
      w[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    if (gls_sigv4_header_role(r, w, src->name_len) != GLS_SIGV4_SIGNED) continue;
    s->hnames.len += src->name_len;
    if (name_eq(w, src->name_len, LIT("host"))) out->host_given = 1;
    h_set(&s->h[n], NULL, src->name_len, src->value, src->value_len, i);
    s->h[n++].name_off = off;
  }
  if (s->hnames.p) s->hnames.p[s->hnames.len] = '\0';
  for (i = 0; i < n; i++) s->h[i].name = s->hnames.p + s->h[i].name_off;
  if (!out->host_given) {
    h_set(&s->h[n], "host", 4, out->host, out->host_len, (size_t)-1);
    s->h[n++].clean = 1; /* the URL parser refused white space in the host */
  }
  if (!query_mode) {
    h_set(&s->h[n], "x-amz-date", 10, out->amz_date, 16, (size_t)-1);
    s->h[n++].clean = 1;
    if (token_signed)
      h_set(&s->h[n++], "x-amz-security-token", 20, r->session_token, r->session_token_len,
            (size_t)-1);
    if (r->sign_body) {
      h_set(&s->h[n], "x-amz-content-sha256", 20, out->payload_hash, 64, (size_t)-1);
      s->h[n++].clean = 1;
    }
  }
  if (n > 16) {
    qsort(s->h, n, sizeof *s->h, h_cmp);
  } else {
    for (i = 1; i < n; i++) { /* stable, so repeated names keep their order */
      hent t = s->h[i];
      size_t j = i;
      for (; j > 0 && h_cmp(&s->h[j - 1], &t) > 0; j--) s->h[j] = s->h[j - 1];
      s->h[j] = t;
    }
  }
  gls_buf_reset(&s->hcanon);
  gls_buf_reset(&s->shdrs);
  for (i = 0; i < n; i++) {
    const hent *e = &s->h[i];
    int same = i > 0 && name_cmp(e, &s->h[i - 1]) == 0;
    if (same) {
      if (gls_buf_addc(&s->hcanon, ',')) return "out of memory";
    } else {
      if (i > 0 && (gls_buf_addc(&s->hcanon, '\n') || gls_buf_addc(&s->shdrs, ';'))) return "out of memory";
      if (gls_buf_add(&s->hcanon, e->name, e->name_len) || gls_buf_addc(&s->hcanon, ':') ||
          gls_buf_add(&s->shdrs, e->name, e->name_len))
        return "out of memory";
    }
    if (e->clean ? gls_buf_add(&s->hcanon, e->value, e->value_len)
                 : add_trimmed(&s->hcanon, e->value, e->value_len))
      return "out of memory";
  }
  if (gls_buf_addc(&s->hcanon, '\n')) return "out of memory";
  return NULL;
}

/* ---- URL and time ------------------------------------------------------------------------- */

/* Characters that stop the scan of a URL's authority. */
enum { A_END = 1, A_BAD, A_AT, A_COLON, A_BRACKET };
static const unsigned char AUTHORITY[256] = {
    [0] = A_BAD, [1] = A_BAD, [2] = A_BAD, [3] = A_BAD, [4] = A_BAD, [5] = A_BAD, [6] = A_BAD,
    [7] = A_BAD, [8] = A_BAD, [9] = A_BAD, [10] = A_BAD, [11] = A_BAD, [12] = A_BAD,
    [13] = A_BAD, [14] = A_BAD, [15] = A_BAD, [16] = A_BAD, [17] = A_BAD, [18] = A_BAD,
    [19] = A_BAD, [20] = A_BAD, [21] = A_BAD, [22] = A_BAD, [23] = A_BAD, [24] = A_BAD,
    [25] = A_BAD, [26] = A_BAD, [27] = A_BAD, [28] = A_BAD, [29] = A_BAD, [30] = A_BAD,
    [31] = A_BAD, [' '] = A_BAD, [0x7f] = A_BAD, ['/'] = A_END, ['?'] = A_END, ['#'] = A_END,
    ['@'] = A_AT, [':'] = A_COLON, [']'] = A_BRACKET};

typedef struct {
  const char *path, *query;
  size_t path_len, query_len, base_len;
  int has_query;
} url_parts;

static int lower_eq(const char *a, size_t n, const char *lit) {
  size_t i;
  if (strlen(lit) != n) return 0;
  for (i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (c != lit[i]) return 0;
  }
  return 1;
}

static const char *parse_url(const char *u, size_t n, url_parts *p, gls_sigv4_result *out) {
  size_t i = 0, a, e, colon = (size_t)-1, k, scheme_len;
  while (i < n && ((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
                   (i > 0 && ((u[i] >= '0' && u[i] <= '9') || u[i] == '+' || u[i] == '-' ||
                              u[i] == '.'))))
    i++;
  if (i == 0 || n - i < 3 || memcmp(u + i, "://", 3) != 0) return "url must start with scheme://";
  scheme_len = i;
  a = i + 3;
  for (e = a; e < n; e++) {
    int cls;
#if GLS_SSE2
    /* Skip 16 bytes at a time to the next byte the table below does not pass. */
    for (; e + 16 <= n; e += 16) {
      __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + e));
      __m128i stop = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x20)), x); /* <= 0x20 */
      stop = _mm_or_si128(stop, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')),
                                             _mm_cmpeq_epi8(x, _mm_set1_epi8('?'))));
      stop = _mm_or_si128(stop, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('#')),
                                             _mm_cmpeq_epi8(x, _mm_set1_epi8('@'))));
      stop = _mm_or_si128(stop, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')),
                                             _mm_cmpeq_epi8(x, _mm_set1_epi8(']'))));
      stop = _mm_or_si128(stop, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
      if (_mm_movemask_epi8(stop)) {
        e += (size_t)__builtin_ctz((unsigned)_mm_movemask_epi8(stop));
        break;
      }
    }
    if (e >= n) break;
#endif
    cls = AUTHORITY[(unsigned char)u[e]];
    if (cls == 0) continue;
    if (cls == A_END) break;
    if (cls == A_BAD) return "url host contains a control character or space";
    if (cls == A_AT) return "url must not contain user info";
    colon = cls == A_COLON ? e : (size_t)-1; /* "]" ends an IPv6 literal and its colons */
  }
  if (e == a || colon == a) return "url has no host";
  out->host = u + a;
  out->host_len = e - a;
  if (colon != (size_t)-1) {
    const char *port = u + colon + 1;
    size_t pl = e - colon - 1;
    for (k = 0; k < pl; k++)
      if (port[k] < '0' || port[k] > '9') return "url port is not a number";
    if (pl == 0 || (lower_eq(u, scheme_len, "http") && pl == 2 && memcmp(port, "80", 2) == 0) ||
        (lower_eq(u, scheme_len, "https") && pl == 3 && memcmp(port, "443", 3) == 0))
      out->host_len = colon - a;
  }
  {
    const char *hash = e < n ? memchr(u + e, '#', n - e) : NULL;
    size_t end = hash ? (size_t)(hash - u) : n; /* the fragment is never sent */
    const char *q = e < end ? memchr(u + e, '?', end - e) : NULL;
    p->path = u + e;
    p->path_len = (q ? (size_t)(q - u) : end) - e;
    p->has_query = q != NULL;
    p->query = q ? q + 1 : u + end;
    p->query_len = q ? (size_t)(u + end - p->query) : 0;
    p->base_len = end;
  }
  return NULL;
}

static void put_digits(char *w, int v, int n) {
  while (n-- > 0) {
    w[n] = (char)('0' + v % 10);
    v /= 10;
  }
}

static const char *format_time(long long t, char amz[17]) {
  struct tm tm;
  time_t tt = (time_t)t;
  if ((long long)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
    return "time is out of range";
  put_digits(amz, tm.tm_year + 1900, 4);
  put_digits(amz + 4, tm.tm_mon + 1, 2);
  put_digits(amz + 6, tm.tm_mday, 2);
  amz[8] = 'T';
  put_digits(amz + 9, tm.tm_hour, 2);
  put_digits(amz + 11, tm.tm_min, 2);
  put_digits(amz + 13, tm.tm_sec, 2);
  amz[15] = 'Z';
  amz[16] = '\0';
  return NULL;
}

/* ---- the bindings' arguments -------------------------------------------------------------- */

const char *gls_sigv4_arg_time(double t, long long *out) {
  long long whole;
  if (!(t >= -62135596800.0 && t <= 253402300799.0)) /* NaN fails too */
    return "time must be epoch seconds between years 1 and 9999";
  whole = (long long)t; /* in range: toward zero, then down for a negative fraction */
  if ((double)whole > t) whole--;
  *out = whole;
  return NULL;
}

const char *gls_sigv4_arg_presign(double v, long long *out) {
  if (!(v >= 1 && v <= GLS_SIGV4_MAX_PRESIGN) || (double)(long long)v != v)
    return "presign must be whole seconds from 1 to 604800";
  *out = (long long)v;
  return NULL;
}

/* ---- signing ------------------------------------------------------------------------------ */

static size_t format_u64(char out[24], unsigned long long v) {
  char tmp[24];
  size_t i = sizeof tmp, n;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  n = sizeof tmp - i;
  memcpy(out, tmp + i, n);
  return n;
}

/* Copies n bytes to w, then the character end unless it is 0; returns the next write position.
 * Callers reserve the room (gls_buf_reserve counts the terminating NUL) and write the NUL. */
static inline char *put(char *w, const char *p, size_t n, char end) {
  if (n) memcpy(w, p, n); /* an empty buffer may still be NULL */
  w += n;
  if (end) *w++ = end;
  return w;
}

/* The fields that end up in a header or the request line the caller sends (the URL, the scope in
 * authorization, the token): refused when they could break the line. */
static const char *check_fields(const gls_sigv4_request *r) {
  if (has_line_break(r->url, r->url_len)) return "url must not contain CR, LF or NUL";
  if (has_line_break(r->region, r->region_len)) return "region must not contain CR, LF or NUL";
  if (has_line_break(r->service, r->service_len)) return "service must not contain CR, LF or NUL";
  if (has_line_break(r->access_key_id, r->access_key_id_len))
    return "credentials.access_key_id must not contain CR, LF or NUL";
  if (r->session_token && has_line_break(r->session_token, r->session_token_len))
    return "credentials.session_token must not contain CR, LF or NUL";
  return NULL;
}

/* SHA-256 of no bytes, the payload hash of a request without a body. */
static const char EMPTY_SHA256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#define TRY(x) \
  do {         \
    if (x) return "out of memory"; \
  } while (0)

const char *gls_sigv4_sign(gls_sigv4 *s, const gls_sigv4_request *r, gls_sigv4_result *out) {
  url_parts u;
  const char *err;
  key_entry *key;
  unsigned char digest[32]; /* each digest and the MAC in turn, hex-encoded at once */
  char creq_hash[65], expires[24], *w;
  size_t nq = 0, expires_len = 0;
  int query_mode = r->presign > 0;
  int token = r->session_token && r->session_token_len > 0;
  int token_signed = token && !r->omit_session_token;

  /* Every other field is written below (a full memset costs more than the rest of the setup). */
  out->authorization = out->url = NULL;
  out->authorization_len = out->url_len = 0;
  if ((err = check_fields(r))) return err;
  if ((err = parse_url(r->url, r->url_len, &u, out))) return err;
  if (s->last_date[0] && r->time == s->last_time) {
    memcpy(out->amz_date, s->last_date, sizeof out->amz_date);
  } else {
    if ((err = format_time(r->time, out->amz_date))) return err;
    memcpy(s->last_date, out->amz_date, sizeof s->last_date);
    s->last_time = r->time;
  }
  if (r->body && r->body_len) {
    if (sha256(s, r->body, r->body_len, digest)) return "sha256 failed";
    hex32(digest, out->payload_hash);
  } else { /* every GET and DELETE: a block's hashing saved */
    memcpy(out->payload_hash, EMPTY_SHA256, sizeof EMPTY_SHA256); /* with its NUL */
  }
  if ((err = build_headers(s, r, out, query_mode, token_signed))) return err;

  gls_buf_reset(&s->scope);
  TRY(gls_buf_reserve(&s->scope, 8 + 1 + r->region_len + 1 + r->service_len + 13));
  w = put(s->scope.p, out->amz_date, 8, '/');
  w = put(w, r->region, r->region_len, '/');
  w = put(w, r->service, r->service_len, 0);
  w = put(w, "/aws4_request", 14, 0); /* with its NUL */
  s->scope.len = (size_t)(w - 1 - s->scope.p);

  gls_buf_reset(&s->qscratch);
  TRY(q_parse(s, &nq, u.query, u.query_len));
  if (query_mode) {
    /* The credential is AKID/scope; both parts go through the one encoder. */
    gls_buf_reset(&s->cred);
    TRY(gls_buf_add(&s->cred, r->access_key_id, r->access_key_id_len) || gls_buf_addc(&s->cred, '/') ||
        gls_buf_add(&s->cred, s->scope.p, s->scope.len));
    expires_len = format_u64(expires, (unsigned long long)r->presign);
    TRY(q_add(s, &nq, "X-Amz-Algorithm", 15, ALGORITHM, 16, 0) ||
        q_add(s, &nq, "X-Amz-Credential", 16, s->cred.p, s->cred.len, 0) ||
        q_add(s, &nq, "X-Amz-Date", 10, out->amz_date, 16, 0) ||
        q_add(s, &nq, "X-Amz-Expires", 13, expires, expires_len, 0) ||
        (token_signed &&
         q_add(s, &nq, "X-Amz-Security-Token", 20, r->session_token, r->session_token_len, 0)) ||
        q_add(s, &nq, "X-Amz-SignedHeaders", 19, s->shdrs.p, s->shdrs.len, 0));
  }
  TRY(q_emit(s, nq, &s->query));
  TRY(gls_sigv4_canonical_uri(&s->path, u.path, u.path_len, r->normalize));

  gls_buf_reset(&s->creq);
  TRY(gls_buf_reserve(&s->creq, r->method_len + s->path.len + s->query.len + s->hcanon.len +
                                s->shdrs.len + 64 + 5));
  w = s->creq.p;
  w = put(w, r->method, r->method_len, '\n');
  w = put(w, s->path.p, s->path.len, '\n');
  w = put(w, s->query.p, s->query.len, '\n');
  w = put(w, s->hcanon.p, s->hcanon.len, '\n');
  w = put(w, s->shdrs.p, s->shdrs.len, '\n');
  w = put(w, out->payload_hash, 64, 0);
  *w = '\0';
  s->creq.len = (size_t)(w - s->creq.p);
  if (sha256(s, s->creq.p, s->creq.len, digest)) return "sha256 failed";
  hex32(digest, creq_hash);

  gls_buf_reset(&s->sts);
  TRY(gls_buf_reserve(&s->sts, sizeof ALGORITHM + 16 + 1 + s->scope.len + 1 + 64));
  w = put(s->sts.p, ALGORITHM, sizeof ALGORITHM - 1, '\n');
  w = put(w, out->amz_date, 16, '\n');
  w = put(w, s->scope.p, s->scope.len, '\n');
  w = put(w, creq_hash, 64, 0);
  *w = '\0';
  s->sts.len = (size_t)(w - s->sts.p);

  key = key_get(s, r->secret, r->secret_len, out->amz_date, r->region, r->region_len, r->service,
                r->service_len);
  if (!key) return "signing key derivation failed";
  if (key_mac(s, key, s->sts.p, s->sts.len, digest)) return "hmac failed";
  hex32(digest, out->signature);

  if (query_mode) {
    gls_buf *w = &s->url;
    gls_buf_reset(w);
    TRY(gls_buf_add(w, r->url, u.base_len));
    if (!u.has_query) TRY(gls_buf_addc(w, '?'));
    else if (u.query_len) TRY(gls_buf_addc(w, '&'));
    TRY(gls_buf_adds(w, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=") ||
        gls_sigv4_uri_encode(w, s->cred.p, s->cred.len, 0) || gls_buf_adds(w, "&X-Amz-Date=") ||
        gls_buf_add(w, out->amz_date, 16) || gls_buf_adds(w, "&X-Amz-SignedHeaders=") ||
        gls_sigv4_uri_encode(w, s->shdrs.p, s->shdrs.len, 0) || gls_buf_adds(w, "&X-Amz-Expires=") ||
        gls_buf_add(w, expires, expires_len));
    if (token)
      TRY(gls_buf_adds(w, "&X-Amz-Security-Token=") ||
          gls_sigv4_uri_encode(w, r->session_token, r->session_token_len, 0));
    TRY(gls_buf_adds(w, "&X-Amz-Signature=") || gls_buf_add(w, out->signature, 64));
    out->url = w->p;
    out->url_len = w->len;
  } else {
    static const char cred[] = ALGORITHM " Credential=", sh[] = ", SignedHeaders=",
                      sig[] = ", Signature=";
    gls_buf_reset(&s->auth);
    TRY(gls_buf_reserve(&s->auth, sizeof cred + r->access_key_id_len + s->scope.len + sizeof sh +
                                  s->shdrs.len + sizeof sig + 64));
    w = put(s->auth.p, cred, sizeof cred - 1, 0);
    w = put(w, r->access_key_id, r->access_key_id_len, '/');
    w = put(w, s->scope.p, s->scope.len, 0);
    w = put(w, sh, sizeof sh - 1, 0);
    w = put(w, s->shdrs.p, s->shdrs.len, 0);
    w = put(w, sig, sizeof sig - 1, 0);
    w = put(w, out->signature, 64, 0);
    *w = '\0';
    s->auth.len = (size_t)(w - s->auth.p);
    out->authorization = s->auth.p;
    out->authorization_len = s->auth.len;
  }
  OPENSSL_cleanse(digest, sizeof digest);
  out->canonical_request = s->creq.p;
  out->canonical_request_len = s->creq.len;
  out->string_to_sign = s->sts.p;
  out->string_to_sign_len = s->sts.len;
  out->signed_headers = s->shdrs.p;
  out->signed_headers_len = s->shdrs.len;
  return NULL;
}
