/* core.http_pool: the Lua face of csrc/http.c (a libcurl multi pool).
 * Shape of liolib's file handle: one check function that refuses a closed pool, one
 * idempotent close behind close/__gc/__close, an honest __tostring. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "compat.h"
#include "http.h"

#define POOL_MT "gameliftstreams.http_pool"
#define ERRLEN 512
#define MAX_MS 2147483647.0

typedef struct lpool {
  gls_http_pool *p; /* NULL once closed */
} lpool;

static gls_http_pool *topool(lua_State *L) {
  lpool *u = (lpool *)luaL_checkudata(L, 1, POOL_MT);
  if (!u->p) luaL_error(L, "attempt to use a closed http_pool");
  return u->p;
}

/* Seconds (maybe fractional) to whole milliseconds, rounding up so 0.0001 s is not "none".
 * Returns 0 and leaves *ms alone when the field is absent; -1 for a bad value. */
static int field_ms(lua_State *L, int idx, const char *name, long *ms) {
  lua_Number s;
  int rc = 0;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1)) {
    s = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || s != s || s < 0) {
      rc = -1;
    } else {
      s = ceil(s * 1000.0);
      *ms = (long)(s > MAX_MS ? MAX_MS : s);
    }
  }
  lua_pop(L, 1);
  return rc;
}

/* The headers a request carries in an array on the C stack; more go in a userdata. */
#define LOCAL_HEADERS 32

/* Reads the headers table at htab into hs (room for cap): the count read, cap + 1 when there
 * are more (hs then holds the first cap), or -1 with err set. Only raw reads of the table and
 * its lists: no Lua code runs that could change them. A number value is converted on a copy
 * and anchored in the table at *anchor (made on the first, in the stack slot `slot`). */
static long read_headers(lua_State *L, int htab, gls_http_header *hs, size_t cap, int slot, int *anchor,
                         int *n_anchor, char *err, size_t errlen) {
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, htab)) {
    int list;
    size_t nlen, vlen, j, nv;
    const char *name;
    if (lua_type(L, -2) != LUA_TSTRING) {
      snprintf(err, errlen, "header names must be strings");
      return -1;
    }
    list = lua_istable(L, -1);
    nv = list ? lua_rawlen(L, -1) : 1;
    name = lua_tolstring(L, -2, &nlen); /* a string key: read in place */
    for (j = 1; j <= nv; j++) {
      const char *value;
      int t;
      if (list) lua_rawgeti(L, -1, (int)j);
      else lua_pushvalue(L, -1);
      t = lua_type(L, -1);
      if (t != LUA_TSTRING && t != LUA_TNUMBER) {
        snprintf(err, errlen, "header \"%.64s\": value must be a string, number or list of them", name);
        return -1;
      }
      value = lua_tolstring(L, -1, &vlen); /* converts the pushed copy, never the table */
      if (t == LUA_TNUMBER) { /* a new string only the stack holds: anchor it */
        if (!*anchor) {
          lua_newtable(L);
          lua_replace(L, slot);
          *anchor = slot;
        }
        lua_rawseti(L, *anchor, ++*n_anchor);
      } else {
        lua_pop(L, 1); /* a string the headers table holds */
      }
      if (i == cap) {
        lua_pop(L, 2); /* the value and the key: the walk stops here */
        return (long)cap + 1;
      }
      hs[i].name = name;
      hs[i].name_len = nlen;
      hs[i].value = value;
      hs[i].value_len = vlen;
      i++;
    }
    lua_pop(L, 1);
  }
  return (long)i;
}

/* Reads the request table at idx into r. Every string r points to stays alive until the caller
 * drops what this pushed (after gls_http_pool_add): the fields' values stay on the stack, the
 * headers are read raw from the headers table (kept on the stack), and only a number converted
 * to a string needs an anchor (a table made the first time one is). local_hs holds
 * LOCAL_HEADERS headers; more take a second walk into a userdata. Returns 1, or 0 with err set. */
