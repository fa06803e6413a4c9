/* Small utilities for the Lua layer: clocks, sleep, UUIDv4 (over rand.c), base64, SHA-1 names,
 * private files, reading a file that may be hostile, JSON quoting and percent-encoding. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "codec.h"
#include "compat.h"
#include "rand.h"
#include "sigv4.h"

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

/* core.uuid4() -> "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (lower case, random). The random bytes
 * come from this Lua state's pool (rand.c: OpenSSL's, drawn a page ahead and wiped in a forked
 * child), a userdata upvalue, so two Lua states never share one. */
#define RAND_MT "gameliftstreams.rand"

static int rand_gc(lua_State *L) {
  gls_rand **u = (gls_rand **)luaL_checkudata(L, 1, RAND_MT);
  gls_rand_free(*u);
  *u = NULL; /* uuid4 after this (a finalizer at lua_close) draws from OpenSSL directly */
  return 0;
}

static int l_uuid4(lua_State *L) {
  gls_rand *r = *(gls_rand **)lua_touserdata(L, lua_upvalueindex(1));
  char out[36];
  if (gls_rand_uuid4(r, out) != 0) return luaL_error(L, "uuid4: RAND_bytes failed");
  lua_pushlstring(L, out, sizeof out);
  return 1;
}

/** core.b64encode(s) -> standard base64 with padding (codec.c) */
static int l_b64encode(lua_State *L) {
  size_t n, olen;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  char *out;
  if (n == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  olen = gls_b64_encoded_len(n);
  luaL_argcheck(L, olen != 0, 1, "string too long");
  out = (char *)lua_newuserdata(L, olen); /* scratch, freed by the GC */
  gls_b64_encode(out, s, n);
  lua_pushlstring(L, out, olen);
  return 1;
}

/** core.b64decode(s) -> bytes, or nil when s is not padded standard base64 (codec.c) */
static int l_b64decode(lua_State *L) {
  size_t n, o = 0;
  const char *s = luaL_checklstring(L, 1, &n);
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
  if (gls_b64_decode(out, s, n, &o) != 0) lua_pushnil(L);
  else lua_pushlstring(L, (const char *)out, o);
  return 1;
}

/* core.sha1_hex(s) -> 40 lower-case hex digits. Not for security: it names the SSO token cache
 * files the way the AWS CLI does (the hash of the session name or start URL). */
static int l_sha1_hex(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int dl = 0;
  char hex[40];
  if (!EVP_Digest(s, n, d, &dl, EVP_sha1(), NULL) || dl != 20)
    return luaL_error(L, "sha1_hex: digest failed");
  gls_hex_encode(hex, d, 20);
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

/* core.read_file(path, max_bytes) -> the file's bytes | nil, message.
 * Reads the shared config and credentials files and the token files a caller's environment
 * names, none of which can be trusted to be a file: only a regular file is read (symlinks
 * followed), since a FIFO blocks open() and read() until a writer comes (forever, in an nginx
 * worker), a device such as /dev/zero never ends and a directory holds no text. Checked with
 * stat() before it is opened (opening some devices does something) and with fstat() on what was
 * opened, without blocking; a file of more than max_bytes is refused, not cut. The bytes go
 * through a buffer that wipes what it lets go (a credentials file holds keys). */
static int l_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Number max = luaL_checknumber(L, 2);
  gls_buf *b = gls_push_scratch(L);
  struct stat st;
  int fd, err = 0;
  b->wipe = 1;
  if (stat(path, &st) != 0) err = errno;
  else if (!S_ISREG(st.st_mode)) err = EINVAL;
  if (err) goto failed;
  fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    goto failed;
  }
  if (fstat(fd, &st) != 0) err = errno;
  else if (!S_ISREG(st.st_mode)) err = EINVAL;
  else if ((lua_Number)st.st_size > max) err = EFBIG;
  while (!err) {
    ssize_t r;
    if (gls_buf_reserve(b, 4096) != GLS_BUF_OK) {
      err = ENOMEM;
      break;
    }
    r = read(fd, b->p + b->len, b->cap - b->len - 1);
    if (r < 0) {
      if (errno != EINTR) err = errno;
    } else if (r == 0) {
      break;
    } else {
      b->len += (size_t)r;
      if ((lua_Number)b->len > max) err = EFBIG; /* it grew while being read */
    }
  }
  close(fd);
  if (!err) {
    lua_pushlstring(L, b->p ? b->p : "", b->len);
    gls_buf_free(b);
    return 1;
  }
failed:
  gls_buf_free(b);
  lua_pushnil(L);
  if (err == EINVAL) lua_pushstring(L, "not a regular file");
  else if (err == EFBIG) {
    char msg[64];
    snprintf(msg, sizeof msg, "larger than %.0f bytes", max);
    lua_pushstring(L, msg);
  }
  else lua_pushstring(L, strerror(err));
  return 2;
}

