/* An HTTP/1.1 response reader (RFC 9112), incremental and without I/O: the pool's direct
 * transfers (csrc/http.c) feed it the bytes a connection gives and it hands the head's lines
 * and the body's bytes to two callbacks, and says where the response ends, so a connection is
 * kept for the next request only when every byte it gave belonged to this response.
 *
 * Framing (RFC 9112, and libcurl's choices where it leaves one, as the cosocket transport reads
 * too): a HEAD request, a 204 or a 304 has no body; "Transfer-Encoding: chunked" (no other
 * coding, and no Content-Length beside it) is read as chunks, trailers passed to on_line after
 * the head's blank line; a 101, or no Content-Length, is read until the server closes;
 * otherwise the Content-Length (all its values the same digits). 1xx heads other than 101 are
 * passed on and skipped. A NUL in a head line, a line without a colon in the trailers, a
 * folded framing header are framing errors. */
#ifndef GLS_H1_H
#define GLS_H1_H

#include <stddef.h>
#include <stdint.h>

/* A line of a head (status line, header line or the blank line that ends it), or of the
 * trailers, without its line end; returns 0 to stop the transfer. */
typedef int (*gls_h1_line_fn)(void *ud, const char *line, size_t n);
/* Body bytes, as they come (chunk framing removed); returns 0 to stop the transfer. */
typedef int (*gls_h1_body_fn)(void *ud, const char *p, size_t n);

enum { GLS_H1_MORE = 0, GLS_H1_DONE = 1, GLS_H1_ERROR = -1 };

/* What went wrong (gls_h1.err): the kinds the pool maps to its error codes. */
enum {
  GLS_H1_E_NONE = 0,
  GLS_H1_E_NOT_HTTP,     /* the reply does not start with "HTTP/" */
  GLS_H1_E_BAD_STATUS,   /* "HTTP/..." but not a valid HTTP/1.x status line */
  GLS_H1_E_BAD_FRAMING,  /* framing headers not valid or at odds; a NUL; a bad trailer line */
  GLS_H1_E_BAD_CHUNK,    /* chunked encoding not valid */
  GLS_H1_E_LINE_TOO_BIG, /* a head line over max_line */
  GLS_H1_E_HEAD_TOO_BIG, /* the heads over max_head in all */
  GLS_H1_E_BODY_TOO_BIG, /* Content-Length over max_body */
  GLS_H1_E_STOPPED,      /* a callback returned 0 */
  GLS_H1_E_EMPTY,        /* closed before a whole status line */
  GLS_H1_E_CUT_HEAD,     /* closed inside a head, after its status line */
  GLS_H1_E_CUT_BODY      /* closed inside a body with a length or chunks */
};

/* ---- The framing rules, one set: the reader below applies them, and so does csrc/http.c's
 * header callback to the heads libcurl's own HTTP reads (each path says a refusal its own way).
 * Where RFC 9112 leaves a choice they take what libcurl's own path and the cosocket transport
 * (ngx_http.lua) take. */

/* 1 when the n bytes at s are lower_name in any ASCII case (whatever the locale). */
int gls_h1_name_is(const char *s, size_t n, const char *lower_name);

/* A status line (its line end cut): "HTTP/1.0 NNN" or "HTTP/1.1 NNN", NNN 100-999, then a
 * space or the end. 1 with the minor version and the status in *minor and *status (either may
 * be NULL), else 0. libcurl alone would also take "HTTP/1.1 200<TAB>OK", "HTTP/1.1  200" or
 * "HTTP/2 200" over HTTP/1.1. */
int gls_h1_status_line(const char *s, size_t n, int *minor, long *status);

/* What the framing headers of one head said. */
typedef struct gls_h1_framing {
  uint64_t length;   /* the Content-Length (has_length) */
  int has_length;
  int chunked;       /* "Transfer-Encoding: chunked" */
  int close;         /* "Connection: close" */
} gls_h1_framing;

/* What gls_h1_framing_header found. */
enum {
  GLS_H1_H_OTHER = 0,        /* not a framing header */
  GLS_H1_H_FRAMING = 1,      /* Content-Length, Transfer-Encoding or Connection, taken */
  GLS_H1_H_BAD_LENGTH = -1,  /* a Content-Length that is not digits, or not the same digits
                                ("5, 5" is 5; RFC 9110 8.6), as its value or as an earlier one's */
  GLS_H1_H_BAD_CODING = -2   /* a Transfer-Encoding other than "chunked" alone, or a second one */
};

/* A header line of a final head (or a 101's), its name (OWS before the colon cut) and its
 * value (OWS around it or not), added to *f (zeroed for each head). */
int gls_h1_framing_header(gls_h1_framing *f, const char *name, size_t name_n, const char *value,
                          size_t value_n);
/* 0 when the head's framing headers are at odds: a Transfer-Encoding beside a Content-Length. */
int gls_h1_framing_ok(const gls_h1_framing *f);

typedef struct gls_h1 {
  /* set by the caller (gls_h1_init sets the defaults) */
  int head_request;      /* the request was HEAD: no body whatever the head says */
  size_t max_line;       /* the longest head line */
  size_t max_head;       /* all head bytes of the transfer (1xx heads and trailers included) */
  uint64_t max_body;     /* the largest Content-Length taken (0: any) */
  gls_h1_line_fn on_line;
  gls_h1_body_fn on_body;
  void *ud;
  /* state */
  int state;
  int err;               /* GLS_H1_E_* once gls_h1_feed or gls_h1_eof said GLS_H1_ERROR */
  long status;           /* the final response's status (0 until its status line) */
  int minor;             /* HTTP/1.minor of the response being read */
  int reusable;          /* after GLS_H1_DONE: the connection may carry the next request */
  uint64_t received;     /* bytes fed in all */
  uint64_t remaining;    /* body bytes still to come (a length, or the current chunk) */
  gls_h1_framing framing; /* the head's Content-Length, Transfer-Encoding and Connection */
  size_t head_bytes;
  int fold_framing;      /* the last header line was a framing one (an obs-fold may not continue it) */
  char *line;            /* a line cut by a read: its bytes so far */
  size_t line_len, line_cap;
} gls_h1;

void gls_h1_init(gls_h1 *h);
/* Ready for the next response on the same connection (the callbacks and limits stay). */
void gls_h1_reset(gls_h1 *h);
void gls_h1_free(gls_h1 *h);
/* Reads n bytes: GLS_H1_MORE (all taken, more needed), GLS_H1_DONE (the response ended after
 * *used bytes: any more means the connection cannot be reused) or GLS_H1_ERROR (h->err). */
int gls_h1_feed(gls_h1 *h, const char *p, size_t n, size_t *used);
/* The connection closed: GLS_H1_DONE (a body read until close) or GLS_H1_ERROR (h->err). */
int gls_h1_eof(gls_h1 *h);

#endif
