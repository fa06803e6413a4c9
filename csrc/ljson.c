/* gls_open_json(L): core.json_plan, core.json_decode, core.parse_rfc3339, core.days_from_civil.
 * JSON text (json.c) straight into the Lua values of a model's shapes: the one decoder of
 * replies, error bodies and credential documents, and the one shape check of what they hold.
 *
 * One file, over 500 lines, because the plan and the walk are one decoder over one private
 * structure (the plan's nodes and member hash tables, read at every key) that builds the Lua
 * values as it reads; the JSON reader itself is json.c, without Lua.
 *
 * decode = core.json_plan(shapes): the decoder of a model's shapes table (the caller keeps one
 * per shapes table). Every shape gets a node, once, here: its kind and, for a structure, its
 * body members (header-bound ones left out) in a hash table by JSON name, each with its output
 * name (a Lua string in the decoder's upvalue, so no key is interned from the reply's bytes)
 * and its shape's node. The plan holds no reference to the shapes table.
 *
 * decode(text, shape_name) walks the text once and builds the output directly: each table made
 * at the size the last value of its shape needed, numbers converted and checked in C, unknown
 * members skipped without recursion (json.c), JSON nulls dropped (from lists too, which are
 * compacted). A nil shape_name is an operation without output: a JSON object, nothing kept.
 * A shape the table does not have, or of a type without a check (blob, document), takes any
 * JSON value as core.json_decode does. core.json_decode(text) is the same walk with no shape:
 * objects become tables with their keys, arrays lists, numbers integers when they are integers
 * a long long holds, else floats.
 *
 * Both return
 *   value
 *   nil, "empty"                    the text is white space only
 *   nil, "null"                     JSON null
 *   nil, "syntax"                   not JSON (json.h says which rules)
 *   nil, "type", expected, path     a value that does not have its shape's type, e.g.
 *                                   "an integer (32-bit)", ".Items[2].CreatedAt" (path "" for the
 *                                   whole value); never the value itself (it may be sensitive).
 * "type" only for a text that is JSON all through. Duplicate keys: the last one wins, and so
 * does its value's failure or success. Of several failures, the first in the text is named.
 *
 * What is checked, as the AWS JS SDK v3's deserialisers do: strings and enums (unknown values
 * pass) are JSON strings, booleans true or false, integer and long whole numbers in 32 or 64
 * bits (7.0 and 7e0 are 7; Lua integers on 5.4), float and double finite (kept as floats),
 * timestamps a number, a number written as a string or an RFC 3339 date-time (integers when
 * whole), structures and maps JSON objects, lists JSON arrays. lua-cjson, the decoder before,
 * could not tell [] from {}: an empty array where an object is expected, or the other way round,
 * is now refused as their non-empty forms always were.
 *
 * gls_json_decode_bytes (compat.h) is the same decode of bytes a C buffer holds: the HTTP
 * binding decodes a reply's body where the transfer left it, with the decoder its caller hands.
 *
 * Memory: the text is read in place; a string with escapes is decoded into a scratch buffer
 * that a userdata owns, so a Lua call that raises (out of memory) leaks nothing. Nesting is
 * bounded (json.h), and so is this walk's C recursion and Lua stack. */
#include "buf.h"
#include "compat.h"
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_MT "gameliftstreams.json_plan"

enum { K_ANY, K_STRUCT, K_LIST, K_MAP, K_STRING, K_BOOL, K_INT32, K_INT64, K_DOUBLE, K_TIMESTAMP };

/* What a failure says was expected, by kind. */
static const char *const EXPECT[] = {
    "a JSON value",
    "a structure (JSON object)",
    "a list (JSON array)",
    "a map (JSON object)",
    "a string",
    "a boolean",
    "an integer (32-bit)",
    "an integer (64-bit)",
    "a finite number",
    "a timestamp (epoch seconds, or an RFC 3339 date-time)",
};

