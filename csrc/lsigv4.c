/* core.sign, core.sign_headers, core.sha256_hex, core.hmac_sha256, core._ffi: thin glue over
 * sigv4.c. The signer state (hash contexts, buffers, signing-key cache) is a userdata upvalue
 * shared by the five functions, so each Lua state has its own and nothing is global.
 * A little over 500 lines as one file: the two ways in share the request reader, the header
 * merge and the result writer, and the FFI path (core._ffi) hands out that same reader. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "sigv4.h"

#define SIGNER_MT "gameliftstreams.signer"

/* Field names live in upvalues 2..: pushing a ready string beats interning a C string. */
enum {
  K_METHOD, K_URL, K_BODY, K_REGION, K_SERVICE, K_CREDENTIALS, K_ACCESS_KEY_ID, K_SECRET,
  K_SESSION_TOKEN, K_NORMALIZE, K_SIGN_BODY, K_OMIT, K_TIME, K_PRESIGN, K_HEADERS, K_SIGNATURE,
  K_CANONICAL_REQUEST, K_STRING_TO_SIGN, K_HOST, K_X_AMZ_DATE, K_AUTHORIZATION, K_X_AMZ_TOKEN,
  K_X_AMZ_SHA256, K_HEADERS_ONLY, K_COUNT
};
static const char *const KEY_NAMES[K_COUNT] = {
    "method", "url", "body", "region", "service", "credentials", "access_key_id",
    "secret_access_key", "session_token", "normalize", "sign_body", "omit_session_token", "time",
    "presign", "headers", "signature", "canonical_request", "string_to_sign", "host", "x-amz-date",
    "authorization", "x-amz-security-token", "x-amz-content-sha256", "headers_only"};
#define PUSH_KEY(L, k) lua_pushvalue((L), lua_upvalueindex(2 + (k)))
/* Two more upvalues hold the last host and x-amz-date strings handed out: consecutive
 * signatures mostly repeat them, and reusing the Lua string skips hashing and interning it. */
#define UP_HOST lua_upvalueindex(2 + K_COUNT)
#define UP_DATE lua_upvalueindex(3 + K_COUNT)

typedef struct {
  gls_sigv4 *s;
  gls_sigv4_header *h; /* the request's header lines, reused between calls */
  size_t cap;
  size_t n;            /* the lines the FFI path's header reader left (l_ffi_headers) */
} lsigner;

static int signer_close(lua_State *L) {
  lsigner *u = (lsigner *)luaL_checkudata(L, 1, SIGNER_MT);
  gls_sigv4_free(u->s);
  u->s = NULL;
  free(u->h);
  u->h = NULL;
  u->cap = 0;
  return 0;
}

static int signer_tostring(lua_State *L) {
  lsigner *u = (lsigner *)luaL_checkudata(L, 1, SIGNER_MT);
  if (u->s) lua_pushfstring(L, "signer (%p)", (void *)u);
  else lua_pushliteral(L, "signer (closed)");
  return 1;
}

static lsigner *upsigner(lua_State *L, const char *fn) {
  lsigner *u = (lsigner *)lua_touserdata(L, lua_upvalueindex(1));
  if (!u || !u->s) luaL_error(L, "%s: signer is closed", fn);
  return u;
}

/* Pushes t[field] and leaves it on the stack, so the string it returns stays anchored. */
static const char *get_str(lua_State *L, int t, int key, const char *label, size_t *len,
                           int required) {
  int ty;
  PUSH_KEY(L, key);
  ty = gls_gettable(L, t);
  if (ty == LUA_TNIL && !required) {
    *len = 0;
    return NULL;
  }
  if (ty != LUA_TSTRING) luaL_error(L, "sign: %s must be a string", label);
  return lua_tolstring(L, -1, len);
}

/* The credentials table at cred into r; returns the stack index of the session token (nil when
 * there is none), left there with the other two so the strings stay anchored. */
static int read_credentials(lua_State *L, int cred, gls_sigv4_request *r) {
  r->access_key_id = get_str(L, cred, K_ACCESS_KEY_ID, "credentials.access_key_id",
                             &r->access_key_id_len, 1);
  r->secret = get_str(L, cred, K_SECRET, "credentials.secret_access_key", &r->secret_len, 1);
  r->session_token = get_str(L, cred, K_SESSION_TOKEN, "credentials.session_token",
                             &r->session_token_len, 0);
  return lua_gettop(L);
}

