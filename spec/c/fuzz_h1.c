/* libFuzzer target for the HTTP/1.1 response reader (csrc/h1.c). The first byte picks the
 * flags (HEAD request, a body limit, small line and head limits, eof at the end), the second the
 * size of the pieces the rest is fed in; the rest is what a connection gives. Checks that the
 * outcome does not depend on how the bytes are cut (whole against pieces), that the body is
 * never more bytes than were fed, and that a response said done never took more than was fed. */
#include "h1.h"

#include <stdlib.h>
#include <string.h>

typedef struct sink {
  size_t body, lines;
} sink;

static int on_line(void *ud, const char *s, size_t n) {
  (void)s;
  ((sink *)ud)->lines += n + 1;
  return 1;
}

static int on_body(void *ud, const char *p, size_t n) {
  (void)p;
  ((sink *)ud)->body += n;
  return 1;
}

typedef struct outcome {
  int r, err, reusable;
  long status;
  size_t used, body, lines;
} outcome;

static outcome run(const unsigned char *d, size_t n, size_t step, unsigned flags) {
  gls_h1 h;
  sink s = {0, 0};
  outcome o;
  size_t at = 0;
  memset(&o, 0, sizeof o);
  gls_h1_init(&h);
  h.head_request = flags & 1;
  if (flags & 2) h.max_body = 100;
  if (flags & 4) {
    h.max_line = 64;
    h.max_head = 256;
  }
  h.on_line = on_line;
  h.on_body = on_body;
  h.ud = &s;
  o.r = GLS_H1_MORE;
  while (at < n) {
    size_t k = step && n - at > step ? step : n - at, used = 0;
    o.r = gls_h1_feed(&h, (const char *)d + at, k, &used);
    if (used > k) abort();
    if (o.r != GLS_H1_MORE) {
      o.used = at + used;
      break;
    }
    at += k;
  }
  if (o.r == GLS_H1_MORE && (flags & 8)) o.r = gls_h1_eof(&h);
  o.err = h.err;
  o.status = h.status;
  o.reusable = h.reusable;
  o.body = s.body;
  o.lines = s.lines;
  gls_h1_free(&h);
  return o;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  outcome whole, cut;
  unsigned flags;
  size_t step;
  if (size < 2) return 0;
  flags = data[0];
  step = (size_t)data[1] % 16 + 1;
  data += 2;
  size -= 2;
  whole = run(data, size, 0, flags);
  cut = run(data, size, step, flags);
  if (whole.r != cut.r || whole.err != cut.err || whole.status != cut.status ||
      whole.reusable != cut.reusable || whole.body != cut.body || whole.lines != cut.lines)
    abort();
  if (whole.r == GLS_H1_DONE && (whole.used != cut.used || whole.used > size)) abort();
  if (whole.body > size) abort();
  return 0;
}
