-- The steps of one GetStreamSession call, each alone, for bench/http_profile.sh (callgrind
-- counts the instructions of N calls of one step; two counts differenced give one step's).
-- Usage: lua http_steps.lua URL STEP N [garbage | time]
--   with "garbage": prints the bytes of garbage one call of the step leaves (collectgarbage
--   "count" growth over N calls with the collector stopped, divided by N)
--   with "time": prints the CPU time of one call of the step (os.clock), the best of 5 rounds
--   of N calls each
--   validate   validate.input of the call's input
--   build      protocol.build (the request's values; the client makes the call's table)
--   sign       gls.sign of the request as a user calls it: its input tables made, user-agent
--              added, every string of the result made
--   sign_pipeline  the signing of one attempt as pipeline.lua does it: signer.sign_headers of the
--              request's values and its own headers table (user-agent in it), the clock read,
--              into a headers table reused from the attempt before
--   uuid       core.uuid4 (one per call: the invocation id)
--   decode     the client's decoder on the fixed reply's body string (core.json_plan: parsed into
--              the output shape), as for a transport that hands a body (ngx_http)
--   raw        pool:request of the signed request with the SDK's headers (the transport from Lua)
--   read       the same with the operation's reader, as a call's transfer runs: the body decoded
--              where the transfer holds it, the output and the status alone (raw and decode in one)
--   call       the whole client:get_stream_session, blocking
--   nonet      the whole call with the transport replaced by one that decodes the fixed reply
--              with the call's reader and answers the output, nil and the status (what sched.http does),
--              no socket: what the project's Lua and C cost a call outside libcurl and the kernel
local gls = require("gameliftstreams")
local core = require("gameliftstreams.core")
local sched = require("gameliftstreams.sched")
local model = require("gameliftstreams.model")
local validate = require("gameliftstreams.validate")
local protocol = require("gameliftstreams.protocol")
local signer = require("gameliftstreams.signer")
local sign, sign_headers = signer.sign, signer.sign_headers

local url, step, n = arg[1], arg[2], tonumber(arg[3])
local OP = "GetStreamSession"
local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                session_token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN" }
local client = assert(gls.new{ region = "us-west-2", endpoint = url, credentials = creds })
local input = { Identifier = "sg-1AB2C3De4", StreamSessionIdentifier = "ABC123def4567" }
assert(client:get_stream_session(input)) -- resolves the endpoint and credentials once

local req = assert(protocol.build_request(model, OP, input))
local full_url = url .. req.path
local function sign_input()
  local headers = { ["user-agent"] = client.user_agent }
  for k, v in pairs(req.headers) do headers[k] = v end
  return { method = req.method, url = full_url, headers = headers, body = "", region = "us-west-2",
           service = "gameliftstreams", credentials = creds, time = math.floor(core.time()), normalize = true }
end
local signed = assert(sign(sign_input()))
local req_headers = { ["user-agent"] = client.user_agent } -- req.headers as client:call hands them
for k, v in pairs(req.headers) do req_headers[k] = v end
-- the SDK's two unsigned headers, as the pipeline adds them: libcurl's cost of sending them
-- belongs to the transfer, not to rest
signed.headers["amz-sdk-invocation-id"] = core.uuid4()
signed.headers["amz-sdk-request"] = "attempt=1; max=3"
local raw_req = { method = "GET", url = full_url, headers = signed.headers, timeout = 30, connect_timeout = 5 }
local pool = sched.pool()
local resp = pool:request(raw_req)
assert(resp.status == 200)
local dreq = { operation = OP }
local reply = resp.body
if step == "nonet" then
  -- the scheduler's transport, the seam the pipeline sends through (sched.http: one step runs
  -- per process, so no other step sees this one)
  sched.http = function(r)
    local rd = r.reader
    return rd[1](reply, rd[2]), nil, 200
  end
end
local reader = protocol.reader(model, OP)
local fill = {} -- the headers table the pipeline signs each attempt into (reused)

local steps = {
  validate = function() assert(validate.input(model, OP, input)) end,
  build = function() assert(protocol.build(model, OP, input)) end,
  sign = function() assert(sign(sign_input())) end,
  sign_pipeline = function()
    assert(sign_headers(req.method, full_url, req_headers, "", "us-west-2", "gameliftstreams", creds,
      math.floor(core.time()), fill))
  end,
  uuid = function() return core.uuid4() end,
  decode = function() assert(client.decode(client, dreq, resp)) end,
  raw = function() assert(pool:request(raw_req).status == 200) end,
  read = function() assert(select(2, pool:request(raw_req, reader)) == 200) end,
  call = function() assert(client:get_stream_session(input)) end,
  nonet = function() assert(client:get_stream_session(input)) end,
}
local f = assert(steps[step], "unknown step")
if arg[4] == "garbage" then
  f()
  collectgarbage("collect")
  collectgarbage("stop")
  local k0 = collectgarbage("count")
  for _ = 1, n do f() end
  print(string.format("%s %.0f", step, (collectgarbage("count") - k0) * 1024 / n))
  return
end
if arg[4] == "time" then
  for _ = 1, math.min(n, 1000) do f() end
  local best = math.huge
  for _ = 1, 5 do
    local c0 = os.clock()
    for _ = 1, n do f() end
    best = math.min(best, os.clock() - c0)
  end
  print(string.format("%s %.2f us", step, best / n * 1e6))
  return
end
for _ = 1, n do f() end
