/* A pool of HTTP transfers over one libcurl multi handle (plain C, no Lua).
 *
 * One file, over 500 lines, because it is one state machine: the three lists below, the easy
 * handles' options and callbacks, and the response limits all touch the same transfer struct,
 * which no other file sees (lhttp.c is the Lua binding, buf.c the buffers).
 *
 * Every transfer lives on exactly one of three lists: running (inside the multi), done
 * (finished, result not yet claimed) or free (idle easy handle and buffers kept for the
 * next request, so connections, DNS entries and allocations are reused). */
#include "http.h"
#include "buf.h"
#include "h1.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

/* Idle transfers kept for reuse: at least FREE_LIST_MIN, and as many as were in use at once
 * lately (the most during this window of PEAK_WINDOW adds or the last one), so N transfers in
 * flight reuse N easy handles instead of freeing and making one per request once a batch of
 * results comes back together; after a burst the extra ones go, two per add. */
#define FREE_LIST_MIN 16
#define PEAK_WINDOW 256
/* The buffers an idle transfer keeps: up to KEEP_BUFFER_MAX each in the first FREE_LIST_MIN,
 * up to IDLE_BUFFER_MAX in those kept past them (a burst's, for their easy handles): N big
 * replies at once would otherwise pin N big buffers while the pool idles. */
#define KEEP_BUFFER_MAX ((size_t)256 * 1024)
#define IDLE_BUFFER_MAX ((size_t)16 * 1024)
/* libcurl's receive buffer (CURLOPT_BUFFERSIZE), sized to the replies the pool has been getting.
 * libcurl before 8.7 mallocs it as each transfer starts and frees it as it ends: at its default
 * of 16 KB, 64 transfers in flight hold 1 MB that comes and goes, and under Lua 5.4 (whose
 * objects share glibc's heap) the frees left more than glibc's trim threshold (128 KB) free at
 * the heap's top again and again: it gave the memory back and faulted it in anew (4,000 brk
 * calls and 20,000-45,000 page faults per 40,000 calls). A small buffer stops that, but a big
 * reply then takes many reads (200 KB: 380 us of CPU at 2 KB against 95 us at 16 KB). So the
 * buffer is the power of two that holds the largest reply (head and body) of this window of
 * PEAK_WINDOW adds or the last one, between RECV_MIN and libcurl's default, RECV_MAX; until a
 * window has passed, RECV_MAX. */
#define RECV_MIN 2048L
#define RECV_MAX 16384L

enum { X_FREE = 0, X_RUNNING, X_DONE };

/* Direct transfers. libcurl 7.88 to 8.21 prints every request header line through its own
 * printf one byte at a time, and its per-transfer machinery (the multi state machine, the
 * request builder, the response parser and its callbacks) costs more than the rest of a call:
 * a loop that writes the head itself and reads the reply with a small parser on connections
 * libcurl opens spends a third of the CPU of libcurl's own bare GET (bench/http_raw.c). So a
 * request goes direct: libcurl resolves, connects and does TLS (CURLOPT_CONNECT_ONLY; the
 * handle stays in the multi, as libcurl needs to find its connection), the pool writes the head
 * and body with curl_easy_send, reads with curl_easy_recv and frames the reply with h1.c, and
 * keeps the connection for the next request to the same origin when the reply allowed it. A
 * request the direct path does not take goes through libcurl's own HTTP as before: a proxy
 * (libcurl's proxy variables set), a max_host_connections limit, a URL with user info, a
 * fragment or bytes over 0x7f, a header that changes the framing or the connection (Host,
 * Content-Length, Transfer-Encoding, Expect, Connection, TE, Upgrade, Trailer, Keep-Alive,
 * Proxy-Connection), or a pool made with libcurl_only. The head is byte for byte the one
 * libcurl writes for the same request (spec/http/direct_spec.lua compares them). */
enum { D_CONNECT = 1, D_SEND, D_RECV };
/* libcurl's CURLOPT_MAXAGE_CONN default: an idle connection older than this is not reused */
#define DIRECT_MAX_IDLE_MS 118000

typedef struct xfer {
  gls_http_result res; /* first: a result pointer is a transfer pointer */
  struct xfer *prev, *next;
  int state;
  CURL *easy;
  int setup;                     /* the options every request shares are set on easy */
  long recv_buffer;              /* CURLOPT_BUFFERSIZE set on easy (0: libcurl's default) */
  int ca_file_set, ca_path_set;  /* CAINFO / CAPATH set on easy (only a reset undoes them) */
  /* The request's header list: nodes (reused) pointing into lines; ours, not curl_slist_append's */
  struct curl_slist *nodes;
  size_t nodes_cap;
  gls_buf lines;
  gls_buf url_set;   /* the URL CURLOPT_URL holds (emptied with every setup after a reset) */
  CURLU *url;        /* url_set parsed, for CURLOPT_CURLU (parsed_url) */
  gls_buf out;       /* the request body as sent (libcurl reads it while the transfer runs) */
  gls_buf hdr, body; /* max: the request's max_response_bytes */
  size_t max_bytes;
  int too_large, out_of_memory;
  int head_done; /* the blank line that ends the final response's headers came */
  int stale, restarted; /* the connection given had unread bytes (on_prereq); sent again once */
  /* on_header's place in the reply: 0 before a status line, 1 in a head, 2 past the final
   * head (trailers); the status of that head; its framing headers (libcurl's own HTTP: the
   * direct path's are in h1); the trailers' bytes */
  int phase, status_seen;
  gls_h1_framing framing;
  int fold_framing; /* the last header line was a framing one: no obs-fold may continue it */
  size_t trailer_bytes;
  const char *bad; /* why the reply is refused as not valid HTTP (on_header), or NULL */
  struct gls_http_pool *pool;
  size_t n_pairs; /* the pairs in hdr */
  long timeout_ms, connect_timeout_ms;
  char errbuf[CURL_ERROR_SIZE];
  /* direct transfers */
  CURLM *multi_in;   /* the multi easy is in (NULL: none) */
  int curl_busy;     /* a libcurl transfer of easy is under way (counted in pool.curl_active) */
  int connect_only;  /* CONNECT_ONLY is set on easy */
  int conn_live;     /* easy holds a connect-only connection the pool may send on */
  int direct;        /* this request is a direct one */
  int dstate;        /* D_CONNECT, D_SEND, D_RECV */
  int send_now;      /* D_SEND: try to send before waiting for the socket */
  int reused;        /* the request went out on a connection an earlier one used */
  int reconnected;   /* the one fresh connection after a reused one failed was made */
  int https;         /* the direct request's scheme */
  curl_socket_t fd;
  gls_buf origin;    /* what the kept connection serves: scheme://authority, CA file and path */
  size_t sent;
  gls_h1 h1;
  int64_t deadline_ms, idle_since_ms;
} xfer;

typedef struct xlist {
  xfer *head, *tail;
  size_t n;
} xlist;

struct gls_http_pool {
  CURLM *multi;
  xlist running, done, idle;
  xfer *unreported; /* the first transfer on done that next_finished has not reported */
  int64_t next_id;
  char *ca_file, *ca_path;
  int insecure;
  char *url_ok;      /* the scheme://authority of the last URL that passed check_url */
  size_t url_ok_len;
  size_t peak, peak_prev; /* the most transfers in use at once, this window and the last */
  size_t reply_peak, reply_peak_prev; /* the largest reply (bytes), this window and the last */
  unsigned window_adds;
  /* libcurl before 8.1.0 keeps a pointer to the last response header it stored after freeing
   * it, and a reply whose first header line is folded then writes to it (a double free: curl
   * issue 11101), so each request there gets an easy handle that never held a reply. */
  int fresh_easy;
  /* The pool's sockets (opened and closed through its callbacks) and their local ports, so
   * on_prereq can look at the one libcurl hands a request. */
  struct sock { curl_socket_t fd; int port, requests; } *socks;
  size_t n_socks, socks_cap;
  long max_host_connections;
  int libcurl_only;
  size_t curl_active;      /* transfers libcurl drives (its own, and direct ones connecting) */
  struct curl_waitfd *wfds; /* the direct transfers' sockets, for curl_multi_poll */
  xfer **wxs;               /* the transfer of each */
  struct pollfd *pfds;      /* the same sockets for the pool's own poll (direct_poll) */
  gls_buf key;              /* a request's origin key (origin_key), scratch */
  size_t wfds_cap;
};

/* ---- small helpers ---- */

static void set_err(char *err, size_t errlen, const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
}

static void list_push(xlist *l, xfer *x) {
  x->prev = l->tail;
  x->next = NULL;
  if (l->tail) l->tail->next = x; else l->head = x;
  l->tail = x;
  l->n++;
}

static void list_unlink(xlist *l, xfer *x) {
  if (x->prev) x->prev->next = x->next; else l->head = x->next;
  if (x->next) x->next->prev = x->prev; else l->tail = x->prev;
  x->prev = x->next = NULL;
  l->n--;
}

static xlist *list_of(gls_http_pool *p, xfer *x) {
  return x->state == X_RUNNING ? &p->running : x->state == X_DONE ? &p->done : &p->idle;
}

static xfer *find(xlist *l, int64_t id) {
  xfer *x;
  for (x = l->head; x; x = x->next)
    if (x->res.id == id) return x;
  return NULL;
}

/* ---- transfer lifecycle ---- */

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes easy out of its multi: a transfer under way stops, a connect-only connection closes. */
static void multi_remove(gls_http_pool *p, xfer *x) {
  if (!x->multi_in) return;
  curl_multi_remove_handle(x->multi_in, x->easy);
  x->multi_in = NULL;
  if (x->curl_busy) {
    x->curl_busy = 0;
    if (p) p->curl_active--;
  }
  x->conn_live = 0;
}

static CURLMcode multi_add(gls_http_pool *p, xfer *x) {
  CURLMcode mc = curl_multi_add_handle(p->multi, x->easy);
  if (mc == CURLM_OK) {
    x->multi_in = p->multi;
    x->curl_busy = 1;
    p->curl_active++;
  }
  return mc;
}