static int get_bool(lua_State *L, int t, int key, int dflt) {
  int v = dflt, ty;
  PUSH_KEY(L, key);
  ty = gls_gettable(L, t);
  if (ty == LUA_TBOOLEAN) v = lua_toboolean(L, -1);
  else if (ty != LUA_TNIL) luaL_error(L, "sign: %s must be a boolean", KEY_NAMES[key]);
  lua_pop(L, 1);
  return v;
}

static void push_header(lua_State *L, lsigner *u, size_t *n, const char *name, size_t nl,
                        const char *v, size_t vl) {
  if (*n == u->cap) {
    size_t cap = u->cap ? u->cap * 2 : 16;
    gls_sigv4_header *h = (gls_sigv4_header *)realloc(u->h, cap * sizeof *h);
    if (!h) luaL_error(L, "sign: out of memory");
    u->h = h;
    u->cap = cap;
  }
  u->h[*n].name = name;
  u->h[*n].name_len = nl;
  u->h[*n].value = v;
  u->h[*n].value_len = vl;
  (*n)++;
}

/* The value on top as a string; a number is converted and the string kept alive in the table
 * at `anchor` (a slot below the iteration, filled with a table on first use). */
static const char *header_value(lua_State *L, int anchor, int *nanchor, size_t *len,
                                const char *name) {
  int ty = lua_type(L, -1);
  const char *p;
  if (ty == LUA_TSTRING) return lua_tolstring(L, -1, len);
  if (ty != LUA_TNUMBER)
    luaL_error(L, "sign: headers[\"%s\"] must be a string or a list of strings", name);
  if (!lua_istable(L, anchor)) {
    lua_newtable(L);
    lua_replace(L, anchor);
  }
  lua_pushvalue(L, -1);
  p = lua_tolstring(L, -1, len);
  lua_rawseti(L, anchor, ++*nanchor);
  return p;
}

/* Pushes the header name in lower case (reusing the key when it already is). */
static void push_lower(lua_State *L, int key, const char *name, size_t nl) {
  size_t i;
  char small[128], *w;
  for (i = 0; i < nl && !(name[i] >= 'A' && name[i] <= 'Z'); i++) {}
  if (i == nl) {
    lua_pushvalue(L, key);
    return;
  }
  w = nl <= sizeof small ? small : (char *)lua_newuserdata(L, nl);
  for (i = 0; i < nl; i++) w[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
  lua_pushlstring(L, w, nl);
  if (w != small) lua_remove(L, -2);
}

/* out[lname] = value (string, number or list, at -1); repeats of one name become one list. */
static void merge_header(lua_State *L, int out) {
  int nv = lua_gettop(L), lname = nv - 1, have;
  size_t n = 0, i, len;
  lua_pushvalue(L, lname);
  lua_rawget(L, out);
  have = lua_gettop(L);
  if (lua_isnil(L, have) && lua_type(L, nv) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_tostring(L, nv);
    lua_rawset(L, out);
    return;
  }
  if (lua_type(L, have) == LUA_TTABLE) { /* a list this call created */
    n = lua_rawlen(L, have);
  } else {
    lua_newtable(L);
    if (!lua_isnil(L, have)) {
      lua_pushvalue(L, have);
      lua_rawseti(L, -2, (int)++n);
    }
    lua_replace(L, have);
  }
  if (lua_type(L, nv) == LUA_TTABLE) {
    len = lua_rawlen(L, nv);
    for (i = 1; i <= len; i++) {
      lua_rawgeti(L, nv, (int)i);
      lua_tostring(L, -1);
      lua_rawseti(L, have, (int)++n);
    }
  } else {
    lua_pushvalue(L, nv);
    lua_tostring(L, -1);
    lua_rawseti(L, have, (int)++n);
  }
  lua_pushvalue(L, lname);
  lua_pushvalue(L, have);
  lua_rawset(L, out);
  lua_settop(L, lname - 1);
}

/* One pass over t.headers (at hidx): every line goes to u->h for the signer, and every header
 * the signer does not replace goes to the output table `out` under its lower-case name.
 * anchor is a stack slot that keeps converted numbers alive. */
static size_t read_headers(lua_State *L, lsigner *u, const gls_sigv4_request *r, int hidx,
                           int anchor, int out) {
  size_t n = 0;
  int nanchor = 0;
  lua_pushnil(L);
  while (lua_next(L, hidx)) {
    size_t nl, vl, ll;
    const char *name, *v, *lname;
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "sign: header names must be strings");
    name = lua_tolstring(L, -2, &nl);
    if (lua_type(L, -1) == LUA_TTABLE) {
      size_t i, len = lua_rawlen(L, -1);
      for (i = 1; i <= len; i++) {
        lua_rawgeti(L, -1, (int)i);
        v = header_value(L, anchor, &nanchor, &vl, name);
        push_header(L, u, &n, name, nl, v, vl);
        lua_pop(L, 1);
      }
    } else {
      v = header_value(L, anchor, &nanchor, &vl, name);
      push_header(L, u, &n, name, nl, v, vl);
    }
    push_lower(L, lua_gettop(L) - 1, name, nl); /* key, value, lname */
    lname = lua_tolstring(L, -1, &ll);
    if (gls_sigv4_header_role(r, lname, ll) == GLS_SIGV4_REPLACED) {
      lua_pop(L, 2);
      continue;
    }
    lua_pushvalue(L, -2); /* key, value, lname, value */
    merge_header(L, out); /* leaves key, value */
    lua_pop(L, 1);
  }
  return n;
}

