/* Unit test of csrc/http.c without Lua: a raw listener in this process plays the server,
 * so ownership paths (results taken, dropped, cancelled, freed in flight) run under
 * ASan and valgrind. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "http.h"

#include <curl/curl.h>

/* http.c is linked into this program, so its curl_multi_add_handle calls come here: libcurl's,
 * or the failure a test sets in fail_multi_add. */
static CURLMcode fail_multi_add = CURLM_OK;

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *easy) {
  CURLMcode (*real)(CURLM *, CURL *);
  if (fail_multi_add != CURLM_OK) return fail_multi_add;
  *(void **)&real = dlsym(RTLD_NEXT, "curl_multi_add_handle");
  return real(multi, easy);
}

typedef struct server {
  int lfd, cfd;
  int port;
  char in[8192];
  size_t in_len;
} server;

static void server_open(server *s) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  memset(s, 0, sizeof *s);
  s->cfd = -1;
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s->lfd, (struct sockaddr *)&a, sizeof a);
  listen(s->lfd, 16);
  getsockname(s->lfd, (struct sockaddr *)&a, &len);
  s->port = ntohs(a.sin_port);
  fcntl(s->lfd, F_SETFL, O_NONBLOCK);
}

static void server_close(server *s) {
  if (s->cfd >= 0) close(s->cfd);
  close(s->lfd);
}