static void xfer_destroy(gls_http_pool *p, xfer *x) {
  multi_remove(p, x);
  if (x->easy) curl_easy_cleanup(x->easy);
  curl_url_cleanup(x->url); /* after the handle that points to it */
  free(x->nodes);
  gls_buf_free(&x->lines);
  gls_buf_free(&x->url_set);
  gls_buf_free(&x->out);
  gls_buf_free(&x->hdr);
  gls_buf_free(&x->body);
  gls_buf_free(&x->origin);
  gls_h1_free(&x->h1);
  free(x);
}

/* How many idle transfers the pool keeps (see FREE_LIST_MIN). */
static size_t idle_keep(const gls_http_pool *p) {
  size_t k = p->peak > p->peak_prev ? p->peak : p->peak_prev;
  return k > FREE_LIST_MIN ? k : FREE_LIST_MIN;
}

/* Drops every option of the transfer's easy handle (the next request sets them again). */
static void xfer_reset(gls_http_pool *p, xfer *x) {
  multi_remove(p, x);
  curl_easy_reset(x->easy);
  x->setup = x->ca_file_set = x->ca_path_set = 0;
  x->recv_buffer = 0;
  x->connect_only = 0;
  gls_buf_reset(&x->url_set);
}

/* The receive buffer for the next transfer (see RECV_MIN). */
static long recv_size(const gls_http_pool *p) {
  size_t need = p->reply_peak > p->reply_peak_prev ? p->reply_peak : p->reply_peak_prev;
  long k = RECV_MIN;
  while (k < RECV_MAX && (size_t)k < need) k *= 2;
  return k;
}

/* Takes a transfer off whatever list it is on and keeps it for reuse, or frees it. */
static void xfer_recycle(gls_http_pool *p, xfer *x) {
  size_t keep;
  if (x == p->unreported) p->unreported = x->next;
  list_unlink(list_of(p, x), x);
  /* a transfer under way stops; a direct one's connection stays only when its reply ended so
     that the next request may follow (direct_done left it live) */
  if (x->state == X_RUNNING || !x->conn_live) multi_remove(p, x);
  x->state = X_FREE;
  x->direct = 0;
  if (p->idle.n >= idle_keep(p) || !x->easy) {
    xfer_destroy(p, x);
    return;
  }
  keep = p->idle.n < FREE_LIST_MIN ? KEEP_BUFFER_MAX : IDLE_BUFFER_MAX;
  /* The easy handle keeps its options for the next request, which sets every option that
   * varies (gls_http_pool_add). A request body too big to keep goes, and with it libcurl's
   * pointer to it: a reset drops every option. A connect-only handle gave libcurl neither. */
  if (x->out.cap > keep) {
    if (!x->connect_only) xfer_reset(p, x);
    gls_buf_free(&x->out);
  }
  if (x->lines.cap > keep) {
    if (!x->connect_only) curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    gls_buf_free(&x->lines);
  }
  if (x->body.cap > keep) gls_buf_free(&x->body);
  if (x->hdr.cap > keep) gls_buf_free(&x->hdr);
  gls_buf_reset(&x->body);
  gls_buf_reset(&x->hdr);
  if (x->conn_live) x->idle_since_ms = mono_ms();
  list_push(&p->idle, x);
}

/* A transfer for the next request: x off the idle list, or a new one when x is NULL. */
static xfer *xfer_take(gls_http_pool *p, xfer *x) {
  if (x) {
    list_unlink(&p->idle, x);
  } else {
    x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->easy = curl_easy_init();
    if (!x->easy) {
      free(x);
      return NULL;
    }
    x->fd = CURL_SOCKET_BAD;
    gls_h1_init(&x->h1);
  }
  memset(&x->res, 0, sizeof x->res);
  gls_buf_reset(&x->body);
  gls_buf_reset(&x->hdr);
  x->too_large = x->out_of_memory = x->head_done = 0;
  x->stale = x->restarted = 0;
  x->pool = p;
  x->phase = x->status_seen = 0;
  x->trailer_bytes = 0;
  x->bad = NULL;
  x->n_pairs = 0;
  x->errbuf[0] = '\0';
  x->direct = x->dstate = x->send_now = x->reused = x->reconnected = 0;
  x->sent = 0;
  x->deadline_ms = 0;
  return x;
}

/* A transfer for a request through libcurl's own HTTP: one without a kept connection if
 * there is one (a kept connection goes with the handle's connect-only options). */
static xfer *xfer_get(gls_http_pool *p) {
  xfer *x, *pick = p->idle.head;
  for (x = p->idle.head; x; x = x->next)
    if (!x->connect_only) {
      pick = x;
      break;
    }
  x = xfer_take(p, pick);
  if (!x || !pick) return x;
  if (p->fresh_easy) { /* libcurl's own HTTP there: a handle that never held a reply */
    CURL *e = curl_easy_init();
    if (!e) {
      xfer_destroy(p, x);
      return NULL;
    }
    multi_remove(p, x);
    curl_easy_cleanup(x->easy);
    x->easy = e; /* no option set on it yet */
    x->setup = x->ca_file_set = x->ca_path_set = x->connect_only = 0;
    x->recv_buffer = 0;
  } else if (x->connect_only) {
    xfer_reset(p, x);
  }
  return x;
}

/* ---- callbacks: they only store bytes, never call out ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  int rc = gls_buf_add(&x->body, ptr, n);
  if (rc == GLS_BUF_TOO_BIG) x->too_large = 1;
  if (rc == GLS_BUF_NOMEM) x->out_of_memory = 1;
  return rc ? 0 : n;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Copies n bytes to dst, a stray NUL (it would break the pair encoding) as a space. */
static void copy_value(char *dst, const char *src, size_t n) {
  char *q = dst, *end = dst + n;
  memcpy(dst, src, n);
  while ((q = memchr(q, '\0', (size_t)(end - q))) != NULL) *q++ = ' ';
}

/* Refuses the reply as not valid HTTP: the transfer stops (CURLE_WRITE_ERROR), classify says
 * why. */
static size_t refuse(xfer *x, const char *why) {
  x->bad = why;
  return 0;
}

/* One header line per call. Keeps "name\0value\0" pairs of the final response only, and
 * refuses what ngx_http.lua refuses (its read_head and framing): a header line without a colon,
 * a folded line before any header, and what h1.h's framing rules refuse (a bad status line, a
 * Transfer-Encoding other than chunked or beside a Content-Length, a Content-Length that is not
 * digits or the same digits repeated). On the direct path h1.c's reader applied those rules to
 * each line before passing it on, and said its own error: they are not applied again here.
 * Trailers are dropped (RFC 9110 6.5.1: not merged into the headers), their bytes counted in
 * max_response_bytes. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t total = size * nmemb, n = total, i, name_end, v0;
  gls_buf *h = &x->hdr;
  int rc = 0;
  while (n > 0 && (ptr[n - 1] == '\r' || ptr[n - 1] == '\n')) n--;
  if (x->phase == 0) { /* the status line of a response, interim (1xx) or final */
    long status = x->h1.status; /* the direct path's reader took the line: its status */
    if (!x->direct && !gls_h1_status_line(ptr, n, NULL, &status)) return refuse(x, "bad status line");
    x->status_seen = (int)status;
    x->phase = 1;
    memset(&x->framing, 0, sizeof x->framing);
    x->fold_framing = 0;
    h->len = 0;
    x->n_pairs = 0;
    x->head_done = 0;
    return total;
  }
  if (x->phase == 2) {
    x->trailer_bytes += total;
    if (x->trailer_bytes > x->max_bytes || x->body.len > x->max_bytes - x->trailer_bytes) {
      x->too_large = 1;
      return 0;
    }
    return total;
  }
  if (n == 0) { /* libcurl hands the ending blank line over too; a cut-off head never has it */
    if (total == 0) return total;
    if (!gls_h1_framing_ok(x->direct ? &x->h1.framing : &x->framing))
      return refuse(x, "both Transfer-Encoding and Content-Length");
    x->head_done = 1;
    x->phase = x->status_seen < 200 && x->status_seen != 101 ? 0 : 2;
    return total;
  }
  if (is_space(ptr[0])) { /* obsolete line folding: continues the previous value */
    for (i = 0; i < n && is_space(ptr[i]); i++) {}
    if (h->len == 0) return refuse(x, "a folded line before any response header");
    /* libcurl framed the reply by the line before: a value going on here is not what it read
       (the direct path's reader and the cosocket transport refuse it too) */
    if (x->fold_framing) return refuse(x, "a folded Content-Length, Transfer-Encoding or Connection header");
    if (i == n) return total;
    /* All the room first, so a refused fold leaves the pairs as they were: the previous
       value's terminator becomes the space, the text and a new terminator follow. */
    rc = gls_buf_reserve(h, 1 + (n - i));
    if (!rc) {
      h->p[h->len - 1] = ' ';
      copy_value(h->p + h->len, ptr + i, n - i);
      h->len += n - i;
      h->p[h->len++] = '\0';
      h->p[h->len] = '\0';
    }
  } else {
    const char *colon = memchr(ptr, ':', n);
    if (!colon) return refuse(x, "a response header line without a colon");
    name_end = (size_t)(colon - ptr);
    while (name_end > 0 && is_space(ptr[name_end - 1])) name_end--;
    if (name_end == 0) return total;
    for (v0 = (size_t)(colon - ptr) + 1; v0 < n && is_space(ptr[v0]); v0++) {}
    while (n > v0 && is_space(ptr[n - 1])) n--;
    if (!x->direct && (x->status_seen >= 200 || x->status_seen == 101)) {
      int r = gls_h1_framing_header(&x->framing, ptr, name_end, ptr + v0, n - v0);
      if (r == GLS_H1_H_BAD_CODING) return refuse(x, "unsupported Transfer-Encoding");
      if (r == GLS_H1_H_BAD_LENGTH) return refuse(x, "bad Content-Length");
      x->fold_framing = r == GLS_H1_H_FRAMING;
    }
    rc = gls_buf_reserve(h, name_end + 1 + (n - v0) + 1);
    if (!rc) {
      char *d = h->p + h->len;
      /* a stray NUL would break the pair encoding: it becomes a space; ASCII lower case only,
         whatever the locale */
      for (i = 0; i < name_end; i++) {
        char c = ptr[i];
        d[i] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c ? c : ' ';
      }
      d[name_end] = '\0';
      copy_value(d + name_end + 1, ptr + v0, n - v0);
      h->len += name_end + 1 + (n - v0);
      h->p[h->len++] = '\0';
      h->p[h->len] = '\0';
      x->n_pairs++;
    }
  }
  if (rc == GLS_BUF_TOO_BIG) x->too_large = 1;
  if (rc == GLS_BUF_NOMEM) x->out_of_memory = 1;
  return rc ? 0 : total;
}

