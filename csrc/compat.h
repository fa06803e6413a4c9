/* One place for the differences between the Lua 5.4 and Lua 5.1 (LuaJIT) C APIs. */
#ifndef GLS_COMPAT_H
#define GLS_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
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
#define gls_isinteger(L, i) gls_compat_isinteger((L), (i))
static inline int gls_compat_isinteger(lua_State *L, int i) {
  lua_Number n;
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
  n = lua_tonumber(L, i);
  return n == (lua_Number)(long long)n;
}
#else
#define GLS_LUA51 0
#define gls_pushinteger(L, n) lua_pushinteger((L), (lua_Integer)(n))
#define gls_isinteger(L, i) lua_isinteger((L), (i))
#define gls_gettable(L, idx) lua_gettable((L), (idx))
#endif

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

/* Each concern adds its functions to the module table on top of the stack. */
void gls_open_sigv4(lua_State *L);
void gls_open_http(lua_State *L);
void gls_open_paginator(lua_State *L);
void gls_open_util(lua_State *L);
void gls_open_process(lua_State *L);

#endif
