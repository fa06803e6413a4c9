/* The HTTP/1.1 response reader (csrc/h1.c): framing, errors and where a response ends, each
 * input fed whole and cut at every size from 1 to 7 bytes (the result must not depend on how
 * the connection cuts it). */
#include "h1.h"
#include "ctest.h"

#include <stdlib.h>

typedef struct out {
  char lines[4096];
  size_t lines_len;
  char body[4096];
  size_t body_len;
  int stop_body; /* the body callback refuses */
} out;

static int on_line(void *ud, const char *s, size_t n) {
  out *o = ud;
  if (o->lines_len + n + 1 < sizeof o->lines) {
    memcpy(o->lines + o->lines_len, s, n);
    o->lines_len += n;
    o->lines[o->lines_len++] = '|';
    o->lines[o->lines_len] = '\0';
  }
  return 1;
}

static int on_body(void *ud, const char *p, size_t n) {
  out *o = ud;
  if (o->stop_body) return 0;
  if (o->body_len + n < sizeof o->body) {
    memcpy(o->body + o->body_len, p, n);
    o->body_len += n;
    o->body[o->body_len] = '\0';
  }
  return 1;
}

typedef struct result {
  int r;         /* GLS_H1_DONE / ERROR / MORE (all fed, no end) */
  int err;
  long status;
  int reusable;
  size_t used;   /* bytes of the input the response took */
  out o;
} result;

/* Feeds s in pieces of `step` bytes (0: whole); eof: then says the connection closed. */
static result run(const char *s, size_t n, size_t step, int eof, int head_request, uint64_t max_body,
                  size_t max_line, size_t max_head, int stop_body) {
  gls_h1 h;
  result res;
  size_t at = 0;
  memset(&res, 0, sizeof res);
  res.o.stop_body = stop_body;
  gls_h1_init(&h);
  h.head_request = head_request;
  h.max_body = max_body;
  if (max_line) h.max_line = max_line;
  if (max_head) h.max_head = max_head;
  h.on_line = on_line;
  h.on_body = on_body;
  h.ud = &res.o;
  res.r = GLS_H1_MORE;
  while (at < n) {
    size_t k = step && n - at > step ? step : n - at, used = 0;
    res.r = gls_h1_feed(&h, s + at, k, &used);
    if (res.r != GLS_H1_MORE) {
      res.used = at + used;
      break;
    }
    at += k;
    res.used = at;
  }
  if (res.r == GLS_H1_MORE && eof) res.r = gls_h1_eof(&h);
  res.err = h.err;
  res.status = h.status;
  res.reusable = h.reusable;
  gls_h1_free(&h);
  return res;
}

/* The same outcome whole and cut at every step from 1 to 7. */
static result check_steps(const char *s, int eof, int head_request, uint64_t max_body, size_t max_line,
                          size_t max_head, int stop_body) {
  size_t n = strlen(s), step;
  result whole = run(s, n, 0, eof, head_request, max_body, max_line, max_head, stop_body);
  int same = 1;
  for (step = 1; step <= 7; step++) {
    result cut = run(s, n, step, eof, head_request, max_body, max_line, max_head, stop_body);
    same = same && cut.r == whole.r && cut.err == whole.err && cut.status == whole.status &&
           cut.reusable == whole.reusable && (whole.r != GLS_H1_DONE || cut.used == whole.used) &&
           cut.o.body_len == whole.o.body_len && memcmp(cut.o.body, whole.o.body, whole.o.body_len) == 0 &&
           strcmp(cut.o.lines, whole.o.lines) == 0;
  }
  CHECK(same); /* one check per input: the same outcome at every cut */
  return whole;
}

static result feed(const char *s) { return check_steps(s, 0, 0, 0, 0, 0, 0); }
static result feed_eof(const char *s) { return check_steps(s, 1, 0, 0, 0, 0, 0); }