static void set_str(lua_State *L, int t, int key, const char *v, size_t n) {
  PUSH_KEY(L, key);
  lua_pushlstring(L, v, n);
  lua_rawset(L, t);
}

/* Like set_str, through the one-string cache in upvalue `up`. */
static void set_cached(lua_State *L, int t, int key, int up, const char *v, size_t n) {
  size_t cl;
  const char *c = lua_tolstring(L, up, &cl);
  PUSH_KEY(L, key);
  if (c && cl == n && memcmp(c, v, n) == 0) {
    lua_pushvalue(L, up);
  } else {
    lua_pushlstring(L, v, n);
    lua_pushvalue(L, -1);
    lua_replace(L, up);
  }
  lua_rawset(L, t);
}

/* What the signer adds to the headers to send (out): host unless given and, without presign,
 * x-amz-date, authorization, x-amz-security-token (the value at index token) and
 * x-amz-content-sha256 with sign_body. */
static void set_signed(lua_State *L, int out, const gls_sigv4_request *r,
                       const gls_sigv4_result *res, int token) {
  if (!res->host_given) set_cached(L, out, K_HOST, UP_HOST, res->host, res->host_len);
  if (r->presign > 0) return;
  set_cached(L, out, K_X_AMZ_DATE, UP_DATE, res->amz_date, 16);
  set_str(L, out, K_AUTHORIZATION, res->authorization, res->authorization_len);
  if (r->session_token && r->session_token_len) {
    PUSH_KEY(L, K_X_AMZ_TOKEN);
    lua_pushvalue(L, token);
    lua_rawset(L, out);
  }
  if (r->sign_body) set_str(L, out, K_X_AMZ_SHA256, res->payload_hash, 64);
}

/* Signs r: pushes the headers to send (the input headers at hidx when it is a table, read into
 * r, and what the signer adds; anchor: the slot that keeps converted numbers alive) and gives
 * 1, or pushes nil and the message and gives 0. The headers go into the table at `fill` (an
 * empty table the caller reuses), or a new one when fill is 0. */
static int sign_into(lua_State *L, lsigner *u, gls_sigv4_request *r, gls_sigv4_result *res,
                     int hidx, int anchor, int token, int fill) {
  int out;
  const char *err;
  if (fill) lua_pushvalue(L, fill);
  else lua_createtable(L, 0, 6);
  out = lua_gettop(L);
  if (lua_istable(L, hidx)) r->n_headers = read_headers(L, u, r, hidx, anchor, out);
  r->headers = u->h;
  if ((err = gls_sigv4_sign(u->s, r, res))) {
    lua_pushnil(L);
    lua_pushfstring(L, "sign: %s", err);
    return 0;
  }
  set_signed(L, out, r, res, token);
  return 1;
}