/* The nodes every plan starts with. */
enum { N_ANY, N_ANY_MAP, N_ANY_LIST, N_UNIT, N_BUILTIN };

#define HINT_MAX 256 /* a table is never made larger than this ahead of its items */

typedef struct {
  int kind;
  int elem;        /* list: its member's node; map: its value's */
  int first, count; /* structure: members[first .. first + count) */
  int slots;       /* structure: its hash table, slots[slots .. slots + mask] (member + 1, or 0) */
  unsigned mask;
  int hint;        /* the records or items of the last table of this node */
} jnode;

typedef struct {
  size_t key, key_len; /* the JSON name, in keys */
  int name;            /* the output name: index in the decoder's names table */
  int node;
} jmember;

typedef struct {
  jnode *nodes;
  jmember *members;
  int *slots;
  int nnodes, cap_nodes, nmembers, cap_members, nslots, cap_slots, nnames;
  gls_buf keys;
  int nil_root; /* the node of a nil shape name */
} jplan;

static int plan_gc(lua_State *L) {
  jplan *p = (jplan *)luaL_checkudata(L, 1, PLAN_MT);
  free(p->nodes);
  free(p->members);
  free(p->slots);
  gls_buf_free(&p->keys);
  memset(p, 0, sizeof *p);
  return 0;
}

/* Room for need items in *arr (cap of them), or a raise; the block stays the plan's. */
static void *reserve(lua_State *L, void *arr, int *cap, int need, size_t size) {
  int c = *cap ? *cap : 16;
  void *q;
  if (need <= *cap) return arr;
  while (c < need) c *= 2;
  q = realloc(arr, (size_t)c * size);
  if (!q) luaL_error(L, "json_plan: out of memory");
  *cap = c;
  return q;
}

static int add_node(lua_State *L, jplan *p, int kind, int elem) {
  jnode *nd;
  p->nodes = (jnode *)reserve(L, p->nodes, &p->cap_nodes, p->nnodes + 1, sizeof *p->nodes);
  nd = &p->nodes[p->nnodes];
  memset(nd, 0, sizeof *nd);
  nd->kind = kind;
  nd->elem = elem;
  return p->nnodes++;
}

/* A cheap hash of a member's JSON name: its length and three of its bytes (the slots are
 * probed and the name compared, so collisions only cost a step). */
static unsigned key_hash(const char *k, size_t n) {
  const unsigned char *s = (const unsigned char *)k;
  unsigned h;
  if (n == 0) return 0;
  h = (unsigned)n;
  h = h * 31 + s[0];
  h = h * 31 + s[n / 2];
  h = h * 31 + s[n - 1];
  return h ^ h >> 5;
}

/* a and b hold the same n bytes (names are short: no call to memcmp; the last 8 or 4 bytes are
 * read again rather than one at a time) */