/* ---- the pool's sockets, and a kept-alive connection with unread bytes ---- */

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  gls_http_pool *p = ud;
  curl_socket_t fd;
  size_t i;
  (void)purpose;
  /* close-on-exec, as libcurl makes its own sockets: a child process (os.execute, io.popen)
     must not inherit the pool's connections and hold them open past their close. libcurl 8
     passes SOCK_CLOEXEC in socktype already, 7.88 does not (spec/http/direct_reuse_spec.lua). */
#ifdef SOCK_CLOEXEC
  fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else
  fd = socket(a->family, a->socktype, a->protocol);
  if (fd != CURL_SOCKET_BAD) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
  if (fd == CURL_SOCKET_BAD) return fd;
  /* a socket libcurl closed itself (not through on_close_socket) left its entry: gone now */
  for (i = 0; i < p->n_socks; i++)
    if (p->socks[i].fd == fd) p->socks[i--] = p->socks[--p->n_socks];
  if (p->n_socks == p->socks_cap) {
    size_t cap = p->socks_cap ? p->socks_cap * 2 : 16;
    struct sock *s = realloc(p->socks, cap * sizeof *s);
    if (!s) return fd; /* not looked at before reuse: what libcurl alone does */
    p->socks = s;
    p->socks_cap = cap;
  }
  p->socks[p->n_socks].fd = fd;
  p->socks[p->n_socks].port = 0; /* known once connected */
  p->socks[p->n_socks].requests = 0;
  p->n_socks++;
  return fd;
}

static int on_close_socket(void *ud, curl_socket_t fd) {
  gls_http_pool *p = ud;
  size_t i;
  for (i = 0; i < p->n_socks; i++) {
    if (p->socks[i].fd != fd) continue;
    p->socks[i] = p->socks[--p->n_socks];
    break;
  }
  return close(fd);
}

static int local_port(curl_socket_t fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

#if LIBCURL_VERSION_NUM >= 0x075000 /* CURLOPT_PREREQFUNCTION: 7.80.0 */
/* Called once a request has its connection, before it is sent. A kept-alive connection with
 * bytes waiting (past the end of the reply before, or the server closed it) must not carry
 * the request: those bytes would be read as its reply. libcurl 8 checks this itself, 7.88
 * does not. The request is aborted (libcurl closes that connection) and added again, once.
 * A new connection is not looked at: a TLS server's session tickets may be waiting there. */
static int on_prereq(void *ud, char *remote_ip, char *local_ip, int remote_port, int port) {
  xfer *x = ud;
  gls_http_pool *p = x->pool;
  size_t i;
  char c;
  (void)remote_ip; (void)local_ip; (void)remote_port;
  if (x->restarted) return CURL_PREREQFUNC_OK;
  for (i = 0; i < p->n_socks; i++) {
    struct sock *s = &p->socks[i];
    if (!s->port) s->port = local_port(s->fd);
    if (s->port != port) continue;
    if (s->requests++ > 0 && (recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
                              (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))) {
      x->stale = 1;
      return CURL_PREREQFUNC_ABORT;
    }
    break;
  }
  return CURL_PREREQFUNC_OK;
}
#endif

/* ---- errors ---- */

static int is_tls_error(CURLcode rc) {
  switch (rc) {
  case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED: case CURLE_SSL_ENGINE_INITFAILED: case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE: case CURLE_SSL_ISSUER_ERROR: case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_USE_SSL_FAILED:
#if LIBCURL_VERSION_NUM >= 0x074d00
  case CURLE_SSL_CLIENTCERT:
#endif
    return 1;
  default:
    return 0;
  }
}

static int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Fills res.err_* for a failed transfer: one place maps every CURLcode. */

/* Did this transfer get as far as a connected socket (to the server or the proxy)? */
static int connected(xfer *x)
{
  curl_off_t t = 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &t) != CURLE_OK)
    return 1; /* unknown: let the message decide */
  return t > 0;
}

/* CURLE_TOO_LARGE (100), which libcurl returns from 8.6 on: by its number, so a module built
 * with older headers (bookworm's 7.88) and run on a newer libcurl (the same soname, after a
 * distribution upgrade) knows it too. Codes keep their numbers; no older libcurl returns 100. */
#define GLS_CURLE_TOO_LARGE ((CURLcode)100)

/* libcurl refuses a response header line over CURL_MAX_HTTP_HEADER (100 KB) and headers over
 * 300 KB in all: 7.88 says the first with a bare CURLE_OUT_OF_MEMORY (its header buffer's own
 * limit, no message; from 8.6 CURLE_TOO_LARGE), the second with CURLE_RECV_ERROR "Too large
 * response headers". Deterministic: the same reply fails again, so it must not be retried. Our
 * own buffers flag a real allocation failure (out_of_memory), so an unflagged CURLE_OUT_OF_MEMORY
 * before any of the body is the header limit. Returns 1 (a line), 2 (in all) or 0. */
static int header_too_large(xfer *x, CURLcode rc) {
  if (rc == CURLE_RECV_ERROR && starts_with(x->errbuf, "Too large response headers")) return 2;
  if (rc == GLS_CURLE_TOO_LARGE) return starts_with(x->errbuf, "Too large response headers") ? 2 : 1;
  return rc == CURLE_OUT_OF_MEMORY && !x->out_of_memory && x->body.len == 0 &&
         (!x->errbuf[0] || starts_with(x->errbuf, "Rejected "));
}

/* Did libcurl's chunked decoder refuse the reply (its framing, not the connection)? Its first
 * message is the one kept: 7.88 says "<why> in chunked-encoding" (or "chunky parser"); 8.x says
 * first what it found wrong in a chunk size ("chunk hex-length longer than 16", "chunk
 * hex-length char not a hex digit: 0x20", "invalid chunk size: '...'"), and a trailer line over
 * its 4 KB limit comes as CURLE_TOO_LARGE (8.6 on) with "Out of memory in chunked-encoding",
 * which must not read as a response header over libcurl's limit (header_too_large). Only
 * CURLE_RECV_ERROR and CURLE_TOO_LARGE: a write error in the decoder is ours (on_body). */
static int chunk_error(const xfer *x, CURLcode rc) {
  if ((rc != CURLE_RECV_ERROR && rc != GLS_CURLE_TOO_LARGE) || x->too_large) return 0;
  return strstr(x->errbuf, "chunked-encoding") || strstr(x->errbuf, "chunky parser") ||
         starts_with(x->errbuf, "chunk hex-length") || starts_with(x->errbuf, "invalid chunk size");
}

/* The CURLcodes that say what failed by themselves: a reason and the words for it. */
static const struct {
  CURLcode code;
  const char *reason, *what;
} PLAIN[] = {
  {CURLE_COULDNT_RESOLVE_HOST, "resolve", "could not resolve host"},
  {CURLE_COULDNT_RESOLVE_PROXY, "resolve", "could not resolve proxy"},
  {CURLE_COULDNT_CONNECT, "connect", "could not connect"},
  {CURLE_PARTIAL_FILE, "partial", "connection closed before the whole body arrived"},
  {CURLE_GOT_NOTHING, "reset", "connection closed without a response"},
  {CURLE_SEND_ERROR, "send", "failure sending the request"},
  {CURLE_WEIRD_SERVER_REPLY, "protocol", "the reply is not valid HTTP"},
  {CURLE_HTTP2, "protocol", "the reply is not valid HTTP"},
  {CURLE_HTTP2_STREAM, "protocol", "the reply is not valid HTTP"},
  {CURLE_BAD_CONTENT_ENCODING, "protocol", "the reply is not valid HTTP"},
  {CURLE_UNSUPPORTED_PROTOCOL, "protocol", "the reply is not valid HTTP"},
};