static int read_request(lua_State *L, int idx, gls_http_request *r, gls_http_header *local_hs, char *err,
                        size_t errlen) {
  int htab, slot, anchor = 0, n_anchor = 0;
  long n;
  gls_http_header *hs = local_hs;

  memset(r, 0, sizeof *r);
  lua_getfield(L, idx, "method");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) {
    snprintf(err, errlen, "method must be a string");
    return 0;
  }
  r->method = lua_tostring(L, -1);

  lua_getfield(L, idx, "url");
  if (lua_type(L, -1) != LUA_TSTRING) {
    snprintf(err, errlen, "url must be a string");
    return 0;
  }
  r->url = lua_tostring(L, -1);

  lua_getfield(L, idx, "body");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) {
    snprintf(err, errlen, "body must be a string");
    return 0;
  }
  r->body = lua_tolstring(L, -1, &r->body_len);

  if (field_ms(L, idx, "timeout", &r->timeout_ms) || field_ms(L, idx, "connect_timeout", &r->connect_timeout_ms)) {
    snprintf(err, errlen, "timeout and connect_timeout must be non-negative numbers (seconds)");
    return 0;
  }
  lua_getfield(L, idx, "max_response_bytes");
  if (!lua_isnil(L, -1)) {
    lua_Number v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(v >= 1) || v > 9007199254740992.0) {
      snprintf(err, errlen, "max_response_bytes must be a positive number");
      return 0;
    }
    r->max_response_bytes = (size_t)v;
  }
  lua_pop(L, 1);

  lua_getfield(L, idx, "ca_file");
  lua_getfield(L, idx, "ca_path");
  if ((!lua_isnil(L, -2) && lua_type(L, -2) != LUA_TSTRING) || (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)) {
    snprintf(err, errlen, "ca_file and ca_path must be strings (paths)");
    return 0;
  }
  r->ca_file = lua_tostring(L, -2);
  r->ca_path = lua_tostring(L, -1);

  lua_pushnil(L); /* the anchor's slot */
  slot = lua_gettop(L);
  lua_getfield(L, idx, "headers");
  if (lua_isnil(L, -1)) return 1;
  if (!lua_istable(L, -1)) {
    snprintf(err, errlen, "headers must be a table");
    return 0;
  }
  htab = lua_gettop(L);
  n = read_headers(L, htab, hs, LOCAL_HEADERS, slot, &anchor, &n_anchor, err, errlen);
  if (n > LOCAL_HEADERS) { /* more than the stack holds: count them, then read them again */
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, htab)) {
      count += lua_istable(L, -1) ? lua_rawlen(L, -1) : 1;
      lua_pop(L, 1);
    }
    hs = (gls_http_header *)lua_newuserdata(L, count * sizeof *hs); /* stays on the stack */
    n = read_headers(L, htab, hs, count, slot, &anchor, &n_anchor, err, errlen);
  }
  if (n < 0) return 0;
  r->headers = hs;
  r->n_headers = (size_t)n;
  return 1;
}

/* Adds the request at index 2. Returns the id, or 0 with err set. Leaves the stack as found. */
static int64_t add_request(lua_State *L, gls_http_pool *p, char *err, size_t errlen) {
  gls_http_request r;
  gls_http_header local_hs[LOCAL_HEADERS];
  int top = lua_gettop(L);
  int64_t id = 0;
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checkstack(L, 16, "http_pool: request");
  if (read_request(L, 2, &r, local_hs, err, errlen)) id = gls_http_pool_add(p, &r, err, errlen);
  lua_settop(L, top);
  return id;
}

/* Pushes the response headers as { name = value }, the values of a repeated name joined with
 * ", " in arrival order. Linear in the size of the headers, however they repeat: the first pass
 * gathers the repeats of a name in a list (a table append each), the second joins each list
 * once through a luaL_Buffer. Joining as they came (value .. ", " .. next) copied the whole
 * value again per repeat: 49,000 repeats cost about 0.5 s. */
static void push_headers(lua_State *L, const gls_http_result *r) {
  const char *s = r->headers, *end = r->headers + r->headers_len;
  int t, repeats = 0;
  lua_createtable(L, 0, r->n_headers > 64 ? 64 : (int)r->n_headers); /* at its size, usually */
  t = lua_gettop(L);
  while (s < end) {
    size_t name_len = strlen(s);
    const char *name = s, *value = s + name_len + 1;
    size_t value_len = strlen(value);
    s = value + value_len + 1;
    /* the name made a Lua string once, then raw reads and writes (the table is our own) */
    lua_pushlstring(L, name, name_len);
    lua_pushvalue(L, -1);
    lua_rawget(L, t);
    switch (lua_type(L, -1)) {
    case LUA_TNIL:
      lua_pop(L, 1);
      lua_pushlstring(L, value, value_len);
      lua_rawset(L, t);
      break;
    case LUA_TSTRING: /* a second value: the name gets a list */
      lua_createtable(L, 4, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
      lua_pushlstring(L, value, value_len);
      lua_rawseti(L, -2, 2);
      lua_rawset(L, t);
      repeats = 1;
      break;
    default: /* the list */
      lua_pushlstring(L, value, value_len);
      lua_rawseti(L, -2, (int)lua_rawlen(L, -2) + 1);
      lua_pop(L, 2);
    }
  }
  if (!repeats) return;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      size_t i, n = lua_rawlen(L, -1);
      int list = lua_gettop(L);
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (i = 1; i <= n; i++) {
        if (i > 1) luaL_addlstring(&b, ", ", 2);
        lua_rawgeti(L, list, (int)i);
        luaL_addvalue(&b);
      }
      luaL_pushresult(&b);
      lua_pushvalue(L, list - 1); /* key */
      lua_insert(L, -2);
      lua_rawset(L, t); /* an existing key: allowed while lua_next walks the table */
    }
    lua_pop(L, 1);
  }
}

