--- The SigV4 signer gls.sign and the pipeline use, two ways in: `sign(t)` (gls.sign) and
-- `sign_headers(method, url, headers, body, region, service, credentials [, time [, fill]])` (an
-- attempt of the pipeline: sign's result.headers for those fields and the defaults, without a
-- table to read them from or a result table; put in `fill`, a table the caller reuses (emptied
-- first), when it is given). Each is core.sign / core.sign_headers (the C binding), or
-- under LuaJIT the same C signer (csrc/sigv4.c) reached through the FFI. The C binding reads
-- the request and builds the result through the Lua C API, one call per field; under LuaJIT
-- that costs more than the hashing. Through the FFI the JIT compiles the reads and writes, and
-- one FFI call runs the signer. Only the reading is this file's: the types come from the C
-- module (the text csrc/sigv4.h and csrc/lsigv4.c compile from, handed to ffi.cdef), and every
-- rule is the C binding's own code: time and presign go through the signer's argument checks,
-- the headers through core.sign's header reader (which merges repeats and drops what the
-- signer sets). Results and error messages are those of core.sign and core.sign_headers
-- (spec/sigv4_spec.lua runs every case against both).
--
-- The C binding is used where the FFI path cannot be or would be slower: not LuaJIT 2.1, its JIT
-- off when this module is loaded, no FFI, or GLS_NO_FFI set (non-empty) in the environment
-- (bench/sign_bench.sh sets it to measure the C binding under LuaJIT).
local core = require("gameliftstreams.core")
local C_BINDING = { sign = core.sign, sign_headers = core.sign_headers }

-- LuaJIT 2.1 with its JIT on, only. An FFI module for PUC Lua (cffi-lua) would load, but it is
-- not what this is for; and interpreted, each cdata field access is slow enough that this path
-- takes about 3x as long as core.sign (4.9 µs against 1.75 on the bench request, luajit -joff).
local function jit_on()
  return type(jit) == "table" and (tonumber(jit.version_num) or 0) >= 20100 and jit.status()
end
local no_ffi = os.getenv("GLS_NO_FFI")
if not jit_on() or type(core._ffi) ~= "function" or (no_ffi and no_ffi ~= "") then
  return C_BINDING
end
local ok, ffi = pcall(require, "ffi")
if not ok then return C_BINDING end

local signer_ud, api_ptr, declarations, read_headers = core._ffi()
-- Declared once per Lua state: loading this module again (package.loaded cleared) reuses them.
if not pcall(ffi.typeof, "gls_sigv4_ffi_api") then ffi.cdef(declarations) end

local api = ffi.cast("gls_sigv4_ffi_api *", api_ptr)
local signer = ffi.cast("void *", signer_ud)
local req = ffi.new("gls_sigv4_request")
local res = ffi.new("gls_sigv4_result")
local number = ffi.new("long long[1]")

local type, next, tonumber, error = type, next, tonumber, error
-- LuaJIT's table.new: the headers table sized for what the signer adds, not grown four times.
local tnew_ok, table_new = pcall(require, "table.new")
if not tnew_ok then table_new = function() return {} end end
local format, ffi_string, os_time = string.format, ffi.string, os.time

-- Strings the request cdata points at, kept referenced until the signer has returned (a value
-- that only a cdata pointer holds is not seen by the garbage collector).
local keep = {}
-- The signer's userdata stays referenced from here while sign() exists, so the pointer below
-- never outlives it.
keep.signer = signer_ud

local function release()
  for i = 9, 1, -1 do keep[i] = nil end
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

-- A number argument through the signer's own rule (api.arg_time / api.arg_presign).
local function checked(check, v, label)
  if type(v) ~= "number" then error("sign: " .. label .. " must be a number", 0) end
  local err = check(v, number)
  if err ~= nil then error("sign: " .. ffi_string(err), 0) end
  return tonumber(number[0])
end