static int same_bytes(const char *a, const char *b, size_t n) {
  uint64_t x, y;
  uint32_t u, v;
  if (n >= 8) {
    for (; n > 8; a += 8, b += 8, n -= 8) {
      memcpy(&x, a, 8);
      memcpy(&y, b, 8);
      if (x != y) return 0;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    memcpy(&u, a, 4);
    memcpy(&v, b, 4);
    if (u != v) return 0;
    memcpy(&u, a + n - 4, 4);
    memcpy(&v, b + n - 4, 4);
    return u == v;
  }
  for (; n; n--)
    if (*a++ != *b++) return 0;
  return 1;
}

static const jmember *lookup(const jplan *p, const jnode *nd, const char *k, size_t n) {
  unsigned h = key_hash(k, n) & nd->mask;
  int s;
  while ((s = p->slots[nd->slots + (int)h]) != 0) {
    const jmember *m = &p->members[s - 1];
    if (m->key_len == n && same_bytes(p->keys.p + m->key, k, n)) return m;
    h = (h + 1) & nd->mask;
  }
  return NULL;
}

/* The kind of the shape table at the top of the stack. */
static int kind_of(lua_State *L) {
  static const struct { const char *type; int kind; } TYPES[] = {
      {"structure", K_STRUCT}, {"list", K_LIST},         {"map", K_MAP},       {"string", K_STRING},
      {"enum", K_STRING},      {"boolean", K_BOOL},      {"integer", K_INT32}, {"long", K_INT64},
      {"float", K_DOUBLE},     {"double", K_DOUBLE},     {"timestamp", K_TIMESTAMP},
  };
  int kind = K_ANY;
  size_t i;
  lua_pushliteral(L, "type");
  lua_rawget(L, -2);
  if (lua_type(L, -1) == LUA_TSTRING) {
    const char *t = lua_tostring(L, -1);
    for (i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
      if (strcmp(t, TYPES[i].type) == 0) kind = TYPES[i].kind;
  }
  lua_pop(L, 1);
  return kind;
}

/* The node of the shape a reference names (the reference at the top of the stack: a shape
 * name, or a table with one in `shape`), popping it; N_ANY for a shape the table lacks. */
static int ref_node(lua_State *L, int names) {
  int node = N_ANY;
  if (lua_istable(L, -1)) {
    lua_pushliteral(L, "shape");
    lua_rawget(L, -2);
    lua_remove(L, -2);
  }
  if (lua_type(L, -1) == LUA_TSTRING) {
    lua_rawget(L, names);
    if (lua_type(L, -1) == LUA_TNUMBER) node = (int)lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return node;
}

/* field of the table at the top of the stack, pushed, raw */
static void raw_field(lua_State *L, const char *field) {
  lua_pushstring(L, field);
  lua_rawget(L, -2);
}

/* The members of structure node idx, whose shape table is at the top of the stack. */
static void plan_struct(lua_State *L, jplan *p, int idx, int names) {
  int first = p->nmembers, count, size = 1, k;
  jnode *nd;
  raw_field(L, "members");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) { /* member name, member def */
      if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
        jmember *m;
        size_t klen;
        const char *key;
        raw_field(L, "location");
        if (!lua_isnil(L, -1)) {
          lua_pop(L, 2);
          continue;
        }
        lua_pop(L, 1);
        raw_field(L, "json_name");
        if (lua_type(L, -1) != LUA_TSTRING) {
          lua_pop(L, 1);
          lua_pushvalue(L, -2);
        }
        key = lua_tolstring(L, -1, &klen);
        p->members = (jmember *)reserve(L, p->members, &p->cap_members, p->nmembers + 1,
                                        sizeof *p->members);
        m = &p->members[p->nmembers];
        m->key = p->keys.len;
        m->key_len = klen;
        if (gls_buf_add(&p->keys, key, klen) != GLS_BUF_OK) luaL_error(L, "json_plan: out of memory");
        lua_pop(L, 1);
        lua_pushvalue(L, -2);
        lua_rawseti(L, names, ++p->nnames);
        m->name = p->nnames;
        raw_field(L, "shape");
        m->node = ref_node(L, names);
        p->nmembers++;
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  count = p->nmembers - first;
  while (size < 2 * count) size *= 2;
  p->slots = (int *)reserve(L, p->slots, &p->cap_slots, p->nslots + size, sizeof *p->slots);
  memset(p->slots + p->nslots, 0, (size_t)size * sizeof *p->slots);
  for (k = first; k < first + count; k++) {
    const jmember *m = &p->members[k];
    unsigned h = key_hash(p->keys.p + m->key, m->key_len) & (unsigned)(size - 1);
    while (p->slots[p->nslots + (int)h]) h = (h + 1) & (unsigned)(size - 1);
    p->slots[p->nslots + (int)h] = k + 1;
  }
  nd = &p->nodes[idx];
  nd->first = first;
  nd->count = count;
  nd->slots = p->nslots;
  nd->mask = (unsigned)(size - 1);
  nd->hint = count;
  p->nslots += size;
}

/* A plan userdata with the built-in nodes, pushed. */
static jplan *new_plan(lua_State *L, int nil_root) {
  jplan *p = (jplan *)lua_newuserdata(L, sizeof *p);
  memset(p, 0, sizeof *p);
  luaL_getmetatable(L, PLAN_MT);
  lua_setmetatable(L, -2);
  add_node(L, p, K_ANY, 0);
  add_node(L, p, K_MAP, N_ANY);
  add_node(L, p, K_LIST, N_ANY);
  add_node(L, p, K_STRUCT, 0);
  p->slots = (int *)reserve(L, p->slots, &p->cap_slots, 1, sizeof *p->slots);
  p->slots[0] = 0; /* the unit structure's one empty slot */
  p->nslots = 1;
  p->nil_root = nil_root;
  return p;
}

static int l_decode(lua_State *L);

/* core.json_plan(shapes) -> decode */
static int l_plan(lua_State *L) {
  jplan *p;
  int names;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1)); /* 2: the scratch buffer */
  p = new_plan(L, N_UNIT);               /* 3 */
  lua_newtable(L);                       /* 4: shape name -> node; member names at 1..n */
  names = 4;
  /* a node for each shape, then their members and elements (which may be any shape) */
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
      int kind = kind_of(L);
      lua_pushvalue(L, -2);
      lua_pushinteger(L, add_node(L, p, kind, N_ANY));
      lua_rawset(L, names);
    }
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
      int idx, kind;
      lua_pushvalue(L, -2);
      lua_rawget(L, names);
      idx = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
      kind = p->nodes[idx].kind;
      if (kind == K_STRUCT) {
        plan_struct(L, p, idx, names);
      } else if (kind == K_LIST || kind == K_MAP) {
        raw_field(L, kind == K_LIST ? "member" : "value");
        p->nodes[idx].elem = ref_node(L, names);
      }
    }
    lua_pop(L, 1);
  }
  lua_pushcclosure(L, l_decode, 3);
  return 1;
}

