/* What a transport that writes its own request head would cost (bench/http_bench.sh's
 * optional curl-raw rows): the same GET as bench/http_curl.c with the same header lines, N
 * in flight, each on a connection libcurl opens (CURLOPT_CONNECT_ONLY, kept inside the multi
 * handle as libcurl requires), the request head written per call with memcpy into one buffer
 * and sent with curl_easy_send, the reply read with curl_easy_recv and parsed here: status
 * line, header lines into lower-case "name\0value\0" pairs (as csrc/http.c's header callback
 * stores them), Content-Length framing, the body copied into a growable buffer. A measurement
 * of the approach only: no chunked bodies, no 1xx, no timeouts, no resend on a closed
 * connection (the fixed reply of the bench needs none of them; a real transport does).
 *
 * Usage: http_raw URL IN_FLIGHT SECONDS WARM_SECONDS
 *   env HTTP_CURL_HEADERS: more request header lines, separated by newlines (as http_curl)
 * Prints: calls=N wall=S cpu=S bytes=B errors=E (for the measured window only) */
#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static int buf_add(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *q;
    while (cap < b->len + n + 1) cap *= 2;
    if (!(q = realloc(b->p, cap))) return -1;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return 0;
}

typedef struct conn {
  CURL *easy;
  curl_socket_t fd;
  buf out, in, pairs, body;
  size_t sent, body_need, head_len;
  int state; /* 0 idle, 1 sending, 2 reading */
} conn;