static void classify(xfer *x, CURLcode rc) {
  gls_http_result *r = &x->res;
  const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
  char what[160];
  int too_big;
  r->err_code = "NetworkError";
  r->err_reason = "other";
  r->curl_code = (int)rc;
  snprintf(what, sizeof what, "%s", "request failed");
  if (x->bad || (rc == CURLE_BAD_FUNCTION_ARGUMENT && x->phase > 0)) {
    /* refused by on_header; or (libcurl 7.88) a header line its header store refuses */
    r->err_reason = "protocol";
    snprintf(what, sizeof what, "%s", "the reply is not valid HTTP");
    if (x->bad) detail = x->bad;
  } else if (chunk_error(x, rc)) {
    /* the server's framing is broken: the same reply would come again, so not a recv error */
    r->err_reason = "protocol";
    snprintf(what, sizeof what, "%s", "the reply's chunked encoding is not valid HTTP");
  } else if (rc == CURLE_OK && !x->too_large) {
    /* libcurl 7.88 takes a head the connection cut off as a complete reply with no body */
    r->err_reason = "partial";
    snprintf(what, sizeof what, "%s", "connection closed before the response headers ended");
    detail = "no blank line after the headers";
  } else if ((too_big = header_too_large(x, rc)) != 0) {
    r->err_code = "ResponseTooLarge";
    r->err_reason = "header_too_large";
    if (too_big == 1)
      snprintf(what, sizeof what, "a response header line is larger than libcurl accepts (%d bytes)",
               CURL_MAX_HTTP_HEADER);
    else
      snprintf(what, sizeof what, "%s", "the response headers are larger than libcurl accepts in all");
    if (!x->errbuf[0]) detail = "header refused"; /* not "Out of memory": nothing ran out */
  } else if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    r->err_code = "ResponseTooLarge";
    r->err_reason = "too_large";
    snprintf(what, sizeof what, "response larger than max_response_bytes (%zu bytes)", x->max_bytes);
    if (x->too_large) detail = "aborted while receiving";
  } else if (is_tls_error(rc)) {
    r->err_code = "TLSError";
    r->err_reason = "tls";
    snprintf(what, sizeof what, "%s", "TLS failure");
  } else {
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      r->err_code = "Timeout";
      r->err_reason = "timeout";
      /* Which phase ran out: a transfer that never finished connecting has no connect time.
         libcurl's own wording ("Connection timed out", "Connection timeout after", "Resolving
         timed out", "Failed to connect") varies between versions and code paths. */
      if ((!connected(x) && !starts_with(x->errbuf, "Operation timed out")) || starts_with(x->errbuf, "Connection time") ||
          starts_with(x->errbuf, "Resolving timed out") || starts_with(x->errbuf, "Failed to connect"))
      {
        /* whichever limit is shorter applies while connecting */
        int by_connect = x->connect_timeout_ms > 0 && (x->timeout_ms == 0 || x->connect_timeout_ms <= x->timeout_ms);
        if (by_connect || x->timeout_ms > 0)
          snprintf(what, sizeof what, "connect timed out (%s %.3g s)", by_connect ? "connect_timeout" : "timeout",
                   (by_connect ? x->connect_timeout_ms : x->timeout_ms) / 1000.0);
        else
          snprintf(what, sizeof what, "%s", "connect timed out (libcurl's default connect timeout)");
      }
      else
        snprintf(what, sizeof what, "request timed out (timeout %.3g s)", x->timeout_ms / 1000.0);
      break;
    case CURLE_RECV_ERROR:
      if (strstr(x->errbuf, "reset") || strstr(x->errbuf, "Reset")) {
        r->err_reason = "reset";
        snprintf(what, sizeof what, "%s", "connection reset by the server");
      } else {
        r->err_reason = "recv";
        snprintf(what, sizeof what, "%s", "failure receiving the response");
      }
      break;
    case CURLE_WRITE_ERROR: case CURLE_OUT_OF_MEMORY:
      snprintf(what, sizeof what, "%s", x->out_of_memory ? "out of memory storing the response"
                                                         : "could not store the response");
      break;
    default: {
      size_t i;
      for (i = 0; i < sizeof PLAIN / sizeof PLAIN[0]; i++) {
        if (PLAIN[i].code != rc) continue;
        r->err_reason = PLAIN[i].reason;
        snprintf(what, sizeof what, "%s", PLAIN[i].what);
        break;
      }
      break;
    }
    }
  }
  snprintf(r->err_message, sizeof r->err_message, "%s (curl %d: %s)", what, (int)rc, detail);
}

/* Moves a running transfer, finished (res.status or res.err_* set), onto the done queue. */
static void finish(gls_http_pool *p, xfer *x) {
  list_unlink(&p->running, x);
  x->state = X_DONE;
  x->res.headers = x->hdr.p ? x->hdr.p : "";
  x->res.headers_len = x->hdr.len;
  x->res.n_headers = x->n_pairs;
  x->res.body = x->body.p ? x->body.p : "";
  x->res.body_len = x->body.len;
  if (x->hdr.len + x->body.len > p->reply_peak) p->reply_peak = x->hdr.len + x->body.len;
  list_push(&p->done, x);
  if (!p->unreported) p->unreported = x; /* the done list is in the order they finished */
}

static void direct_connected(gls_http_pool *p, xfer *x, CURLcode rc);

/* Moves every transfer libcurl reports finished onto the done queue (a direct one that has
 * connected goes on to send). Returns how many finished. */
static int collect(gls_http_pool *p) {
  CURLMsg *m;
  int left, finished = 0;
  while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
    char *priv = NULL;
    xfer *x;
    CURLcode rc;
    if (m->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    rc = m->data.result;
    x = (xfer *)(void *)priv;
    if (!x || x->state != X_RUNNING || !x->curl_busy) continue;
    x->curl_busy = 0;
    p->curl_active--;
    if (x->direct) {
      direct_connected(p, x, rc);
      if (x->state == X_DONE) finished++;
      continue;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK && x->stale && !x->restarted) {
      /* the connection it was given had unread bytes (on_prereq): on another one */
      x->stale = 0;
      x->restarted = 1;
      x->errbuf[0] = '\0';
      x->phase = x->status_seen = 0;
      x->trailer_bytes = 0;
      multi_remove(p, x);
      if (multi_add(p, x) == CURLM_OK) continue;
      /* else it is reported as it failed */
    }
    if (rc == CURLE_OK && !x->too_large && x->head_done) {
      long status = 0;
      curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
      x->res.status = status;
    } else {
      classify(x, rc);
    }
    /* The connection goes back to the multi's cache as soon as the handle leaves. */
    multi_remove(p, x);
    finish(p, x);
    finished++;
  }
  return finished;
}

/* ---- validation ---- */

/* RFC 9110 tchar, by byte: ASCII letters and digits whatever the locale (isalnum may take
 * more) and !#$%&'*+-.^_`|~ (a table: header names are checked on every request) */
#define T16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p) a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p
static const unsigned char TCHAR[256] = {
  T16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), T16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  T16(0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0), /*  !"#$%&'()*+,-./ */
  T16(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0), /* 0-9 :;<=>? */
  T16(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), /* @A-O */
  T16(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1), /* P-Z [\]^_ */
  T16(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), /* `a-o */
  T16(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0), /* p-z {|}~ DEL */
  /* 0x80-0xff: none (the rest of the array is zero) */
};
#undef T16

static int is_tchar(unsigned char c) { return TCHAR[c]; }

static int is_token(const char *s, size_t n) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++)
    if (!is_tchar((unsigned char)s[i])) return 0;
  return 1;
}

/* Where the scheme://authority of url ends (at its first '/', '?' or '#' after "://"), or 0. */
static size_t authority_end(const char *url) {
  const char *s = strstr(url, "://");
  if (!s) return 0;
  s += 3;
  s += strcspn(s, "/?#");
  return (size_t)(s - url);
}

/* A URL longer than this is always parsed (libcurl refuses inputs over 8 MB). */
#define URL_MEMO_MAX 65536

static int check_url(gls_http_pool *p, const char *url, char *err, size_t errlen) {
  CURLU *u;
  CURLUcode uc;
  char *scheme = NULL;
  const char *s;
  size_t end;
  int ok = 0;
  for (s = url; *s; s++) {
    if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
      set_err(err, errlen, "invalid url: contains a space or control character");
      return 0;
    }
  }
  /* Without a space or control character, only the scheme and the authority can make libcurl's
   * parser refuse a URL (it takes any path, query and fragment as they are): a URL that starts
   * with the scheme://authority of one that passed, up to its path, passes too. */
  if (p->url_ok && (size_t)(s - url) < URL_MEMO_MAX && strncmp(url, p->url_ok, p->url_ok_len) == 0 &&
      (url[p->url_ok_len] == '\0' || strchr("/?#", url[p->url_ok_len])))
    return 1;
  u = curl_url();
  if (!u) {
    set_err(err, errlen, "out of memory");
    return 0;
  }
  uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc != CURLUE_OK) {
    if (err) snprintf(err, errlen, "invalid url: %s", curl_url_strerror(uc));
  } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || !scheme ||
             (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
    set_err(err, errlen, "invalid url: the scheme must be http or https");
  } else {
    ok = 1;
  }
  curl_free(scheme);
  curl_url_cleanup(u);
  if (ok && (size_t)(s - url) < URL_MEMO_MAX && (end = authority_end(url)) > 0) {
    char *memo = malloc(end + 1);
    if (memo) { /* without it the next URL is parsed again */
      memcpy(memo, url, end);
      memo[end] = '\0';
      free(p->url_ok);
      p->url_ok = memo;
      p->url_ok_len = end;
    }
  }
  return ok;
}

/* A header name is a token; a value holds no CR, LF or NUL. */
static int check_header(const gls_http_header *h, char *err, size_t errlen) {
  if (!is_token(h->name, h->name_len)) {
    if (err) snprintf(err, errlen, "invalid header name \"%.*s\"", (int)(h->name_len > 64 ? 64 : h->name_len), h->name);
    return 0;
  }
  if (memchr(h->value, '\r', h->value_len) || memchr(h->value, '\n', h->value_len) ||
      memchr(h->value, '\0', h->value_len)) {
    if (err) snprintf(err, errlen, "invalid value for header \"%.*s\": contains CR, LF or NUL",
                      (int)(h->name_len > 64 ? 64 : h->name_len), h->name);
    return 0;
  }
  return 1;
}

/* Builds the header list; suppresses the headers curl would otherwise invent (Expect and
 * Content-Type only come with a body, Accept always). The lines go
 * into x->lines and the list's nodes into x->nodes, both kept for the transfer's next request:
 * no allocation once they are big enough. */
