/* The gameliftstreams.core module: one table, filled by each concern's opener. */
#include "compat.h"

#ifndef GLS_VERSION
#define GLS_VERSION "scm"
#endif

__attribute__((visibility("default"))) int luaopen_gameliftstreams_core(lua_State *L) {
  lua_newtable(L);
  gls_open_util(L);
  gls_open_sigv4(L);
  gls_open_http(L);
  gls_open_paginator(L);
  gls_open_process(L);
  gls_open_json(L);
  lua_pushliteral(L, GLS_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
