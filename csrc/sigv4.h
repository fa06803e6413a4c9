/* Pure C SigV4 (no Lua): canonical request, string to sign, signature, signing-key cache.
 *
 * A gls_sigv4 owns everything a signature needs: the pre-fetched SHA-256 digest and HMAC,
 * reused hash contexts, growable scratch buffers and a small cache of derived signing keys
 * keyed by (secret, date, region, service), each with its HMAC pad states. Signatures hash
 * through OpenSSL's SHA256_* functions, which need no allocation, or through EVP in FIPS mode.
 * One signer per Lua state (no globals); it is not thread-safe. Results point into the
 * signer's buffers and stay valid until the next call. */
#ifndef GLS_SIGV4_H
#define GLS_SIGV4_H

#include <stddef.h>

#include "buf.h"

typedef struct gls_sigv4 gls_sigv4;

/* The types a binding fills in and reads, written once: the C compiler reads them through
 * GLS_SIGV4_TYPES(GLS_SIGV4_DECLARE) below, and LuaJIT's FFI reads the same text, which
 * GLS_SIGV4_TYPES(GLS_SIGV4_TEXT) makes (core._ffi hands it to ffi.cdef; comments do not reach
 * it). A change here reaches both bindings at once. */
#define GLS_SIGV4_DECLARE(...) __VA_ARGS__
#define GLS_SIGV4_TEXT(...) #__VA_ARGS__
#define GLS_SIGV4_TYPES(M) M(                                                                      \
/* One header line; a repeated header is several entries with the same name, in order. */          \
typedef struct {                                                                                   \
  const char *name;                                                                                \
  size_t name_len;                                                                                 \
  const char *value;                                                                               \
  size_t value_len;                                                                                \
} gls_sigv4_header;                                                                                \
                                                                                                   \
typedef struct {                                                                                   \
  const char *method;                                                                              \
  size_t method_len;                                                                               \
  const char *url; /* scheme://host[:port][/path][?query][#fragment]; path as sent on the wire */  \
  size_t url_len;                                                                                  \
  const gls_sigv4_header *headers;                                                                 \
  size_t n_headers;                                                                                \
  const char *body; /* NULL means empty */                                                         \
  size_t body_len;                                                                                 \
  const char *region;                                                                              \
  size_t region_len;                                                                               \
  const char *service;                                                                             \
  size_t service_len;                                                                              \
  const char *access_key_id;                                                                       \
  size_t access_key_id_len;                                                                        \
  const char *secret;                                                                              \
  size_t secret_len;                                                                               \
  const char *session_token; /* NULL or empty: none */                                             \
  size_t session_token_len;                                                                        \
  long long time;          /* epoch seconds (a binding reads it with gls_sigv4_arg_time) */        \
  int normalize;           /* normalise the path (drop empty and "." segments, resolve "..") */    \
  int sign_body;           /* add and sign x-amz-content-sha256 (header signing) */                \
  int omit_session_token;  /* send the token but leave it out of the signature */                  \
  long long presign;       /* > 0: query signing, X-Amz-Expires = presign */                       \
} gls_sigv4_request;                                                                               \
                                                                                                   \
typedef struct {                                                                                   \
  const char *canonical_request;                                                                   \
  size_t canonical_request_len;                                                                    \
  const char *string_to_sign;                                                                      \
  size_t string_to_sign_len;                                                                       \
  const char *signed_headers; /* "host;x-amz-date" */                                              \
  size_t signed_headers_len;                                                                       \
  const char *authorization; /* header signing only, else NULL */                                  \
  size_t authorization_len;                                                                        \
  const char *url; /* query signing only: the input URL (no fragment) and X-Amz-* parameters */    \
  size_t url_len;                                                                                  \
  const char *host; /* Host header value derived from the URL (port kept unless default) */        \
  size_t host_len;                                                                                 \
  int host_given;   /* the input headers had a host header (then it is signed as given) */         \
  char signature[65];                                                                              \
  char payload_hash[65];                                                                           \
  char amz_date[17]; /* 20150830T123600Z */                                                        \
} gls_sigv4_result;)
GLS_SIGV4_TYPES(GLS_SIGV4_DECLARE)

/* How a header from the input is treated. */
enum {
  GLS_SIGV4_SIGNED = 0,   /* signed and sent */
  GLS_SIGV4_UNSIGNED = 1, /* sent but never signed (user-agent, expect, ...: proxies alter them) */
  GLS_SIGV4_REPLACED = 2  /* dropped: the signer sets it (authorization, x-amz-date, ...) */
};

/* flags: 0, or GLS_SIGV4_EVP to hash through EVP even where the allocation-free SHA256_*
 * functions are there (they are not used in FIPS mode, whatever the flags). */
#define GLS_SIGV4_EVP 1
gls_sigv4 *gls_sigv4_new(int flags);
int gls_sigv4_uses_evp(const gls_sigv4 *s);
void gls_sigv4_free(gls_sigv4 *s); /* wipes secrets; NULL is fine */

/* The bindings' rules for the two numbers of a request, in one place: time (epoch seconds, any
 * fraction dropped) between years 1 and 9999, presign whole seconds from 1 to
 * GLS_SIGV4_MAX_PRESIGN. Each returns NULL with *out set, or the message for a value out of
 * range, which the bindings raise (a wrong argument, not bad data). */
#define GLS_SIGV4_MAX_PRESIGN 604800
const char *gls_sigv4_arg_time(double t, long long *out);
const char *gls_sigv4_arg_presign(double v, long long *out);

/* Signs req. Returns NULL on success, else a message (bad URL, bad time, a line break where it
 * could end a header line, no memory, crypto failure): static, or in the signer until its next
 * call. Never includes request data in the message, except a header's name. */
const char *gls_sigv4_sign(gls_sigv4 *s, const gls_sigv4_request *req, gls_sigv4_result *out);

/* The role of an input header; lname is the lower-case name. */
int gls_sigv4_header_role(const gls_sigv4_request *req, const char *lname, size_t len);

/* Building blocks, exposed for tests and the binding. Return 0 on success, -1 on no memory. */
int gls_sigv4_canonical_uri(gls_buf *out, const char *path, size_t len, int normalize);
int gls_sigv4_canonical_query(gls_sigv4 *s, gls_buf *out, const char *query, size_t len);
int gls_sigv4_uri_encode(gls_buf *out, const char *p, size_t len, int keep_slash);
int gls_sigv4_sha256_hex(gls_sigv4 *s, const void *data, size_t len, char hex[65]);
int gls_sigv4_hmac_sha256(gls_sigv4 *s, const void *key, size_t key_len, const void *msg,
                          size_t msg_len, unsigned char mac[32]);
/* Derive (or find in the cache) the signing key; exposed so tests can watch the cache. */
int gls_sigv4_signing_key(gls_sigv4 *s, const char *secret, size_t secret_len, const char *date8,
                          const char *region, size_t region_len, const char *service,
                          size_t service_len, unsigned char key[32]);
/* Number of key derivations so far (cache misses). */
unsigned long gls_sigv4_derivations(const gls_sigv4 *s);


#endif