/* ---- decoding ------------------------------------------------------------------------------ */

enum { R_OK, R_NULL, R_FAIL, R_BAD }; /* a value pushed; nothing; its path pushed; not JSON */

typedef struct {
  lua_State *L;
  jplan *p;
  gls_buf *scratch;
  int names; /* the index of the decoder's names table (an upvalue index in l_decode) */
  int exp;   /* R_FAIL: the kind whose EXPECT says what was expected */
  gls_json j;
} dec;

/* Room for n bytes in the scratch buffer. */
static char *scratch(dec *d, size_t n) {
  gls_buf_reset(d->scratch);
  if (gls_buf_reserve(d->scratch, n) != GLS_BUF_OK) luaL_error(d->L, "json: out of memory");
  return d->scratch->p;
}

/* The current string (KEY or STR), its escapes decoded: in place when it has none. */
static const char *str_of(dec *d, size_t *n) {
  char *o;
  if (!d->j.esc) {
    *n = d->j.len;
    return d->j.str;
  }
  o = scratch(d, d->j.len);
  *n = gls_json_unescape(d->j.str, d->j.len, o);
  return o;
}

static void push_str(dec *d) {
  size_t n;
  const char *s = str_of(d, &n);
  lua_pushlstring(d->L, s, n);
}

static void number(dec *d, const char *s, size_t n, int flags, gls_json_num *v) {
  if (!gls_json_number(s, n, flags, v)) luaL_error(d->L, "json: out of memory");
}

/* An integer of kind K_INT32 or K_INT64 (the number's flags: an integer without fraction or
 * exponent is exact, and out of range when a long long does not hold it): 1 pushed, or 0 when v
 * is not one. */
