/* Unit tests of the JSON reader (csrc/json.c), without Lua: events, the grammar it refuses,
 * nesting, skipping, string escapes, numbers and RFC 3339 date-times. */
#include "ctest.h"
#include "json.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 when the whole text is JSON, read event by event. */
static int valid(const char *s, size_t n) {
  gls_json j;
  int ev;
  gls_json_init(&j, s, n);
  do ev = gls_json_next(&j);
  while (ev != GLS_JSON_EOF && ev != GLS_JSON_ERROR);
  return ev == GLS_JSON_EOF;
}

static int valid_s(const char *s) { return valid(s, strlen(s)); }

/* 1 when the text's value, skipped from its first event, is JSON and nothing follows. */
static int skips(const char *s) {
  gls_json j;
  gls_json_init(&j, s, strlen(s));
  return gls_json_skip(&j, gls_json_next(&j)) && gls_json_next(&j) == GLS_JSON_EOF;
}

static void test_events(void) {
  const char *s = " {\"a\" : [1, -2.5e3, \"x\\ny\", true, false, null, {}], \"b\":{\"c\":[]}}\n";
  static const int want[] = {GLS_JSON_OBJ, GLS_JSON_KEY,  GLS_JSON_ARR,  GLS_JSON_NUM, GLS_JSON_NUM,
                             GLS_JSON_STR, GLS_JSON_TRUE, GLS_JSON_FALSE, GLS_JSON_NULL, GLS_JSON_OBJ,
                             GLS_JSON_END, GLS_JSON_END,  GLS_JSON_KEY,  GLS_JSON_OBJ, GLS_JSON_KEY,
                             GLS_JSON_ARR, GLS_JSON_END,  GLS_JSON_END,  GLS_JSON_END, GLS_JSON_EOF};
  gls_json j;
  size_t i;
  gls_json_init(&j, s, strlen(s));
  for (i = 0; i < sizeof want / sizeof want[0]; i++) {
    int ev = gls_json_next(&j);
    CHECK(ev == want[i]);
    if (i == 1) CHECK(j.len == 1 && j.str[0] == 'a' && !j.esc);
    if (i == 4) CHECK(j.len == 6 && memcmp(j.str, "-2.5e3", 6) == 0 && j.esc == (GLS_JSON_FRAC | GLS_JSON_EXP));
    if (i == 5) CHECK(j.len == 4 && j.esc);
  }
  CHECK(gls_json_next(&j) == GLS_JSON_EOF); /* and again */
  gls_json_init(&j, " \t\r\n", 4);
  CHECK(gls_json_next(&j) == GLS_JSON_EOF); /* white space only: the caller decides */
  gls_json_init(&j, "[1,", 3);
  CHECK(gls_json_next(&j) == GLS_JSON_ARR && gls_json_next(&j) == GLS_JSON_NUM);
  CHECK(gls_json_next(&j) == GLS_JSON_ERROR && gls_json_next(&j) == GLS_JSON_ERROR); /* sticky */
}

static void test_grammar(void) {
  static const char *good[] = {
      "{}", "[]", "0", "-0", "1.5", "-0.0e-0", "1E+2", "1e999", "\"\"", "true", "null",
      "\"\\u00e9\\ud83d\\ude00\\/\\\"\\\\\\b\\f\\n\\r\\t\"", "{\"a\":{\"a\":1,\"a\":2}}",
      " [ 1 , { \"k\" : [ ] } ] ", "\"\x7f\xff\xfe\"", /* bytes that are not UTF-8 pass */
      "123456789012345678901234567890", NULL};
  static const char *bad[] = {
      "{", "}", "[1,]", "{\"a\":1,}", "{,}", "[,1]", "{\"a\"}", "{\"a\":}", "{1:2}",
      "{'a':1}", "[1 2]", "{\"a\":1 \"b\":2}", "1.", "-.5", ".5", "1.e3", "01", "-01", "+1",
      "-", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "tru", "nul", "True", "[1]]",
      "[1]x", "{}{}", "\"a", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud800\"", "\"\\udc00\"",
      "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"a\tb\"", "\"a\nb\"", "\"\x01\"", "\xef\xbb\xbf{}",
      "[1]\x0b", "/* */{}", NULL};
  size_t i;
  for (i = 0; good[i]; i++) {
    CHECK(valid_s(good[i]));
    if (!valid_s(good[i])) fprintf(stderr, "  refused: %s\n", good[i]);
    CHECK(strcmp(good[i], "") == 0 || skips(good[i]));
  }
  for (i = 0; bad[i]; i++) {
    CHECK(!valid_s(bad[i]));
    if (valid_s(bad[i])) fprintf(stderr, "  accepted: %s\n", bad[i]);
    CHECK(!skips(bad[i]));
  }
  /* NUL bytes: inside a string, after the value, before it */
  CHECK(!valid("\"a\0b\"", 5));
  CHECK(!valid("{}\0", 3));
  CHECK(!valid("\0{}", 3));
  CHECK(valid("\"a\\u0000b\"", 10));
}

