/* An HTTP/1.1 response reader: see h1.h. */
#include "h1.h"

#include <stdlib.h>
#include <string.h>

enum { S_STATUS, S_HEADER, S_BODY_LEN, S_BODY_CLOSE, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END,
       S_TRAILER, S_DONE, S_ERROR };

/* which header the last line was (an obs-fold continues it) */
enum { H_OTHER, H_FRAMING };

#define DEFAULT_MAX_LINE ((size_t)100 * 1024)
#define DEFAULT_MAX_HEAD ((size_t)300 * 1024)
#define MAX_CHUNK_DIGITS 16
/* libcurl's limit on one trailer line (its chunk parser's); the line after a chunk's data (CRs) */
#define MAX_TRAILER_LINE ((size_t)65535)
#define MAX_CHUNK_END ((size_t)64)

void gls_h1_init(gls_h1 *h) {
  memset(h, 0, sizeof *h);
  h->max_line = DEFAULT_MAX_LINE;
  h->max_head = DEFAULT_MAX_HEAD;
}

void gls_h1_reset(gls_h1 *h) {
  char *line = h->line;
  size_t cap = h->line_cap;
  gls_h1 keep = *h;
  gls_h1_init(h);
  h->head_request = keep.head_request;
  h->max_line = keep.max_line;
  h->max_head = keep.max_head;
  h->max_body = keep.max_body;
  h->on_line = keep.on_line;
  h->on_body = keep.on_body;
  h->ud = keep.ud;
  h->line = line;
  h->line_cap = cap;
}

void gls_h1_free(gls_h1 *h) {
  free(h->line);
  h->line = NULL;
  h->line_cap = h->line_len = 0;
}

