-- One row of bench/http_bench.sh: client:get_stream_session against the loopback nginx.
-- Usage: lua http_bench.lua URL IN_FLIGHT SECONDS WARM_SECONDS [mode [CALLS]]
--   IN_FLIGHT 1: blocking calls one after the other; N > 1: N tasks (gls.spawn + gls.run)
--   mode "call" (default): the whole client call; "raw": one signed request built once (the
--   transport from Lua, no validation, signing or parsing): pool:request when blocking,
--   sched.http in N tasks (the scheduler's own cost shows against the blocking row);
--   "garbage": collectgarbage("count") growth over 10,000 calls with the collector stopped, and
--   the floor: the growth of 10,000 cjson.decode of the reply's body (what holding the reply as
--   Lua tables costs any Lua code; the call's output is the same tables)
-- Prints: calls=N wall=S cpu=S (the measured window; cpu is os.clock(), this process's CPU)
--   or, for "garbage": calls=N kb=K floor_kb=F (growth in KB; F over 10,000 decodes)
-- CALLS (for bench/http_profile.sh): no warm-up, exactly CALLS calls instead of SECONDS
local gls = require("gameliftstreams")
local core = require("gameliftstreams.core")
local sched = require("gameliftstreams.sched")

local url, inflight, secs, warm, mode = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4]), arg[5] or "call"
local fixed = tonumber(arg[6])
-- env BENCH_SESSION_TOKEN: the session token to sign with (http_bench.sh's *-sts rows)
local client = assert(gls.new{ region = "us-west-2", endpoint = url,
  credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                  session_token = os.getenv("BENCH_SESSION_TOKEN") or "IQoJb3JpZ2luX2VjEXAMPLETOKEN" } })
local input = { Identifier = "sg-1AB2C3De4", StreamSessionIdentifier = "ABC123def4567" }
local now, clock = core.monotime, os.clock

local one
if mode == "raw" then
  local pool = sched.pool()
  local req = { method = "GET", url = url .. "/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567",
    headers = { ["x-amz-date"] = "20261201T000000Z", authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
      .. "20261201/us-west-2/gameliftstreams/aws4_request, SignedHeaders=host;x-amz-date, Signature="
      .. string.rep("0", 64), ["user-agent"] = "gameliftstreams-lua/0.1.0" } }
  if inflight <= 1 then
    one = function()
      local res = pool:request(req)
      if res.status ~= 200 then error("raw request failed: " .. tostring(res.status or res.error.message)) end
    end
  else
    local http = sched.http
    one = function()
      local res, err = http(req)
      if not res or res.status ~= 200 then
        error("raw request failed: " .. tostring(res and res.status or err.message))
      end
    end
  end
else
  one = function()
    local out, err = client:get_stream_session(input)
    if not out then error("call failed: " .. tostring(err and err.message)) end
    if out.Status ~= "ACTIVE" then error("unexpected reply") end
  end
end

-- Runs calls until `deadline` (or, with `fixed`, that many calls); returns how many.
local function loop(deadline)
  local n = 0
  if inflight <= 1 then
    if fixed then
      for _ = 1, fixed do one() end
      return fixed
    end
    repeat one(); n = n + 1 until now() >= deadline
    return n
  end
  local counts = {}
  for i = 1, inflight do
    gls.spawn(function()
      local k = 0
      if fixed then
        -- exactly `fixed` calls in all: the first fixed % inflight tasks make one more
        local share = math.floor(fixed / inflight) + (i <= fixed % inflight and 1 or 0)
        for _ = 1, share do one(); k = k + 1 end
      else
        repeat one(); k = k + 1 until now() >= deadline
      end
      counts[i] = k
    end)
  end
  local ok, err = gls.run()
  if not ok then error(err) end
  for i = 1, inflight do n = n + counts[i] end
  return n
end

if mode == "garbage" then
  local N = 10000
  loop(now() + warm) -- warm: caches filled, pool connections open
  collectgarbage("collect")
  collectgarbage("collect")
  collectgarbage("stop")
  local k0 = collectgarbage("count")
  local done = 0
  if inflight <= 1 then
    for _ = 1, N do one() end
    done = N
  else
    for _ = 1, inflight do
      gls.spawn(function() for _ = 1, N / inflight do one(); done = done + 1 end end)
    end
    assert(gls.run())
  end
  local kb = collectgarbage("count") - k0
  collectgarbage("restart")
  local body = sched.pool():request{ url = url .. "/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567",
                                     timeout = 10 }.body
  local decode = require("cjson").decode
  decode(body)
  collectgarbage("collect")
  collectgarbage("stop")
  k0 = collectgarbage("count")
  for _ = 1, done do decode(body) end
  local floor_kb = collectgarbage("count") - k0
  collectgarbage("restart")
  print(string.format("calls=%d kb=%.1f floor_kb=%.1f", done, kb, floor_kb))
  return
end

if not fixed then loop(now() + warm) end
local t0, c0 = now(), clock()
local n = loop(t0 + secs)
print(string.format("calls=%d wall=%.6f cpu=%.6f", n, now() - t0, clock() - c0))
