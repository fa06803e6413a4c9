/* Random bytes for ids (plain C, no Lua): OpenSSL's RAND_bytes drawn a page at a time, for the
 * UUIDv4 of every call (the invocation id, the ClientToken of idempotent operations).
 *
 * Fork safety: the bytes drawn ahead live in one page that the kernel zero-fills in a child
 * (MADV_WIPEONFORK), together with the count of those still unused; a child therefore finds
 * the count 0 and draws its own from OpenSSL (which reseeds after a fork) instead of handing out
 * its parent's. Two nginx workers forked from a master that drew ids never repeat each other's
 * ClientTokens. Where the page cannot be marked so (no MADV_WIPEONFORK: not Linux, or a kernel
 * before 4.14), nothing is drawn ahead: every id is a RAND_bytes call of its own.
 *
 * One pool per owner (a Lua state keeps its own in a userdata): nothing is global, and a pool is
 * not for two threads at once. Used bytes are wiped as they are handed out, the page when freed. */
#ifndef GLS_RAND_H
#define GLS_RAND_H

#include <stddef.h>

typedef struct gls_rand gls_rand;

enum { GLS_RAND_AHEAD = 0, /* a page drawn ahead, when it can be wiped on fork */
       GLS_RAND_DIRECT = 1 /* every request a RAND_bytes call (tests compare the two) */ };

/* A pool, or NULL when out of memory. */
gls_rand *gls_rand_new(int mode);

/* Whether the pool draws ahead (GLS_RAND_AHEAD granted), else every request is direct (NULL: 0). */
int gls_rand_ahead(const gls_rand *r);

/* n random bytes into out: 0, or -1 when OpenSSL failed. A NULL pool (one already freed: a
 * finalizer at lua_close may run after the pool's own) draws every request directly. */
int gls_rand_bytes(gls_rand *r, unsigned char *out, size_t n);

/* A random UUIDv4 (RFC 9562: version 4, variant 10), 36 lower-case characters, no NUL:
 * 0, or -1 when OpenSSL failed. */
int gls_rand_uuid4(gls_rand *r, char out[36]);

/* Wipes and frees the pool (NULL is fine). */
void gls_rand_free(gls_rand *r);

#endif
