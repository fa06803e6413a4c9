/* core.paginator: the Lua face of the paginator state machine (paginator.c). */
#include "compat.h"
#include "paginator.h"

#include <limits.h>
#include <string.h>

#define PAGINATOR_MT "gameliftstreams.paginator"

typedef struct {
  gls_paginator p;
  long long page_size; /* 0: not set */
  int closed;
} lpaginator;

static lpaginator *check_open(lua_State *L) {
  lpaginator *lp = (lpaginator *)luaL_checkudata(L, 1, PAGINATOR_MT);
  if (lp->closed) luaL_error(L, "attempt to use a closed paginator");
  return lp;
}

/* An optional positive integer field of the options table; 0 when absent. */
static long long opt_count(lua_State *L, int t, const char *name) {
  long long v = 0;
  lua_getfield(L, t, name);
  if (!lua_isnil(L, -1)) {
    if (!gls_tointeger_in(L, -1, 1, LLONG_MAX, &v))
      luaL_error(L, "paginator: %s must be a positive integer", name);
  }
  lua_pop(L, 1);
  return v;
}

static int gls_paginator_new(lua_State *L) {
  long long page_size, max_items;
  const char *start = NULL;
  size_t start_len = 0;
  lpaginator *lp;
  int rc;
  if (lua_isnoneornil(L, 1)) lua_newtable(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  page_size = opt_count(L, 1, "page_size");
  max_items = opt_count(L, 1, "max_items");
  lua_getfield(L, 1, "starting_token");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "paginator: starting_token must be a string");
    start = lua_tolstring(L, -1, &start_len);
  }
  lp = (lpaginator *)lua_newuserdata(L, sizeof *lp);
  memset(lp, 0, sizeof *lp);
  lp->closed = 1; /* until init succeeded: __gc must not free garbage */
  luaL_getmetatable(L, PAGINATOR_MT);
  lua_setmetatable(L, -2);
  rc = gls_paginator_init(&lp->p, max_items > 0 ? max_items : -1, start, start_len);
  if (rc != GLS_PAG_OK) {
    gls_paginator_free(&lp->p);
    if (rc == GLS_PAG_NOMEM) return luaL_error(L, "paginator: out of memory");
    return gls_fail(L, "InvalidParameter", "starting_token",
                    "paginator: starting_token is a resume token with a bad field");
  }
  lp->closed = 0;
  lp->page_size = page_size;
  return 1;
}

/* Pushes what a token getter answers: the token, or nil for none. */
static int push_token(lua_State *L, const char *(*get)(const gls_paginator *, size_t *)) {
  lpaginator *lp = check_open(L);
  size_t len;
  const char *tok = get(&lp->p, &len);
  if (tok) lua_pushlstring(L, tok, len);
  else lua_pushnil(L);
  return 1;
}

static int gls_paginator_next_token_l(lua_State *L) { return push_token(L, gls_paginator_next_token); }

static int gls_paginator_resume_token_l(lua_State *L) {
  return push_token(L, gls_paginator_resume_token);
}

static int gls_paginator_done_l(lua_State *L) {
  lpaginator *lp = check_open(L);
  lua_pushboolean(L, gls_paginator_done(&lp->p));
  return 1;
}

static int gls_paginator_feed_l(lua_State *L) {
  lpaginator *lp = check_open(L);
  const char *tok = NULL;
  size_t tok_len = 0;
  long long n, first, last;
  int rc;
  if (!lua_isnoneornil(L, 2)) tok = luaL_checklstring(L, 2, &tok_len);
  if (!gls_tointeger_in(L, 3, 0, LLONG_MAX, &n))
    return luaL_argerror(L, 3, "item count must be a non-negative integer");
  rc = gls_paginator_feed(&lp->p, tok, tok_len, n, &first, &last);
  switch (rc) {
    case GLS_PAG_OK:
      gls_pushinteger(L, first);
      gls_pushinteger(L, last);
      return 2;
    case GLS_PAG_REPEATED: /* this page's slice, and why the walk ends after it */
      gls_pushinteger(L, first);
      gls_pushinteger(L, last);
      gls_push_failure(L, "PaginationError", "repeated_token",
                       "paginator: the service returned the token it was sent");
      return 3;
    case GLS_PAG_DONE:
      return luaL_error(L, "paginator: feed after the last page");
    default:
      return luaL_error(L, "paginator: out of memory");
  }
}

static int gls_paginator_handed_l(lua_State *L) {
  lpaginator *lp = check_open(L);
  gls_pushinteger(L, lp->p.handed);
  return 1;
}

static int gls_paginator_page_size_l(lua_State *L) {
  lpaginator *lp = check_open(L);
  if (lp->page_size > 0) gls_pushinteger(L, lp->page_size);
  else lua_pushnil(L);
  return 1;
}

/* Idempotent: from close(), __gc and __close alike. */
static int gls_paginator_close_l(lua_State *L) {
  lpaginator *lp = (lpaginator *)luaL_checkudata(L, 1, PAGINATOR_MT);
  if (!lp->closed) {
    gls_paginator_free(&lp->p);
    lp->closed = 1;
  }
  return 0;
}

static int gls_paginator_tostring_l(lua_State *L) {
  lpaginator *lp = (lpaginator *)luaL_checkudata(L, 1, PAGINATOR_MT);
  if (lp->closed) lua_pushliteral(L, "paginator (closed)");
  else lua_pushfstring(L, "paginator (%p)", (void *)lp);
  return 1;
}

static const luaL_Reg paginator_methods[] = {
  { "next_token", gls_paginator_next_token_l },
  { "done", gls_paginator_done_l },
  { "feed", gls_paginator_feed_l },
  { "resume_token", gls_paginator_resume_token_l },
  { "handed", gls_paginator_handed_l },
  { "page_size", gls_paginator_page_size_l },
  { "close", gls_paginator_close_l },
  { NULL, NULL }
};

void gls_open_paginator(lua_State *L) {
  gls_register_class(L, PAGINATOR_MT, paginator_methods, gls_paginator_close_l, gls_paginator_tostring_l);
  lua_pushcfunction(L, gls_paginator_new);
  lua_setfield(L, -2, "paginator");
}
