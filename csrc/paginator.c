/* Paginator state machine: plain C over plain buffers, no Lua. */
#include "paginator.h"

#include "buf.h"
#include "codec.h"

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

/* ---- a small JSON reader for that one object shape ---- */

typedef struct { const char *s; size_t n, i; } rd_t;

static void skip_ws(rd_t *r) {
  while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r'))
    r->i++;
}

static int hex4(rd_t *r, unsigned *out) {
  unsigned v = 0;
  int k;
  if (r->i + 4 > r->n) return 0;
  for (k = 0; k < 4; k++) {
    char c = r->s[r->i++];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static void utf8(gls_buf *b, unsigned cp) {
  char e[4];
  if (cp < 0x80) { e[0] = (char)cp; gls_buf_add(b, e, 1); }
  else if (cp < 0x800) { e[0] = (char)(0xC0 | cp >> 6); e[1] = (char)(0x80 | (cp & 63)); gls_buf_add(b, e, 2); }
  else if (cp < 0x10000) {
    e[0] = (char)(0xE0 | cp >> 12); e[1] = (char)(0x80 | (cp >> 6 & 63)); e[2] = (char)(0x80 | (cp & 63));
    gls_buf_add(b, e, 3);
  } else {
    e[0] = (char)(0xF0 | cp >> 18); e[1] = (char)(0x80 | (cp >> 12 & 63));
    e[2] = (char)(0x80 | (cp >> 6 & 63)); e[3] = (char)(0x80 | (cp & 63));
    gls_buf_add(b, e, 4);
  }
}

/* Reads a JSON string at r->i (on the opening quote) into b. */
static int read_string(rd_t *r, gls_buf *b) {
  if (r->i >= r->n || r->s[r->i] != '"') return 0;
  r->i++;
  while (r->i < r->n) {
    unsigned char c = (unsigned char)r->s[r->i++];
    if (c == '"') { gls_buf_add(b, "", 0); return !b->err; }
    if (c < 0x20) return 0;
    if (c != '\\') { gls_buf_add(b, (const char *)&c, 1); continue; }
    if (r->i >= r->n) return 0;
    c = (unsigned char)r->s[r->i++];
    switch (c) {
      case '"': gls_buf_add(b, "\"", 1); break;
      case '\\': gls_buf_add(b, "\\", 1); break;
      case '/': gls_buf_add(b, "/", 1); break;
      case 'b': gls_buf_add(b, "\b", 1); break;
      case 'f': gls_buf_add(b, "\f", 1); break;
      case 'n': gls_buf_add(b, "\n", 1); break;
      case 'r': gls_buf_add(b, "\r", 1); break;
      case 't': gls_buf_add(b, "\t", 1); break;
      case 'u': {
        unsigned cp, lo;
        if (!hex4(r, &cp)) return 0;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (r->i + 2 > r->n || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u') return 0;
          r->i += 2;
          if (!hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF) return 0;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return 0;
        }
        utf8(b, cp);
        break;
      }
      default: return 0;
    }
  }
  return 0;
}

/* Skips a scalar value we do not accept (numbers, true/false, a quoted string). */
static void skip_scalar(rd_t *r) {
  if (r->i < r->n && r->s[r->i] == '"') {
    gls_buf tmp = GLS_BUF_INIT;
    read_string(r, &tmp);
    free(tmp.p);
    return;
  }
  while (r->i < r->n && r->s[r->i] != ',' && r->s[r->i] != '}') r->i++;
}

enum { DEC_OK = 0, DEC_NOT_OURS, DEC_BAD, DEC_NOMEM };

/* Parses {"NextToken": string|null, "boto_truncate_amount": int}. DEC_NOT_OURS when the text is
 * not a JSON object holding either key; DEC_BAD when it holds them with wrong values. */
static int parse_object(const char *s, size_t n, char **tok, size_t *tok_len, long long *truncate) {
  rd_t r = { s, n, 0 };
  int have_tok = 0, have_trunc = 0, bad = 0;
  gls_buf tokbuf = GLS_BUF_INIT;
  int tok_null = 1;
  *truncate = 0;
  skip_ws(&r);
  if (r.i >= r.n || s[r.i] != '{') return DEC_NOT_OURS;
  r.i++;
  skip_ws(&r);
  if (r.i < r.n && s[r.i] == '}') { r.i++; goto end; }
  for (;;) {
    gls_buf key = GLS_BUF_INIT;
    int ok;
    skip_ws(&r);
    ok = read_string(&r, &key);
    if (key.err) { free(key.p); free(tokbuf.p); return DEC_NOMEM; }
    if (!ok) { free(key.p); free(tokbuf.p); return DEC_NOT_OURS; }
    skip_ws(&r);
    if (r.i >= r.n || s[r.i] != ':') { free(key.p); free(tokbuf.p); return DEC_NOT_OURS; }
    r.i++;
    skip_ws(&r);
    if (key.p && strcmp(key.p, "NextToken") == 0 && key.len == 9) {
      have_tok = 1;
      if (r.i + 4 <= r.n && memcmp(s + r.i, "null", 4) == 0) {
        r.i += 4;
      } else if (r.i < r.n && s[r.i] == '"') {
        gls_buf_free(&tokbuf);
        if (!read_string(&r, &tokbuf)) {
          int oom = tokbuf.err == GLS_BUF_NOMEM;
          free(key.p); free(tokbuf.p);
          return oom ? DEC_NOMEM : DEC_NOT_OURS;
        }
        tok_null = 0;
      } else {
        bad = 1;
        skip_scalar(&r);
      }
    } else if (key.p && strcmp(key.p, "boto_truncate_amount") == 0) {
      long long v = 0;
      int digits = 0;
      have_trunc = 1;
      while (r.i < r.n && s[r.i] >= '0' && s[r.i] <= '9' && digits < 18) {
        v = v * 10 + (s[r.i++] - '0');
        digits++;
      }
      if (!digits || (r.i < r.n && s[r.i] != ',' && s[r.i] != '}' && s[r.i] != ' ')) {
        bad = 1;
        skip_scalar(&r);
      } else {
        *truncate = v;
      }
    } else {
      /* another input token name: not one of ours */
      free(key.p); free(tokbuf.p);
      return DEC_NOT_OURS;
    }
    free(key.p);
    skip_ws(&r);
    if (r.i < r.n && s[r.i] == ',') { r.i++; continue; }
    if (r.i < r.n && s[r.i] == '}') { r.i++; break; }
    free(tokbuf.p);
    return DEC_NOT_OURS;
  }
end:
  skip_ws(&r);
  if (r.i != r.n) { free(tokbuf.p); return DEC_NOT_OURS; }
  if (!have_tok && !have_trunc) { free(tokbuf.p); return DEC_NOT_OURS; }
  if (bad) { free(tokbuf.p); return DEC_BAD; }
  if (tok_null) {
    free(tokbuf.p);
    *tok = NULL;
    *tok_len = 0;
  } else {
    if (!tokbuf.p) { tokbuf.p = dup_bytes("", 0); if (!tokbuf.p) return DEC_NOMEM; }
    *tok = tokbuf.p;
    *tok_len = tokbuf.len;
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
  if (p->token && p->token_len == tok_len && memcmp(p->token, tok, tok_len) == 0) {
    finish(p);
    return GLS_PAG_REPEATED;
  }
  if (p->max_items >= 0 && p->handed == p->max_items) {
    /* stopped on a page boundary: resume with the next page's token */
    p->resume = gls_paginator_encode_token(tok, tok_len, 0, &p->resume_len);
    finish(p);
    return p->resume ? GLS_PAG_OK : GLS_PAG_NOMEM;
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
