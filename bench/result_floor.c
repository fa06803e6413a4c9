/* The least a C binding can do to hand one signature back to Lua in the result shape
 * DESIGN.md fixes, measured without reading a request or signing anything: the result and
 * headers tables, four fresh strings (authorization, signature, canonical_request,
 * string_to_sign) of a real result's lengths, and the other header values reused, as the
 * binding reuses the host, x-amz-date, token and input header strings.
 *
 *   local make = require("result_floor")
 *   local floor = make(gls.sign(request))   -- a real result gives the lengths and values
 *   floor()                                 -- a new result of the same shape
 *
 * Built by bench/sign_bench.sh only; not part of the library. */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#define MAX_HEADERS 16

/* Upvalues of the floor closure. */
enum {
  U_STATE = 1, /* userdata: counter and the bytes fresh strings are cut from */
  U_KEYS,      /* "headers", "signature", "canonical_request", "string_to_sign", "authorization" */
  U_NHEADERS = U_KEYS + 5,
  U_PAIRS /* name, value, name, value, ... of the headers besides authorization */
};

enum { S_SIGNATURE, S_CREQ, S_STS, S_AUTH, S_COUNT };

typedef struct {
  uint64_t calls;
  size_t len[S_COUNT];
  char bytes[];
} state;

/* A new string of len bytes whose first bytes are the call counter: never one already made, so
 * LuaJIT, which interns every string, cannot hand back an old one. */
static void push_fresh(lua_State *L, state *s, int which) {
  size_t n = s->len[which];
  char *p = s->bytes + which; /* a different start for each of the four */
  memcpy(p, &s->calls, n < sizeof s->calls ? n : sizeof s->calls);
  lua_pushlstring(L, p, n);
}

static int build_result(lua_State *L) {
  state *s = (state *)lua_touserdata(L, lua_upvalueindex(U_STATE));
  int i, n = (int)lua_tointeger(L, lua_upvalueindex(U_NHEADERS));
  s->calls++;
  lua_createtable(L, 0, 4);
  lua_createtable(L, 0, 6);
  for (i = 0; i < 2 * n; i += 2) {
    lua_pushvalue(L, lua_upvalueindex(U_PAIRS + i));
    lua_pushvalue(L, lua_upvalueindex(U_PAIRS + i + 1));
    lua_rawset(L, -3);
  }
  lua_pushvalue(L, lua_upvalueindex(U_KEYS + 4));
  push_fresh(L, s, S_AUTH);
  lua_rawset(L, -3);
  lua_pushvalue(L, lua_upvalueindex(U_KEYS));
  lua_insert(L, -2);
  lua_rawset(L, -3);
  for (i = S_SIGNATURE; i <= S_STS; i++) {
    lua_pushvalue(L, lua_upvalueindex(U_KEYS + 1 + i));
    push_fresh(L, s, i);
    lua_rawset(L, -3);
  }
  return 1;
}

static size_t field_len(lua_State *L, int t, const char *name) {
  size_t n;
  lua_getfield(L, t, name);
  if (!lua_isstring(L, -1)) luaL_error(L, "result_floor: the sample has no string %s", name);
  lua_tolstring(L, -1, &n);
  lua_pop(L, 1);
  return n;
}

/* make(sample) -> floor function. */
static int l_make(lua_State *L) {
  static const char *const keys[] = {"headers", "signature", "canonical_request",
                                     "string_to_sign", "authorization"};
  size_t len[S_COUNT], max = 0;
  state *s;
  int i, n = 0, top;
  luaL_checktype(L, 1, LUA_TTABLE);
  len[S_SIGNATURE] = field_len(L, 1, "signature");
  len[S_CREQ] = field_len(L, 1, "canonical_request");
  len[S_STS] = field_len(L, 1, "string_to_sign");
  lua_getfield(L, 1, "headers");
  luaL_argcheck(L, lua_istable(L, -1), 1, "the sample has no headers table");
  luaL_checkstack(L, 2 * MAX_HEADERS + 12, "result_floor");
  len[S_AUTH] = field_len(L, -1, "authorization");
  for (i = 0; i < S_COUNT; i++)
    if (len[i] + S_COUNT > max) max = len[i] + S_COUNT;
  s = (state *)lua_newuserdata(L, sizeof *s + max);
  s->calls = 0;
  memcpy(s->len, len, sizeof len);
  memset(s->bytes, 'a', max);
  for (i = 0; i < 5; i++) lua_pushstring(L, keys[i]);
  lua_pushnil(L); /* U_NHEADERS, set below */
  top = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "authorization") == 0) {
      lua_pop(L, 1);
      continue;
    }
    if (++n > MAX_HEADERS) luaL_error(L, "result_floor: more than %d headers", MAX_HEADERS);
    lua_pushvalue(L, -2); /* keep key and value as the pair; iterate on from the copy */
  }
  lua_pushinteger(L, n);
  lua_replace(L, top);
  lua_pushcclosure(L, build_result, lua_gettop(L) - 2);
  return 1;
}

int luaopen_result_floor(lua_State *L) {
  lua_pushcfunction(L, l_make);
  return 1;
}