/* core.sign(t) -> result | nil, message (bad URL).
 * t: method, url, headers ({ name = "v" | { "v1", "v2" } }), body, region, service,
 *    credentials { access_key_id, secret_access_key, session_token }, time (epoch seconds,
 *    default now), normalize (true), sign_body (false), omit_session_token (false),
 *    presign (nil | seconds: sign the query instead of the headers), headers_only (false: the
 *    result holds headers, and url with presign, alone: what a request sends, as the pipeline
 *    wants it).
 * result: headers (every header to send, names in lower case: the input headers except the ones
 *    the signer sets, plus host unless given, x-amz-date, authorization, x-amz-security-token,
 *    x-amz-content-sha256 with sign_body; with presign only the input headers and host; a
 *    repeated header is a list in order), signature, canonical_request, string_to_sign, and url
 *    (the URL to send) with presign. Wrong types raise an error naming the field. */
static int l_sign(lua_State *L) {
  lsigner *u = upsigner(L, "sign");
  gls_sigv4_request r;
  gls_sigv4_result res;
  const char *err;
  int cred, token, hidx, anchor, out, ty, headers_only;

  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkstack(L, 40, "sign");
  memset(&r, 0, sizeof r);
  r.method = get_str(L, 1, K_METHOD, "method", &r.method_len, 1);
  r.url = get_str(L, 1, K_URL, "url", &r.url_len, 1);
  r.body = get_str(L, 1, K_BODY, "body", &r.body_len, 0);
  r.region = get_str(L, 1, K_REGION, "region", &r.region_len, 1);
  r.service = get_str(L, 1, K_SERVICE, "service", &r.service_len, 1);
  PUSH_KEY(L, K_CREDENTIALS);
  ty = gls_gettable(L, 1);
  cred = lua_gettop(L);
  if (ty != LUA_TTABLE) luaL_error(L, "sign: credentials must be a table");
  token = read_credentials(L, cred, &r);
  r.normalize = get_bool(L, 1, K_NORMALIZE, 1);
  r.sign_body = get_bool(L, 1, K_SIGN_BODY, 0);
  r.omit_session_token = get_bool(L, 1, K_OMIT, 0);
  headers_only = get_bool(L, 1, K_HEADERS_ONLY, 0);

  PUSH_KEY(L, K_TIME);
  ty = gls_gettable(L, 1);
  if (ty == LUA_TNIL) {
    r.time = (long long)time(NULL);
  } else {
    if (ty != LUA_TNUMBER) luaL_error(L, "sign: time must be a number");
    if ((err = gls_sigv4_arg_time(lua_tonumber(L, -1), &r.time))) luaL_error(L, "sign: %s", err);
  }
  lua_pop(L, 1);

  PUSH_KEY(L, K_PRESIGN);
  ty = gls_gettable(L, 1);
  if (ty != LUA_TNIL) {
    if (ty != LUA_TNUMBER) luaL_error(L, "sign: presign must be a number");
    if ((err = gls_sigv4_arg_presign(lua_tonumber(L, -1), &r.presign))) luaL_error(L, "sign: %s", err);
  }
  lua_pop(L, 1);

  lua_pushnil(L);
  anchor = lua_gettop(L);
  PUSH_KEY(L, K_HEADERS);
  ty = gls_gettable(L, 1);
  hidx = lua_gettop(L);
  if (ty != LUA_TNIL && ty != LUA_TTABLE) luaL_error(L, "sign: headers must be a table");
  /* the result: headers, and url with presign, and the three strings unless headers_only */
  lua_createtable(L, 0, (r.presign > 0 ? 2 : 1) + (headers_only ? 0 : 3));
  if (!sign_into(L, u, &r, &res, hidx, anchor, token, 0)) return 2;
  out = lua_gettop(L);
  PUSH_KEY(L, K_HEADERS);
  lua_insert(L, -2);
  lua_rawset(L, out - 1);
  if (!headers_only) {
    set_str(L, out - 1, K_SIGNATURE, res.signature, 64);
    set_str(L, out - 1, K_CANONICAL_REQUEST, res.canonical_request, res.canonical_request_len);
    set_str(L, out - 1, K_STRING_TO_SIGN, res.string_to_sign, res.string_to_sign_len);
  }
  if (res.url) set_str(L, out - 1, K_URL, res.url, res.url_len);
  return 1;
}

/* The string argument i (nil allowed unless required) for core.sign_headers, with core.sign's
 * message for a wrong type. */
static const char *arg_str(lua_State *L, int i, const char *label, size_t *len, int required) {
  int ty = lua_type(L, i);
  if (ty == LUA_TNIL && !required) {
    *len = 0;
    return NULL;
  }
  if (ty != LUA_TSTRING) luaL_error(L, "sign: %s must be a string", label);
  return lua_tolstring(L, i, len);
}