/* With a reader ({ decoder, shape name } at index rd, absolute) and a 2xx result: the body
 * decoded where the transfer holds it, the value and the status pushed and 1; 0 (nothing
 * pushed) when the body does not decode to a value, so the caller gets the whole result and
 * decodes its body string again, to the same failure. Neither the body's string nor the
 * headers nor a result table are made: on this path the caller needs none of them. */
static int push_output(lua_State *L, const gls_http_result *r, int rd) {
  int top = lua_gettop(L);
  lua_rawgeti(L, rd, 1);
  lua_rawgeti(L, rd, 2);
  if (gls_json_decode_bytes(L, top + 1, top + 2, r->body, r->body_len) != 1) {
    lua_settop(L, top);
    return 0;
  }
  lua_replace(L, top + 1); /* the value, over the decoder */
  lua_settop(L, top + 1);
  gls_pushinteger(L, r->status);
  return 1;
}

/* Pushes { status=, headers=, body= } or { error = {...} } and gives 1, or what push_output
 * pushes with a reader (rd: its index, or 0) and gives 2. The result stays owned by the pool. */
static int push_result(lua_State *L, const gls_http_result *r, int rd) {
  if (rd && !r->err_code && r->status >= 200 && r->status < 300 && push_output(L, r, rd)) return 2;
  lua_createtable(L, 0, 3);
  if (r->err_code) {
    gls_push_failure(L, r->err_code, r->err_reason, r->err_message);
    gls_pushinteger(L, r->curl_code);
    lua_setfield(L, -2, "curl_code");
    lua_setfield(L, -2, "error");
    return 1;
  }
  gls_pushinteger(L, r->status);
  lua_setfield(L, -2, "status");
  push_headers(L, r);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, r->body, r->body_len);
  lua_setfield(L, -2, "body");
  return 1;
}

/* The reader argument at idx: its index, or 0 when it is none or nil. */
static int opt_reader(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  return idx;
}

static long wait_ms(lua_State *L, int idx) {
  lua_Number s = luaL_optnumber(L, idx, 0);
  if (!(s > 0)) return 0;
  s = ceil(s * 1000.0);
  return (long)(s > MAX_MS ? MAX_MS : s);
}

/* --- methods --- */

/** id = pool:add(req) or nil, failure */
static int lpool_add(lua_State *L) {
  gls_http_pool *p = topool(L);
  char err[ERRLEN];
  int64_t id = add_request(L, p, err, sizeof err);
  if (!id) return gls_fail(L, "InvalidParameter", "other", err);
  gls_pushinteger(L, id);
  return 1;
}

/** n = pool:perform(wait_seconds) */
static int lpool_perform(lua_State *L) {
  gls_http_pool *p = topool(L);
  char err[ERRLEN];
  int n = gls_http_pool_perform(p, wait_ms(L, 2), err, sizeof err);
  if (n < 0) return luaL_error(L, "%s", err);
  gls_pushinteger(L, n);
  return 1;
}

/* Pushes a finished transfer's result (read with the reader at rd, or 0) and hands the
 * transfer back to the pool. */
static int take_result(lua_State *L, gls_http_pool *p, const gls_http_result *r, int rd) {
  int n = push_result(L, r, rd);
  gls_http_pool_release(p, r);
  return n;
}

/* Pushes a result that holds only a failure. */
static int failed_result(lua_State *L, const char *code, const char *message) {
  lua_createtable(L, 0, 1);
  gls_push_failure(L, code, "other", message);
  lua_setfield(L, -2, "error");
  return 1;
}

/** id, res = pool:next_done() */
static int lpool_next_done(lua_State *L) {
  gls_http_pool *p = topool(L);
  const gls_http_result *r = gls_http_pool_done(p, 0);
  if (!r) {
    lua_pushnil(L);
    return 1;
  }
  gls_pushinteger(L, r->id);
  return 1 + take_result(L, p, r, 0);
}

/** id = pool:next_finished(): a transfer that finished since the last call (each once, in the
 * order they finished), its result left for take; nil when none */
static int lpool_next_finished(lua_State *L) {
  int64_t id = gls_http_pool_next_finished(topool(L));
  if (id) gls_pushinteger(L, id);
  else lua_pushnil(L);
  return 1;
}

static int64_t check_id(lua_State *L, int idx) {
  lua_Number n = luaL_checknumber(L, idx);
  luaL_argcheck(L, n >= 1 && n <= 9007199254740992.0 && n == floor(n), idx, "not a transfer id");
  return (int64_t)n;
}

