/* Paginator state machine: plain C over plain buffers, no Lua. */
#include "paginator.h"

#include "buf.h"
#include "codec.h"
#include "json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static char *dup_bytes(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  if (n) memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

/* base64 of the JSON object, NUL-terminated, malloc'd; NULL when out of memory. */
static char *b64_encode(const unsigned char *in, size_t n, size_t *out_len) {
  size_t olen = gls_b64_encoded_len(n);
  char *out = (olen || !n) ? malloc(olen + 1) : NULL;
  if (!out) return NULL;
  gls_b64_encode(out, in, n);
  out[olen] = '\0';
  *out_len = olen;
  return out;
}

/* Returns a malloc'd buffer, or NULL (not padded standard base64, or no memory: *nomem tells). */
static unsigned char *b64_decode(const char *s, size_t n, size_t *out_len, int *nomem) {
  unsigned char *out;
  *nomem = 0;
  if (n % 4 != 0) return NULL;
  out = malloc(n / 4 * 3 + 1);
  if (!out) {
    *nomem = 1;
    return NULL;
  }
  if (gls_b64_decode(out, s, n, out_len) != 0) {
    free(out);
    return NULL;
  }
  return out;
}

char *gls_paginator_encode_token(const char *tok, size_t tok_len, long long truncate, size_t *out_len) {
  gls_buf b = GLS_BUF_INIT;
  char *out;
  gls_buf_adds(&b, "{\"NextToken\": ");
  if (tok) gls_json_quote(&b, tok, tok_len);
  else gls_buf_adds(&b, "null");
  if (truncate > 0) {
    char num[32];
    int k = 0;
    long long v = truncate;
    char rev[32];
    while (v > 0 && k < 31) { rev[k++] = (char)('0' + v % 10); v /= 10; }
    for (int i = 0; i < k; i++) num[i] = rev[k - 1 - i];
    num[k] = '\0';
    gls_buf_adds(&b, ", \"boto_truncate_amount\": ");
    gls_buf_adds(&b, num);
  }
  gls_buf_adds(&b, "}");
  if (b.err) { free(b.p); return NULL; }
  out = b64_encode((const unsigned char *)b.p, b.len, out_len);
  free(b.p);
  return out;
}

/* ---- reading that one object shape (json.c) ---- */

enum { DEC_OK = 0, DEC_NOT_OURS, DEC_BAD, DEC_NOMEM };

/* Parses {"NextToken": string|null, "boto_truncate_amount": int}. DEC_NOT_OURS when the text is
 * not a JSON object holding either key, or holds another; DEC_BAD when it holds them with wrong
 * values (the last of a repeated key counts). */
static int parse_object(const char *s, size_t n, char **tok, size_t *tok_len, long long *truncate) {
  gls_json j;
  const char *tstr = NULL;
  size_t tlen = 0;
  int tesc = 0, have_tok = 0, have_trunc = 0, tok_bad = 0, trunc_bad = 0, ev;
  *truncate = 0;
  gls_json_init(&j, s, n);
  if (gls_json_next(&j) != GLS_JSON_OBJ) return DEC_NOT_OURS;
  while ((ev = gls_json_next(&j)) == GLS_JSON_KEY) {
    char kb[128]; /* a name with escapes that may decode to one of ours */
    const char *k = j.str;
    size_t kn = j.len;
    int is_tok;
    if (j.esc && kn <= sizeof kb) {
      kn = gls_json_unescape(j.str, j.len, kb);
      k = kb;
    }
    is_tok = kn == 9 && memcmp(k, "NextToken", 9) == 0;
    if (!is_tok && (kn != 20 || memcmp(k, "boto_truncate_amount", 20) != 0))
      return DEC_NOT_OURS; /* another input token name: not one of ours */
    ev = gls_json_next(&j);
    if (is_tok) {
      have_tok = 1;
      tok_bad = ev != GLS_JSON_STR && ev != GLS_JSON_NULL;
      tstr = ev == GLS_JSON_STR ? j.str : NULL;
      tlen = j.len;
      tesc = j.esc;
    } else {
      have_trunc = 1;
      /* a count of up to 18 digits */
      trunc_bad = ev != GLS_JSON_NUM || j.esc || j.str[0] == '-' || j.len > 18;
      if (!trunc_bad) {
        gls_json_num v;
        if (!gls_json_number(j.str, j.len, 0, &v)) return DEC_NOMEM;
        *truncate = v.i;
      }
    }
    if (!gls_json_skip(&j, ev)) return DEC_NOT_OURS;
  }
  if (ev != GLS_JSON_END || gls_json_next(&j) != GLS_JSON_EOF) return DEC_NOT_OURS;
  if (!have_tok && !have_trunc) return DEC_NOT_OURS;
  if (tok_bad || trunc_bad) return DEC_BAD;
  *tok = NULL;
  *tok_len = 0;
  if (tstr) {
    char *out = malloc(tlen + 1);
    if (!out) return DEC_NOMEM;
    *tok_len = tesc ? gls_json_unescape(tstr, tlen, out) : tlen;
    if (!tesc && tlen) memcpy(out, tstr, tlen);
    out[*tok_len] = '\0';
    *tok = out;
  }
  return DEC_OK;
}

