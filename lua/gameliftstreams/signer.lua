--- The SigV4 signer gls.sign and the client use: core.sign (the C binding), or under LuaJIT the
-- same C signer (csrc/sigv4.c) reached through the FFI. The C binding reads the request and
-- builds the result through the Lua C API, one call per field; under LuaJIT that costs more
-- than the hashing. Through the FFI the JIT compiles the reads and writes, and one FFI call
-- runs the signer. Behaviour, results and error messages are those of core.sign
-- (spec/sigv4_spec.lua runs every case against both).
--
-- core.sign is used where the FFI path cannot be or would be slower: not LuaJIT 2.1, its JIT
-- off when this module is loaded, no FFI, the C module's struct layout differs from the
-- declarations below, or GLS_NO_FFI set (non-empty) in the environment (bench/sign_bench.sh
-- sets it to measure the C binding under LuaJIT).
local core = require("gameliftstreams.core")

-- LuaJIT 2.1 with its JIT on, only. An FFI module for PUC Lua (cffi-lua) would load, but it is
-- not what this is for; and interpreted, each cdata field access is slow enough that this path
-- takes about 3x as long as core.sign (4.9 µs against 1.75 on the bench request, luajit -joff).
local function jit_on()
  return type(jit) == "table" and (tonumber(jit.version_num) or 0) >= 20100 and jit.status()
end
local no_ffi = os.getenv("GLS_NO_FFI")
if not jit_on() or type(core._ffi) ~= "function" or (no_ffi and no_ffi ~= "") then
  return core.sign
end
local ok, ffi = pcall(require, "ffi")
if not ok then return core.sign end

-- Declared once per Lua state: loading this module again (package.loaded cleared) reuses them.
if not pcall(ffi.typeof, "gls_ffi_sigv4_api") then
  ffi.cdef[[
    typedef struct { const char *name; size_t name_len; const char *value; size_t value_len; }
      gls_ffi_sigv4_header;
    typedef struct {
      const char *method; size_t method_len; const char *url; size_t url_len;
      const gls_ffi_sigv4_header *headers; size_t n_headers; const char *body; size_t body_len;
      const char *region; size_t region_len; const char *service; size_t service_len;
      const char *access_key_id; size_t access_key_id_len; const char *secret; size_t secret_len;
      const char *session_token; size_t session_token_len; long long time; int normalize;
      int sign_body; int omit_session_token; long long presign;
    } gls_ffi_sigv4_request;
    typedef struct {
      const char *canonical_request; size_t canonical_request_len;
      const char *string_to_sign; size_t string_to_sign_len;
      const char *signed_headers; size_t signed_headers_len;
      const char *authorization; size_t authorization_len;
      const char *url; size_t url_len; const char *host; size_t host_len; int host_given;
      char signature[65]; char payload_hash[65]; char amz_date[17];
    } gls_ffi_sigv4_result;
    typedef struct {
      const char *(*sign)(void *signer, const gls_ffi_sigv4_request *req,
                          gls_ffi_sigv4_result *out);
      int (*header_role)(const gls_ffi_sigv4_request *req, const char *lname, size_t len);
    } gls_ffi_sigv4_api;
  ]]
end

local signer_ud, api_ptr, layout = core._ffi()
local sizeof, offsetof = ffi.sizeof, ffi.offsetof
local R, S = "gls_ffi_sigv4_request", "gls_ffi_sigv4_result"
local mine = string.format("h%d r%d,%d,%d,%d,%d s%d,%d,%d,%d,%d", sizeof("gls_ffi_sigv4_header"),
  sizeof(R), offsetof(R, "session_token_len"), offsetof(R, "time"),
  offsetof(R, "omit_session_token"), offsetof(R, "presign"), sizeof(S), offsetof(S, "host_given"),
  offsetof(S, "signature"), offsetof(S, "payload_hash"), offsetof(S, "amz_date"))
if mine ~= layout then return core.sign end

local api = ffi.cast("gls_ffi_sigv4_api *", api_ptr)
local signer = ffi.cast("void *", signer_ud)
local req = ffi.new(R)
local res = ffi.new(S)
local header_ct = ffi.typeof("gls_ffi_sigv4_header[?]")
local lines, lines_cap = header_ct(16), 16
local REPLACED = 2 -- GLS_SIGV4_REPLACED
local MAX_PRESIGN = 604800

local type, next, rawget, tostring, error, floor = type, next, rawget, tostring, error, math.floor
-- LuaJIT's table.new: the headers table sized for what the signer adds, not grown four times.
local tnew_ok, table_new = pcall(require, "table.new")
if not tnew_ok then table_new = function() return {} end end
local lower, format, ffi_string, os_time = string.lower, string.format, ffi.string, os.time

-- Lower-case header names, remembered: a client sends the same few names again and again.
local lowered, n_lowered = {}, 0
local function lname_of(name)
  local l = lowered[name]
  if l then return l end
  if n_lowered >= 256 then lowered, n_lowered = {}, 0 end
  l = lower(name)
  lowered[name], n_lowered = l, n_lowered + 1
  return l
end

-- Strings the request cdata points at, kept referenced until the signer has returned (a value
-- that only a cdata pointer holds is not seen by the garbage collector).
local keep, n_keep = {}, 0
-- The signer's userdata stays referenced from here while sign() exists, so the pointer below
-- never outlives it.
keep.signer = signer_ud

local function release()
  for i = n_keep, 1, -1 do keep[i] = nil end
  n_keep = 0
end

local function need_string(v, label)
  if type(v) ~= "string" then error("sign: " .. label .. " must be a string", 0) end
  return v
