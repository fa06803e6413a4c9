/* A pool of HTTP transfers over one libcurl multi handle (plain C, no Lua).
 *
 * The pool owns every easy handle, buffer and result: a finished transfer stays in the
 * pool's done queue until gls_http_pool_release() hands it back (its easy handle and
 * buffers then serve the next request). Nothing here blocks longer than asked, and
 * nothing calls back into the caller. */
#ifndef GLS_HTTP_H
#define GLS_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct gls_http_pool gls_http_pool;

typedef struct gls_http_pool_opts {
  long max_host_connections; /* 0: libcurl's default (no limit) */
  const char *ca_file;       /* NULL: libcurl's default bundle */
  const char *ca_path;
  int insecure;              /* 1: do not verify the peer's certificate or host name */
  int libcurl_only;          /* 1: every request through libcurl's own HTTP (no direct transfers) */
} gls_http_pool_opts;

typedef struct gls_http_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} gls_http_header;

typedef struct gls_http_request {
  const char *method;              /* NULL: "GET" */
  const char *url;
  const gls_http_header *headers;  /* sent in this order; a name may repeat */
  size_t n_headers;
  const char *body;                /* NULL: no body (copied by the pool) */
  size_t body_len;
  long timeout_ms;                 /* 0: none */
  long connect_timeout_ms;         /* 0: libcurl's default */
  size_t max_response_bytes;       /* 0: GLS_HTTP_DEFAULT_MAX_RESPONSE */
  const char *ca_file;             /* NULL: the pool's (copied by libcurl) */
  const char *ca_path;             /* NULL: the pool's */
} gls_http_request;

#define GLS_HTTP_DEFAULT_MAX_RESPONSE ((size_t)16 * 1024 * 1024)
#define GLS_HTTP_MSG_SIZE 512

typedef struct gls_http_result {
  int64_t id;
  long status;            /* HTTP status; 0 when err_code is set */
  const char *err_code;   /* NULL on success, else "NetworkError", "Timeout", "TLSError", ... */
  const char *err_reason; /* "resolve", "connect", "timeout", "tls", "too_large", "reset", ... */
  int curl_code;          /* the CURLcode, 0 on success */
  char err_message[GLS_HTTP_MSG_SIZE];
  const char *headers;    /* "name\0value\0" pairs, names lower-cased, in arrival order */
  size_t headers_len;
  size_t n_headers;       /* the pairs in headers */
  const char *body;
  size_t body_len;
} gls_http_result;

/* NULL on failure, with a message in err. */
gls_http_pool *gls_http_pool_new(const gls_http_pool_opts *opts, char *err, size_t errlen);
/* Frees everything: transfers in flight are aborted, results never taken are dropped. */
void gls_http_pool_free(gls_http_pool *p);

/* Starts a transfer; returns its id (> 0), or 0 for bad input with a message in err. */
int64_t gls_http_pool_add(gls_http_pool *p, const gls_http_request *req, char *err, size_t errlen);
/* Drives transfers, waiting at most wait_ms for activity when nothing has finished yet.
 * Returns the number still running, or -1 with a message in err (libcurl multi failure). */
int gls_http_pool_perform(gls_http_pool *p, long wait_ms, char *err, size_t errlen);
/* The finished transfer `id` (0: the oldest finished one), still owned by the pool; NULL if none. */
const gls_http_result *gls_http_pool_done(gls_http_pool *p, int64_t id);
/* The id of the oldest finished transfer not reported here before (each is reported once; its
 * result stays for gls_http_pool_done), or 0 when there is none. */
int64_t gls_http_pool_next_finished(gls_http_pool *p);
/* Drops a result returned by gls_http_pool_done. */
void gls_http_pool_release(gls_http_pool *p, const gls_http_result *r);
/* 1 if `id` is still running, 0 otherwise. */
int gls_http_pool_running(gls_http_pool *p, int64_t id);
/* Aborts a running transfer or drops its unclaimed result. 1 if there was one. */
int gls_http_pool_cancel(gls_http_pool *p, int64_t id);

#endif