static int push_integer(dec *d, int kind, const gls_json_num *v, int flags) {
  long long i, lo = kind == K_INT32 ? INT32_MIN : INT64_MIN, hi = kind == K_INT32 ? INT32_MAX : INT64_MAX;
  if (v->is_int) {
    i = v->i;
  } else {
    if (!flags) return 0;
    /* [-2^63, 2^63): the doubles a long long holds; NaN fails both compares */
    if (!(v->d >= -9223372036854775808.0 && v->d < 9223372036854775808.0) || v->d != floor(v->d)) return 0;
    i = (long long)v->d;
  }
  if (i < lo || i > hi) return 0;
  gls_pushinteger(d->L, i);
  return 1;
}

/* Epoch seconds: an integer when whole (and a long long holds it), else a float; 1 pushed, or 0
 * when not finite. */
static int push_epoch(dec *d, const gls_json_num *v) {
  if (v->is_int) {
    gls_pushinteger(d->L, v->i);
    return 1;
  }
  if (!(v->d > -HUGE_VAL && v->d < HUGE_VAL)) return 0;
  if (v->d >= -9223372036854775808.0 && v->d < 9223372036854775808.0 && v->d == floor(v->d))
    gls_pushinteger(d->L, (long long)v->d);
  else
    lua_pushnumber(d->L, v->d);
  return 1;
}

/* A timestamp written as a string: a JSON number, or an RFC 3339 date-time. */
static int push_timestamp_string(dec *d) {
  gls_json_num v;
  int flags = 0, rc;
  size_t n;
  const char *s = str_of(d, &n);
  if (n > 0 && gls_json_scan_number(s, n, &flags) == n) {
    number(d, s, n, flags, &v);
    return push_epoch(d, &v);
  }
  rc = gls_rfc3339(s, n, &v);
  if (rc < 0) luaL_error(d->L, "json: out of memory");
  return rc && push_epoch(d, &v);
}

/* The number just read, of node kind `kind`: 1 pushed, or 0 when it is not of that kind. */
static int push_number(dec *d, int kind) {
  gls_json_num v;
  if (kind != K_ANY && kind != K_INT32 && kind != K_INT64 && kind != K_DOUBLE && kind != K_TIMESTAMP)
    return 0;
  number(d, d->j.str, d->j.len, d->j.esc, &v);
  switch (kind) {
  case K_INT32:
  case K_INT64: return push_integer(d, kind, &v, d->j.esc);
  case K_TIMESTAMP: return push_epoch(d, &v);
  case K_DOUBLE:
    if (!(v.d > -HUGE_VAL && v.d < HUGE_VAL)) return 0;
    lua_pushnumber(d->L, v.d);
    return 1;
  default: /* K_ANY */
    if (v.is_int) gls_pushinteger(d->L, v.i);
    else lua_pushnumber(d->L, v.d);
    return 1;
  }
}

static int walk(dec *d, int node, int ev);

/* A map key's part of a path: ["key"] for a short plain key, else [<key>] (a key may be
 * anything the server sent). The key at kidx. */
static void push_key_path(lua_State *L, int kidx) {
  size_t n, i = 0;
  const char *k = lua_tolstring(L, kidx, &n);
  if (n <= 64)
    for (; i < n; i++) {
      unsigned char c = (unsigned char)k[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c && strchr("_-.:/", c))))
        break;
    }
  if (n <= 64 && i == n) {
    lua_pushliteral(L, "[\"");
    lua_pushvalue(L, kidx);
    lua_pushliteral(L, "\"]");
    lua_concat(L, 3);
  } else {
    lua_pushliteral(L, "[<key>]");
  }
}

/* A member's failure, kept until the object ends (a later duplicate key may replace it): the
 * stack ends with its key and its path; both are popped. fails: the stack index of the table of
 * failures by key ({ position, kind, path }), made here on the first. */