-- The signing both ways in share: reads the headers, fills the request cdata, runs the signer.
-- The headers to send (the signer's added; with presign only host), or nil and the message.
local function run(method, url, body, region, service, akid, secret, token, normalize,
                   sign_body, omit, presign, time, headers, fill)
  local out, n, anchor
  if headers and next(headers) ~= nil then
    out, n, anchor = read_headers(headers, token ~= nil and #token > 0, sign_body == 1, presign > 0, fill)
  elseif fill ~= nil then -- what the C reader does with it, for a request without headers
    if type(fill) ~= "table" then error("sign: the headers table to fill must be a table", 0) end
    for k in next, fill do fill[k] = nil end
    out, n = fill, 0
  else
    out, n = table_new(0, 8), 0
  end
  keep[1], keep[2], keep[3], keep[4], keep[5], keep[6], keep[7], keep[8], keep[9] =
    method, url, body, region, service, akid, secret, token, anchor
  req.method, req.method_len, req.url, req.url_len = method, #method, url, #url
  req.body, req.body_len = body, body and #body or 0
  req.region, req.region_len, req.service, req.service_len = region, #region, service, #service
  req.access_key_id, req.access_key_id_len = akid, #akid
  req.secret, req.secret_len = secret, #secret
  req.session_token, req.session_token_len = token, token and #token or 0
  req.time, req.normalize, req.sign_body, req.omit_session_token, req.presign =
    time, normalize, sign_body, omit, presign
  req.n_headers = n

  local err = api.sign(signer, req, res)
  release()
  if err ~= nil then
    err = ffi_string(err)
    if err == "signer is closed" then error("sign: signer is closed", 0) end
    return nil, "sign: " .. err
  end

  if res.host_given == 0 then out.host = ffi_string(res.host, res.host_len) end
  if presign == 0 then
    out["x-amz-date"] = ffi_string(res.amz_date, 16)
    out.authorization = ffi_string(res.authorization, res.authorization_len)
    if token and #token > 0 then out["x-amz-security-token"] = token end
    if sign_body == 1 then out["x-amz-content-sha256"] = ffi_string(res.payload_hash, 64) end
  end
  return out
end

local function credentials_of(c)
  if type(c) ~= "table" then error("sign: credentials must be a table", 0) end
  return need_string(c.access_key_id, "credentials.access_key_id"),
    need_string(c.secret_access_key, "credentials.secret_access_key"),
    opt_string(c.session_token, "credentials.session_token")
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
  local akid, secret, token = credentials_of(t.credentials)
  local normalize = flag(t.normalize, "normalize", 1)
  local sign_body = flag(t.sign_body, "sign_body", 0)
  local omit = flag(t.omit_session_token, "omit_session_token", 0)
  local headers_only = flag(t.headers_only, "headers_only", 0) == 1
  local time = t.time
  if time == nil then time = os_time() else time = checked(api.arg_time, time, "time") end
  local presign = t.presign
  if presign == nil then presign = 0 else presign = checked(api.arg_presign, presign, "presign") end
  local headers = t.headers
  if headers ~= nil and type(headers) ~= "table" then
    error("sign: headers must be a table", 0)
  end

  local out, err = run(method, url, body, region, service, akid, secret, token, normalize,
    sign_body, omit, presign, time, headers)
  if not out then return nil, err end
  local result
  if headers_only then
    result = { headers = out }
  else
    result = {
      headers = out, signature = ffi_string(res.signature, 64),
      canonical_request = ffi_string(res.canonical_request, res.canonical_request_len),
      string_to_sign = ffi_string(res.string_to_sign, res.string_to_sign_len),
    }
  end
  if presign > 0 then result.url = ffi_string(res.url, res.url_len) end
  return result
end

local function sign_headers(method, url, headers, body, region, service, credentials, time, fill)
  release()
  need_string(method, "method")
  need_string(url, "url")
  if headers ~= nil and type(headers) ~= "table" then error("sign: headers must be a table", 0) end
  opt_string(body, "body")
  need_string(region, "region")
  need_string(service, "service")
  local akid, secret, token = credentials_of(credentials)
  if time == nil then time = os_time() else time = checked(api.arg_time, time, "time") end
  return run(method, url, body, region, service, akid, secret, token, 1, 0, 0, 0, time, headers, fill)
end

return { sign = sign, sign_headers = sign_headers }