static int build_headers(xfer *x, const gls_http_request *req, int send_body, char *err, size_t errlen) {
  size_t i, n = 0;
  int has_ct = 0, has_accept = 0, has_expect = 0;
  gls_buf *s = &x->lines;
  char *line, *end;
  gls_buf_reset(s);
  for (i = 0; i < req->n_headers; i++) {
    const gls_http_header *h = &req->headers[i];
    if (!check_header(h, err, errlen)) return 0;
    has_ct |= gls_h1_name_is(h->name, h->name_len, "content-type");
    has_accept |= gls_h1_name_is(h->name, h->name_len, "accept");
    has_expect |= gls_h1_name_is(h->name, h->name_len, "expect");
    /* "Name;" is libcurl's spelling of a header sent with an empty value. One reservation for
       the line: name, ": " or ";", value and its NUL. */
    if (gls_buf_reserve(s, h->name_len + 2 + h->value_len + 1)) goto oom;
    line = s->p + s->len;
    memcpy(line, h->name, h->name_len);
    line += h->name_len;
    if (h->value_len) {
      *line++ = ':';
      *line++ = ' ';
      memcpy(line, h->value, h->value_len);
      line += h->value_len;
    } else {
      *line++ = ';';
    }
    *line++ = '\0';
    s->len = (size_t)(line - s->p);
    s->p[s->len] = '\0';
    n++;
  }
  /* (each line costs libcurl a pass over its own header names: none it would not need) */
  if (!has_expect && send_body) gls_buf_add(s, "Expect:", 8), n++;
  if (!has_accept) gls_buf_add(s, "Accept:", 8), n++;
  if (!has_ct && send_body) gls_buf_add(s, "Content-Type:", 14), n++;
  if (s->err) goto oom; /* the first failure sticks */
  if (n > x->nodes_cap) {
    struct curl_slist *nodes = realloc(x->nodes, n * sizeof *nodes);
    if (!nodes) goto oom;
    x->nodes = nodes;
    x->nodes_cap = n;
  }
  /* every line ends with its NUL; no line holds one */
  for (i = 0, line = s->p, end = s->p + s->len; line < end; i++) {
    x->nodes[i].data = line;
    x->nodes[i].next = i + 1 < n ? &x->nodes[i + 1] : NULL;
    line += strlen(line) + 1;
  }
  return 1;
oom:
  set_err(err, errlen, "out of memory");
  return 0;
}

#define SETOPT(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)

/* ---- direct transfers (see D_CONNECT) ---- */

/* A header the direct path leaves to libcurl: it changes the framing or the connection. */
static int framing_header(const gls_http_header *h) {
  static const char *const names[] = {"content-length", "transfer-encoding", "expect",
                                      "connection", "te", "upgrade", "trailer", "keep-alive",
                                      "proxy-connection"};
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (gls_h1_name_is(h->name, h->name_len, names[i])) return 1;
  return 0;
}

/* A proxy libcurl would use: any of its proxy variables set (no_proxy is not weighed). */
static int proxy_set(void) {
  static const char *const vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
  size_t i;
  for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv(vars[i]);
    if (v && *v) return 1;
  }
  return 0;
}

/* The parts of a URL (check_url passed it) the direct path writes: the Host header's value and
 * the request target, as libcurl writes them, and the origin a kept connection serves.
 * 0 when the direct path does not take the URL. */
typedef struct url_parts {
  int https;
  const char *host;   /* the host as the URL spells it (libcurl keeps its case) */
  size_t host_len;
  const char *port;   /* NULL: the scheme's */
  size_t port_len;
  const char *target; /* path and query */
  size_t target_len;
  size_t authority_end;
} url_parts;

static int split_url(const char *url, url_parts *u) {
  const char *s = strstr(url, "://"), *a, *end, *colon;
  size_t i, n = strlen(url);
  for (i = 0; i < n; i++)
    if ((unsigned char)url[i] >= 0x80 || url[i] == '#') return 0;
  if (!s) return 0;
  if ((size_t)(s - url) == 5 && strncasecmp(url, "https", 5) == 0) u->https = 1;
  else if ((size_t)(s - url) == 4 && strncasecmp(url, "http", 4) == 0) u->https = 0;
  else return 0;
  a = s + 3;
  end = a + strcspn(a, "/?");
  if (end == a || memchr(a, '@', (size_t)(end - a)) || memchr(a, '%', (size_t)(end - a)) || *a == '[')
    return 0;
  colon = memchr(a, ':', (size_t)(end - a));
  u->host = a;
  u->host_len = (size_t)((colon ? colon : end) - a);
  u->port = NULL;
  u->port_len = 0;
  if (colon) {
    const char *q = colon + 1;
    long v = 0;
    if (q == end || *q == '0' || end - q > 5) return 0;
    for (; q < end; q++) {
      if (*q < '0' || *q > '9') return 0;
      v = v * 10 + (*q - '0');
    }
    if (v > 65535) return 0;
    if (v != (u->https ? 443 : 80)) {
      u->port = colon + 1;
      u->port_len = (size_t)(end - colon - 1);
    }
  }
  u->target = end;
  u->target_len = strlen(end);
  u->authority_end = (size_t)(end - url);
  return u->host_len > 0;
}

/* What a kept connection serves: scheme://authority, the CA file and the CA path. */
static int origin_key(gls_buf *b, const char *url, const url_parts *u, const char *ca_file,
                      const char *ca_path) {
  gls_buf_reset(b);
  gls_buf_add(b, url, u->authority_end);
  gls_buf_addc(b, '\n');
  if (ca_file) gls_buf_adds(b, ca_file);
  gls_buf_addc(b, '\n');
  if (ca_path) gls_buf_adds(b, ca_path);
  return b->err == GLS_BUF_OK;
}

/* The request head and body into x->out, byte for byte what libcurl writes for it (the headers
 * checked). A caller's Host header (host, the one direct_add allows) takes the place of the one
 * the URL gives, as libcurl writes it. 0 when out of memory. */
static int direct_head(xfer *x, const gls_http_request *req, const char *method, const url_parts *u,
                       int send_body, const gls_http_header *host) {
  gls_buf *o = &x->out;
  size_t i;
  gls_buf_reset(o);
  gls_buf_adds(o, method);
  gls_buf_addc(o, ' ');
  if (u->target_len == 0 || u->target[0] == '?') gls_buf_addc(o, '/');
  gls_buf_add(o, u->target, u->target_len);
  gls_buf_add(o, " HTTP/1.1\r\nHost: ", 17);
  if (host) {
    gls_buf_add(o, host->value, host->value_len);
  } else {
    gls_buf_add(o, u->host, u->host_len);
    if (u->port) {
      gls_buf_addc(o, ':');
      gls_buf_add(o, u->port, u->port_len);
    }
  }
  gls_buf_add(o, "\r\n", 2);
  for (i = 0; i < req->n_headers; i++) {
    const gls_http_header *h = &req->headers[i];
    if (h == host) continue;
    gls_buf_add(o, h->name, h->name_len);
    if (h->value_len) {
      gls_buf_add(o, ": ", 2);
      gls_buf_add(o, h->value, h->value_len);
    } else {
      gls_buf_addc(o, ':');
    }
    gls_buf_add(o, "\r\n", 2);
  }
  if (send_body) {
    char cl[48];
    size_t n = req->body ? req->body_len : 0;
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", n);
    gls_buf_adds(o, cl);
    gls_buf_add(o, "\r\n", 2);
    if (n) gls_buf_add(o, req->body, n);
  } else {
    gls_buf_add(o, "\r\n", 2);
  }
  return o->err == GLS_BUF_OK;
}

static int h1_line(void *ud, const char *line, size_t n) {
  if (n == 0) return on_header((char *)"\r\n", 1, 2, ud) == 2;
  return on_header((char *)line, 1, n, ud) == n;
}

static int h1_body(void *ud, const char *p, size_t n) {
  return on_body((char *)p, 1, n, ud) == n;
}

/* Starts (or starts again) the connect of a direct transfer: libcurl connects, collect()
 * hands it back (direct_connected). 0 when it could not start, with what failed in err. */
static int direct_connect(gls_http_pool *p, xfer *x, const char *url, char *err, size_t errlen) {
  CURL *e = x->easy;
  CURLcode rc = CURLE_OK;
  CURLMcode mc;
  long left = 0;
  multi_remove(p, x);
  if (url) {
    SETOPT(CURLOPT_URL, url);
    gls_buf_reset(&x->url_set);
    if (rc == CURLE_OK && gls_buf_adds(&x->url_set, url)) rc = CURLE_OUT_OF_MEMORY;
  }
  if (x->deadline_ms) {
    left = (long)(x->deadline_ms - mono_ms());
    if (left < 1) left = 1;
  }
  SETOPT(CURLOPT_TIMEOUT_MS, left);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, x->connect_timeout_ms);
  if (rc != CURLE_OK) {
    if (err) snprintf(err, errlen, "curl_easy_setopt: %s", curl_easy_strerror(rc));
    return 0;
  }
  x->errbuf[0] = '\0';
  x->dstate = D_CONNECT;
  x->reused = 0;
  mc = multi_add(p, x);
  if (mc != CURLM_OK) {
    if (err) snprintf(err, errlen, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
    return 0;
  }
  return 1;
}

/* The options of a connect-only handle (after a reset: a handle that ran libcurl's own HTTP
 * has options a connect-only one must not keep). */