/* One step of the server: accept, read; 1 once a full request head has arrived. */
static int server_step(server *s) {
  ssize_t n;
  if (s->cfd < 0) {
    s->cfd = accept(s->lfd, NULL, NULL);
    if (s->cfd < 0) return 0;
    fcntl(s->cfd, F_SETFL, O_NONBLOCK);
  }
  n = read(s->cfd, s->in + s->in_len, sizeof s->in - 1 - s->in_len);
  if (n > 0) s->in_len += (size_t)n;
  s->in[s->in_len] = '\0';
  return strstr(s->in, "\r\n\r\n") != NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Drives the pool and the server until `id` is done; answers with `reply` (NULL: never). */
static const gls_http_result *exchange(gls_http_pool *p, server *s, int64_t id, const char *reply) {
  const gls_http_result *r = NULL;
  char err[256];
  int answered = 0;
  double deadline = now() + 5;
  while (now() < deadline && !(r = gls_http_pool_done(p, id))) {
    gls_http_pool_perform(p, 10, err, sizeof err);
    if (!answered && s && server_step(s) && reply) {
      answered = 1;
      if (write(s->cfd, reply, strlen(reply)) < 0) break;
    }
  }
  return r;
}

static char url_buf[128];
static const char *url_for(int port, const char *path) {
  snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d%s", port, path);
  return url_buf;
}

static const char *header(const gls_http_result *r, const char *name, int nth) {
  const char *s = r->headers, *end = r->headers + r->headers_len;
  while (s < end) {
    const char *v = s + strlen(s) + 1;
    if (strcmp(s, name) == 0 && nth-- == 0) return v;
    s = v + strlen(v) + 1;
  }
  return NULL;
}

static void test_bad_input(void) {
  char err[256];
  gls_http_pool *p = gls_http_pool_new(NULL, err, sizeof err);
  gls_http_request req;
  gls_http_header h = { "X-Bad", 5, "a\r\nb", 4 };
  CHECK(p != NULL);
  memset(&req, 0, sizeof req);
  req.url = "ftp://127.0.0.1/";
  CHECK(gls_http_pool_add(p, &req, err, sizeof err) == 0);
  CHECK_STR(err, "invalid url: the scheme must be http or https");
  req.url = "http://127.0.0.1/";
  req.method = "GET X";
  CHECK(gls_http_pool_add(p, &req, err, sizeof err) == 0);
  CHECK_STR(err, "invalid method");
  req.method = NULL;
  req.headers = &h;
  req.n_headers = 1;
  CHECK(gls_http_pool_add(p, &req, err, sizeof err) == 0);
  CHECK_STR(err, "invalid value for header \"X-Bad\": contains CR, LF or NUL");
  CHECK(gls_http_pool_perform(p, 0, err, sizeof err) == 0);
  gls_http_pool_free(p);
}

static void test_exchange(void) {
  char err[256];
  server s;
  gls_http_pool *p = gls_http_pool_new(NULL, err, sizeof err);
  gls_http_header hs[2] = { { "X-A", 3, "1", 1 }, { "X-A", 3, "2", 1 } };
  gls_http_request req;
  const gls_http_result *r;
  int64_t id;
  server_open(&s);
  memset(&req, 0, sizeof req);
  req.method = "PUT";
  req.url = url_for(s.port, "/x?y=1");
  req.headers = hs;
  req.n_headers = 2;
  req.body = "data";
  req.body_len = 4;
  req.timeout_ms = 3000;
  id = gls_http_pool_add(p, &req, err, sizeof err);
  CHECK(id > 0);
  CHECK(gls_http_pool_running(p, id));
  r = exchange(p, &s, id, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Rep: a\r\nx-rep: b\r\n\r\nhello");
  CHECK(r != NULL);
  if (r) {
    CHECK(r->err_code == NULL);
    CHECK(r->status == 200);
    CHECK(r->body_len == 5 && memcmp(r->body, "hello", 5) == 0);
    CHECK_STR(header(r, "x-rep", 0), "a");
    CHECK_STR(header(r, "x-rep", 1), "b");
    CHECK_STR(header(r, "content-length", 0), "5");
    gls_http_pool_release(p, r);
  }
  CHECK(strncmp(s.in, "PUT /x?y=1 HTTP/1.1\r\n", 21) == 0);
  CHECK(strstr(s.in, "\r\nX-A: 1\r\nX-A: 2\r\n") != NULL);
  CHECK(strstr(s.in, "Expect:") == NULL && strstr(s.in, "Accept:") == NULL && strstr(s.in, "Content-Type:") == NULL);
  CHECK(gls_http_pool_done(p, id) == NULL);
  server_close(&s);
  gls_http_pool_free(p);
}

static void test_failures(void) {
  char err[256];
  server s;
  gls_http_pool *p = gls_http_pool_new(NULL, err, sizeof err);
  gls_http_request req;
  const gls_http_result *r;
  int64_t id;
  int port;

  server_open(&s);
  port = s.port;
  memset(&req, 0, sizeof req);
  req.url = url_for(port, "/big");
  req.max_response_bytes = 3;
  req.timeout_ms = 3000;
  id = gls_http_pool_add(p, &req, err, sizeof err);
  r = exchange(p, &s, id, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(r && r->err_code && strcmp(r->err_code, "ResponseTooLarge") == 0);
  CHECK(r && r->err_reason && strcmp(r->err_reason, "too_large") == 0);
  /* not released: gls_http_pool_free must drop it */
  server_close(&s);

  req.url = url_for(port, "/refused"); /* the listener is gone */
  req.max_response_bytes = 0;
  id = gls_http_pool_add(p, &req, err, sizeof err);
  r = exchange(p, NULL, id, NULL);
  CHECK(r && r->err_reason && strcmp(r->err_reason, "connect") == 0);
  CHECK(r && strstr(r->err_message, "could not connect (curl 7: ") == r->err_message);
  gls_http_pool_free(p);
}

static void test_timeout_cancel_and_free_in_flight(void) {
  char err[256];
  server s;
  gls_http_pool *p = gls_http_pool_new(NULL, err, sizeof err);
  gls_http_request req;
  const gls_http_result *r;
  int64_t a, b;
  double t0;
  server_open(&s);
  memset(&req, 0, sizeof req);
  req.url = url_for(s.port, "/hang");
  req.timeout_ms = 200;
  a = gls_http_pool_add(p, &req, err, sizeof err);
  t0 = now();
  r = exchange(p, &s, a, NULL);
  CHECK(r && r->err_code && strcmp(r->err_code, "Timeout") == 0);
  CHECK(now() - t0 < 1.5);
  if (r) gls_http_pool_release(p, r);

  req.timeout_ms = 0;
  a = gls_http_pool_add(p, &req, err, sizeof err);
  b = gls_http_pool_add(p, &req, err, sizeof err);
  CHECK(gls_http_pool_perform(p, 20, err, sizeof err) == 2);
  CHECK(gls_http_pool_cancel(p, a) == 1);
  CHECK(gls_http_pool_cancel(p, a) == 0);
  CHECK(gls_http_pool_perform(p, 0, err, sizeof err) == 1);
  (void)b; /* still running when the pool is freed */
  gls_http_pool_free(p);
  server_close(&s);
}

/* Drives the pool until every one of ids (n of them) is done. */
static void drive_until_done(gls_http_pool *p, const int64_t *ids, int n) {
  char err[256];
  double deadline = now() + 5;
  int i, done = 0;
  while (!done && now() < deadline) {
    gls_http_pool_perform(p, 10, err, sizeof err);
    for (done = 1, i = 0; i < n; i++)
      if (!gls_http_pool_done(p, ids[i])) done = 0;
  }
  CHECK(done);
}

static void test_next_finished(void) {
  char err[256];
  server s;
  gls_http_pool *p = gls_http_pool_new(NULL, err, sizeof err);
  gls_http_request req;
  int64_t ids[3], got[3], later[2];
  int i, j;
  server_open(&s);
  server_close(&s); /* refused: each transfer finishes at once, with a failure */
  memset(&req, 0, sizeof req);
  req.url = url_for(s.port, "/");
  req.timeout_ms = 3000;
  CHECK(gls_http_pool_next_finished(p) == 0);
  for (i = 0; i < 3; i++) ids[i] = gls_http_pool_add(p, &req, err, sizeof err);
  drive_until_done(p, ids, 3);
  /* each once, in the order of the done queue; the results stay */
  for (i = 0; i < 3; i++) {
    got[i] = gls_http_pool_next_finished(p);
    for (j = 0; j < i; j++) CHECK(got[j] != got[i]);
    CHECK(got[i] == ids[0] || got[i] == ids[1] || got[i] == ids[2]);
  }
  CHECK(gls_http_pool_next_finished(p) == 0);
  CHECK(gls_http_pool_done(p, 0)->id == got[0]);
  for (i = 0; i < 3; i++) gls_http_pool_release(p, gls_http_pool_done(p, ids[i]));
  /* a result dropped before it was reported is never reported */
  for (i = 0; i < 2; i++) later[i] = gls_http_pool_add(p, &req, err, sizeof err);
  drive_until_done(p, later, 2);
  got[0] = gls_http_pool_done(p, 0)->id;
  CHECK(gls_http_pool_cancel(p, got[0]) == 1);
  got[1] = gls_http_pool_next_finished(p);
  CHECK(got[1] != got[0] && (got[1] == later[0] || got[1] == later[1]));
  CHECK(gls_http_pool_next_finished(p) == 0);
  gls_http_pool_free(p); /* with one result never taken */
}

/* A direct transfer whose socket is closed under it (what libcurl's cache does to a connection
 * it prunes as dead): poll says only POLLNVAL, which curl_multi_poll does not pass on. The
 * transfer must fail at once, not spin until its timeout. */
static void test_socket_closed_under_transfer(void) {
  gls_http_pool *p = gls_http_pool_new(NULL, NULL, 0);
  server s;
  gls_http_request req;
  char err[256];
  const gls_http_result *r = NULL;
  struct sockaddr_in peer, a;
  socklen_t len = sizeof peer;
  int64_t id;
  int fd, client = -1;
  double t0, deadline;
  server_open(&s);
  memset(&req, 0, sizeof req);
  req.url = url_for(s.port, "/never");
  req.timeout_ms = 3000;
  id = gls_http_pool_add(p, &req, err, sizeof err);
  CHECK(id > 0);
  deadline = now() + 3;
  while (now() < deadline && !server_step(&s)) gls_http_pool_perform(p, 10, err, sizeof err);
  /* the request has arrived: the client's socket is the one whose local port is the peer's */
  CHECK(getpeername(s.cfd, (struct sockaddr *)&peer, &len) == 0);
  for (fd = 3; fd < 1024 && client < 0; fd++) {
    socklen_t alen = sizeof a;
    if (fd == s.cfd || fd == s.lfd) continue;
    if (getsockname(fd, (struct sockaddr *)&a, &alen) == 0 && a.sin_family == AF_INET &&
        a.sin_port == peer.sin_port)
      client = fd;
  }
  CHECK(client >= 0);
  if (client >= 0) close(client);
  t0 = now();
  while (now() < t0 + 5 && !(r = gls_http_pool_done(p, id))) gls_http_pool_perform(p, 100, err, sizeof err);
  CHECK(r != NULL);
  CHECK(now() - t0 < 1.0);
  if (r) CHECK_STR(r->err_code, "NetworkError");
  server_close(&s);
  gls_http_pool_free(p);
}

/* A curl_multi_add_handle that fails is said as that, with its CURLMcode's text, on both paths
 * (a direct transfer said "curl_easy_setopt: Out of memory"); the pool goes on. */
static void test_multi_add_fails(void) {
  int libcurl_only;
  char want[128];
  snprintf(want, sizeof want, "curl_multi_add_handle: %s", curl_multi_strerror(CURLM_OUT_OF_MEMORY));
  for (libcurl_only = 0; libcurl_only <= 1; libcurl_only++) {
    char err[256];
    server s;
    gls_http_pool_opts o;
    gls_http_pool *p;
    gls_http_request req;
    const gls_http_result *r;
    int64_t id;
    memset(&o, 0, sizeof o);
    o.libcurl_only = libcurl_only;
    p = gls_http_pool_new(&o, err, sizeof err);
    server_open(&s);
    memset(&req, 0, sizeof req);
    req.url = url_for(s.port, "/m");
    req.timeout_ms = 3000;
    fail_multi_add = CURLM_OUT_OF_MEMORY;
    err[0] = '\0';
    id = gls_http_pool_add(p, &req, err, sizeof err);
    fail_multi_add = CURLM_OK;
    CHECK(id == 0);
    CHECK_STR(err, want);
    CHECK(gls_http_pool_perform(p, 0, err, sizeof err) == 0);
    id = gls_http_pool_add(p, &req, err, sizeof err);
    CHECK(id > 0);
    r = exchange(p, &s, id, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    CHECK(r != NULL && r->status == 200 && r->body_len == 2);
    if (r) gls_http_pool_release(p, r);
    server_close(&s);
    gls_http_pool_free(p);
  }
}

int main(void) {
  test_bad_input();
  test_multi_add_fails();
  test_exchange();
  test_failures();
  test_next_finished();
  test_timeout_cancel_and_free_in_flight();
  test_socket_closed_under_transfer();
  return CTEST_DONE();
}
