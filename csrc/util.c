/* Small utilities for the Lua layer: clocks, sleep, UUIDv4, base64, SHA-1 names, private files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "compat.h"

static lua_Number clock_seconds(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9;
}

/** core.monotime() -> seconds from an arbitrary origin, never going backwards */
static int l_monotime(lua_State *L) {
  lua_pushnumber(L, clock_seconds(CLOCK_MONOTONIC));
  return 1;
}

/** core.time() -> wall-clock epoch seconds (float) */
static int l_time(lua_State *L) {
  lua_pushnumber(L, clock_seconds(CLOCK_REALTIME));
  return 1;
}

/** core.sleep(seconds): blocks; a signal does not cut the sleep short. */
static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec req, rem;
  luaL_argcheck(L, s == s, 1, "not a number");
  if (s <= 0) return 0;
  if (s > 1e9) s = 1e9;
  req.tv_sec = (time_t)floor(s);
  req.tv_nsec = (long)((s - floor(s)) * 1e9);
  if (req.tv_nsec > 999999999L) req.tv_nsec = 999999999L;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
  return 0;
}

/** core.uuid4() -> "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (lower case, random) */
static int l_uuid4(lua_State *L) {
  static const char hex[] = "0123456789abcdef";
  unsigned char b[16];
  char out[36];
  int i, o = 0;
  if (RAND_bytes(b, sizeof b) != 1) return luaL_error(L, "uuid4: RAND_bytes failed");
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  for (i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  lua_pushlstring(L, out, sizeof out);
  return 1;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** core.b64encode(s) -> standard base64 with padding */
static int l_b64encode(lua_State *L) {
  size_t n, i, o = 0;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  char *out;
  if (n == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  luaL_argcheck(L, n / 3 < ((size_t)-1) / 4 - 1, 1, "string too long");
  out = (char *)lua_newuserdata(L, (n + 2) / 3 * 4); /* scratch, freed by the GC */
  for (i = 0; i + 2 < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = B64[(v >> 6) & 63];
    out[o++] = B64[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);
    out[o++] = B64[v >> 18];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  lua_pushlstring(L, out, o);
  return 1;
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/** core.b64decode(s) -> bytes, or nil when s is not padded standard base64 */
static int l_b64decode(lua_State *L) {
  size_t n, i, o = 0;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  unsigned char *out;
  if (n % 4 != 0) {
    lua_pushnil(L);
    return 1;
  }
  if (n == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  out = (unsigned char *)lua_newuserdata(L, n / 4 * 3);
  for (i = 0; i < n; i += 4) {
    int a = b64_value(s[i]), b = b64_value(s[i + 1]), c = b64_value(s[i + 2]), d = b64_value(s[i + 3]);
    int last = i + 4 == n;
    if (a < 0 || b < 0) goto bad;
    if (c < 0 || d < 0) {
      /* padding: only in the last group, "xx==" or "xxx=" */
      if (!last || s[i + 3] != '=' || (c < 0 && s[i + 2] != '=')) goto bad;
    }
    out[o++] = (unsigned char)(a << 2 | b >> 4);
    if (c >= 0) out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
    if (c >= 0 && d >= 0) out[o++] = (unsigned char)((c & 3) << 6 | d);
  }
  lua_pushlstring(L, (const char *)out, o);
  return 1;
bad:
  lua_pushnil(L);
  return 1;
}

/* core.sha1_hex(s) -> 40 lower-case hex digits. Not for security: it names the SSO token cache
 * files the way the AWS CLI does (the hash of the session name or start URL). */
static int l_sha1_hex(lua_State *L) {
  static const char digits[] = "0123456789abcdef";
  size_t n, i;
  const char *s = luaL_checklstring(L, 1, &n);
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int dl = 0;
  char hex[40];
  if (!EVP_Digest(s, n, d, &dl, EVP_sha1(), NULL) || dl != 20)
    return luaL_error(L, "sha1_hex: digest failed");
  for (i = 0; i < 20; i++) {
    hex[2 * i] = digits[d[i] >> 4];
    hex[2 * i + 1] = digits[d[i] & 15];
  }
  lua_pushlstring(L, hex, 40);
  return 1;
}

/* core.write_private(path, data) -> true | nil, message.
 * Replaces the file at path with data, readable by its owner only (0600, like the AWS CLI's
 * token cache): written to a temporary file in the same directory, then renamed over path,
 * so a reader sees the old file or the new one, never half of one. */
static int l_write_private(lua_State *L) {
  static const char suffix[] = ".tmp-XXXXXX"; /* mkstemp rewrites the X's */
  size_t plen, n, done = 0;
  const char *path = luaL_checklstring(L, 1, &plen);
  const char *data = luaL_checklstring(L, 2, &n);
  char *tmp = (char *)lua_newuserdata(L, plen + sizeof suffix);
  int fd, err = 0;
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, suffix, sizeof suffix);
  fd = mkstemp(tmp);
  if (fd < 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot create a file next to %s: %s", path, strerror(errno));
    return 2;
  }
  while (done < n) {
    ssize_t w = write(fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += (size_t)w;
  }
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, path) != 0) err = errno;
  if (err) {
    unlink(tmp);
    lua_pushnil(L);
    lua_pushfstring(L, "cannot write %s: %s", path, strerror(err));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.utf8_len(s) -> the number of UTF-8 code points in s: its bytes that are not continuation
 * bytes (0x80-0xBF), so any byte string has a length. The model's string length limits count
 * code points; a SignalRequest of several KB made this a hot byte loop in Lua 5.4. */
static int l_utf8_len(lua_State *L) {
  size_t n, i, count = 0;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  for (i = 0; i < n; i++) count += (s[i] & 0xC0) != 0x80;
  gls_pushinteger(L, count);
  return 1;
}

/* core.json_quote(s) -> s as a JSON string literal, quotes included: '"', '\\' and the control
 * characters U+0000-U+001F escaped (\b \f \n \r \t, else \u00xx), every other byte as it is
 * (UTF-8, and DEL, which JSON allows). The Lua version's pattern scan cost about 10 ns a byte,
 * too much for a SignalRequest of several KB on every StartStreamSession. */
static int l_json_quote(lua_State *L) {
  static const char hex[] = "0123456789abcdef";
  size_t n, i, run = 0;
  const char *s = luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[6];
    size_t elen = 2;
    if (c >= 0x20 && c != '"' && c != '\\') continue; /* most bytes: kept, in the current run */
    esc[0] = '\\';
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      elen = 6;
    }
    luaL_addlstring(&b, s + run, i - run);
    luaL_addlstring(&b, esc, elen);
    run = i + 1;
  }
  luaL_addlstring(&b, s + run, n - run);
  luaL_addchar(&b, '"');
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg util_funcs[] = {
  {"monotime", l_monotime}, {"time", l_time},           {"sleep", l_sleep},
  {"uuid4", l_uuid4},       {"b64encode", l_b64encode}, {"b64decode", l_b64decode},
  {"sha1_hex", l_sha1_hex}, {"write_private", l_write_private}, {"utf8_len", l_utf8_len},
  {"json_quote", l_json_quote},
  {NULL, NULL},
};

void gls_open_util(lua_State *L) {
  luaL_setfuncs(L, util_funcs, 0);
}