static CURLcode direct_setup(gls_http_pool *p, xfer *x) {
  CURL *e = x->easy;
  CURLcode rc = CURLE_OK;
  {
    xfer_reset(p, x);
    x->connect_only = 1;
    SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(CURLOPT_PRIVATE, (void *)x);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_CONNECT_ONLY, 1L);
    /* TLS offers http/1.1 alone in ALPN: the head written here is HTTP/1.1 */
    SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    /* A connection this pool keeps is not "in use" to libcurl once connected, so a connect
     * prunes it as dead when idle past this age in libcurl's count, which is from the connect,
     * not from the pool's last use; the pool ages its kept connections itself
     * (DIRECT_MAX_IDLE_MS). libcurl still prunes one the server closed. */
    SETOPT(CURLOPT_MAXAGE_CONN, 31536000L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    /* the pool's sockets (close-on-exec: on_open_socket) */
    SETOPT(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SETOPT(CURLOPT_OPENSOCKETDATA, (void *)p);
    SETOPT(CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    SETOPT(CURLOPT_CLOSESOCKETDATA, (void *)p);
    SETOPT(CURLOPT_SSL_VERIFYPEER, p->insecure ? 0L : 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, p->insecure ? 0L : 2L);
  }
  return rc;
}

/* Ends a direct transfer that failed (rc CURLE_OK: a head the connection cut off); its
 * connection closes. */
static void direct_fail(gls_http_pool *p, xfer *x, CURLcode rc) {
  classify(x, rc);
  multi_remove(p, x);
  x->dstate = 0;
  finish(p, x);
}

static void direct_done(gls_http_pool *p, xfer *x, int reusable) {
  x->res.status = x->h1.status;
  if (!reusable) multi_remove(p, x);
  x->dstate = 0;
  finish(p, x);
}

/* A failure of the connection itself (send or receive). On a kept connection before any byte
 * of the reply the server had closed it, or was closing it: the request goes again, once, on
 * a new connection, as libcurl resends on a reused connection that died. */
static void direct_lost(gls_http_pool *p, xfer *x, CURLcode rc) {
  if (x->reused && !x->reconnected && x->h1.received == 0 &&
      (!x->deadline_ms || mono_ms() < x->deadline_ms)) {
    x->reconnected = 1;
    x->sent = 0;
    gls_h1_reset(&x->h1); /* nothing of a reply came: the reader starts over */
    if (direct_connect(p, x, NULL, NULL, 0)) return; /* else the lost connection is said */
  }
  direct_fail(p, x, rc);
}

static void direct_h1_failed(gls_http_pool *p, xfer *x) {
  gls_h1 *h = &x->h1;
  CURLcode rc = CURLE_WEIRD_SERVER_REPLY;
  const char *msg = NULL;
  switch (h->err) {
  case GLS_H1_E_NOT_HTTP:
    rc = CURLE_UNSUPPORTED_PROTOCOL;
    msg = "Received HTTP/0.9 when not allowed";
    break;
  case GLS_H1_E_BAD_STATUS: msg = "Invalid status line"; break;
  case GLS_H1_E_BAD_FRAMING:
    msg = "Invalid Content-Length, Transfer-Encoding or Connection header, or a 101 status";
    break;
  case GLS_H1_E_BAD_CHUNK:
    rc = CURLE_RECV_ERROR;
    msg = "Malformed encoding found in chunked-encoding";
    break;
  case GLS_H1_E_LINE_TOO_BIG: /* said as libcurl 7.88 says it (see header_too_large) */
    rc = CURLE_OUT_OF_MEMORY;
    msg = "";
    break;
  case GLS_H1_E_HEAD_TOO_BIG:
    rc = CURLE_RECV_ERROR;
    snprintf(x->errbuf, sizeof x->errbuf, "Too large response headers: %zu > %zu", h->head_bytes, h->max_head);
    break;
  case GLS_H1_E_BODY_TOO_BIG:
    rc = CURLE_FILESIZE_EXCEEDED;
    msg = "Maximum file size exceeded";
    break;
  case GLS_H1_E_STOPPED:
    rc = CURLE_WRITE_ERROR;
    /* on_header refused the reply (x->bad) or a limit was reached; else memory ran out */
    if (!x->too_large && !x->bad) x->out_of_memory = 1;
    msg = "Failure writing output to destination";
    break;
  case GLS_H1_E_EMPTY:
    snprintf(x->errbuf, sizeof x->errbuf, "%s", "Empty reply from server");
    direct_lost(p, x, CURLE_GOT_NOTHING);
    return;
  case GLS_H1_E_CUT_HEAD: rc = CURLE_OK; break;
  case GLS_H1_E_CUT_BODY:
    rc = CURLE_PARTIAL_FILE;
    if (h->framing.chunked)
      msg = "transfer closed with outstanding read data remaining";
    else
      snprintf(x->errbuf, sizeof x->errbuf, "transfer closed with %llu bytes remaining to read",
               (unsigned long long)h->remaining);
    break;
  default: break;
  }
  if (msg) snprintf(x->errbuf, sizeof x->errbuf, "%s", msg);
  direct_fail(p, x, rc);
}

/* The connect of a direct transfer ended (collect). */
static void direct_connected(gls_http_pool *p, xfer *x, CURLcode rc) {
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (rc != CURLE_OK) {
    direct_fail(p, x, rc);
    return;
  }
  if (curl_easy_getinfo(x->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) {
    snprintf(x->errbuf, sizeof x->errbuf, "%s", "no socket after the connect");
    direct_fail(p, x, CURLE_COULDNT_CONNECT);
    return;
  }
  x->fd = fd;
  x->conn_live = 1;
  x->dstate = D_SEND;
  x->send_now = 1;
}

static int direct_recv(gls_http_pool *p, xfer *x, int salvage);

/* Sends what is left of the request; on to D_RECV when all went. A send that fails may have
 * come after the server's reply (a 413 before the whole body, then a close): that reply is
 * read, as libcurl reads it, before the send failure is said. */
static void direct_send(gls_http_pool *p, xfer *x) {
  while (x->sent < x->out.len) {
    size_t k = 0;
    CURLcode rc = curl_easy_send(x->easy, x->out.p + x->sent, x->out.len - x->sent, &k);
    if (rc == CURLE_AGAIN || (rc == CURLE_OK && k == 0)) {
      x->send_now = 0;
      return;
    }
    if (rc != CURLE_OK) {
      if (!direct_recv(p, x, 1)) direct_lost(p, x, rc == CURLE_UNSUPPORTED_PROTOCOL ? CURLE_SEND_ERROR : rc);
      return;
    }
    x->sent += k;
  }
  x->send_now = 0;
  x->dstate = D_RECV;
}

/* Reads what the connection has: until it would wait, or the reply ends or fails. Also while
 * the request is still being sent: a server may answer before it has read the whole body; the
 * connection is then not kept. salvage (after a send failed): a read that fails, or a reply
 * not whole when the connection ends, leaves the transfer to the send failure. 1 when the
 * transfer finished. */
static int direct_recv(gls_http_pool *p, xfer *x, int salvage) {
  char chunk[16384];
  for (;;) {
    size_t k = 0, used = 0;
    int r;
    CURLcode rc = curl_easy_recv(x->easy, chunk, sizeof chunk, &k);
    if (rc == CURLE_AGAIN) return 0;
    if (rc != CURLE_OK) {
      if (salvage) return 0;
      direct_lost(p, x, rc == CURLE_UNSUPPORTED_PROTOCOL ? CURLE_RECV_ERROR : rc);
      return 1;
    }
    if (k == 0 && salvage && x->h1.received == 0) return 0;
    r = k == 0 ? gls_h1_eof(&x->h1) : gls_h1_feed(&x->h1, chunk, k, &used);
    if (r == GLS_H1_DONE) {
      /* bytes past the reply's end, or a request not all sent: the connection is out of step,
         not kept */
      direct_done(p, x, k > 0 && x->h1.reusable && used == k && x->sent == x->out.len);
      return 1;
    }
    if (r == GLS_H1_ERROR) {
      direct_h1_failed(p, x);
      return 1;
    }
    /* a plain socket read short is empty: the poll says when more comes (TLS may hold a
       record's bytes the socket no longer shows, so that reads until it would wait) */
    if (!x->https && k < sizeof chunk && !salvage) return 0;
  }
}

/* Fails the direct transfers whose timeout has passed; the earliest deadline still ahead (or 0). */
static int64_t direct_timeouts(gls_http_pool *p, int64_t now) {
  xfer *x, *next;
  int64_t soonest = 0;
  for (x = p->running.head; x; x = next) {
    next = x->next;
    if (!x->direct || x->dstate == D_CONNECT || !x->deadline_ms) continue;
    if (now >= x->deadline_ms) {
      /* as libcurl says it: the body's bytes, out of its length when the head gave one */
      if (x->head_done && x->h1.framing.has_length && !x->h1.framing.chunked)
        snprintf(x->errbuf, sizeof x->errbuf,
                 "Operation timed out after %ld milliseconds with %zu out of %llu bytes received",
                 x->timeout_ms, x->body.len, (unsigned long long)x->h1.framing.length);
      else
        snprintf(x->errbuf, sizeof x->errbuf, "Operation timed out after %ld milliseconds with %zu bytes received",
                 x->timeout_ms, x->body.len);
      direct_fail(p, x, CURLE_OPERATION_TIMEDOUT);
    } else if (!soonest || x->deadline_ms < soonest) {
      soonest = x->deadline_ms;
    }
  }
  return soonest;
}

/* The sockets of the direct transfers waiting on one, in p->wfds (their transfers in p->wxs);
 * how many, or -1 when out of memory. */
static int direct_fds(gls_http_pool *p) {
  xfer *x;
  size_t n = 0;
  for (x = p->running.head; x; x = x->next) {
    if (!x->direct || (x->dstate != D_SEND && x->dstate != D_RECV)) continue;
    if (n == p->wfds_cap) {
      size_t cap = p->wfds_cap ? p->wfds_cap * 2 : 16;
      struct curl_waitfd *w = realloc(p->wfds, cap * sizeof *w);
      xfer **xs;
      struct pollfd *pf;
      if (!w) return -1;
      p->wfds = w;
      xs = realloc(p->wxs, cap * sizeof *xs);
      if (!xs) return -1;
      p->wxs = xs;
      pf = realloc(p->pfds, cap * sizeof *pf);
      if (!pf) return -1;
      p->pfds = pf;
      p->wfds_cap = cap;
    }
    p->wfds[n].fd = x->fd;
    /* while sending, a reply too: a server may answer (and close) before reading it all */
    p->wfds[n].events = x->dstate == D_SEND ? CURL_WAIT_POLLOUT | CURL_WAIT_POLLIN : CURL_WAIT_POLLIN;
    p->wfds[n].revents = 0;
    p->wxs[n] = x;
    n++;
  }
  return (int)n;
}

/* The pool's own poll of the direct transfers' sockets (the first nfds of p->wfds), their
 * revents added to p->wfds: curl_multi_poll passes on only POLLIN, POLLOUT and POLLPRI, and a
 * socket libcurl closed under a transfer (its cache prunes a connection it finds dead, and the
 * pool's kept ones are not in use to it) says only POLLNVAL: each poll would return at once
 * and the transfer never read, until its deadline. Here an error, a hang-up or POLLNVAL is
 * readable: the read then says what happened (libcurl no longer finds the connection). */
static void direct_poll(gls_http_pool *p, int nfds, int timeout_ms) {
  int i;
  for (i = 0; i < nfds; i++) {
    p->pfds[i].fd = p->wfds[i].fd;
    p->pfds[i].events = (short)(POLLIN | ((p->wfds[i].events & CURL_WAIT_POLLOUT) ? POLLOUT : 0));
    p->pfds[i].revents = 0;
  }
  if (poll(p->pfds, (nfds_t)nfds, timeout_ms) <= 0) return; /* EINTR: the caller comes again */
  for (i = 0; i < nfds; i++) {
    short r = p->pfds[i].revents;
    if (r & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) p->wfds[i].revents |= CURL_WAIT_POLLIN;
    if (r & POLLOUT) p->wfds[i].revents |= CURL_WAIT_POLLOUT;
  }
}

/* Sends of direct transfers that have not tried yet (just connected, or on a kept connection). */
static void direct_sends(gls_http_pool *p) {
  xfer *x, *next;
  for (x = p->running.head; x; x = next) {
    next = x->next;
    if (x->direct && x->dstate == D_SEND && x->send_now) direct_send(p, x);
  }
}

/* Moves on the direct transfers whose socket the poll found ready (the first nfds of p->wfds). */
static void direct_ready(gls_http_pool *p, int nfds) {
  int i;
  for (i = 0; i < nfds; i++) {
    xfer *x = p->wxs[i];
    int want = (p->wfds[i].events & CURL_WAIT_POLLOUT) ? D_SEND : D_RECV;
    short ev = p->wfds[i].revents;
    if (!ev || x->state != X_RUNNING || x->dstate != want) continue;
    /* (an error or hang-up on the socket is said as readable too: a read says which) */
    if ((ev & ~CURL_WAIT_POLLOUT) && direct_recv(p, x, 0)) continue;
    if (want == D_SEND && x->state == X_RUNNING && x->dstate == D_SEND && (ev & CURL_WAIT_POLLOUT))
      direct_send(p, x);
  }
}

/* ---- the pool ---- */

gls_http_pool *gls_http_pool_new(const gls_http_pool_opts *opts, char *err, size_t errlen) {
  gls_http_pool *p;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    set_err(err, errlen, "curl_global_init failed");
    return NULL;
  }
  p = calloc(1, sizeof *p);
  if (!p) goto fail;
  p->next_id = 1;
  p->reply_peak_prev = (size_t)RECV_MAX;
  p->insecure = opts && opts->insecure;
  p->fresh_easy = curl_version_info(CURLVERSION_NOW)->version_num < 0x080100;
  p->libcurl_only = opts && opts->libcurl_only;
  p->max_host_connections = opts ? opts->max_host_connections : 0;
  if (opts && opts->ca_file && !(p->ca_file = strdup(opts->ca_file))) goto fail;
  if (opts && opts->ca_path && !(p->ca_path = strdup(opts->ca_path))) goto fail;
  if (!(p->multi = curl_multi_init())) goto fail;
  if (opts && opts->max_host_connections > 0)
    curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, opts->max_host_connections);
  return p;
fail:
  set_err(err, errlen, "out of memory creating the http pool");
  if (p) {
    free(p->ca_file);
    free(p->ca_path);
    free(p);
  }
  curl_global_cleanup();
  return NULL;
}

void gls_http_pool_free(gls_http_pool *p) {
  xfer *x;
  if (!p) return;
  while ((x = p->running.head) != NULL) {
    list_unlink(&p->running, x);
    xfer_destroy(p, x);
  }
  while ((x = p->done.head) != NULL) {
    list_unlink(&p->done, x);
    xfer_destroy(p, x);
  }
  while ((x = p->idle.head) != NULL) {
    list_unlink(&p->idle, x);
    xfer_destroy(p, x);
  }
  curl_multi_cleanup(p->multi); /* closes the connections: on_close_socket */
  free(p->socks);
  free(p->wfds);
  free(p->wxs);
  free(p->pfds);
  gls_buf_free(&p->key);
  free(p->ca_file);
  free(p->ca_path);
  free(p->url_ok);
  free(p);
  curl_global_cleanup();
}

/* After an add: the window's peak of transfers in use; idle ones over what is kept go. */
static void track_peak(gls_http_pool *p) {
  size_t in_use = p->running.n + p->done.n, trim;
  if (in_use > p->peak) p->peak = in_use;
  if (++p->window_adds >= PEAK_WINDOW) {
    p->peak_prev = p->peak;
    p->peak = in_use;
    p->reply_peak_prev = p->reply_peak;
    p->reply_peak = 0;
    p->window_adds = 0;
  }
  for (trim = 0; trim < 2 && p->idle.n > idle_keep(p); trim++) {
    xfer *x = p->idle.head;
    list_unlink(&p->idle, x);
    xfer_destroy(p, x);
  }
}


/* The options every request of the pool shares: set once per easy handle (and again after a
 * reset), not per request. */
static CURLcode easy_setup(gls_http_pool *p, xfer *x) {
  CURL *e = x->easy;
  CURLcode rc = CURLE_OK;
  gls_buf_reset(&x->url_set);
  SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
  SETOPT(CURLOPT_PRIVATE, (void *)x);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SETOPT(CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(CURLOPT_WRITEDATA, (void *)x);
  SETOPT(CURLOPT_HEADERFUNCTION, on_header);
  SETOPT(CURLOPT_HEADERDATA, (void *)x);
  SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  /* the path goes out exactly as built: no dot segment is removed (the signer signed it so) */
  SETOPT(CURLOPT_PATH_AS_IS, 1L);
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  SETOPT(CURLOPT_OPENSOCKETDATA, (void *)p);
  SETOPT(CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  SETOPT(CURLOPT_CLOSESOCKETDATA, (void *)p);
#if LIBCURL_VERSION_NUM >= 0x075000
  SETOPT(CURLOPT_PREREQFUNCTION, on_prereq);
  SETOPT(CURLOPT_PREREQDATA, (void *)x);
#endif
  if (p->insecure) {
    SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  }
  if (rc == CURLE_OK) x->setup = 1;
  return rc;
}

/* The URL parsed as libcurl parses a CURLOPT_URL for a transfer (its flags, and PATH_AS_IS as
 * easy_setup sets it), for CURLOPT_CURLU; NULL when it cannot be (libcurl then parses the
 * CURLOPT_URL itself, and fails the same way). With it each transfer copies the parsed URL
 * instead of parsing the text and printing it back (about 15,000 instructions a transfer under
 * libcurl 7.88, and the handle's next requests to the same URL parse nothing); CURLOPT_URL
 * stays set to the same text, so state.url (what libcurl reports) is never stale. */
static CURLU *parsed_url(xfer *x, const char *url) {
  if (!x->url && !(x->url = curl_url())) return NULL;
  if (curl_url_set(x->url, CURLUPART_URL, url,
                   CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS) != CURLUE_OK)
    return NULL;
  return x->url;
}

/* The request's transfer, owned by the pool from here on (a failure recycles it): its limits. */
static void xfer_claim(gls_http_pool *p, xfer *x, const gls_http_request *req) {
  x->state = X_FREE;
  list_push(&p->idle, x);
  x->max_bytes = req->max_response_bytes ? req->max_response_bytes : GLS_HTTP_DEFAULT_MAX_RESPONSE;
  x->body.max = x->hdr.max = x->max_bytes;
  x->timeout_ms = req->timeout_ms;
  x->connect_timeout_ms = req->connect_timeout_ms;
}

/* The claimed transfer runs, under a new id. */
static int64_t xfer_run(gls_http_pool *p, xfer *x) {
  x->res.id = p->next_id++;
  list_unlink(&p->idle, x);
  x->state = X_RUNNING;
  list_push(&p->running, x);
  track_peak(p);
  return x->res.id;
}

/* The request's CA file and path on easy (per request, else the pool's: libcurl only reuses a
 * connection made with the same trust, and the direct path's origin key holds them). */
static CURLcode set_trust(xfer *x, const char *ca_file, const char *ca_path) {
  CURL *e = x->easy;
  CURLcode rc = CURLE_OK;
  if (ca_file) {
    SETOPT(CURLOPT_CAINFO, ca_file);
    x->ca_file_set = 1;
  }
  if (ca_path) {
    SETOPT(CURLOPT_CAPATH, ca_path);
    x->ca_path_set = 1;
  }
  return rc;
}

/* Is the kept connection of x (idle since x->idle_since_ms) still there and quiet? A connection
 * with bytes nobody asked for, or closed, or older than libcurl would reuse, is not. */
static int conn_alive(xfer *x, int64_t now) {
  curl_socket_t fd = CURL_SOCKET_BAD;
  struct pollfd pf;
  if (now - x->idle_since_ms > DIRECT_MAX_IDLE_MS) return 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) return 0;
  pf.fd = fd;
  pf.events = POLLIN;
  pf.revents = 0;
  if (poll(&pf, 1, 0) != 0) return 0;
  x->fd = fd;
  return 1;
}

static int64_t direct_add(gls_http_pool *p, const gls_http_request *req, const char *method,
                          const url_parts *u, int send_body, int is_head, const gls_http_header *host,
                          char *err, size_t errlen) {
  const char *ca_file = req->ca_file ? req->ca_file : p->ca_file;
  const char *ca_path = req->ca_path ? req->ca_path : p->ca_path;
  xfer *x, *pick = NULL, *spare = NULL;
  int64_t now = mono_ms();
  size_t i;
  int same = 0;
  for (i = 0; i < req->n_headers; i++)
    if (!check_header(&req->headers[i], err, errlen)) return 0;
  if (!origin_key(&p->key, req->url, u, ca_file, ca_path)) {
    set_err(err, errlen, "out of memory");
    return 0;
  }
  /* a kept connection to the same origin, the one used last first; else a transfer without one */
  for (x = p->idle.tail; x; x = x->prev) {
    if (x->conn_live && x->origin.len == p->key.len && memcmp(x->origin.p, p->key.p, p->key.len) == 0) {
      pick = x;
      same = 1;
      break;
    }
    if (!spare && !x->conn_live) spare = x;
  }
  /* none: a new transfer, not one whose connection to another origin would close (the idle
     list is trimmed to what the pool keeps all the same) */
  if (!pick) pick = spare;
  if (!(x = xfer_take(p, pick))) {
    set_err(err, errlen, "out of memory");
    return 0;
  }
  xfer_claim(p, x, req);
  x->direct = 1;
  x->https = u->https;
  x->deadline_ms = req->timeout_ms > 0 ? now + req->timeout_ms : 0;
  gls_h1_reset(&x->h1);
  x->h1.head_request = is_head;
  x->h1.max_body = x->max_bytes;
  x->h1.on_line = h1_line;
  x->h1.on_body = h1_body;
  x->h1.ud = x;
  if (!direct_head(x, req, method, u, send_body, host)) {
    set_err(err, errlen, "out of memory");
    goto fail;
  }
  if (same && x->conn_live && conn_alive(x, now)) {
    x->reused = 1;
    x->dstate = D_SEND;
    x->send_now = 1;
  } else {
    CURLcode rc = CURLE_OK;
    multi_remove(p, x); /* a connection gone quiet wrong, or to another origin, closes */
    if ((x->ca_file_set && !ca_file) || (x->ca_path_set && !ca_path)) xfer_reset(p, x);
    gls_buf_reset(&x->origin);
    if (gls_buf_add(&x->origin, p->key.p, p->key.len)) {
      set_err(err, errlen, "out of memory");
      goto fail;
    }
    if (!x->connect_only) rc = direct_setup(p, x);
    if (rc == CURLE_OK) rc = set_trust(x, ca_file, ca_path);
    if (rc != CURLE_OK) {
      if (err) snprintf(err, errlen, "curl_easy_setopt: %s", curl_easy_strerror(rc));
      goto fail;
    }
    if (!direct_connect(p, x, req->url, err, errlen)) goto fail;
  }
  return xfer_run(p, x);
fail:
  xfer_recycle(p, x);
  return 0;
}

int64_t gls_http_pool_add(gls_http_pool *p, const gls_http_request *req, char *err, size_t errlen) {
  const char *method = req->method ? req->method : "GET";
  const char *ca_file, *ca_path;
  xfer *x;
  CURL *e;
  CURLcode rc = CURLE_OK;
  CURLMcode mc;
  int is_head = strcmp(method, "HEAD") == 0, is_get = strcmp(method, "GET") == 0;
  int is_post = strcmp(method, "POST") == 0;
  int send_body;
  size_t url_len;
  long want;
  url_parts u;

  if (!is_token(method, strlen(method))) {
    set_err(err, errlen, "invalid method");
    return 0;
  }
  if (!req->url || !check_url(p, req->url, err, errlen)) {
    if (!req->url) set_err(err, errlen, "url is required");
    return 0;
  }
  if (req->timeout_ms < 0 || req->connect_timeout_ms < 0) {
    set_err(err, errlen, "timeouts must not be negative");
    return 0;
  }
  /* A body goes out as POSTFIELDS (exact length, no chunking); the method is then set
   * explicitly unless it is POST. POST/PUT/PATCH without a body send Content-Length: 0. */
  send_body = !is_head && (req->body != NULL || is_post || strcmp(method, "PUT") == 0 ||
                           strcmp(method, "PATCH") == 0);
  if (!p->libcurl_only && p->max_host_connections == 0 && split_url(req->url, &u) && !proxy_set()) {
    /* the signer's Host header is common: one, not empty, is written as libcurl writes it */
    const gls_http_header *host = NULL;
    size_t i;
    for (i = 0; i < req->n_headers; i++) {
      const gls_http_header *h = &req->headers[i];
      if (framing_header(h)) break;
      if (gls_h1_name_is(h->name, h->name_len, "host")) {
        if (host || h->value_len == 0) break;
        host = h;
      }
    }
    if (i == req->n_headers) return direct_add(p, req, method, &u, send_body, is_head, host, err, errlen);
  }
  if (!(x = xfer_get(p))) {
    set_err(err, errlen, "out of memory");
    return 0;
  }
  xfer_claim(p, x, req);
  if (!build_headers(x, req, send_body, err, errlen)) goto fail;

  e = x->easy;
  /* per request, else the pool's: libcurl only reuses a connection made with the same trust.
   * Setting NULL would not bring back libcurl's default bundle: a handle that has one set and
   * now needs the default is reset. */
  ca_file = req->ca_file ? req->ca_file : p->ca_file;
  ca_path = req->ca_path ? req->ca_path : p->ca_path;
  if ((x->ca_file_set && !ca_file) || (x->ca_path_set && !ca_path)) xfer_reset(p, x);
  if (!x->setup) rc = easy_setup(p, x);
  if (rc == CURLE_OK) rc = set_trust(x, ca_file, ca_path);
  /* Every option that varies between requests is set on every request; the URL only when the
   * handle holds another (libcurl copies it on every set), with its parse (parsed_url). */
  url_len = strlen(req->url);
  if (x->url_set.len != url_len || memcmp(x->url_set.p, req->url, url_len) != 0) {
    gls_buf_reset(&x->url_set);
    SETOPT(CURLOPT_URL, req->url);
    SETOPT(CURLOPT_CURLU, parsed_url(x, req->url));
    if (rc == CURLE_OK && gls_buf_add(&x->url_set, req->url, url_len)) gls_buf_reset(&x->url_set);
  }
  if (x->recv_buffer != (want = recv_size(p))) {
    SETOPT(CURLOPT_BUFFERSIZE, want);
    if (rc == CURLE_OK) x->recv_buffer = want;
  }
  SETOPT(CURLOPT_HTTPHEADER, x->nodes);
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_bytes);
  SETOPT(CURLOPT_TIMEOUT_MS, req->timeout_ms);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);

  /* HTTPGET and NOBODY undo what the handle's previous request set (POST, HEAD). */
  if (is_head) {
    SETOPT(CURLOPT_NOBODY, 1L);
    SETOPT(CURLOPT_CUSTOMREQUEST, (char *)NULL);
  } else if (send_body) {
    size_t n = req->body ? req->body_len : 0;
    gls_buf_reset(&x->out);
    if (gls_buf_add(&x->out, req->body ? req->body : "", n)) {
      set_err(err, errlen, "out of memory");
      goto fail;
    }
    SETOPT(CURLOPT_NOBODY, 0L);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    SETOPT(CURLOPT_POSTFIELDS, x->out.p ? x->out.p : "");
    SETOPT(CURLOPT_CUSTOMREQUEST, is_post ? (char *)NULL : method);
  } else {
    SETOPT(CURLOPT_HTTPGET, 1L);
    SETOPT(CURLOPT_CUSTOMREQUEST, is_get ? (char *)NULL : method);
  }
  if (rc != CURLE_OK) {
    if (err) snprintf(err, errlen, "curl_easy_setopt: %s", curl_easy_strerror(rc));
    goto fail;
  }
  mc = multi_add(p, x);
  if (mc != CURLM_OK) {
    if (err) snprintf(err, errlen, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
    goto fail;
  }
  return xfer_run(p, x);
fail:
  xfer_recycle(p, x);
  return 0;
}

int gls_http_pool_perform(gls_http_pool *p, long wait_ms, char *err, size_t errlen) {
  int still = 0, nfds;
  CURLMcode mc = CURLM_OK;
  size_t done_before = p->done.n;
  int64_t now = mono_ms(), soonest;
  if (p->curl_active) {
    mc = curl_multi_perform(p->multi, &still);
    if (mc == CURLM_OK) collect(p);
  }
  direct_sends(p);
  soonest = direct_timeouts(p, now);
  nfds = direct_fds(p);
  if (nfds < 0) {
    set_err(err, errlen, "out of memory");
    return -1;
  }
  if (mc == CURLM_OK && (nfds > 0 || (p->done.n == done_before && wait_ms > 0 && p->running.n > 0))) {
    /* curl_multi_poll returns early on activity or when libcurl's own timer is due; never
       past a direct transfer's deadline */
    long t = p->done.n == done_before && wait_ms > 0 ? wait_ms : 0;
    if (t > 2147483647L) t = 2147483647L;
    if (t > 0 && soonest) {
      int64_t left = soonest - now;
      if (left < t) t = left > 0 ? (long)left : 0;
    }
    if (p->curl_active || nfds == 0) {
      mc = curl_multi_poll(p->multi, nfds ? p->wfds : NULL, (unsigned)nfds, (int)t, NULL);
      if (mc == CURLM_OK && nfds > 0) direct_poll(p, nfds, 0); /* what curl_multi_poll drops */
    } else {
      direct_poll(p, nfds, (int)t); /* libcurl has nothing under way: the pool's own poll */
    }
    if (mc == CURLM_OK && p->curl_active) {
      mc = curl_multi_perform(p->multi, &still);
      if (mc == CURLM_OK) collect(p);
    }
    if (mc == CURLM_OK) {
      direct_ready(p, nfds);
      direct_sends(p);
      direct_timeouts(p, mono_ms());
    }
  }
  (void)still;
  if (mc != CURLM_OK) {
    if (err) snprintf(err, errlen, "curl multi: %s", curl_multi_strerror(mc));
    return -1;
  }
  return (int)p->running.n;
}

const gls_http_result *gls_http_pool_done(gls_http_pool *p, int64_t id) {
  xfer *x = id == 0 ? p->done.head : find(&p->done, id);
  return x ? &x->res : NULL;
}

int64_t gls_http_pool_next_finished(gls_http_pool *p) {
  xfer *x = p->unreported;
  if (!x) return 0;
  p->unreported = x->next;
  return x->res.id;
}

void gls_http_pool_release(gls_http_pool *p, const gls_http_result *r) {
  xfer *x = find(&p->done, r ? r->id : 0);
  if (x && &x->res == r) xfer_recycle(p, x);
}

int gls_http_pool_running(gls_http_pool *p, int64_t id) {
  return find(&p->running, id) != NULL;
}

int gls_http_pool_cancel(gls_http_pool *p, int64_t id) {
  xfer *x = find(&p->running, id);
  if (!x) x = find(&p->done, id);
  if (!x) return 0;
  xfer_recycle(p, x);
  return 1;
}
