/* A fuzz target for the JSON decoder: the reader (csrc/json.c) and the Lua binding that builds
 * a model's shapes from it (csrc/ljson.c, with Lua 5.4), on arbitrary bytes. Beside the
 * sanitizers it checks:
 * - the reader accepts exactly the texts a slow, obviously right RFC 8259 validator written
 *   here accepts (with the same nesting limit, control characters and lone surrogates refused),
 *   and skipping the value from its first event agrees;
 * - every string's escapes decode as a reference decoder does them, never longer than the text;
 *   every number's value is strtod's (the C locale), and exact when it is a long long integer;
 * - the text read as an RFC 3339 date-time gives what a slow reference gives (field by field,
 *   days counted a year and a month at a time);
 * - core.json_decode and a typed decoder of a made-up model with every shape type never raise,
 *   say "syntax" exactly when the text is not JSON, and a typed result has the model's types
 *   (checked in Lua); a failure names an expected type and a path of the documented syntax.
 * Input: the bytes are the JSON text (and the date-time). */
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "json.h"

/* ---- the reference validator ---- */

typedef struct {
  const unsigned char *s;
  size_t n, i;
  int depth;
} ref_t;

static void r_ws(ref_t *r) {
  while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r'))
    r->i++;
}

static long r_hex4(ref_t *r) {
  long v = 0;
  int k;
  if (r->n - r->i < 4) return -1;
  for (k = 0; k < 4; k++) {
    unsigned char c = r->s[r->i++];
    v *= 16;
    if (c >= '0' && c <= '9') v += c - '0';
    else if (c >= 'a' && c <= 'f') v += c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v += c - 'A' + 10;
    else return -1;
  }
  return v;
}

static int r_string(ref_t *r) {
  if (r->i >= r->n || r->s[r->i] != '"') return 0;
  r->i++;
  while (r->i < r->n) {
    unsigned char c = r->s[r->i++];
    long cp;
    if (c == '"') return 1;
    if (c < 0x20) return 0;
    if (c != '\\') continue;
    if (r->i >= r->n) return 0;
    c = r->s[r->i++];
    if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') continue;
    if (c != 'u' || (cp = r_hex4(r)) < 0) return 0;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      long lo;
      if (r->n - r->i < 2 || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u') return 0;
      r->i += 2;
      lo = r_hex4(r);
      if (lo < 0xDC00 || lo > 0xDFFF) return 0;
    }
  }
  return 0;
}

static int r_digits(ref_t *r) {
  size_t start = r->i;
  while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
  return r->i > start;
}

static int r_number(ref_t *r) {
  if (r->i < r->n && r->s[r->i] == '-') r->i++;
  if (r->i < r->n && r->s[r->i] == '0') r->i++;
  else if (r->i >= r->n || r->s[r->i] < '1' || r->s[r->i] > '9' || !r_digits(r)) return 0;
  if (r->i < r->n && r->s[r->i] == '.') {
    r->i++;
    if (!r_digits(r)) return 0;
  }
  if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
    r->i++;
    if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) r->i++;
    if (!r_digits(r)) return 0;
  }
  return 1;
}

static int r_word(ref_t *r, const char *w) {
  size_t len = strlen(w);
  if (r->n - r->i < len || memcmp(r->s + r->i, w, len) != 0) return 0;
  r->i += len;
  return 1;
}

static int r_value(ref_t *r) {
  r_ws(r);
  if (r->i >= r->n) return 0;
  switch (r->s[r->i]) {
  case '{':
  case '[': {
    int obj = r->s[r->i] == '{', ok;
    unsigned char close = obj ? '}' : ']';
    if (++r->depth > GLS_JSON_MAX_DEPTH) return 0;
    r->i++;
    r_ws(r);
    if (r->i < r->n && r->s[r->i] == close) {
      r->i++;
      r->depth--;
      return 1;
    }
    for (;;) {
      if (obj) {
        r_ws(r);
        if (!r_string(r)) return 0;
        r_ws(r);
        if (r->i >= r->n || r->s[r->i] != ':') return 0;
        r->i++;
      }
      if (!r_value(r)) return 0;
      r_ws(r);
      if (r->i >= r->n) return 0;
      if (r->s[r->i] == ',') {
        r->i++;
        continue;
      }
      ok = r->s[r->i] == close;
      r->i++;
      r->depth--;
      return ok;
    }
  }
  case '"': return r_string(r);
  case 't': return r_word(r, "true");
  case 'f': return r_word(r, "false");
  case 'n': return r_word(r, "null");
  default: return r_number(r);
  }
}