static void framing(void) {
  result r;
  const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
  r = feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
  CHECK(r.r == GLS_H1_DONE);
  CHECK(r.status == 200);
  CHECK(r.reusable);
  CHECK_STR(r.o.body, "hello");
  CHECK_STR(r.o.lines, "HTTP/1.1 200 OK|Content-Length: 5|X-A: b||");
  /* bytes past the end are not the response's */
  r = feed(two);
  CHECK(r.r == GLS_H1_DONE);
  CHECK(r.used == strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  CHECK_STR(r.o.body, "ok");
  /* chunked, with extensions, junk after a size (passed over, as libcurl), CRs after a chunk's
     data, and a trailer (passed on after the head's blank line) */
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6zz\r\n world\r\r\n0\r\nT: v\r\n\r\n");
  CHECK(r.r == GLS_H1_DONE);
  CHECK(r.reusable);
  CHECK_STR(r.o.body, "hello world");
  CHECK_STR(r.o.lines, "HTTP/1.1 200 OK|Transfer-Encoding: chunked||T: v|");
  /* a 101 is read until the close, and not kept */
  r = feed_eof("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nContent-Length: 1\r\n\r\nnot HTTP");
  CHECK(r.r == GLS_H1_DONE && r.status == 101 && !r.reusable);
  CHECK_STR(r.o.body, "not HTTP");
  /* no framing: until close */
  r = feed_eof("HTTP/1.1 200 OK\r\nX: y\r\n\r\nall of it");
  CHECK(r.r == GLS_H1_DONE);
  CHECK(!r.reusable);
  CHECK_STR(r.o.body, "all of it");
  r = feed("HTTP/1.1 200 OK\r\nX: y\r\n\r\nall of it");
  CHECK(r.r == GLS_H1_MORE);
  /* HTTP/1.0 and Connection: close are not kept */
  r = feed("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  CHECK(r.r == GLS_H1_DONE && !r.reusable);
  r = feed("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\nContent-Length: 2\r\n\r\nok");
  CHECK(r.r == GLS_H1_DONE && !r.reusable);
  /* bare LF line ends */
  r = feed("HTTP/1.1 201 Created\nContent-Length: 2\n\nok");
  CHECK(r.r == GLS_H1_DONE && r.status == 201);
  CHECK_STR(r.o.body, "ok");
  /* no body: 204, 304, a HEAD request, whatever the head says */
  r = feed("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(r.r == GLS_H1_DONE && r.reusable && r.o.body_len == 0);
  CHECK(r.used == strlen("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"));
  r = feed("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(r.r == GLS_H1_DONE && r.o.body_len == 0);
  r = check_steps("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0, 1, 0, 0, 0, 0);
  CHECK(r.r == GLS_H1_DONE && r.reusable);
  /* 1xx heads are passed on and skipped */
  r = feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  CHECK(r.r == GLS_H1_DONE && r.status == 200);
  CHECK_STR(r.o.lines, "HTTP/1.1 100 Continue||HTTP/1.1 103 Early Hints|Link: </a>||HTTP/1.1 200 OK|Content-Length: 2||");
  /* equal lengths agree */
  r = feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
  CHECK(r.r == GLS_H1_DONE && r.reusable);
  r = feed("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok");
  CHECK(r.r == GLS_H1_DONE);
  r = feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK(r.r == GLS_H1_DONE && r.reusable && r.o.body_len == 0);
  /* a folded line continues another header */
  r = feed("HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 2\r\n\r\nok");
  CHECK(r.r == GLS_H1_DONE);
}

static void errors(void) {
  result r;
  char big[600];
  size_t i;
  /* (an empty element too: "5,,5", "5," and ",5" are refused, as csrc/http.c's header callback
     refuses them on libcurl's own HTTP, and the cosocket transport) */
  static const char *const bad_lengths[] = {"+5", "5x", "-1", "", " ", "0x5", "1 2", "5, 6", ",",
                                            "5,,5", "5,", ",5"};
  for (i = 0; i < sizeof bad_lengths / sizeof bad_lengths[0]; i++) {
    char s[200];
    snprintf(s, sizeof s, "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\nhello", bad_lengths[i]);
    r = feed(s);
    CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  }
  r = feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  /* a framing header may not be folded */
  r = feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 3\r\n\r\nok");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  /* Transfer-Encoding: chunked alone, and not beside a Content-Length */
  r = feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  /* a NUL in a head line; a trailer line without a colon, or over 64 KB */
  {
    static const char nul[] = "HTTP/1.1 200 OK\r\nX-N: a\0b\r\nContent-Length: 0\r\n\r\n";
    result w = run(nul, sizeof nul - 1, 0, 0, 0, 0, 0, 0, 0);
    CHECK(w.r == GLS_H1_ERROR && w.err == GLS_H1_E_BAD_FRAMING);
  }
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a trailer\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  {
    static char tr[70100];
    size_t k = (size_t)snprintf(tr, sizeof tr, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ");
    memset(tr + k, 't', 66000);
    memcpy(tr + k + 66000, "\r\n\r\n", 5);
    r = check_steps(tr, 0, 0, 0, 0, 0, 0);
    CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_FRAMING);
  }
  /* not HTTP: said by the fifth byte */
  r = feed("<html>");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_NOT_HTTP && r.used == 0);
  r = feed("HTTPS");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_NOT_HTTP);
  r = feed("\r\nHTTP/1.1 200 OK\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_NOT_HTTP);
  r = feed("HTTP/2 200\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_STATUS);
  r = feed("HTTP/1.1 2000 X\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_STATUS);
  r = feed("HTTP/1.1 099 X\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_STATUS);
  r = feed("HTTP/1.1 20\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_STATUS);
  /* HTTP/1.0 and 1.1 only, a space after the status (libcurl's own HTTP refuses these too) */
  r = feed("HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_STATUS);
  r = feed("HTTP/1.1 200\tOK\r\nContent-Length: 0\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_STATUS);
  /* chunks */
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_CHUNK);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_CHUNK);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_CHUNK);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8000000000000000\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_CHUNK);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_CHUNK);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\nok\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_CHUNK);
  r = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BAD_CHUNK);
  /* limits */
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  {
    char s[800];
    snprintf(s, sizeof s, "HTTP/1.1 200 OK\r\nX: %s\r\n\r\n", big);
    r = check_steps(s, 0, 0, 0, 100, 0, 0);
    CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_LINE_TOO_BIG);
    r = check_steps(s, 0, 0, 0, 0, 300, 0);
    CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_HEAD_TOO_BIG);
    r = check_steps(s, 0, 0, 0, 1000, 1000, 0);
    CHECK(r.r == GLS_H1_MORE);
  }
  r = check_steps("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 0, 0, 10, 0, 0, 0);
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BODY_TOO_BIG);
  r = check_steps("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 0, 0, 10, 0, 0, 0);
  CHECK(r.r == GLS_H1_MORE);
  /* a length past 2^64 is over any limit, not malformed */
  r = check_steps("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0, 0, 10, 0, 0, 0);
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_BODY_TOO_BIG);
  r = check_steps("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 0, 0, 0, 0, 1);
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_STOPPED);
  /* the connection closes */
  r = feed_eof("");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_EMPTY);
  r = feed_eof("HTTP/1.1 200 OK\r\nContent-");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_CUT_HEAD);
  r = feed_eof("HTTP/1.1 20");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_EMPTY);
  r = feed_eof("HTTP/1.1 100 Continue\r\n\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_EMPTY);
  r = feed_eof("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_CUT_BODY);
  r = feed_eof("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_CUT_BODY);
  r = feed_eof("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n");
  CHECK(r.r == GLS_H1_ERROR && r.err == GLS_H1_E_CUT_BODY);
}

/* After a response ends, the next one on the same connection (gls_h1_reset) reads alone. */
static void reuse(void) {
  gls_h1 h;
  out o;
  size_t used = 0;
  const char *one = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
  const char *two = "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nb";
  memset(&o, 0, sizeof o);
  gls_h1_init(&h);
  h.on_line = on_line;
  h.on_body = on_body;
  h.ud = &o;
  CHECK(gls_h1_feed(&h, one, strlen(one), &used) == GLS_H1_DONE);
  CHECK(gls_h1_feed(&h, "x", 1, &used) == GLS_H1_DONE && used == 0);
  gls_h1_reset(&h);
  CHECK(h.on_line == on_line && h.status == 0 && h.received == 0);
  CHECK(gls_h1_feed(&h, two, strlen(two), &used) == GLS_H1_DONE);
  CHECK(h.status == 404);
  CHECK_STR(o.body, "ab");
  gls_h1_free(&h);
}

/* The rules h1.h exports (csrc/http.c's header callback applies them to libcurl's own HTTP). */
static void rules(void) {
  gls_h1_framing f;
  int minor = -1;
  long status = -1;
  CHECK(gls_h1_name_is("Content-LENGTH", 14, "content-length"));
  CHECK(!gls_h1_name_is("Content-Length", 13, "content-length"));
  CHECK(!gls_h1_name_is("Content-Lengtx", 14, "content-length"));
  CHECK(gls_h1_status_line("HTTP/1.0 404", 12, &minor, &status) && minor == 0 && status == 404);
  CHECK(gls_h1_status_line("HTTP/1.1 999 X", 14, NULL, NULL));
  CHECK(!gls_h1_status_line("HTTP/1.1 200\tOK", 15, NULL, NULL));
  CHECK(!gls_h1_status_line("HTTP/1.1 200", 11, NULL, NULL)); /* n counts */
  memset(&f, 0, sizeof f);
  CHECK(gls_h1_framing_header(&f, "X-A", 3, "5", 1) == GLS_H1_H_OTHER);
  CHECK(gls_h1_framing_header(&f, "content-length", 14, " 7 ,7\t", 6) == GLS_H1_H_FRAMING);
  CHECK(f.has_length && f.length == 7 && gls_h1_framing_ok(&f));
  CHECK(gls_h1_framing_header(&f, "Content-Length", 14, "8", 1) == GLS_H1_H_BAD_LENGTH);
  CHECK(gls_h1_framing_header(&f, "Content-Length", 14, "99999999999999999999999", 23) == GLS_H1_H_BAD_LENGTH);
  CHECK(gls_h1_framing_header(&f, "Transfer-Encoding", 17, "\tChunked ", 9) == GLS_H1_H_FRAMING);
  CHECK(f.chunked && !gls_h1_framing_ok(&f));
  CHECK(gls_h1_framing_header(&f, "Transfer-Encoding", 17, "chunked", 7) == GLS_H1_H_BAD_CODING);
  CHECK(gls_h1_framing_header(&f, "Connection", 10, "keep-alive, Close", 17) == GLS_H1_H_FRAMING && f.close);
  memset(&f, 0, sizeof f);
  CHECK(gls_h1_framing_header(&f, "content-length", 14, "99999999999999999999999", 23) == GLS_H1_H_FRAMING);
  CHECK(f.length == UINT64_MAX);
}

int main(void) {
  rules();
  framing();
  errors();
  reuse();
  return CTEST_DONE();
}