/* The optional table argument i a caller hands to be filled with the headers to send, instead
 * of a new table (one it reuses from an earlier attempt): emptied here, its index; 0 when it is
 * nil. */
static int opt_fill(lua_State *L, int i) {
  int ty = lua_type(L, i);
  if (ty == LUA_TNIL || ty == LUA_TNONE) return 0;
  if (ty != LUA_TTABLE) luaL_error(L, "sign: the headers table to fill must be a table");
  lua_pushnil(L);
  while (lua_next(L, i)) { /* clearing a field lua_next has passed is allowed */
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, i);
  }
  return i;
}

/* core.sign_headers(method, url, headers, body, region, service, credentials [, time [, fill]])
 *   -> the headers to send | nil, message.
 * What core.sign returns as result.headers for a table of these fields and its defaults
 * (normalize, no sign_body, no omit_session_token, no presign; time nil: now), without the
 * table to read them from nor the result table: the pipeline signs every attempt with it. */
static int l_sign_headers(lua_State *L) {
  lsigner *u = upsigner(L, "sign");
  gls_sigv4_request r;
  gls_sigv4_result res;
  const char *err;
  int token, anchor, ty, fill;

  lua_settop(L, 9);
  luaL_checkstack(L, 40, "sign");
  memset(&r, 0, sizeof r);
  r.method = arg_str(L, 1, "method", &r.method_len, 1);
  r.url = arg_str(L, 2, "url", &r.url_len, 1);
  ty = lua_type(L, 3);
  if (ty != LUA_TNIL && ty != LUA_TTABLE) luaL_error(L, "sign: headers must be a table");
  r.body = arg_str(L, 4, "body", &r.body_len, 0);
  r.region = arg_str(L, 5, "region", &r.region_len, 1);
  r.service = arg_str(L, 6, "service", &r.service_len, 1);
  if (!lua_istable(L, 7)) luaL_error(L, "sign: credentials must be a table");
  token = read_credentials(L, 7, &r);
  r.normalize = 1;
  ty = lua_type(L, 8);
  if (ty == LUA_TNIL) {
    r.time = (long long)time(NULL);
  } else {
    if (ty != LUA_TNUMBER) luaL_error(L, "sign: time must be a number");
    if ((err = gls_sigv4_arg_time(lua_tonumber(L, 8), &r.time))) luaL_error(L, "sign: %s", err);
  }

  fill = opt_fill(L, 9);
  lua_pushnil(L);
  anchor = lua_gettop(L);
  return sign_into(L, u, &r, &res, 3, anchor, token, fill) ? 1 : 2;
}

/* core.sha256_hex(s) -> 64 lower-case hex digits. */
static int l_sha256_hex(lua_State *L) {
  lsigner *u = upsigner(L, "sha256_hex");
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char hex[65];
  if (gls_sigv4_sha256_hex(u->s, s, n, hex)) luaL_error(L, "sha256_hex: digest failed");
  lua_pushlstring(L, hex, 64);
  return 1;
}

/* core.hmac_sha256(key, msg) -> 32 raw bytes. */
static int l_hmac_sha256(lua_State *L) {
  lsigner *u = upsigner(L, "hmac_sha256");
  size_t kl, ml;
  const char *k = luaL_checklstring(L, 1, &kl), *m = luaL_checklstring(L, 2, &ml);
  unsigned char mac[32];
  if (gls_sigv4_hmac_sha256(u->s, k, kl, m, ml, mac)) luaL_error(L, "hmac_sha256: mac failed");
  lua_pushlstring(L, (const char *)mac, 32);
  return 1;
}

/* ---- the LuaJIT FFI entry (lua/gameliftstreams/signer.lua) ---------------------------------
 * Under LuaJIT, gls.sign fills gls_sigv4_request cdata and calls the signer through the
 * pointers below: a C call from compiled code costs a few nanoseconds, where this binding's
 * table reads and writes through the C API cost hundreds. The FFI declares the types from the
 * text sigv4.h and this file compile from (GLS_SIGV4_TYPES, GLS_FFI_API), and leaves every rule
 * to this binding: the numbers go through gls_sigv4_arg_time/presign, the headers through
 * read_headers (l_ffi_headers), the same code core.sign runs. */
