/* The ceiling of bench/http_bench.sh: the same GET as a GetStreamSession call, through one
 * libcurl multi handle with N transfers in flight, no signing and no parsing. Each easy handle
 * is set up once and re-added after every transfer (what a minimal reusing loop does); the body
 * is copied into a growable buffer, as the project's pool does.
 *
 * Usage: http_curl URL IN_FLIGHT SECONDS WARM_SECONDS [CALLS]
 *   CALLS (for bench/http_profile.sh): no warm-up, stop after CALLS transfers
 *   env HTTP_CURL_HEADERS: more request header lines, separated by newlines (the profile sends
 *   the header set of a signed call with it, to show what those headers cost libcurl itself)
 * Prints: calls=N wall=S cpu=S bytes=B (for the measured window only) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct xfer {
  CURL *easy;
  char *buf;
  size_t len, cap;
} xfer;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  xfer *x = ud;
  size_t k = size * n;
  if (x->len + k > x->cap) {
    size_t cap = x->cap ? x->cap : 1024;
    char *b;
    while (cap < x->len + k) cap *= 2;
    if (!(b = realloc(x->buf, cap))) return 0;
    x->buf = b;
    x->cap = cap;
  }
  memcpy(x->buf + x->len, p, k);
  x->len += k;
  return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
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

int main(int argc, char **argv) {
  const char *url;
  int n, i, running = 0;
  double secs, warm, t0, c0 = 0, t_end, start = 0;
  long calls = 0, bytes = 0, errors = 0, fixed = 0, started;
  int measuring = 0;
  CURLM *m;
  xfer *xs;
  struct curl_slist *hdrs = NULL;
  if (argc < 5) {
    fprintf(stderr, "usage: %s URL IN_FLIGHT SECONDS WARM_SECONDS\n", argv[0]);
    return 2;
  }
  url = argv[1];
  n = atoi(argv[2]);
  secs = atof(argv[3]);
  warm = atof(argv[4]);
  if (argc > 5) fixed = atol(argv[5]);
  if (fixed > 0) warm = 0;
  if (n < 1) n = 1;
  if (fixed > 0 && n > fixed) n = (int)fixed;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  m = curl_multi_init();
  xs = calloc((size_t)n, sizeof *xs);
  if (!m || !xs) return 1;
  hdrs = curl_slist_append(hdrs, "Expect:");
  hdrs = curl_slist_append(hdrs, "Accept:");
  if (getenv("HTTP_CURL_HEADERS")) {
    char *all = strdup(getenv("HTTP_CURL_HEADERS")), *line, *save = NULL;
    for (line = all ? strtok_r(all, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
      hdrs = curl_slist_append(hdrs, line);
    free(all);
  }
  for (i = 0; i < n; i++) {
    CURL *e = curl_easy_init();
    if (!e) return 1;
    xs[i].easy = e;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)&xs[i]);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)&xs[i]);
    curl_multi_add_handle(m, e);
  }
  started = n;
  t0 = now();
  t_end = t0 + warm + secs;
  if (fixed > 0) {
    measuring = 1;
    start = t0;
    c0 = cpu();
  }
  for (;;) {
    CURLMsg *msg;
    int left;
    double t;
    curl_multi_perform(m, &running);
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      xfer *x = NULL;
      long status = 0;
      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK || status != 200) errors++;
      curl_multi_remove_handle(m, x->easy);
      if (measuring) {
        calls++;
        bytes += (long)x->len;
      }
      x->len = 0;
      t = now();
      if (fixed > 0 ? started < fixed : t < t_end) {
        curl_multi_add_handle(m, x->easy);
        started++;
      }
    }
    t = now();
    if (!measuring && t >= t0 + warm) {
      measuring = 1;
      start = t;
      c0 = cpu();
    }
    if (fixed > 0 ? calls >= fixed : t >= t_end && running == 0) break;
    curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  printf("calls=%ld wall=%.6f cpu=%.6f bytes=%ld errors=%ld\n", calls, now() - start, cpu() - c0, bytes,
         errors);
  for (i = 0; i < n; i++) curl_easy_cleanup(xs[i].easy);
  curl_slist_free_all(hdrs);
  curl_multi_cleanup(m);
  free(xs);
  curl_global_cleanup();
  return errors ? 1 : 0;
}