static void keep_failure(dec *d, const jnode *nd, int out, int *fails, size_t pos) {
  lua_State *L = d->L;
  if (!*fails) {
    lua_newtable(L);
    lua_insert(L, out + 1);
    *fails = out + 1;
  }
  /* key, path */
  if (nd->kind == K_STRUCT) {
    lua_pushliteral(L, ".");
    lua_pushvalue(L, -3);
  } else {
    push_key_path(L, lua_gettop(L) - 1);
    lua_pushliteral(L, "");
  }
  lua_pushvalue(L, -3);
  lua_concat(L, 3);    /* key, path, full path */
  lua_replace(L, -2);  /* key, full path */
  lua_createtable(L, 3, 0);
  lua_insert(L, -2);
  lua_rawseti(L, -2, 3);
  lua_pushnumber(L, (lua_Number)pos);
  lua_rawseti(L, -2, 1);
  lua_pushinteger(L, d->exp);
  lua_rawseti(L, -2, 2);
  lua_rawset(L, *fails);
}

/* The end of an object that had failures: R_FAIL with the path of the first one left in the
 * text (its path in place of the object), or R_OK when later keys replaced them all. */
static int settle_failures(dec *d, int out, int fails) {
  lua_State *L = d->L;
  lua_Number best = -1;
  lua_pushnil(L); /* fails + 1: the first failure */
  lua_pushnil(L);
  while (lua_next(L, fails)) {
    lua_Number pos;
    lua_rawgeti(L, -1, 1);
    pos = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (best < 0 || pos < best) {
      best = pos;
      lua_pushvalue(L, -1);
      lua_replace(L, fails + 1);
    }
    lua_pop(L, 1);
  }
  if (best < 0) {
    lua_settop(L, out);
    return R_OK;
  }
  lua_rawgeti(L, fails + 1, 2);
  d->exp = (int)lua_tointeger(L, -1);
  lua_rawgeti(L, fails + 1, 3);
  lua_replace(L, out);
  lua_settop(L, out);
  return R_FAIL;
}

/* A JSON object as structure or map node nd; its OBJ event read. */
static int walk_object(dec *d, jnode *nd) {
  lua_State *L = d->L;
  int out, fails = 0, count = 0, ev;
  luaL_checkstack(L, 8, "json: nesting");
  lua_createtable(L, 0, nd->hint);
  out = lua_gettop(L);
  while ((ev = gls_json_next(&d->j)) == GLS_JSON_KEY) {
    size_t pos = (size_t)(d->j.str - d->j.s);
    int child, r;
    if (nd->kind == K_STRUCT) {
      size_t n;
      const char *k = str_of(d, &n);
      const jmember *m = nd->count ? lookup(d->p, nd, k, n) : NULL;
      if (!m) {
        if (!gls_json_skip(&d->j, gls_json_next(&d->j))) return R_BAD;
        continue;
      }
      lua_rawgeti(L, d->names, m->name);
      child = m->node;
    } else {
      push_str(d);
      child = nd->elem;
    }
    r = walk(d, child, gls_json_next(&d->j));
    if (r == R_BAD) return R_BAD;
    if (r == R_FAIL) {
      keep_failure(d, nd, out, &fails, pos);
      continue;
    }
    if (fails) { /* the key replaces a failure it had */
      lua_pushvalue(L, r == R_OK ? -2 : -1);
      lua_pushnil(L);
      lua_rawset(L, fails);
    }
    if (r == R_NULL) lua_pushnil(L);
    else count++;
    lua_rawset(L, out);
  }
  if (ev != GLS_JSON_END) return R_BAD;
  nd->hint = count < HINT_MAX ? count : HINT_MAX;
  if (fails) return settle_failures(d, out, fails);
  return R_OK;
}

/* A JSON array as list node nd; its ARR event read. After a failure the rest is only checked
 * (nothing can replace it). */