int gls_paginator_decode_token(const char *s, size_t len, char **tok, size_t *tok_len, long long *truncate) {
  size_t raw_len = 0;
  int nomem = 0, rc;
  unsigned char *raw = b64_decode(s, len, &raw_len, &nomem);
  *tok = NULL; *tok_len = 0; *truncate = 0;
  if (!raw) return nomem ? GLS_PAG_NOMEM : GLS_PAG_BADTOKEN;
  rc = parse_object((const char *)raw, raw_len, tok, tok_len, truncate);
  free(raw);
  if (rc == DEC_OK) return GLS_PAG_OK;
  if (rc == DEC_NOMEM) return GLS_PAG_NOMEM;
  return GLS_PAG_BADTOKEN;
}

/* ---- the state machine ---- */

int gls_paginator_init(gls_paginator *p, long long max_items, const char *start, size_t start_len) {
  memset(p, 0, sizeof *p);
  p->max_items = max_items < 0 ? -1 : max_items;
  if (max_items == 0) return GLS_PAG_BADARG;
  if (start && start_len > 0) {
    size_t raw_len = 0;
    int nomem = 0;
    unsigned char *raw = b64_decode(start, start_len, &raw_len, &nomem);
    if (nomem) return GLS_PAG_NOMEM;
    if (raw) {
      int rc = parse_object((const char *)raw, raw_len, &p->token, &p->token_len, &p->skip);
      free(raw);
      if (rc == DEC_OK) return GLS_PAG_OK;
      if (rc == DEC_NOMEM) return GLS_PAG_NOMEM;
      if (rc == DEC_BAD) return GLS_PAG_BADTOKEN;
    }
    /* not a resume token: the service's own NextToken */
    p->token = dup_bytes(start, start_len);
    if (!p->token) return GLS_PAG_NOMEM;
    p->token_len = start_len;
  }
  return GLS_PAG_OK;
}

const char *gls_paginator_next_token(const gls_paginator *p, size_t *len) {
  if (p->done || !p->token) { *len = 0; return NULL; }
  *len = p->token_len;
  return p->token;
}

int gls_paginator_done(const gls_paginator *p) { return p->done; }

static void finish(gls_paginator *p) {
  p->done = 1;
  free(p->token);
  p->token = NULL;
  p->token_len = 0;
}

int gls_paginator_feed(gls_paginator *p, const char *tok, size_t tok_len, long long n,
                       long long *first, long long *last) {
  long long skip = p->skip, count;
  *first = 1; *last = 0;
  if (p->done) return GLS_PAG_DONE;
  if (n < 0) n = 0;
  p->skip = 0; /* a starting token's offset applies to its first page only */
  if (skip > n) skip = n;
  count = n - skip;
  *first = skip + 1;
  /* handed <= max_items when there is one: max_items - handed cannot overflow, handed + count could */
  if (p->max_items >= 0 && count > p->max_items - p->handed) {
    long long keep = p->max_items - p->handed;
    *last = skip + keep;
    p->handed += keep;
    /* resume from the same request, skipping what was handed out of this page */
    p->resume = gls_paginator_encode_token(p->token, p->token_len, skip + keep, &p->resume_len);
    finish(p);
    return p->resume ? GLS_PAG_OK : GLS_PAG_NOMEM;
  }
  *last = n;
  p->handed = count > LLONG_MAX - p->handed ? LLONG_MAX : p->handed + count; /* saturates */
  if (!tok || tok_len == 0) { finish(p); return GLS_PAG_OK; }
  /* botocore's order: the max_items boundary first, then the repeated token */
  if (p->max_items >= 0 && p->handed == p->max_items) {
    /* stopped on a page boundary: resume with the next page's token */
    p->resume = gls_paginator_encode_token(tok, tok_len, 0, &p->resume_len);
    finish(p);
    return p->resume ? GLS_PAG_OK : GLS_PAG_NOMEM;
  }
  if (p->token && p->token_len == tok_len && memcmp(p->token, tok, tok_len) == 0) {
    finish(p); /* this page is still handed out (*first..*last), as botocore yields it */
    return GLS_PAG_REPEATED;
  }
  {
    char *next = dup_bytes(tok, tok_len);
    if (!next) { finish(p); return GLS_PAG_NOMEM; }
    free(p->token);
    p->token = next;
    p->token_len = tok_len;
  }
  return GLS_PAG_OK;
}

const char *gls_paginator_resume_token(const gls_paginator *p, size_t *len) {
  *len = p->resume ? p->resume_len : 0;
  return p->resume;
}

void gls_paginator_free(gls_paginator *p) {
  free(p->token);
  free(p->resume);
  p->token = NULL;
  p->resume = NULL;
  p->token_len = p->resume_len = 0;
  p->done = 1;
}
