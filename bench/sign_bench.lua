-- Signatures per second through gls.sign (falls back to gameliftstreams.core.sign, which
-- gls.sign re-exports, while the top-level module is not there yet).
-- Usage: lua sign_bench.lua BODY_FILE [seconds]
local body_file, seconds = arg[1], tonumber(arg[2] or "1")
local f = assert(io.open(body_file, "rb"))
local body = f:read("*a")
f:close()

local ok, gls = pcall(require, "gameliftstreams")
local sign, via = nil, "gls.sign"
if ok and type(gls) == "table" and gls.sign then
  sign = gls.sign
else
  sign, via = require("gameliftstreams.core").sign, "core.sign"
end

local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                session_token = "IQoJb3JpZ2luX2VjEBEaCXVzLXdlc3QtMiJHMEUCIQDbenchmarktokenbenchmarktokenbenchmarktoken" }
local url = "https://gameliftstreams.us-west-2.api.aws/streamgroups/sg-1AB2C3De4/streamsessions"
local now = os.time()

local function request()
  return { method = "POST", url = url, headers = { ["content-type"] = "application/json" },
           body = body, region = "us-west-2", service = "gameliftstreams", credentials = creds,
           time = now }
end

-- A fresh request table per signature, as a client builds one per call (what the peers do too).
local function fresh() return sign(request()) end

-- The signer alone: the same request table again (sign does not modify it).
local same = request()
local function reused() return sign(same) end

-- No signing at all: read the fields a signer reads and build a result of the same shape (the
-- input headers copied plus host, x-amz-date, authorization and the token; fresh strings of the
-- lengths a signature produces). What handing a result back to Lua costs by itself.
local filler = string.rep("0123456789abcdef", 64)
local sub, nxt, calls = string.sub, next, 0
local function result_only()
  local r = same
  local c = r.credentials
  local _ = { r.method, r.url, r.body, r.region, r.service, r.time, r.presign, r.normalize,
              r.sign_body, r.omit_session_token, c.access_key_id, c.secret_access_key }
  calls = calls + 1
  local o = calls % 200
  local h = {}
  for k, v in nxt, r.headers do h[k] = v end
  h.host = "gameliftstreams.us-west-2.api.aws"
  h["x-amz-date"] = "20261123T010740Z"
  h.authorization = sub(filler, 1 + o, 206 + o)
  h["x-amz-security-token"] = c.session_token
  return { headers = h, signature = sub(filler, 1 + o, 64 + o),
           canonical_request = sub(filler, 1 + o, 367 + o), string_to_sign = sub(filler, 1 + o, 146 + o) }
end

local kept -- every result is stored here, so LuaJIT cannot drop an allocation nobody reads
local function round(fn, limit)
  local n, t0 = 0, os.clock()
  repeat
    for _ = 1, 2000 do kept = fn() end
    n = n + 2000
  until os.clock() - t0 >= limit
  assert(kept.signature)
  return (os.clock() - t0) / n
end

local function best(fn)
  assert(fn().headers.authorization)
  round(fn, 0.2) -- warm up (and let LuaJIT compile the loop)
  local b = math.huge
  for _ = 1, 3 do b = math.min(b, round(fn, seconds)) end
  return b * 1e9
end

io.write(string.format("%s/new-table %.1f\n", via, best(fresh)))
io.write(string.format("%s/same-table %.1f\n", via, best(reused)))
io.write(string.format("result-only %.1f\n", best(result_only)))

-- No signing, through the C API: the least a binding must do to hand back a result of this
-- shape (bench/result_floor.c). Only when sign_bench.sh built it for this runtime.
local has_floor, make_floor = pcall(require, "result_floor")
if has_floor then
  local floor = make_floor(sign(same))
  io.write(string.format("result-floor-capi %.1f\n", best(floor)))
end