static int ref_valid(const uint8_t *s, size_t n) {
  ref_t r = {s, n, 0, 0};
  if (!r_value(&r)) return 0;
  r_ws(&r);
  return r.i == n;
}

static int blank(const uint8_t *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return 0;
  return 1;
}

/* ---- strings and numbers of the events ---- */

static size_t ref_unescape(const char *s, size_t n, char *out) {
  size_t i = 0, o = 0;
  while (i < n) {
    unsigned long cp;
    if (s[i] != '\\') {
      out[o++] = s[i++];
      continue;
    }
    switch (s[i + 1]) {
    case 'b': out[o++] = '\b'; i += 2; continue;
    case 'f': out[o++] = '\f'; i += 2; continue;
    case 'n': out[o++] = '\n'; i += 2; continue;
    case 'r': out[o++] = '\r'; i += 2; continue;
    case 't': out[o++] = '\t'; i += 2; continue;
    case 'u': break;
    default: out[o++] = s[i + 1]; i += 2; continue;
    }
    cp = strtoul((char[]){s[i + 2], s[i + 3], s[i + 4], s[i + 5], 0}, NULL, 16);
    i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) +
           (strtoul((char[]){s[i + 2], s[i + 3], s[i + 4], s[i + 5], 0}, NULL, 16) - 0xDC00);
      i += 6;
    }
    if (cp < 0x80) {
      out[o++] = (char)cp;
    } else if (cp < 0x800) {
      out[o++] = (char)(0xC0 | cp >> 6);
      out[o++] = (char)(0x80 | (cp & 63));
    } else if (cp < 0x10000) {
      out[o++] = (char)(0xE0 | cp >> 12);
      out[o++] = (char)(0x80 | (cp >> 6 & 63));
      out[o++] = (char)(0x80 | (cp & 63));
    } else {
      out[o++] = (char)(0xF0 | cp >> 18);
      out[o++] = (char)(0x80 | (cp >> 12 & 63));
      out[o++] = (char)(0x80 | (cp >> 6 & 63));
      out[o++] = (char)(0x80 | (cp & 63));
    }
  }
  return o;
}

static void check_string(const gls_json *j) {
  char *a = malloc(j->len + 1), *b = malloc(j->len + 1);
  size_t an = gls_json_unescape(j->str, j->len, a), bn = ref_unescape(j->str, j->len, b);
  if (an > j->len || an != bn || (an && memcmp(a, b, an) != 0)) abort();
  if (!j->esc && (an != j->len || (an && memcmp(a, j->str, an) != 0))) abort();
  free(a);
  free(b);
}

static void check_number(const gls_json *j) {
  char *t = malloc(j->len + 1);
  gls_json_num v;
  double want;
  memcpy(t, j->str, j->len);
  t[j->len] = '\0';
  want = strtod(t, NULL);
  if (!gls_json_number(j->str, j->len, j->esc, &v)) abort();
  if (memcmp(&v.d, &want, sizeof want) != 0) abort();
  if (v.is_int) {
    char back[32];
    if (j->esc) abort();
    snprintf(back, sizeof back, "%lld", v.i);
    if (strcmp(back, t) != 0 && !(strcmp(t, "-0") == 0 && v.i == 0)) abort();
  } else if (!j->esc && fabs(want) < 9.2e18) {
    abort(); /* an integer a long long holds must be exact */
  }
  free(t);
}

static void check_reader(const uint8_t *data, size_t size) {
  gls_json j;
  int ev, ok, skipped;
  gls_json_init(&j, (const char *)data, size);
  do {
    ev = gls_json_next(&j);
    if (ev == GLS_JSON_KEY || ev == GLS_JSON_STR) check_string(&j);
    if (ev == GLS_JSON_NUM) check_number(&j);
    if (j.depth < 0 || j.depth > GLS_JSON_MAX_DEPTH || j.pos > size) abort();
  } while (ev != GLS_JSON_EOF && ev != GLS_JSON_ERROR);
  ok = ev == GLS_JSON_EOF;
  if (blank(data, size) ? !ok : ok != ref_valid(data, size)) abort();
  gls_json_init(&j, (const char *)data, size);
  ev = gls_json_next(&j);
  skipped = ev == GLS_JSON_EOF || (gls_json_skip(&j, ev) && gls_json_next(&j) == GLS_JSON_EOF);
  if (skipped != ok) abort();
}

