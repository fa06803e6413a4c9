/* Pure C paginator state machine (no Lua): "which token for the next request?" /
 * "here is the page: which slice of it do I hand out?". Mirrors botocore's
 * PageIterator (max_items, starting_token, boto3-compatible resume tokens). */
#ifndef GLS_PAGINATOR_H
#define GLS_PAGINATOR_H
#include <stddef.h>

enum {
  GLS_PAG_OK = 0,
  GLS_PAG_NOMEM,      /* allocation failed */
  GLS_PAG_BADTOKEN,   /* starting token cannot be decoded */
  GLS_PAG_BADARG,     /* page_size / max_items out of range */
  GLS_PAG_REPEATED,   /* the service returned the token it was sent: the page's slice is
                         still handed out, and the walk ends there (with an error) */
  GLS_PAG_DONE        /* feed() after the walk ended */
};

typedef struct gls_paginator {
  long long max_items;    /* < 0: unlimited */
  long long handed;       /* items handed out so far */
  long long skip;         /* items of the next page already handed out (from a starting token) */
  char *token;            /* token to send with the next request (NULL: none) */
  size_t token_len;
  char *resume;           /* encoded resume token once max_items stopped the walk, else NULL */
  size_t resume_len;
  int done;
} gls_paginator;

/* start may be NULL (start_len 0). A boto3 token (base64 of {"NextToken": ..,
 * "boto_truncate_amount": n}) is decoded; any other string is taken as a raw
 * service NextToken. max_items < 0: unlimited, 0 is GLS_PAG_BADARG. */
int gls_paginator_init(gls_paginator *p, long long max_items, const char *start, size_t start_len);

/* The token for the next request (NULL when none: first page, or done). */
const char *gls_paginator_next_token(const gls_paginator *p, size_t *len);

int gls_paginator_done(const gls_paginator *p);

/* A page came back with output token tok (NULL or "" = last page) and n items.
 * *first / *last: the 1-based inclusive slice to hand out (*first > *last: none), set for
 * GLS_PAG_OK and GLS_PAG_REPEATED (the token it was sent, unless max_items ended the walk on
 * this page: then no more pages are asked for, so nothing repeats). */
int gls_paginator_feed(gls_paginator *p, const char *tok, size_t tok_len, long long n,
                       long long *first, long long *last);

/* The boto3-style resume token when max_items stopped the walk with items left, else NULL. */
const char *gls_paginator_resume_token(const gls_paginator *p, size_t *len);

/* Encodes / decodes a resume token. decode: *tok is malloc'd (NULL for a JSON null), caller frees. */
char *gls_paginator_encode_token(const char *tok, size_t tok_len, long long truncate, size_t *out_len);
int gls_paginator_decode_token(const char *s, size_t len, char **tok, size_t *tok_len, long long *truncate);

void gls_paginator_free(gls_paginator *p);

#endif
