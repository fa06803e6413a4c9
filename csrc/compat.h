/* One place for the differences between the Lua 5.4 and Lua 5.1 (LuaJIT) C APIs. */
#ifndef GLS_COMPAT_H
#define GLS_COMPAT_H

#include <math.h>

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
/* Of the Lua 5.1 family only LuaJIT 2.1 is supported (it has the 5.2 functions used here, such
   as luaL_setfuncs); PUC Lua 5.1's headers would build a module that cannot load. */
#if defined(__has_include)
#if __has_include(<luajit.h>)
#include <luajit.h>
#endif
#endif
#if !defined(LUAJIT_VERSION) && !defined(LUA_LJDIR)
#error "gameliftstreams: these are PUC Lua 5.1's headers; it needs Lua 5.2 to 5.4 or LuaJIT 2.1. For LuaJIT, build against LuaJIT's headers (luarocks --lua-version=5.1 ... LUA_INCDIR=/usr/include/luajit-2.1)."
#endif
#define GLS_LUA51 1
/* LuaJIT 2.1 already has luaL_setfuncs, luaL_newlib and luaL_testudata. */
#define lua_rawlen(L, i) lua_objlen((L), (i))
/* lua_gettable returns the value's type from 5.3 on. */
static inline int gls_gettable(lua_State *L, int idx) {
  lua_gettable(L, idx);
  return lua_type(L, -1);
}

/* Integers: LuaJIT numbers are doubles; integer-valued results are exact up to 2^53. */
#define gls_pushinteger(L, n) lua_pushnumber((L), (lua_Number)(n))
#else
#define GLS_LUA51 0
#define gls_pushinteger(L, n) lua_pushinteger((L), (lua_Integer)(n))
#define gls_gettable(L, idx) lua_gettable((L), (idx))
#endif

/* The value at i as an integer in [lo, hi]: 1 with *out set, or 0 when it is not a number, not
 * an integer (Lua 5.4: of integer subtype; LuaJIT: a whole double) or out of range. Every
 * lua_Number -> integer conversion of the glue goes through here or checks its range first:
 * casting a double that does not fit is undefined behaviour. */
static inline int gls_tointeger_in(lua_State *L, int i, long long lo, long long hi, long long *out) {
  long long v;
#if GLS_LUA51
  lua_Number n;
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
  n = lua_tonumber(L, i);
  /* [-2^63, 2^63): the doubles a long long holds; NaN fails both compares */
  if (!(n >= -9223372036854775808.0 && n < 9223372036854775808.0) || n != floor(n)) return 0;
  v = (long long)n;
#else
  if (!lua_isinteger(L, i)) return 0;
  v = (long long)lua_tointeger(L, i);
#endif
  if (v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

/* Registers __gc, and __close where the language has it (5.4). */
static inline void gls_set_gc_close(lua_State *L, lua_CFunction closer) {
  lua_pushcfunction(L, closer);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  lua_pushcfunction(L, closer);
  lua_setfield(L, -2, "__close");
#endif
}

/* Creates (once) the metatable `name` for a userdata class: methods under __index, `closer` as
   __gc and, where the language has it (5.4), __close, and `tostring` as __tostring. Leaves the
   stack as it was. */
static inline void gls_register_class(lua_State *L, const char *name, const luaL_Reg *methods,
                                      lua_CFunction closer, lua_CFunction tostring) {
  if (luaL_newmetatable(L, name)) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    gls_set_gc_close(L, closer);
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

/* The one shape the C glue reports a failure in: { code = "...", reason = "...", message = "..." }
 * (code an error code of the SDK, reason a short lower-case word for what failed, message for
 * people, never holding secrets). A transfer result holds one as its `error`; every other
 * function that fails returns nil and one (gls_fail). errors.from_core (errors.lua) is the one
 * place the Lua layer turns it into an error object. Three functions keep the message alone as
 * their documented contract: core.sign (gls.sign's public "nil, message"), core.write_private
 * and core.spawn_shell. */
static inline void gls_push_failure(lua_State *L, const char *code, const char *reason,
                                    const char *message) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, reason);
  lua_setfield(L, -2, "reason");
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
}

/* return gls_fail(L, ...): nil and the failure. */
static inline int gls_fail(lua_State *L, const char *code, const char *reason, const char *message) {
  lua_pushnil(L);
  gls_push_failure(L, code, reason, message);
  return 2;
}

/* Each concern adds its functions to the module table on top of the stack. */
void gls_open_sigv4(lua_State *L);
void gls_open_http(lua_State *L);
void gls_open_paginator(lua_State *L);
void gls_open_util(lua_State *L);
void gls_open_process(lua_State *L);
void gls_open_json(lua_State *L);

/* A new scratch buffer (a gls_buf that the userdata pushed owns and frees), for glue that must
 * build bytes across Lua calls that may raise. */
struct gls_buf *gls_push_scratch(lua_State *L);

/* What decode(text, shape) returns for the n bytes at s, where decode is the core.json_plan
 * decoder at stack index fn and shape the value at index shape (absolute indices): pushed, and
 * their count (1: the value). Raises when fn is not such a decoder. For the HTTP binding, which
 * decodes a reply's body where the transfer left it (ljson.c). */
int gls_json_decode_bytes(lua_State *L, int fn, int shape, const char *s, size_t n);

#endif