static int walk_list(dec *d, jnode *nd) {
  lua_State *L = d->L;
  int out, ev, n = 0, failed = 0;
  size_t i = 0;
  luaL_checkstack(L, 8, "json: nesting");
  lua_createtable(L, nd->hint, 0);
  out = lua_gettop(L);
  while ((ev = gls_json_next(&d->j)) != GLS_JSON_END) {
    int r;
    i++;
    if (failed) {
      if (!gls_json_skip(&d->j, ev)) return R_BAD;
      continue;
    }
    r = walk(d, nd->elem, ev);
    if (r == R_OK) {
      lua_rawseti(L, out, ++n);
    } else if (r == R_FAIL) {
      char at[32];
      snprintf(at, sizeof at, "[%lu]", (unsigned long)i);
      lua_pushstring(L, at);
      lua_insert(L, -2);
      lua_concat(L, 2);
      failed = 1;
    } else if (r == R_BAD) {
      return R_BAD;
    }
  }
  if (failed) {
    lua_replace(L, out);
    return R_FAIL;
  }
  nd->hint = n < HINT_MAX ? n : HINT_MAX;
  return R_OK;
}

/* The value whose first event is ev, as node `node`. */
static int walk(dec *d, int node, int ev) {
  jnode *nd = &d->p->nodes[node];
  int kind = nd->kind;
  switch (ev) {
  case GLS_JSON_NULL: return R_NULL;
  case GLS_JSON_OBJ:
    if (kind == K_STRUCT || kind == K_MAP) return walk_object(d, nd);
    if (kind == K_ANY) return walk_object(d, &d->p->nodes[N_ANY_MAP]);
    break;
  case GLS_JSON_ARR:
    if (kind == K_LIST) return walk_list(d, nd);
    if (kind == K_ANY) return walk_list(d, &d->p->nodes[N_ANY_LIST]);
    break;
  case GLS_JSON_STR:
    if (kind == K_STRING || kind == K_ANY) {
      push_str(d);
      return R_OK;
    }
    if (kind == K_TIMESTAMP && push_timestamp_string(d)) return R_OK;
    break;
  case GLS_JSON_NUM:
    if (push_number(d, kind)) return R_OK;
    break;
  case GLS_JSON_TRUE:
  case GLS_JSON_FALSE:
    if (kind == K_BOOL || kind == K_ANY) {
      lua_pushboolean(d->L, ev == GLS_JSON_TRUE);
      return R_OK;
    }
    break;
  default: return R_BAD;
  }
  if (!gls_json_skip(&d->j, ev)) return R_BAD;
  d->exp = kind;
  lua_pushliteral(d->L, "");
  return R_FAIL;
}

/* The root node of the shape name at index shape (none or nil: the plan's nil root). */
static int root_of(lua_State *L, const dec *d, int shape) {
  int root;
  /* a finalizer at lua_close may run after the plan's own (plan_gc emptied it) */
  if (!d->p->nodes) luaL_error(L, "attempt to use a closed JSON decoder");
  if (lua_isnoneornil(L, shape)) return d->p->nil_root;
  luaL_checktype(L, shape, LUA_TSTRING);
  lua_pushvalue(L, shape);
  lua_rawget(L, d->names);
  root = lua_type(L, -1) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) : N_ANY;
  lua_pop(L, 1);
  return root;
}

/* Decodes the n bytes at s from node root; pushes what decode returns and gives the count. */
static int decode(dec *d, const char *s, size_t n, int root) {
  lua_State *L = d->L;
  int ev, r;
  d->exp = K_ANY;
  gls_json_init(&d->j, s, n);
  ev = gls_json_next(&d->j);
  if (ev == GLS_JSON_EOF) {
    lua_pushnil(L);
    lua_pushliteral(L, "empty");
    return 2;
  }
  r = walk(d, root, ev);
  if (d->scratch->cap > 65536) gls_buf_free(d->scratch); /* one huge string does not pin its block */
  if (r == R_BAD || gls_json_next(&d->j) != GLS_JSON_EOF) {
    lua_pushnil(L);
    lua_pushliteral(L, "syntax");
    return 2;
  }
  if (r == R_NULL) {
    lua_pushnil(L);
    lua_pushliteral(L, "null");
    return 2;
  }
  if (r == R_OK) return 1;
  /* R_FAIL: the path is on top */
  lua_pushnil(L);
  lua_pushliteral(L, "type");
  lua_pushstring(L, EXPECT[d->exp]);
  lua_pushvalue(L, -4);
  return 4;
}

