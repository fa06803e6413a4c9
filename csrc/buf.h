/* The one growable byte buffer of the C core (plain C, no Lua): the signer's scratch, the HTTP
 * pool's response and header buffers, the paginator's JSON. Geometric growth, reused between
 * uses (reset keeps the block), NUL-terminated once it holds a block. A buffer that holds key
 * material (wipe = 1) never goes through realloc: it grows by copy and every block it lets go
 * is wiped first. An optional byte limit (max) refuses growth past it. The first failure sticks
 * (err) until the next reset, so a sequence of adds can be checked once at its end. */
#ifndef GLS_BUF_H
#define GLS_BUF_H

#include <stddef.h>
#include <string.h>

enum { GLS_BUF_OK = 0, GLS_BUF_TOO_BIG = -1, GLS_BUF_NOMEM = -2 };

typedef struct gls_buf {
  char *p;         /* NULL until the first growth */
  size_t len, cap; /* cap counts the byte the terminating NUL takes */
  size_t max;      /* 0: no limit; else len never exceeds it */
  int wipe;        /* wipe every block let go (key material, tokens) */
  int err;         /* the first failure since the last reset, else GLS_BUF_OK */
} gls_buf;

#define GLS_BUF_INIT {NULL, 0, 0, 0, 0, 0}

/* The slow path of gls_buf_reserve: a block for len + extra bytes and the NUL. */
int gls_buf_grow(gls_buf *b, size_t extra);

/* Room for extra more bytes (and the NUL). GLS_BUF_OK, or the buffer's failure. */
static inline int gls_buf_reserve(gls_buf *b, size_t extra) {
  if (b->err) return b->err;
  if (extra < b->cap - b->len && (!b->max || extra <= b->max - b->len)) return GLS_BUF_OK;
  return gls_buf_grow(b, extra);
}

static inline int gls_buf_add(gls_buf *b, const void *s, size_t n) {
  int rc = gls_buf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return GLS_BUF_OK;
}

static inline int gls_buf_addc(gls_buf *b, char c) {
  int rc = gls_buf_reserve(b, 1);
  if (rc) return rc;
  b->p[b->len++] = c;
  b->p[b->len] = '\0';
  return GLS_BUF_OK;
}

static inline int gls_buf_adds(gls_buf *b, const char *s) { return gls_buf_add(b, s, strlen(s)); }

/* Empties the buffer (keeps its block) and clears its failure. */
static inline void gls_buf_reset(gls_buf *b) {
  b->len = 0;
  b->err = GLS_BUF_OK;
  if (b->p) b->p[0] = '\0';
}

/* Wipes (wipe = 1), frees and empties; keeps max and wipe. */
void gls_buf_free(gls_buf *b);

#endif