static void test_depth(void) {
  size_t n = GLS_JSON_MAX_DEPTH + 1, i;
  char *s = malloc(2 * n + 1);
  gls_json j;
  for (i = 0; i < n; i++) {
    s[i] = '[';
    s[2 * n - 1 - i] = ']';
  }
  s[2 * n] = '\0';
  CHECK(valid(s + 1, 2 * n - 2)); /* GLS_JSON_MAX_DEPTH levels */
  CHECK(!valid(s, 2 * n));         /* one more */
  /* skipped without recursion, to the same limit */
  gls_json_init(&j, s, 2 * n);
  CHECK(gls_json_skip(&j, gls_json_next(&j)) == 0);
  gls_json_init(&j, s + 1, 2 * n - 2);
  CHECK(gls_json_skip(&j, gls_json_next(&j)) == 1 && gls_json_next(&j) == GLS_JSON_EOF);
  /* an object member's value is skipped to its end, and the reading goes on after it */
  gls_json_init(&j, "{\"a\":[[1,{\"b\":[]}],2],\"c\":3}", 28);
  CHECK(gls_json_next(&j) == GLS_JSON_OBJ && gls_json_next(&j) == GLS_JSON_KEY);
  CHECK(gls_json_skip(&j, gls_json_next(&j)) == 1);
  CHECK(gls_json_next(&j) == GLS_JSON_KEY && j.len == 1 && j.str[0] == 'c');
  CHECK(gls_json_next(&j) == GLS_JSON_NUM && gls_json_next(&j) == GLS_JSON_END);
  CHECK(gls_json_next(&j) == GLS_JSON_EOF);
  free(s);
}

static const char *unescaped(const char *lit, char *out, size_t *n) {
  gls_json j;
  gls_json_init(&j, lit, strlen(lit));
  if (gls_json_next(&j) != GLS_JSON_STR) return "(not a string)";
  *n = gls_json_unescape(j.str, j.len, out);
  out[*n] = '\0';
  return out;
}

static void test_unescape(void) {
  char out[64], in_place[32];
  size_t n = 0;
  CHECK_STR(unescaped("\"plain\"", out, &n), "plain");
  CHECK_STR(unescaped("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", out, &n), "\"\\/\b\f\n\r\t");
  CHECK_STR(unescaped("\"\\u0041\\u00e9\\u20ac\"", out, &n), "A\xc3\xa9\xe2\x82\xac");
  CHECK_STR(unescaped("\"\\ud83d\\ude00!\"", out, &n), "\xf0\x9f\x98\x80!");
  CHECK_STR(unescaped("\"\\uDBFF\\uDFFF\"", out, &n), "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
  CHECK(strcmp(unescaped("\"a\\u0000b\"", out, &n), "a") == 0 && n == 3 && out[2] == 'b');
  /* in place: what the paginator's token may do */
  memcpy(in_place, "x\\u00e9\\ny", 10);
  n = gls_json_unescape(in_place, 10, in_place);
  CHECK(n == 5 && memcmp(in_place, "x\xc3\xa9\ny", 5) == 0);
}

static gls_json_num num(const char *s) {
  gls_json_num v = {0, 0, 0};
  int flags = 0;
  size_t n = gls_json_scan_number(s, strlen(s), &flags);
  CHECK(n == strlen(s));
  CHECK(gls_json_number(s, n, flags, &v) == 1);
  return v;
}

static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_numbers(void) {
  static const char *doubles[] = {
      "0.1", "1.5", "-2.25", "1767225600.123", "1.767225600123E9", "3.6e3", "1e22", "1e23",
      "123456789012345.6", "1234567890123456.7", "0.000000000000000000000001", "2.2250738585072014e-308",
      "4.9e-324", "1e-400", "1.7976931348623157e308", "1e309", "-1e309", "9007199254740993.0",
      "0.30000000000000004", "123456789012345678901234567890",
      "0.1000000000000000055511151231257827021181583404541015625000000000000000000000000000000000000000000000000000000000000001",
      NULL};
  gls_json_num v;
  size_t i;
  int flags = 0;
  v = num("1767225600");
  CHECK(v.is_int && v.i == 1767225600 && v.d == 1767225600.0);
  v = num("-0");
  CHECK(v.is_int && v.i == 0 && same_double(v.d, -0.0));
  v = num("9223372036854775807");
  CHECK(v.is_int && v.i == INT64_MAX);
  v = num("-9223372036854775808");
  CHECK(v.is_int && v.i == INT64_MIN);
  v = num("9223372036854775808");
  CHECK(!v.is_int && v.d == 9223372036854775808.0);
  v = num("-9223372036854775809");
  CHECK(!v.is_int && v.d == -9223372036854775808.0);
  v = num("7.0");
  CHECK(!v.is_int && v.d == 7.0);
  v = num("7e0");
  CHECK(!v.is_int && v.d == 7.0);
  /* the same doubles as strtod (the C locale here), by the fast path and by strtod's */
  for (i = 0; doubles[i]; i++) {
    v = num(doubles[i]);
    CHECK(!v.is_int && same_double(v.d, strtod(doubles[i], NULL)));
  }
  /* where a number ends: the caller judges what follows */
  CHECK(gls_json_scan_number("0x10", 4, &flags) == 1 && flags == 0);
  CHECK(gls_json_scan_number("12,", 3, &flags) == 2);
  CHECK(gls_json_scan_number("1.", 2, &flags) == 0);
  CHECK(gls_json_scan_number("-", 1, &flags) == 0);
  CHECK(gls_json_scan_number("", 0, &flags) == 0);
  CHECK(gls_json_scan_number("1e+5x", 5, &flags) == 4 && flags == GLS_JSON_EXP);
  /* a locale whose decimal point is a comma changes nothing (when the system has one) */
  if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
    CHECK(num("0.1").d == 0.1);
    CHECK(num("1234567890123456.7").d == 1234567890123456.7);
    setlocale(LC_NUMERIC, "C");
  }
}

