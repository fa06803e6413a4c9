/* A fuzz target for the paginator (csrc/paginator.c): the resume-token decoder and feed, on
 * arbitrary bytes. Beside the sanitizers it checks:
 * - decode(encode(token, n)) gives the token and n back, for any token bytes;
 * - a walk started from any starting token, fed any pages, hands out slices inside each page,
 *   never more than max_items in all, and a resume token that decodes to the request token of
 *   the page it stopped in and the items of that page handed out.
 * Input: byte 0 is max_items (0: unlimited); the rest split at '\n' is the starting token, then
 * page tokens, each preceded by a byte that is the page's item count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paginator.h"

static int same(const char *a, size_t an, const char *b, size_t bn) {
  if (!a || !b) return !a && !b;
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void round_trip(const char *tok, size_t len, long long n) {
  size_t elen = 0, dlen = 0;
  long long dn = -1;
  char *dec = NULL, *enc = gls_paginator_encode_token(tok, len, n, &elen);
  if (!enc) abort(); /* the fuzzer has the memory */
  if (gls_paginator_decode_token(enc, elen, &dec, &dlen, &dn) != GLS_PAG_OK) abort();
  if (!same(dec, dlen, tok, len) || dn != (n > 0 ? n : 0)) abort();
  free(enc);
  free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  gls_paginator p;
  long long max, handed = 0;
  size_t start, end;
  char *tok = NULL;
  size_t tok_len = 0;
  long long trunc = 0;
  if (size < 1) return 0;
  max = data[0] ? data[0] : -1;
  /* the decoder on the whole input, and an encode/decode round trip of it */
  if (gls_paginator_decode_token(s + 1, size - 1, &tok, &tok_len, &trunc) == GLS_PAG_OK && trunc < 0)
    abort();
  free(tok);
  round_trip(s + 1, size - 1, (long long)data[0] * 1000003);
  round_trip(NULL, 0, data[0]);

  for (end = 1; end < size && s[end] != '\n'; end++) {}
  if (gls_paginator_init(&p, max, s + 1, end - 1) != GLS_PAG_OK) {
    gls_paginator_free(&p);
    return 0;
  }
  for (start = end + 1; start < size && !gls_paginator_done(&p); start = end + 1) {
    long long n = (unsigned char)s[start], first, last, skip = p.skip;
    size_t req_len = 0;
    const char *req = gls_paginator_next_token(&p, &req_len);
    char *req_copy = req ? malloc(req_len + 1) : NULL;
    int rc;
    if (req) memcpy(req_copy, req, req_len);
    for (end = start + 1; end < size && s[end] != '\n'; end++) {}
    if (start + 1 > end) end = start + 1;
    rc = gls_paginator_feed(&p, s + start + 1, end - start - 1, n, &first, &last);
    if (rc == GLS_PAG_OK || rc == GLS_PAG_REPEATED) { /* a repeated token's page is handed out too */
      if (first < 1 || last > n || (first <= last && first != (skip < n ? skip : n) + 1)) abort();
      if (first <= last) handed += last - first + 1;
      if (handed != p.handed || (max > 0 && handed > max)) abort();
      if (p.resume) { /* stopped: the token says where to go on from */
        char *rt = NULL;
        size_t rl = 0;
        long long rn = 0;
        if (gls_paginator_decode_token(p.resume, p.resume_len, &rt, &rl, &rn) != GLS_PAG_OK) abort();
        if (last < n) { /* mid-page: this page's request token and how far into it */
          if (!same(rt, rl, req_copy, req_len) || rn != last) abort();
        }
        free(rt);
      }
      if (rc == GLS_PAG_REPEATED && (p.resume || !gls_paginator_done(&p))) abort();
    } else {
      abort();
    }
    free(req_copy);
  }
  gls_paginator_free(&p);
  return 0;
}