/* ---- RFC 3339 against a slow reference ---- */

static int ref_digits(const uint8_t *s, size_t n, long *out) {
  size_t i;
  long v = 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

static int ref_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static void check_rfc3339(const uint8_t *s, size_t n) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  long y, mo, d, h, mi, sec, oh = 0, om = 0, days = 0, k;
  size_t i = 19, fs = 0, fn = 0;
  int want = 1, sign = 0;
  gls_json_num v;
  int rc = gls_rfc3339((const char *)s, n, &v);
  if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
      !ref_digits(s, 4, &y) || !ref_digits(s + 5, 2, &mo) || !ref_digits(s + 8, 2, &d) ||
      !ref_digits(s + 11, 2, &h) || !ref_digits(s + 14, 2, &mi) || !ref_digits(s + 17, 2, &sec))
    want = 0;
  if (want && (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && ref_leap(y)) || h > 23 ||
               mi > 59 || sec > 60))
    want = 0;
  if (want && s[i] == '.') {
    fs = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    fn = i - fs;
    if (fn == 0) want = 0;
  }
  if (want) {
    if (n - i == 1 && (s[i] == 'Z' || s[i] == 'z')) {
      sign = 0;
    } else if (n - i == 6 && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' && ref_digits(s + i + 1, 2, &oh) &&
               ref_digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
      sign = s[i] == '+' ? 1 : -1;
    } else {
      want = 0;
    }
  }
  if (rc != want) abort();
  if (!want) return;
  /* days from 1970: a year, then a month, at a time */
  for (k = 1970; k < y; k++) days += 365 + ref_leap(k);
  for (k = y; k < 1970; k++) days -= 365 + ref_leap(k);
  for (k = 1; k < mo; k++) days += mdays[k - 1] + (k == 2 && ref_leap(y));
  days += d - 1;
  {
    long long t = (long long)days * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    if (gls_days_from_civil(y, mo, d) != days) abort();
    if (fn == 0 || v.is_int) {
      if (!v.is_int || v.i != t) abort();
      if (fn) { /* only a fraction of zeros (or one too small for a double) is whole */
        char frac[300] = "0.";
        if (fn > 290) return;
        memcpy(frac + 2, s + fs, fn);
        frac[2 + fn] = '\0';
        if (strtod(frac, NULL) != 0) abort();
      }
    } else {
      char frac[300] = "0.";
      double want_d;
      if (fn > 290) return;
      memcpy(frac + 2, s + fs, fn);
      frac[2 + fn] = '\0';
      want_d = (double)t + strtod(frac, NULL);
      if (memcmp(&v.d, &want_d, sizeof want_d) != 0) abort();
    }
  }
}

/* ---- the Lua binding ---- */

static lua_State *L;

