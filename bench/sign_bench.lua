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

local function round(fn, limit)
  local n, t0 = 0, os.clock()
  repeat
    for _ = 1, 2000 do fn() end
    n = n + 2000
  until os.clock() - t0 >= limit
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