#define GLS_FFI_API(M)                                                                      \
  M(typedef struct {                                                                        \
    const char *(*sign)(void *signer, const gls_sigv4_request *req, gls_sigv4_result *out); \
    const char *(*arg_time)(double t, long long *out);                                      \
    const char *(*arg_presign)(double v, long long *out);                                   \
  } gls_sigv4_ffi_api;)
GLS_FFI_API(GLS_SIGV4_DECLARE)

/* The request's header lines are the ones l_ffi_headers read last (into u->h). */
static const char *ffi_sign(void *signer, const gls_sigv4_request *req, gls_sigv4_result *out) {
  lsigner *u = (lsigner *)signer;
  gls_sigv4_request r;
  if (!u->s) return "signer is closed";
  if (req->n_headers > u->n) return "headers were not read";
  r = *req;
  r.headers = u->h;
  return gls_sigv4_sign(u->s, &r, out);
}

static const gls_sigv4_ffi_api FFI_API = {ffi_sign, gls_sigv4_arg_time, gls_sigv4_arg_presign};

/* headers, n, anchor = read(headers, has_token, sign_body, presign [, fill]): core.sign's
 * reading of t.headers for the FFI path. Fills the signer's line array (what the next api.sign
 * signs) and returns the headers table to send (merged as core.sign merges them: fill, an empty
 * table to reuse, or a new one), the number of lines, and the table that keeps converted
 * numbers alive until the signature (nil when none). */
static int l_ffi_headers(lua_State *L) {
  lsigner *u = upsigner(L, "sign");
  gls_sigv4_request r;
  int fill;
  memset(&r, 0, sizeof r);
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_toboolean(L, 2)) {
    r.session_token = "t";
    r.session_token_len = 1;
  }
  r.sign_body = lua_toboolean(L, 3);
  r.presign = lua_toboolean(L, 4);
  lua_settop(L, 5);
  luaL_checkstack(L, 20, "sign");
  fill = opt_fill(L, 5);
  lua_pushnil(L); /* 6: the anchor */
  if (fill) lua_pushvalue(L, fill);
  else lua_createtable(L, 0, 8); /* 7: the headers to send */
  u->n = read_headers(L, u, &r, 1, 6, 7);
  gls_pushinteger(L, u->n);
  lua_pushvalue(L, 6);
  return 3;
}

/* core._ffi() -> signer userdata, api pointer, the C declarations, the header reader. */
static int l_ffi(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushlightuserdata(L, (void *)&FFI_API);
  lua_pushstring(L, GLS_SIGV4_TYPES(GLS_SIGV4_TEXT) " " GLS_FFI_API(GLS_SIGV4_TEXT));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, l_ffi_headers, 1);
  return 4;
}

void gls_open_sigv4(lua_State *L) {
  int i;
  lsigner *u = (lsigner *)lua_newuserdata(L, sizeof *u);
  memset(u, 0, sizeof *u);
  if (luaL_newmetatable(L, SIGNER_MT)) {
    gls_set_gc_close(L, signer_close);
    lua_pushcfunction(L, signer_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_setmetatable(L, -2);
  u->s = gls_sigv4_new(0);
  if (!u->s) luaL_error(L, "gameliftstreams.core: cannot set up SHA-256/HMAC (OpenSSL)");
  lua_pushvalue(L, -1);
  /* the upvalues of sign are more than the LUA_MINSTACK slots a C function is given */
  luaL_checkstack(L, K_COUNT + 4, "gameliftstreams.core");
  for (i = 0; i < K_COUNT; i++) lua_pushstring(L, KEY_NAMES[i]);
  lua_pushnil(L); /* last host */
  lua_pushnil(L); /* last x-amz-date */
  lua_pushcclosure(L, l_sign, 3 + K_COUNT);
  lua_setfield(L, -3, "sign");
  /* sign_headers: the same upvalues (its own last host and x-amz-date) */
  lua_pushvalue(L, -1);
  for (i = 0; i < K_COUNT; i++) lua_pushstring(L, KEY_NAMES[i]);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushcclosure(L, l_sign_headers, 3 + K_COUNT);
  lua_setfield(L, -3, "sign_headers");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_ffi, 1);
  lua_setfield(L, -3, "_ffi");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_sha256_hex, 1);
  lua_setfield(L, -3, "sha256_hex");
  lua_pushcclosure(L, l_hmac_sha256, 1);
  lua_setfield(L, -2, "hmac_sha256");
}