/* core.utf8_len(s) -> the number of code points in s when s is well-formed UTF-8 (RFC 3629: no
 * overlong form, no UTF-16 surrogate, nothing past U+10FFFF, no sequence cut short), else nil.
 * The model's string length limits count code points, and JSON text is UTF-8 (RFC 8259): bytes
 * that are not would be counted wrong (continuation bytes count as nothing) and sent as text no
 * JSON reader takes. A SignalRequest of several KB made this a hot byte loop in Lua 5.4. */
static int l_utf8_len(lua_State *L) {
  size_t n, i = 0, count = 0;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  while (i < n) {
    unsigned c = s[i], lo = 0x80, hi = 0xBF;
    size_t need, k;
    if (c < 0x80) {
      i++;
      count++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;      /* overlong below U+0800 */
      else if (c == 0xED) hi = 0x9F; /* U+D800-U+DFFF, the surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;      /* overlong below U+10000 */
      else if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
    } else {
      lua_pushnil(L); /* a continuation byte first, 0xC0/0xC1 (overlong), 0xF5-0xFF */
      return 1;
    }
    if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi) {
      lua_pushnil(L);
      return 1;
    }
    for (k = 2; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80) {
        lua_pushnil(L);
        return 1;
      }
    }
    i += need + 1;
    count++;
  }
  gls_pushinteger(L, count);
  return 1;
}

/* core.json_quote(s) -> s as a JSON string literal, quotes included (codec.c's rule: '"', '\\'
 * and U+0000-U+001F escaped, every other byte as it is). In C: the Lua version's pattern scan
 * cost about 10 ns a byte, too much for a SignalRequest of several KB on every
 * StartStreamSession. It quotes into a buffer kept in its upvalue (freed with it), so a call
 * allocates nothing once the buffer has grown. */
#define SCRATCH_MT "gameliftstreams.scratch"

static int scratch_gc(lua_State *L) {
  gls_buf_free((gls_buf *)luaL_checkudata(L, 1, SCRATCH_MT));
  return 0;
}

gls_buf *gls_push_scratch(lua_State *L) {
  gls_buf *b = (gls_buf *)lua_newuserdata(L, sizeof *b);
  memset(b, 0, sizeof *b);
  if (luaL_newmetatable(L, SCRATCH_MT)) {
    lua_pushcfunction(L, scratch_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

static int l_json_quote(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  gls_buf *b = (gls_buf *)lua_touserdata(L, lua_upvalueindex(1));
  gls_buf_reset(b);
  if (gls_json_quote(b, s, n) != GLS_BUF_OK) return luaL_error(L, "json_quote: out of memory");
  lua_pushlstring(L, b->p, b->len);
  if (b->cap > 65536) gls_buf_free(b); /* one huge string does not pin its block */
  return 1;
}

/* core.pct_encode(s [, keep_slash]) -> s percent-encoded: every byte but the RFC 3986 unreserved
 * characters (A-Z a-z 0-9 - _ . ~) as %XX in upper-case hex, and '/' kept as it is too with
 * keep_slash (a greedy path label). The signer's encoder (sigv4.c), so the SDK has one rule for
 * it; s itself when nothing needs escaping. A Lua pattern scan of a 12-byte label cost about as
 * much as this whole call's encoding of both of GetStreamSession's labels. Shares json_quote's
 * buffer. */
static int l_pct_encode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  int keep_slash = lua_toboolean(L, 2);
  gls_buf *b = (gls_buf *)lua_touserdata(L, lua_upvalueindex(1));
  gls_buf_reset(b);
  if (gls_sigv4_uri_encode(b, s, n, keep_slash) != 0)
    return luaL_error(L, "pct_encode: out of memory");
  if (b->len == n) lua_settop(L, 1); /* nothing was escaped */
  else lua_pushlstring(L, b->p, b->len);
  if (b->cap > 65536) gls_buf_free(b);
  return 1;
}

static const luaL_Reg util_funcs[] = {
  {"monotime", l_monotime}, {"time", l_time},           {"sleep", l_sleep},
  {"b64encode", l_b64encode}, {"b64decode", l_b64decode},
  {"sha1_hex", l_sha1_hex}, {"write_private", l_write_private}, {"utf8_len", l_utf8_len},
  {"read_file", l_read_file},
  {NULL, NULL},
};

void gls_open_util(lua_State *L) {
  gls_rand **r;
  luaL_setfuncs(L, util_funcs, 0);
  r = (gls_rand **)lua_newuserdata(L, sizeof *r);
  *r = NULL;
  if (luaL_newmetatable(L, RAND_MT)) {
    lua_pushcfunction(L, rand_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  *r = gls_rand_new(GLS_RAND_AHEAD);
  if (!*r) luaL_error(L, "gameliftstreams.core: out of memory");
  lua_pushcclosure(L, l_uuid4, 1);
  lua_setfield(L, -2, "uuid4");
  gls_push_scratch(L);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_json_quote, 1);
  lua_setfield(L, -3, "json_quote");
  lua_pushcclosure(L, l_pct_encode, 1);
  lua_setfield(L, -2, "pct_encode");
}