static const char *SETUP =
    "local core = ...\n"
    "local shapes = {\n"
    "  T = { type = 'structure', members = { S = { shape = 'Str' }, E = { shape = 'Enum' },\n"
    "    B = { shape = 'Bool' }, I = { shape = 'Int' }, L = { shape = 'Lng' }, D = { shape = 'Dbl' },\n"
    "    F = { shape = 'Flt' }, Ts = { shape = 'Ts' }, M = { shape = 'Map' }, N = { shape = 'TL' },\n"
    "    Sub = { shape = 'T', json_name = 'sub' }, H = { shape = 'Str', location = 'header', name = 'x-h' },\n"
    "    X = { shape = 'Missing' }, Any = { shape = 'Blob' } } },\n"
    "  TL = { type = 'list', member = { shape = 'T' } },\n"
    "  Map = { type = 'map', key = { shape = 'Str' }, value = { shape = 'SL' } },\n"
    "  SL = { type = 'list', member = 'Str' },\n"
    "  Str = { type = 'string' }, Enum = { type = 'enum' }, Bool = { type = 'boolean' },\n"
    "  Int = { type = 'integer' }, Lng = { type = 'long' }, Dbl = { type = 'double' },\n"
    "  Flt = { type = 'float' }, Ts = { type = 'timestamp' }, Blob = { type = 'blob' } }\n"
    "local decode, generic = core.json_plan(shapes), core.json_decode\n"
    "local mtype = math.type\n"
    "local EXPECT = { ['a structure (JSON object)'] = true, ['a list (JSON array)'] = true,\n"
    "  ['a map (JSON object)'] = true, ['a string'] = true, ['a boolean'] = true,\n"
    "  ['an integer (32-bit)'] = true, ['an integer (64-bit)'] = true, ['a finite number'] = true,\n"
    "  ['a timestamp (epoch seconds, or an RFC 3339 date-time)'] = true }\n"
    "local function finite(v) return v > -math.huge and v < math.huge end\n"
    "local check\n"
    "local function list(v, f)\n"
    "  assert(type(v) == 'table')\n"
    "  local n = #v\n"
    "  for k, e in pairs(v) do assert(mtype(k) == 'integer' and k >= 1 and k <= n); f(e) end\n"
    "end\n"
    "local SCALAR = {\n"
    "  S = function(v) assert(type(v) == 'string') end, E = function(v) assert(type(v) == 'string') end,\n"
    "  B = function(v) assert(type(v) == 'boolean') end,\n"
    "  I = function(v) assert(mtype(v) == 'integer' and v >= -2^31 and v < 2^31) end,\n"
    "  L = function(v) assert(mtype(v) == 'integer') end,\n"
    "  D = function(v) assert(mtype(v) == 'float' and finite(v)) end,\n"
    "  F = function(v) assert(mtype(v) == 'float' and finite(v)) end,\n"
    "  Ts = function(v) assert(type(v) == 'number' and finite(v)); if mtype(v) == 'float' then assert(v ~= math.floor(v) or v ~= v or math.abs(v) >= 2^63) end end,\n"
    "  M = function(v) assert(type(v) == 'table'); for k, e in pairs(v) do assert(type(k) == 'string'); list(e, function(s) assert(type(s) == 'string') end) end end,\n"
    "  N = function(v) list(v, function(e) check(e) end) end,\n"
    "  Sub = function(v) check(v) end,\n"
    "  X = function() end, Any = function() end }\n"
    "check = function(v)\n"
    "  assert(type(v) == 'table')\n"
    "  for k, e in pairs(v) do local f = assert(SCALAR[k], 'unknown member'); f(e) end\n"
    "end\n"
    "return function(text)\n"
    "  local g, gwhy = generic(text)\n"
    "  local v, why, expected, path = decode(text, 'T')\n"
    "  assert((gwhy == 'syntax') == (why == 'syntax'))\n"
    "  assert((gwhy == 'empty') == (why == 'empty'))\n"
    "  if v ~= nil then check(v) return end\n"
    "  if why == 'type' then\n"
    "    assert(EXPECT[expected], expected)\n"
    "    assert(path == '' or path:find('^[%.%[]'), path)\n"
    "    assert(g ~= nil or gwhy == nil)\n"
    "  else\n"
    "    assert(why == 'syntax' or why == 'empty' or why == 'null', why)\n"
    "  end\n"
    "  local u, uwhy = decode(text)\n"
    "  assert((uwhy == 'syntax') == (why == 'syntax'))\n"
    "  if u ~= nil then assert(next(u) == nil) end\n"
    "  return why\n"
    "end\n";

static void setup(void) {
  L = luaL_newstate();
  luaL_openlibs(L);
  lua_newtable(L);
  gls_open_json(L);
  if (luaL_loadstring(L, SETUP) != LUA_OK) abort();
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) abort(); /* the checker, kept at 1 */
}

static void check_lua(const uint8_t *data, size_t size, int valid) {
  lua_pushvalue(L, 1);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "checker: %s\n", lua_tostring(L, -1));
    abort();
  }
  if (lua_isstring(L, -1) && (strcmp(lua_tostring(L, -1), "syntax") == 0) == valid) abort();
  lua_settop(L, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!L) setup();
  check_reader(data, size);
  check_rfc3339(data, size);
  check_lua(data, size, blank(data, size) || ref_valid(data, size));
  return 0;
}