/* gls_rfc3339's answer as text: "int N", "dbl X" or "no". */
static const char *date(const char *s, char *out, size_t cap) {
  gls_json_num v;
  int rc = gls_rfc3339(s, strlen(s), &v);
  if (rc != 1) snprintf(out, cap, "no");
  else if (v.is_int) snprintf(out, cap, "int %lld", v.i);
  else snprintf(out, cap, "dbl %.3f", v.d);
  return out;
}

static void test_rfc3339(void) {
  static const char *cases[][2] = {
      {"1970-01-01T00:00:00Z", "int 0"},
      {"2000-02-29T00:00:00Z", "int 951782400"},
      {"2000-02-29T00:00:00.5Z", "dbl 951782400.500"},
      {"2000-02-29T00:00:00.25z", "dbl 951782400.250"},
      {"2000-02-29T01:00:00+01:00", "int 951782400"},
      {"2000-02-29t00:00:00-01:30", "int 951787800"},
      {"2026-11-22T19:00:00Z", "int 1795374000"},
      {"2024-02-29T23:59:60.5+01:00", "dbl 1709247600.500"},
      {"2026-01-01T00:00:00.000Z", "int 1767225600"},
      {"1969-12-31T23:59:59Z", "int -1"},
      {"0000-03-01T00:00:00Z", "int -62162035200"},
      {"9999-12-31T23:59:59Z", "int 253402300799"},
      {"2026-13-01T00:00:00Z", "no"},
      {"2026-00-10T00:00:00Z", "no"},
      {"2026-02-29T00:00:00Z", "no"},
      {"1900-02-29T00:00:00Z", "no"},
      {"2026-04-31T00:00:00Z", "no"},
      {"2026-01-00T00:00:00Z", "no"},
      {"2026-01-01T24:00:00Z", "no"},
      {"2026-01-01T00:60:00Z", "no"},
      {"2026-01-01T00:00:61Z", "no"},
      {"2026-01-01T00:00:00+24:00", "no"},
      {"2026-01-01T00:00:00+01:60", "no"},
      {"2026-01-01T00:00:00", "no"},
      {"2026-01-01T00:00:00.Z", "no"},
      {"2026-01-01 00:00:00Z", "no"},
      {"2026-01-01T00:00:00Zx", "no"},
      {"2026-01-01T00:00:00+0100", "no"},
      {"26-01-01T00:00:00Z", "no"},
      {"2026-1-01T00:00:00Z", "no"},
      {"not a date", "no"},
      {"", "no"},
  };
  char out[64];
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) CHECK_STR(date(cases[i][0], out, sizeof out), cases[i][1]);
  /* a fraction of every length is the double of "0.<digits>" added */
  {
    char s[200] = "2026-01-01T00:00:00.", expect[200] = "0.";
    gls_json_num v;
    size_t k;
    for (k = 0; k < 150; k++) {
      s[20 + k] = (char)('1' + k % 9);
      expect[2 + k] = s[20 + k];
      s[21 + k] = 'Z';
      s[22 + k] = '\0';
      expect[3 + k] = '\0';
      CHECK(gls_rfc3339(s, strlen(s), &v) == 1 && !v.is_int &&
            same_double(v.d, 1767225600.0 + strtod(expect, NULL)));
    }
  }
  CHECK(gls_days_from_civil(1970, 1, 1) == 0);
  CHECK(gls_days_from_civil(2000, 3, 1) == 11017);
  CHECK(gls_days_from_civil(1969, 12, 31) == -1);
  CHECK(gls_days_from_civil(0, 1, 1) == -719528);
}

int main(void) {
  test_events();
  test_grammar();
  test_depth();
  test_unescape();
  test_numbers();
  test_rfc3339();
  return CTEST_DONE();
}