/* The end of the head (after its blank line) in p[0..n), or NULL. */
static const char *head_end(const char *p, size_t n) {
  const char *q = p, *end = p + n;
  while ((q = memchr(q, '\r', (size_t)(end - q))) != NULL) {
    if (end - q >= 4 && memcmp(q, "\r\n\r\n", 4) == 0) return q + 4;
    q++;
  }
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* The head's header lines (after the status line) into pairs; the Content-Length. */
static long parse_head(conn *c, const char *h, size_t n, long *status) {
  const char *line = memchr(h, '\n', n), *end = h + n;
  long length = -1;
  *status = n > 12 ? strtol(h + 9, NULL, 10) : 0;
  c->pairs.len = 0;
  while (line && ++line < end) {
    const char *eol = memchr(line, '\n', (size_t)(end - line)), *colon, *v;
    size_t k, vn;
    if (!eol) break;
    vn = (size_t)(eol - line);
    if (vn && line[vn - 1] == '\r') vn--;
    if (vn == 0) break;
    colon = memchr(line, ':', vn);
    if (colon) {
      size_t at = c->pairs.len;
      k = (size_t)(colon - line);
      if (buf_add(&c->pairs, line, k + 1)) return -2;
      for (size_t i = 0; i < k; i++) {
        char ch = c->pairs.p[at + i];
        if (ch >= 'A' && ch <= 'Z') c->pairs.p[at + i] = (char)(ch + 32);
      }
      c->pairs.p[at + k] = '\0';
      for (v = colon + 1; v < line + vn && (*v == ' ' || *v == '\t'); v++) {}
      if (buf_add(&c->pairs, v, (size_t)(line + vn - v)) || buf_add(&c->pairs, "", 1)) return -2;
      if (k == 14 && memcmp(c->pairs.p + at, "content-length", 14) == 0) length = strtol(v, NULL, 10);
    }
    line = eol;
  }
  return length;
}

int main(int argc, char **argv) {
  const char *url, *extra = getenv("HTTP_CURL_HEADERS");
  char target[2048], host[512];
  int n, i, measuring = 0;
  double secs, warm, t0, c0 = 0, t_end, start = 0;
  long calls = 0, bytes = 0, errors = 0;
  CURLM *m;
  conn *cs;
  struct pollfd *pfd;
  CURLU *u = curl_url();
  char *h = NULL, *port = NULL, *path = NULL;
  buf lines = {0};
  if (argc < 5) {
    fprintf(stderr, "usage: %s URL IN_FLIGHT SECONDS WARM_SECONDS\n", argv[0]);
    return 2;
  }
  url = argv[1];
  n = atoi(argv[2]);
  secs = atof(argv[3]);
  warm = atof(argv[4]);
  if (n < 1) n = 1;
  if (!u || curl_url_set(u, CURLUPART_URL, url, 0) || curl_url_get(u, CURLUPART_HOST, &h, 0) ||
      curl_url_get(u, CURLUPART_PORT, &port, 0) || curl_url_get(u, CURLUPART_PATH, &path, 0))
    return 2;
  snprintf(host, sizeof host, "%s:%s", h, port);
  snprintf(target, sizeof target, "%s", path);
  /* the header lines a call sends, CRLF-ended, as the per-call head copies them */
  if (extra) {
    char *all = strdup(extra), *line, *save = NULL;
    for (line = all ? strtok_r(all, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
      if (buf_add(&lines, line, strlen(line)) || buf_add(&lines, "\r\n", 2)) return 1;
    free(all);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  m = curl_multi_init();
  cs = calloc((size_t)n, sizeof *cs);
  pfd = calloc((size_t)n, sizeof *pfd);
  if (!m || !cs || !pfd) return 1;
  for (i = 0; i < n; i++) { /* connect every connection first */
    CURL *e = curl_easy_init();
    if (!e) return 1;
    cs[i].easy = e;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    curl_multi_add_handle(m, e);
  }
  for (;;) {
    int running = 0, left;
    CURLMsg *msg;
    curl_multi_perform(m, &running);
    while ((msg = curl_multi_info_read(m, &left)) != NULL)
      if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK) return 1;
    if (running == 0) break;
    curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  for (i = 0; i < n; i++)
    if (curl_easy_getinfo(cs[i].easy, CURLINFO_ACTIVESOCKET, &cs[i].fd) != CURLE_OK) return 1;
  t0 = now();
  t_end = t0 + warm + secs;
  for (;;) {
    double t = now();
    int active = 0;
    if (!measuring && t >= t0 + warm) {
      measuring = 1;
      start = t;
      c0 = cpu();
    }
    for (i = 0; i < n; i++) {
      conn *c = &cs[i];
      if (c->state == 0 && t < t_end) { /* a new request: the head written, then sent */
        c->out.len = 0;
        if (buf_add(&c->out, "GET ", 4) || buf_add(&c->out, target, strlen(target)) ||
            buf_add(&c->out, " HTTP/1.1\r\nHost: ", 17) || buf_add(&c->out, host, strlen(host)) ||
            buf_add(&c->out, "\r\n", 2) || buf_add(&c->out, lines.p ? lines.p : "", lines.len) ||
            buf_add(&c->out, "\r\n", 2))
          return 1;
        c->sent = 0;
        c->in.len = c->body.len = c->head_len = 0;
        c->state = 1;
      }
      if (c->state == 1) {
        size_t k = 0;
        CURLcode rc = curl_easy_send(c->easy, c->out.p + c->sent, c->out.len - c->sent, &k);
        if (rc != CURLE_OK && rc != CURLE_AGAIN) return 1;
        c->sent += k;
        if (c->sent == c->out.len) c->state = 2;
      }
      if (c->state) {
        pfd[active].fd = c->fd;
        pfd[active].events = c->state == 1 ? POLLOUT : POLLIN;
        pfd[active].revents = 0;
        active++;
      }
    }
    if (active == 0) break;
    if (poll(pfd, (nfds_t)active, 1000) < 0) return 1;
    for (i = 0; i < n; i++) {
      conn *c = &cs[i];
      char chunk[16384];
      size_t k = 0;
      CURLcode rc;
      if (c->state != 2) continue;
      rc = curl_easy_recv(c->easy, chunk, sizeof chunk, &k);
      if (rc == CURLE_AGAIN) continue;
      if (rc != CURLE_OK || k == 0) return 1;
      if (c->head_len == 0) {
        const char *end;
        long status = 0, length;
        if (buf_add(&c->in, chunk, k)) return 1;
        end = head_end(c->in.p, c->in.len);
        if (!end) continue;
        c->head_len = (size_t)(end - c->in.p);
        length = parse_head(c, c->in.p, c->head_len, &status);
        if (length < 0 || status != 200) errors++;
        c->body_need = length < 0 ? 0 : (size_t)length;
        if (buf_add(&c->body, c->in.p + c->head_len, c->in.len - c->head_len)) return 1;
      } else if (buf_add(&c->body, chunk, k)) {
        return 1;
      }
      if (c->body.len >= c->body_need) {
        if (measuring) {
          calls++;
          bytes += (long)c->body.len;
        }
        c->state = 0;
      }
    }
  }
  printf("calls=%ld wall=%.6f cpu=%.6f bytes=%ld errors=%ld\n", calls, now() - start, cpu() - c0, bytes,
         errors);
  for (i = 0; i < n; i++) {
    curl_multi_remove_handle(m, cs[i].easy);
    curl_easy_cleanup(cs[i].easy);
    free(cs[i].out.p);
    free(cs[i].in.p);
    free(cs[i].pairs.p);
    free(cs[i].body.p);
  }
  curl_multi_cleanup(m);
  curl_url_cleanup(u);
  curl_free(h);
  curl_free(port);
  curl_free(path);
  free(lines.p);
  free(cs);
  free(pfd);
  curl_global_cleanup();
  return errors ? 1 : 0;
}