/* decode(text [, shape_name]): see the top of this file. Upvalues: the scratch buffer, the
 * plan, the names table. What it returns is on top of the stack (a failed walk leaves its
 * partial tables below). */
static int l_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  dec d;
  int root;
  d.L = L;
  d.scratch = (gls_buf *)lua_touserdata(L, lua_upvalueindex(1));
  d.p = (jplan *)lua_touserdata(L, lua_upvalueindex(2));
  d.names = lua_upvalueindex(3);
  root = root_of(L, &d, 2);
  lua_settop(L, 1);
  return decode(&d, s, n, root);
}

int gls_json_decode_bytes(lua_State *L, int fn, int shape, const char *s, size_t n) {
  dec d;
  int base, root, k, i, top;
  if (lua_tocfunction(L, fn) != l_decode) luaL_error(L, "not a core.json_plan decoder");
  base = lua_gettop(L);
  d.L = L;
  lua_getupvalue(L, fn, 1); /* the userdata stay referenced by the decoder at fn */
  d.scratch = (gls_buf *)lua_touserdata(L, -1);
  lua_getupvalue(L, fn, 2);
  d.p = (jplan *)lua_touserdata(L, -1);
  lua_pop(L, 2);
  lua_getupvalue(L, fn, 3);
  d.names = base + 1;
  root = root_of(L, &d, shape);
  k = decode(&d, s, n, root);
  /* the results down to base + 1, over the names table and what a failed walk left */
  top = lua_gettop(L);
  for (i = 0; i < k; i++) {
    lua_pushvalue(L, top - k + 1 + i);
    lua_replace(L, base + 1 + i);
  }
  lua_settop(L, base + k);
  return k;
}

/* core.parse_rfc3339(s) -> epoch seconds (an integer when whole), or nil (json.h's rules) */
static int l_parse_rfc3339(lua_State *L) {
  size_t n;
  const char *s;
  gls_json_num v;
  int rc;
  if (lua_type(L, 1) != LUA_TSTRING) return 0;
  s = lua_tolstring(L, 1, &n);
  rc = gls_rfc3339(s, n, &v);
  if (rc < 0) return luaL_error(L, "parse_rfc3339: out of memory");
  if (rc == 0) return 0;
  if (v.is_int) gls_pushinteger(L, v.i);
  else lua_pushnumber(L, v.d);
  return 1;
}

/* core.days_from_civil(y, m, d) -> days from 1970-01-01 to that date (integers; m 1-12) */
static int l_days_from_civil(lua_State *L) {
  long long v[3];
  int i;
  for (i = 0; i < 3; i++)
    if (!gls_tointeger_in(L, i + 1, -1000000000LL, 1000000000LL, &v[i]))
      return luaL_argerror(L, i + 1, "an integer of at most 9 digits expected");
  luaL_argcheck(L, v[1] >= 1 && v[1] <= 12, 2, "month 1-12 expected");
  gls_pushinteger(L, gls_days_from_civil(v[0], v[1], v[2]));
  return 1;
}

void gls_open_json(lua_State *L) {
  if (luaL_newmetatable(L, PLAN_MT)) {
    lua_pushcfunction(L, plan_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  gls_push_scratch(L);
  /* core.json_decode: a plan of the built-in nodes, a nil shape name meaning any value */
  lua_pushvalue(L, -1);
  new_plan(L, N_ANY);
  lua_newtable(L);
  lua_pushcclosure(L, l_decode, 3);
  lua_setfield(L, -3, "json_decode");
  lua_pushcclosure(L, l_plan, 1);
  lua_setfield(L, -2, "json_plan");
  lua_pushcfunction(L, l_parse_rfc3339);
  lua_setfield(L, -2, "parse_rfc3339");
  lua_pushcfunction(L, l_days_from_civil);
  lua_setfield(L, -2, "days_from_civil");
}
