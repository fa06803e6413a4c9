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
  uint64_t length;       /* the response's Content-Length (has_length) */
  size_t head_bytes;
  int has_length, chunked, close;
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