static int fail(gls_h1 *h, int err) {
  h->err = err;
  h->state = S_ERROR;
  return GLS_H1_ERROR;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

int gls_h1_name_is(const char *s, size_t n, const char *lower_name) {
  size_t i;
  if (strlen(lower_name) != n) return 0;
  for (i = 0; i < n; i++)
    if (lower((unsigned char)s[i]) != lower_name[i]) return 0;
  return 1;
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

int gls_h1_status_line(const char *s, size_t n, int *minor, long *status) {
  if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
      s[9] < '1' || s[9] > '9' || !is_digit(s[10]) || !is_digit(s[11]) || (n > 12 && s[12] != ' '))
    return 0;
  if (minor) *minor = s[7] - '0';
  if (status) *status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  return 1;
}

/* The next comma-separated element of [*s, end), OWS trimmed; 0 when none is left. */
static int next_element(const char **s, const char *end, const char **e, size_t *en) {
  const char *p = *s, *q;
  while (p < end && (is_ows(*p) || *p == ',')) p++;
  if (p >= end) return 0;
  q = p;
  while (q < end && *q != ',') q++;
  *s = q;
  while (q > p && is_ows(q[-1])) q--;
  *e = p;
  *en = (size_t)(q - p);
  return 1;
}

/* A Content-Length value: digits, or a list of the same digits ("5, 5"), OWS around each, into
 * *len (saturated at UINT64_MAX: a length past 2^64 is over any limit all the same). 0 when it is
 * anything else: a sign, a space inside, hex, different values, an empty element, nothing. */
static int content_length(const char *v, size_t n, uint64_t *len) {
  size_t i = 0;
  int seen = 0;
  while (i <= n) {
    uint64_t d = 0;
    size_t start;
    while (i < n && is_ows(v[i])) i++;
    start = i;
    for (; i < n && is_digit(v[i]); i++)
      d = d > (UINT64_MAX - 9) / 10 ? UINT64_MAX : d * 10 + (uint64_t)(v[i] - '0');
    if (i == start) return 0;
    while (i < n && is_ows(v[i])) i++;
    if (seen && d != *len) return 0;
    *len = d;
    seen = 1;
    if (i == n) return 1;
    if (v[i] != ',') return 0;
    i++;
  }
  return 0;
}

int gls_h1_framing_header(gls_h1_framing *f, const char *name, size_t name_n, const char *value,
                          size_t value_n) {
  const char *end = value + value_n, *e;
  size_t en;
  if (gls_h1_name_is(name, name_n, "content-length")) {
    uint64_t len = 0;
    if (!content_length(value, value_n, &len) || (f->has_length && len != f->length))
      return GLS_H1_H_BAD_LENGTH;
    f->has_length = 1;
    f->length = len;
  } else if (gls_h1_name_is(name, name_n, "transfer-encoding")) {
    /* chunked alone, once: no other coding is taken (as the cosocket transport) */
    while (value < end && is_ows(*value)) value++;
    while (end > value && is_ows(end[-1])) end--;
    if (f->chunked || !gls_h1_name_is(value, (size_t)(end - value), "chunked")) return GLS_H1_H_BAD_CODING;
    f->chunked = 1;
  } else if (gls_h1_name_is(name, name_n, "connection")) {
    while (next_element(&value, end, &e, &en))
      if (gls_h1_name_is(e, en, "close")) f->close = 1;
  } else {
    return GLS_H1_H_OTHER;
  }
  return GLS_H1_H_FRAMING;
}

int gls_h1_framing_ok(const gls_h1_framing *f) { return !(f->chunked && f->has_length); }

/* A header line of the head being read: what framing needs from it. */
static int header_line(gls_h1 *h, const char *s, size_t n, int *kind) {
  const char *colon = memchr(s, ':', n);
  size_t name_n;
  int r;
  *kind = H_OTHER;
  /* not a header: passed on (the pool refuses it); an interim head's framing is not read */
  if (!colon || (h->status < 200 && h->status != 101)) return 1;
  name_n = (size_t)(colon - s);
  while (name_n > 0 && is_ows(s[name_n - 1])) name_n--;
  r = gls_h1_framing_header(&h->framing, s, name_n, colon + 1, (size_t)(s + n - (colon + 1)));
  if (r == GLS_H1_H_FRAMING) *kind = H_FRAMING;
  return r >= 0;
}

/* The head has ended (its blank line passed on): what comes next. */
static int head_end(gls_h1 *h) {
  gls_h1_framing *f = &h->framing;
  if (!gls_h1_framing_ok(f)) return fail(h, GLS_H1_E_BAD_FRAMING);
  if (h->status >= 100 && h->status < 200 && h->status != 101) {
    memset(f, 0, sizeof *f);
    h->status = 0;
    h->state = S_STATUS;
    return GLS_H1_MORE;
  }
  /* a connection that reads until close, or that the server asked to close, or HTTP/1.0's
     (keep-alive there is an old extension this reader does not take up), is not reused */
  h->reusable = h->minor >= 1 && !f->close;
  if (h->head_request || h->status == 204 || h->status == 304) {
    h->state = S_DONE;
    return GLS_H1_DONE;
  }
  if (h->status == 101) { /* not HTTP past its head: read until the close, as libcurl does */
    h->reusable = 0;
    h->state = S_BODY_CLOSE;
    return GLS_H1_MORE;
  }
  if (f->chunked) {
    h->state = S_CHUNK_SIZE;
    return GLS_H1_MORE;
  }
  if (!f->has_length) {
    h->reusable = 0;
    h->state = S_BODY_CLOSE;
    return GLS_H1_MORE;
  }
  if (h->max_body && f->length > h->max_body) return fail(h, GLS_H1_E_BODY_TOO_BIG);
  h->remaining = f->length;
  if (h->remaining == 0) {
    h->state = S_DONE;
    return GLS_H1_DONE;
  }
  h->state = S_BODY_LEN;
  return GLS_H1_MORE;
}

/* "1a2b[ ;ext]" */
static int chunk_size(gls_h1 *h, const char *s, size_t n) {
  size_t i = 0;
  uint64_t x = 0;
  for (; i < n && i <= MAX_CHUNK_DIGITS; i++) {
    int c = lower((unsigned char)s[i]), d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else break;
    x = x * 16 + (uint64_t)d;
  }
  /* what follows the digits, an extension or not, is passed over (as libcurl) */
  if (i == 0 || i > MAX_CHUNK_DIGITS || x > (uint64_t)INT64_MAX) return 0;
  h->remaining = x;
  return 1;
}

static int add_line_bytes(gls_h1 *h, const char *p, size_t n) {
  if (h->line_len + n > h->line_cap) {
    size_t cap = h->line_cap ? h->line_cap : 256;
    char *q;
    while (cap < h->line_len + n) cap *= 2;
    if (!(q = realloc(h->line, cap))) return 0;
    h->line = q;
    h->line_cap = cap;
  }
  memcpy(h->line + h->line_len, p, n);
  h->line_len += n;
  return 1;
}

/* One complete line (its line end cut) in the current line state. */
static int line_done(gls_h1 *h, const char *s, size_t n) {
  int kind;
  size_t i;
  if ((h->state == S_STATUS || h->state == S_HEADER || h->state == S_TRAILER) && memchr(s, '\0', n))
    return fail(h, GLS_H1_E_BAD_FRAMING);
  switch (h->state) {
  case S_STATUS:
    if (!gls_h1_status_line(s, n, &h->minor, &h->status)) return fail(h, GLS_H1_E_BAD_STATUS);
    if (!h->on_line(h->ud, s, n)) return fail(h, GLS_H1_E_STOPPED);
    h->fold_framing = 0;
    h->state = S_HEADER;
    return GLS_H1_MORE;
  case S_HEADER:
    if (n == 0) {
      if (!h->on_line(h->ud, s, n)) return fail(h, GLS_H1_E_STOPPED);
      return head_end(h);
    }
    if (is_ows(s[0])) { /* obs-fold: a framing header's value may not go on here */
      if (h->fold_framing) return fail(h, GLS_H1_E_BAD_FRAMING);
    } else {
      if (!header_line(h, s, n, &kind)) return fail(h, GLS_H1_E_BAD_FRAMING);
      h->fold_framing = kind == H_FRAMING;
    }
    if (!h->on_line(h->ud, s, n)) return fail(h, GLS_H1_E_STOPPED);
    return GLS_H1_MORE;
  case S_CHUNK_SIZE:
    if (!chunk_size(h, s, n)) return fail(h, GLS_H1_E_BAD_CHUNK);
    h->state = h->remaining ? S_CHUNK_DATA : S_TRAILER;
    return GLS_H1_MORE;
  case S_CHUNK_END: /* CRs alone (libcurl passes over any number of them) */
    for (i = 0; i < n; i++)
      if (s[i] != '\r') return fail(h, GLS_H1_E_BAD_CHUNK);
    h->state = S_CHUNK_SIZE;
    return GLS_H1_MORE;
  default: /* S_TRAILER: passed on (the pool drops them, counted in its limit) up to the blank
              line, which is not (libcurl does not hand it over either) */
    if (n == 0) {
      h->state = S_DONE;
      return GLS_H1_DONE;
    }
    if (!memchr(s, ':', n)) return fail(h, GLS_H1_E_BAD_FRAMING);
    if (!h->on_line(h->ud, s, n)) return fail(h, GLS_H1_E_STOPPED);
    return GLS_H1_MORE;
  }
}

int gls_h1_feed(gls_h1 *h, const char *p, size_t n, size_t *used) {
  size_t i = 0;
  *used = 0;
  if (h->state == S_ERROR) return GLS_H1_ERROR;
  if (h->state == S_DONE) return GLS_H1_DONE;
  h->received += n;
  while (i < n) {
    const char *nl, *line;
    size_t take, len, limit;
    int head, r;
    if (h->state == S_BODY_LEN || h->state == S_CHUNK_DATA) {
      size_t k = n - i;
      if ((uint64_t)k > h->remaining) k = (size_t)h->remaining;
      if (!h->on_body(h->ud, p + i, k)) return fail(h, GLS_H1_E_STOPPED);
      i += k;
      h->remaining -= k;
      if (h->remaining == 0) {
        if (h->state == S_BODY_LEN) {
          h->state = S_DONE;
          *used = i;
          return GLS_H1_DONE;
        }
        h->state = S_CHUNK_END;
      }
      continue;
    }
    if (h->state == S_BODY_CLOSE) {
      if (!h->on_body(h->ud, p + i, n - i)) return fail(h, GLS_H1_E_STOPPED);
      i = n;
      continue;
    }
    /* a line: status, header, chunk size, chunk end or trailer */
    nl = memchr(p + i, '\n', n - i);
    take = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
    head = h->state == S_STATUS || h->state == S_HEADER;
    if (h->state == S_STATUS) { /* not HTTP: said at the fifth byte, not after a whole line */
      size_t k;
      for (k = 0; h->line_len + k < 5 && k < take; k++)
        if (p[i + k] != "HTTP/"[h->line_len + k]) return fail(h, GLS_H1_E_NOT_HTTP);
    }
    /* the line limit as the bytes come, the head's at each line's end: the same bytes fail the
       same way however the connection cuts them */
    limit = h->state == S_TRAILER ? MAX_TRAILER_LINE : h->state == S_CHUNK_END ? MAX_CHUNK_END : h->max_line;
    if (h->line_len + take > limit + 2)
      return fail(h, head ? GLS_H1_E_LINE_TOO_BIG : h->state == S_TRAILER ? GLS_H1_E_BAD_FRAMING : GLS_H1_E_BAD_CHUNK);
    if (head && nl && (h->head_bytes += h->line_len + take) > h->max_head)
      return fail(h, GLS_H1_E_HEAD_TOO_BIG);
    if (!nl || h->line_len) {
      if (!add_line_bytes(h, p + i, take)) return fail(h, GLS_H1_E_STOPPED);
      i += take;
      if (!nl) continue;
      line = h->line;
      len = h->line_len;
      h->line_len = 0;
    } else {
      line = p + i;
      len = take;
      i += take;
    }
    len--; /* the LF; a CR before it too */
    if (len > 0 && line[len - 1] == '\r') len--;
    r = line_done(h, line, len);
    if (r == GLS_H1_DONE) {
      *used = i;
      return r;
    }
    if (r == GLS_H1_ERROR) return r;
  }
  *used = n;
  return GLS_H1_MORE;
}

int gls_h1_eof(gls_h1 *h) {
  switch (h->state) {
  case S_DONE: return GLS_H1_DONE;
  case S_BODY_CLOSE:
    h->state = S_DONE;
    h->reusable = 0;
    return GLS_H1_DONE;
  case S_STATUS: return fail(h, GLS_H1_E_EMPTY); /* no status line: nothing of a reply */
  case S_HEADER: return fail(h, GLS_H1_E_CUT_HEAD);
  case S_ERROR: return GLS_H1_ERROR;
  default: return fail(h, GLS_H1_E_CUT_BODY);
  }
}
