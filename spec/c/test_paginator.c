/* Unit tests of the paginator state machine (csrc/paginator.c), without Lua. */
#include "ctest.h"
#include "paginator.h"

#include <stdlib.h>
#include <string.h>

static const char *next(gls_paginator *p) {
  size_t len;
  return gls_paginator_next_token(p, &len);
}

static void test_walks_all_pages(void) {
  gls_paginator p;
  long long f, l;
  CHECK(gls_paginator_init(&p, -1, NULL, 0) == GLS_PAG_OK);
  CHECK(next(&p) == NULL);
  CHECK(!gls_paginator_done(&p));
  CHECK(gls_paginator_feed(&p, "t1", 2, 3, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 3);
  CHECK_STR(next(&p), "t1");
  CHECK(gls_paginator_feed(&p, "t2", 2, 3, &f, &l) == GLS_PAG_OK);
  CHECK_STR(next(&p), "t2");
  CHECK(gls_paginator_feed(&p, NULL, 0, 2, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 2);
  CHECK(gls_paginator_done(&p));
  CHECK(next(&p) == NULL);
  {
    size_t len;
    CHECK(gls_paginator_resume_token(&p, &len) == NULL);
  }
  CHECK(gls_paginator_feed(&p, NULL, 0, 1, &f, &l) == GLS_PAG_DONE);
  gls_paginator_free(&p);
}

static void test_empty_token_ends(void) {
  gls_paginator p;
  long long f, l;
  gls_paginator_init(&p, -1, NULL, 0);
  CHECK(gls_paginator_feed(&p, "", 0, 0, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 0);
  CHECK(gls_paginator_done(&p));
  gls_paginator_free(&p);
}

static void test_repeated_token(void) {
  gls_paginator p;
  long long f, l;
  gls_paginator_init(&p, -1, NULL, 0);
  CHECK(gls_paginator_feed(&p, "same", 4, 1, &f, &l) == GLS_PAG_OK);
  CHECK(gls_paginator_feed(&p, "same", 4, 2, &f, &l) == GLS_PAG_REPEATED);
  CHECK(f == 1 && l == 2); /* the page is still handed out, as botocore yields it */
  CHECK(p.handed == 3);
  CHECK(gls_paginator_done(&p));
  gls_paginator_free(&p);
}

/* max_items reached on the page that repeats the token: the walk ends there with a resume
 * token and no error (botocore checks the boundary first). */
static void test_repeated_token_at_max_items(void) {
  gls_paginator p;
  long long f, l;
  size_t len;
  gls_paginator_init(&p, 4, NULL, 0);
  CHECK(gls_paginator_feed(&p, "same", 4, 2, &f, &l) == GLS_PAG_OK);
  CHECK(gls_paginator_feed(&p, "same", 4, 2, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 2);
  CHECK(gls_paginator_done(&p));
  CHECK(gls_paginator_resume_token(&p, &len) != NULL);
  gls_paginator_free(&p);
}

/* Decodes a resume token and checks its parts. */
static void check_resume(const char *tok, const char *want_next, long long want_trunc) {
  char *t = NULL;
  size_t tl = 0;
  long long tr = -1;
  CHECK(tok != NULL);
  if (!tok) return;
  CHECK(gls_paginator_decode_token(tok, strlen(tok), &t, &tl, &tr) == GLS_PAG_OK);
  if (want_next) CHECK_STR(t, want_next);
  else CHECK(t == NULL);
  CHECK(tr == want_trunc);
  free(t);
}

static void test_max_items_mid_page_and_resume(void) {
  gls_paginator p, q;
  long long f, l;
  size_t len;
  const char *rt;
  /* pages of 4 items; max_items 6: page 1 whole, page 2 items 1..2 */
  gls_paginator_init(&p, 6, NULL, 0);
  CHECK(gls_paginator_feed(&p, "A", 1, 4, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 4);
  CHECK_STR(next(&p), "A");
  CHECK(gls_paginator_feed(&p, "B", 1, 4, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 2);
  CHECK(gls_paginator_done(&p));
  rt = gls_paginator_resume_token(&p, &len);
  /* the request token of the page plus how many of its items were handed out */
  check_resume(rt, "A", 2);
  /* boto3 writes exactly this JSON, base64 */
  CHECK_STR(rt, "eyJOZXh0VG9rZW4iOiAiQSIsICJib3RvX3RydW5jYXRlX2Ftb3VudCI6IDJ9");

  /* resume: requests with token A, skips 2, then max 3 more: 2 of page A, 1 of page B */
  CHECK(gls_paginator_init(&q, 3, rt, len) == GLS_PAG_OK);
  CHECK_STR(next(&q), "A");
  CHECK(gls_paginator_feed(&q, "B", 1, 4, &f, &l) == GLS_PAG_OK);
  CHECK(f == 3 && l == 4);
  CHECK_STR(next(&q), "B");
  CHECK(gls_paginator_feed(&q, "C", 1, 4, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 1);
  rt = gls_paginator_resume_token(&q, &len);
  check_resume(rt, "B", 1);
  gls_paginator_free(&q);
  gls_paginator_free(&p);
}

static void test_max_items_on_first_page(void) {
  gls_paginator p, q;
  long long f, l;
  size_t len;
  const char *rt;
  gls_paginator_init(&p, 2, NULL, 0);
  CHECK(gls_paginator_feed(&p, "X", 1, 5, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 2);
  rt = gls_paginator_resume_token(&p, &len);
  check_resume(rt, NULL, 2); /* first page: no request token, JSON null */
  CHECK(gls_paginator_init(&q, -1, rt, len) == GLS_PAG_OK);
  CHECK(next(&q) == NULL);
  CHECK(!gls_paginator_done(&q));
  CHECK(gls_paginator_feed(&q, NULL, 0, 5, &f, &l) == GLS_PAG_OK);
  CHECK(f == 3 && l == 5);
  gls_paginator_free(&q);
  gls_paginator_free(&p);
}

static void test_max_items_on_page_boundary(void) {
  gls_paginator p;
  long long f, l;
  size_t len;
  gls_paginator_init(&p, 4, NULL, 0);
  CHECK(gls_paginator_feed(&p, "N", 1, 4, &f, &l) == GLS_PAG_OK);
  CHECK(f == 1 && l == 4);
  CHECK(gls_paginator_done(&p));
  check_resume(gls_paginator_resume_token(&p, &len), "N", 0);
  /* no truncate amount at a boundary, as boto3 */
  CHECK_STR(gls_paginator_resume_token(&p, &len), "eyJOZXh0VG9rZW4iOiAiTiJ9");
  gls_paginator_free(&p);

  /* the last page exactly fills max_items: nothing left, no resume token */
  gls_paginator_init(&p, 4, NULL, 0);
  CHECK(gls_paginator_feed(&p, NULL, 0, 4, &f, &l) == GLS_PAG_OK);
  CHECK(gls_paginator_resume_token(&p, &len) == NULL);
  gls_paginator_free(&p);
}

static void test_tokens_with_special_characters(void) {
  const char tok[] = "a\"b\\c\n\x01/\xc3\xa9";
  char *enc, *dec = NULL;
  size_t len, dl;
  long long tr;
  enc = gls_paginator_encode_token(tok, sizeof tok - 1, 7, &len);
  CHECK(enc != NULL);
  CHECK(gls_paginator_decode_token(enc, len, &dec, &dl, &tr) == GLS_PAG_OK);
  CHECK(dl == sizeof tok - 1 && dec && memcmp(dec, tok, dl) == 0);
  CHECK(tr == 7);
  free(enc);
  free(dec);
  /* what Python's json.dumps writes for non-ASCII (ensure_ascii) and surrogate pairs:
     {"NextToken": "\u00e9\ud83d\ude00", "boto_truncate_amount": 1} */
  {
    const char *py = "eyJOZXh0VG9rZW4iOiAiXHUwMGU5XHVkODNkXHVkZTAwIiwgImJvdG9fdHJ1bmNhdGVfYW1vdW50IjogMX0=";
    CHECK(gls_paginator_decode_token(py, strlen(py), &dec, &dl, &tr) == GLS_PAG_OK);
    CHECK(dl == 6 && dec && memcmp(dec, "\xc3\xa9\xf0\x9f\x98\x80", 6) == 0);
    CHECK(tr == 1);
    free(dec);
  }
}

static void test_raw_and_bad_starting_tokens(void) {
  gls_paginator p;
  /* not base64 JSON: the service's own token */
  CHECK(gls_paginator_init(&p, -1, "plain-token==", 13) == GLS_PAG_OK);
  CHECK_STR(next(&p), "plain-token==");
  gls_paginator_free(&p);
  /* base64 of {"NextToken": 5}: ours, but malformed */
  CHECK(gls_paginator_init(&p, -1, "eyJOZXh0VG9rZW4iOiA1fQ==", 24) == GLS_PAG_BADTOKEN);
  gls_paginator_free(&p);
  /* base64 of {"NextToken": "a", "boto_truncate_amount": -1} */
  CHECK(gls_paginator_init(&p, -1, "eyJOZXh0VG9rZW4iOiAiYSIsICJib3RvX3RydW5jYXRlX2Ftb3VudCI6IC0xfQ==", 64)
        == GLS_PAG_BADTOKEN);
  gls_paginator_free(&p);
  CHECK(gls_paginator_init(&p, 0, NULL, 0) == GLS_PAG_BADARG);
  gls_paginator_free(&p);
}

static void test_skip_larger_than_page(void) {
  gls_paginator p;
  long long f, l;
  char *tok;
  size_t len;
  tok = gls_paginator_encode_token("T", 1, 10, &len);
  CHECK(gls_paginator_init(&p, -1, tok, len) == GLS_PAG_OK);
  CHECK(gls_paginator_feed(&p, "U", 1, 3, &f, &l) == GLS_PAG_OK);
  CHECK(f > l);
  CHECK_STR(next(&p), "U");
  free(tok);
  gls_paginator_free(&p);
}

int main(void) {
  test_walks_all_pages();
  test_empty_token_ends();
  test_repeated_token();
  test_repeated_token_at_max_items();
  test_max_items_mid_page_and_resume();
  test_max_items_on_first_page();
  test_max_items_on_page_boundary();
  test_tokens_with_special_characters();
  test_raw_and_bad_starting_tokens();
  test_skip_larger_than_page();
  return CTEST_DONE();
}