/** res = pool:take(id [, reader]) or nil while it runs; output, status for a 2xx the reader
 * decoded */
static int lpool_take(lua_State *L) {
  gls_http_pool *p = topool(L);
  const gls_http_result *r = gls_http_pool_done(p, check_id(L, 2));
  int rd = opt_reader(L, 3);
  if (!r) {
    lua_pushnil(L);
    return 1;
  }
  return take_result(L, p, r, rd);
}

/** res = pool:request(req [, reader]) (output, status for a 2xx the reader decoded): blocks
 * until this transfer finishes; others keep running. */
static int lpool_request(lua_State *L) {
  gls_http_pool *p = topool(L);
  char err[ERRLEN];
  int rd = opt_reader(L, 3);
  int64_t id = add_request(L, p, err, sizeof err);
  const gls_http_result *r;
  if (!id) return failed_result(L, "InvalidParameter", err);
  while ((r = gls_http_pool_done(p, id)) == NULL) {
    if (!gls_http_pool_running(p, id)) {
      snprintf(err, sizeof err, "transfer lost");
      break;
    }
    /* The transfer's own timeouts bound this loop; the wait only paces it. */
    if (gls_http_pool_perform(p, 1000, err, sizeof err) < 0) {
      gls_http_pool_cancel(p, id);
      break;
    }
  }
  if (!r) return failed_result(L, "NetworkError", err);
  return take_result(L, p, r, rd);
}

/** ok = pool:cancel(id): true when a running transfer or an unclaimed result was dropped */
static int lpool_cancel(lua_State *L) {
  gls_http_pool *p = topool(L);
  lua_pushboolean(L, gls_http_pool_cancel(p, check_id(L, 2)));
  return 1;
}

/* close, __gc and __close: idempotent; aborts transfers in flight. */
static int lpool_close(lua_State *L) {
  lpool *u = (lpool *)luaL_checkudata(L, 1, POOL_MT);
  if (u->p) {
    gls_http_pool *p = u->p;
    u->p = NULL;
    gls_http_pool_free(p);
  }
  return 0;
}

static int lpool_tostring(lua_State *L) {
  lpool *u = (lpool *)luaL_checkudata(L, 1, POOL_MT);
  if (u->p) lua_pushfstring(L, "gameliftstreams.http_pool (%p)", (void *)u->p);
  else lua_pushliteral(L, "gameliftstreams.http_pool (closed)");
  return 1;
}

static const char *opt_string(lua_State *L, int idx, const char *name) {
  const char *s;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "http_pool: %s must be a string", name);
  s = lua_tostring(L, -1);
  lua_pop(L, 1); /* still referenced by the opts table */
  return s;
}

/** pool = core.http_pool{ max_host_connections=, ca_file=, ca_path=, insecure=, libcurl_only= } or nil,
 * failure (libcurl_only: every request through libcurl's own HTTP, see http.c's direct transfers) */
static int l_http_pool(lua_State *L) {
  gls_http_pool_opts o;
  char err[ERRLEN];
  lpool *u;
  memset(&o, 0, sizeof o);
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "max_host_connections");
    if (!lua_isnil(L, -1)) {
      lua_Number d = lua_tonumber(L, -1);
      /* the range first: casting a double a long does not hold is undefined behaviour */
      if (lua_type(L, -1) != LUA_TNUMBER || !(d >= 0 && d <= 2147483647.0) || d != floor(d))
        return luaL_error(L, "http_pool: max_host_connections must be a whole number from 0 to 2147483647");
      o.max_host_connections = (long)d;
    }
    lua_pop(L, 1);
    o.ca_file = opt_string(L, 1, "ca_file");
    o.ca_path = opt_string(L, 1, "ca_path");
    lua_getfield(L, 1, "insecure");
    o.insecure = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "libcurl_only");
    o.libcurl_only = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  u = (lpool *)lua_newuserdata(L, sizeof *u);
  u->p = NULL;
  luaL_getmetatable(L, POOL_MT);
  lua_setmetatable(L, -2);
  u->p = gls_http_pool_new(&o, err, sizeof err);
  if (!u->p) return gls_fail(L, "InternalError", "other", err);
  return 1;
}

static const luaL_Reg pool_methods[] = {
  {"add", lpool_add},         {"perform", lpool_perform}, {"next_done", lpool_next_done},
  {"next_finished", lpool_next_finished}, {"take", lpool_take}, {"request", lpool_request},
  {"cancel", lpool_cancel},   {"close", lpool_close},     {NULL, NULL},
};

void gls_open_http(lua_State *L) {
  gls_register_class(L, POOL_MT, pool_methods, lpool_close, lpool_tostring);
  lua_pushcfunction(L, l_http_pool);
  lua_setfield(L, -2, "http_pool");
}