end

local function opt_string(v, label)
  if v == nil then return nil end
  return need_string(v, label)
end

local function flag(v, label, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then error("sign: " .. label .. " must be a boolean", 0) end
  return v and 1 or 0
end

-- One header line for the signer; grows the line array when full.
local function add_line(n, name, value)
  if n == lines_cap then
    local bigger = header_ct(lines_cap * 2)
    ffi.copy(bigger, lines, sizeof("gls_ffi_sigv4_header") * lines_cap)
    lines, lines_cap = bigger, lines_cap * 2
  end
  local line = lines[n]
  line.name, line.name_len, line.value, line.value_len = name, #name, value, #value
  return n + 1
end

-- A header value as a string (numbers are converted and kept), or an error naming the header.
local function value_string(v, name)
  local tv = type(v)
  if tv == "string" then return v end
  if tv ~= "number" then
    error(format('sign: headers["%s"] must be a string or a list of strings', name), 0)
  end
  v = tostring(v)
  n_keep = n_keep + 1
  keep[n_keep] = v
  return v
end

-- out[lname] = value; repeats of one name become one list, in order (as core.sign does).
local function merge(out, lname, value, list)
  local have = out[lname]
  if have == nil and not list then
    out[lname] = value
    return
  end
  if type(have) ~= "table" then
    have = have == nil and {} or { have }
    out[lname] = have
  end
  if list then
    for i = 1, #list do have[#have + 1] = list[i] end
  else
    have[#have + 1] = value
  end
end

local function sign(t)
  release() -- what a call that raised an error left
  if type(t) ~= "table" then
    error(format("bad argument #1 to 'sign' (table expected, got %s)", type(t)), 0)
  end
  local method = need_string(t.method, "method")
  local url = need_string(t.url, "url")
  local body = opt_string(t.body, "body")
  local region = need_string(t.region, "region")
  local service = need_string(t.service, "service")
  local c = t.credentials
  if type(c) ~= "table" then error("sign: credentials must be a table", 0) end
  local akid = need_string(c.access_key_id, "credentials.access_key_id")
  local secret = need_string(c.secret_access_key, "credentials.secret_access_key")
  local token = opt_string(c.session_token, "credentials.session_token")
  local normalize = flag(t.normalize, "normalize", 1)
  local sign_body = flag(t.sign_body, "sign_body", 0)
  local omit = flag(t.omit_session_token, "omit_session_token", 0)
  local time = t.time
  if time == nil then
    time = os_time()
  else
    if type(time) ~= "number" then error("sign: time must be a number", 0) end
    if not (time >= -62135596800 and time <= 253402300799) then
      error("sign: time must be epoch seconds between years 1 and 9999", 0)
    end
    time = floor(time)
  end
  local presign = t.presign
  if presign == nil then
    presign = 0
  else
    if type(presign) ~= "number" then error("sign: presign must be a number", 0) end
    if not (presign >= 1 and presign <= MAX_PRESIGN) or floor(presign) ~= presign then
      error(format("sign: presign must be whole seconds from 1 to %d", MAX_PRESIGN), 0)
    end
  end
  local headers = t.headers
  if headers ~= nil and type(headers) ~= "table" then
    error("sign: headers must be a table", 0)
  end

  keep[1], keep[2], keep[3], keep[4], keep[5], keep[6], keep[7], keep[8] =
    method, url, body, region, service, akid, secret, token
  n_keep = 8
  req.method, req.method_len, req.url, req.url_len = method, #method, url, #url
  req.body, req.body_len = body, body and #body or 0
  req.region, req.region_len, req.service, req.service_len = region, #region, service, #service
  req.access_key_id, req.access_key_id_len = akid, #akid
  req.secret, req.secret_len = secret, #secret
  req.session_token, req.session_token_len = token, token and #token or 0
  req.time, req.normalize, req.sign_body, req.omit_session_token, req.presign =
    time, normalize, sign_body, omit, presign

  local out, n = table_new(0, 8), 0
  if headers then
    for name, v in next, headers do
      if type(name) ~= "string" then error("sign: header names must be strings", 0) end
      local list
      if type(v) == "table" then
        list = {}
        for i = 1, #v do
          local s = value_string(rawget(v, i), name)
          list[i] = s
          n = add_line(n, name, s)
        end
      else
        v = value_string(v, name)
        n = add_line(n, name, v)
      end
      local lname = lname_of(name)
      if api.header_role(req, lname, #lname) ~= REPLACED then merge(out, lname, v, list) end
    end
  end
  req.headers, req.n_headers = lines, n

  local err = api.sign(signer, req, res)
  release()
  if err ~= nil then
    err = ffi_string(err)
    if err == "signer is closed" then error("sign: signer is closed", 0) end
    return nil, "sign: " .. err
  end

  if res.host_given == 0 then out.host = ffi_string(res.host, res.host_len) end
  local result = {
    headers = out, signature = ffi_string(res.signature, 64),
    canonical_request = ffi_string(res.canonical_request, res.canonical_request_len),
    string_to_sign = ffi_string(res.string_to_sign, res.string_to_sign_len),
  }
  if presign > 0 then
    result.url = ffi_string(res.url, res.url_len)
  else
    out["x-amz-date"] = ffi_string(res.amz_date, 16)
    out.authorization = ffi_string(res.authorization, res.authorization_len)
    if token and #token > 0 then out["x-amz-security-token"] = token end
    if sign_body == 1 then out["x-amz-content-sha256"] = ffi_string(res.payload_hash, 64) end
  end
  return result
end

return sign
