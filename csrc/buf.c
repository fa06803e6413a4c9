/* The growable byte buffer (buf.h). */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#define MIN_CAP 256

int gls_buf_grow(gls_buf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (b->err) return b->err;
  if ((b->max && extra > b->max - b->len) || extra >= SIZE_MAX - b->len) return b->err = GLS_BUF_TOO_BIG;
  need = b->len + extra + 1;
  if (need <= b->cap) return GLS_BUF_OK;
  cap = b->cap ? b->cap : MIN_CAP;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (b->max && cap > b->max + 1) cap = b->max + 1; /* need <= max + 1 here */
  if (b->wipe) {
    /* by copy, so the old block is wiped rather than left to realloc */
    p = malloc(cap);
    if (!p) return b->err = GLS_BUF_NOMEM;
    if (b->p) {
      memcpy(p, b->p, b->len + 1);
      OPENSSL_cleanse(b->p, b->cap);
      free(b->p);
    }
  } else {
    p = realloc(b->p, cap);
    if (!p) return b->err = GLS_BUF_NOMEM;
    if (!b->p) p[0] = '\0';
  }
  b->p = p;
  b->cap = cap;
  return GLS_BUF_OK;
}

void gls_buf_free(gls_buf *b) {
  if (b->p) {
    if (b->wipe) OPENSSL_cleanse(b->p, b->cap);
    free(b->p);
  }
  b->p = NULL;
  b->len = b->cap = 0;
  b->err = GLS_BUF_OK;
}
