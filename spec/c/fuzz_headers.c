/* A fuzz target for the response side of the HTTP pool: header collection. The input, split at
 * '\n', is the header lines of one response as libcurl hands them to the header callback (each
 * line with its line break; a status line starts the input and follows each 1xx head). It
 * checks, beside the sanitizers:
 * - on_header (csrc/http.c) leaves well-formed "name\0value\0" pairs: a non-empty lower-case
 *   name without ':', an even number of NULs, never past the limit (a NUL the server sent is a
 *   space by then);
 * - push_headers (csrc/lhttp.c) gives one Lua string per name, the values of a repeated name
 *   joined with ", " in arrival order (checked against a plain join of the pairs).
 * The two C files are included whole: the functions under test are static. Byte 0 picks the
 * limit (max_response_bytes) between 64 bytes and 16 KB. */
#include "../../csrc/http.c"
#include "../../csrc/lhttp.c"

#include <lualib.h>
#include <stdlib.h>

static lua_State *L;

/* The joined value of name in the pairs, the way the Lua table must hold it. */
static size_t reference_join(const char *pairs, size_t len, const char *name, char *out) {
  const char *s = pairs, *end = pairs + len;
  size_t o = 0;
  int first = 1;
  while (s < end) {
    const char *n = s, *v = s + strlen(s) + 1;
    s = v + strlen(v) + 1;
    if (strcmp(n, name) != 0) continue;
    if (!first) {
      memcpy(out + o, ", ", 2);
      o += 2;
    }
    memcpy(out + o, v, strlen(v));
    o += strlen(v);
    first = 0;
  }
  return o;
}

static void check_pairs(const gls_buf *h, size_t n_pairs) {
  size_t i, nuls = 0, start = 0;
  if (h->len > h->max) abort();
  for (i = 0; i < h->len; i++) {
    if (h->p[i] != '\0') continue;
    if (nuls % 2 == 0) { /* the end of a name */
      size_t k, n = i - start;
      if (n == 0) abort();
      for (k = start; k < i; k++)
        if ((h->p[k] >= 'A' && h->p[k] <= 'Z') || h->p[k] == ':') abort();
    }
    nuls++;
    start = i + 1;
  }
  if (nuls % 2 != 0 || (h->len && h->p[h->len - 1] != '\0')) abort();
  if (nuls / 2 != n_pairs) abort(); /* the count push_headers sizes its table by */
}

static void check_table(const gls_buf *h, size_t n_pairs) {
  const char *pairs = h->p ? h->p : "", *s = pairs, *end = pairs + h->len;
  char *want = malloc(h->len * 2 + 1);
  int top = lua_gettop(L);
  gls_http_result r;
  memset(&r, 0, sizeof r);
  r.headers = pairs;
  r.headers_len = h->len;
  r.n_headers = n_pairs;
  push_headers(L, &r);
  while (s < end) {
    const char *name = s, *v = s + strlen(s) + 1, *got;
    size_t wl = reference_join(pairs, h->len, name, want), gl;
    s = v + strlen(v) + 1;
    lua_getfield(L, -1, name);
    got = lua_tolstring(L, -1, &gl);
    if (!got || gl != wl || memcmp(got, want, wl) != 0) abort();
    lua_pop(L, 1);
  }
  free(want);
  lua_settop(L, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  xfer x;
  size_t i, start = 1;
  if (size < 1) return 0;
  if (!L) L = luaL_newstate();
  memset(&x, 0, sizeof x);
  x.hdr.max = 64 + (size_t)data[0] * 64;
  for (i = 1; i <= size; i++) {
    if (i == size || data[i] == '\n') {
      /* libcurl hands a line with its line break; a line cut at the end of the input has none */
      size_t n = i - start + (i < size);
      char *line = malloc(n ? n : 1);
      if (n) memcpy(line, data + start, n);
      if (on_header(line, 1, n, &x) != n) {
        free(line);
        break; /* refused (too large): the transfer ends here */
      }
      free(line);
      start = i + 1;
    }
  }
  check_pairs(&x.hdr, x.n_pairs);
  check_table(&x.hdr, x.n_pairs);
  gls_buf_free(&x.hdr);
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
