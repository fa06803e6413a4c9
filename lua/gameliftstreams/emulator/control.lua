--- The control API (/_emulator/..., not signed, JSON in and out): health, reset, faults,
-- clock skew and advance, credentials, the request log, settings, forced statuses, and
-- playing a stream URL. Values out of range are refused with 400 naming the field and the
-- range (limits.lua), and nothing changes.
local json = require("gameliftstreams.emulator.json")
local state = require("gameliftstreams.emulator.state")
local input = require("gameliftstreams.emulator.input")
local limits = require("gameliftstreams.emulator.limits")
local faults = require("gameliftstreams.emulator.faults")
local stream_urls = require("gameliftstreams.emulator.resources.stream_urls")

local _M = {}

local check_number, fmt, LIMITS = limits.check_number, limits.fmt, limits.LIMITS
local parse_query = input.parse_query

--- Answers a request under /_emulator/.
function _M.handle(emu, req, request_id)
  local path = req.path:sub(#"/_emulator/" + 1)
  local m = req.method
  local body
  if req.body and req.body:match("%S") then
    body = json.decode(req.body)
    if type(body) ~= "table" then
      return emu:error_response(request_id, "ValidationException", "control body must be a JSON object")
    end
  end
  body = body or {}
  local function ok(v) return emu:json_response(request_id, 200, v or { ok = true }) end
  local function no(msg) return emu:error_response(request_id, "ValidationException", msg) end
  local st = emu.st

  if path == "health" and m == "GET" then
    local h = { status = "ok", version = emu._VERSION }
    local srv = emu.httpd
    if srv then
      h.connections = { open = srv.nconns, max = srv.max_connections }
      for k, v in pairs(srv.stats) do h.connections[k] = v end
    end
    return ok(h)
  elseif path == "reset" and m == "POST" then
    emu:reset()
    return ok()
  elseif path == "faults" and m == "POST" then
    local list = body[1] and body or { body }
    local added = json.array()
    for _, f in ipairs(list) do
      local fault, err = faults.add(emu, f)
      if not fault then return no(err) end
      added[#added + 1] = fault
    end
    return ok({ faults = added })
  elseif path == "faults" and m == "GET" then
    local list = json.array()
    for i, f in ipairs(emu.faults) do list[i] = f end
    return ok({ faults = list })
  elseif path == "faults" and m == "DELETE" then
    emu.faults = {}
    return ok()
  elseif path == "clock" and m == "POST" then
    if body.offset == nil then return no("offset (seconds) is required") end
    local bad = check_number(body.offset, "offset (seconds)", LIMITS.offset[1], LIMITS.offset[2])
    if bad then return no(bad) end
    st.clock_offset = body.offset
    return ok({ offset = st.clock_offset, now = state.ms(st:clock()) })
  elseif path == "clock" and m == "GET" then
    return ok({ offset = st.clock_offset, now = state.ms(st:clock()) })
  elseif path == "advance" and m == "POST" then
    if body.seconds == nil then return no("seconds (>= 0) is required") end
    local bad = check_number(body.seconds, "seconds", LIMITS.advance[1], LIMITS.advance[2])
    if bad then return no(bad) end
    if st.advance + body.seconds > LIMITS.advance_total then
      return no("seconds: the clock may be advanced by at most " .. fmt(LIMITS.advance_total) ..
        " seconds in all (reset to start again)")
    end
    st.advance = st.advance + body.seconds
    return ok({ advanced = st.advance })
  elseif path == "credentials" and m == "POST" then
    if type(body.access_key_id) ~= "string" or type(body.secret_access_key) ~= "string" then
      return no("access_key_id and secret_access_key are required")
    end
    if body.session_token ~= nil and type(body.session_token) ~= "string" then return no("session_token must be a string") end
    emu.creds[body.access_key_id] = { secret = body.secret_access_key, session_token = body.session_token }
    return ok()
  elseif path == "credentials" and m == "DELETE" then
    if type(body.access_key_id) ~= "string" then return no("access_key_id is required") end
    emu.creds[body.access_key_id] = nil
    return ok()
  elseif path == "requests" and m == "GET" then
    local q = parse_query(req.query)
    local want = q.operation and q.operation[1]
    local limit
    if q.limit then
      limit = q.limit[1]:match("^%d+$") and tonumber(q.limit[1])
      local bad = check_number(limit, "limit", LIMITS.limit[1], LIMITS.limit[2], true)
      if bad then return no(bad) end
    end
    return ok({ requests = emu.log:entries(want, limit) })
  elseif path == "requests" and m == "DELETE" then
    emu.log:clear()
    return ok()
  elseif path == "config" and m == "POST" then
    -- everything is checked before anything changes
    local bad
    if body.delay_scale ~= nil then
      bad = check_number(body.delay_scale, "delay_scale", LIMITS.delay_scale[1], LIMITS.delay_scale[2])
      if bad then return no(bad) end
    end
    for _, name in ipairs({ "auth", "errortype_suffix" }) do
      if body[name] ~= nil and type(body[name]) ~= "boolean" then return no(name .. " must be true or false") end
    end
    if body.quotas ~= nil then
      if type(body.quotas) ~= "table" then return no("quotas must be an object") end
      for name, v in pairs(body.quotas) do
        if name ~= "applications" and name ~= "stream_groups" and name ~= "stream_urls" then
          return no("quotas: unknown quota " .. tostring(name))
        end
        if v ~= false then
          bad = check_number(v, "quotas: " .. name .. " (or false)", LIMITS.quota[1], LIMITS.quota[2])
          if bad then return no(bad) end
        end
      end
    end
    for _, name in ipairs({ "log_size", "log_bytes" }) do
      if body[name] ~= nil then
        bad = check_number(body[name], name, LIMITS[name][1], LIMITS[name][2])
        if bad then return no(bad) end
      end
    end
    if body.delay_scale ~= nil then st:set_delay_scale(body.delay_scale) end
    if body.auth ~= nil then emu.auth = body.auth end
    if body.errortype_suffix ~= nil then emu.errortype_suffix = body.errortype_suffix end
    for name, v in pairs(body.quotas or {}) do st.quotas[name] = v ~= false and math.floor(v) or nil end
    emu.log:set_bounds(body.log_size and math.floor(body.log_size), body.log_bytes and math.floor(body.log_bytes))
    return ok({ delay_scale = st.delay_scale, auth = emu.auth, log_size = emu.log.size,
                log_bytes = emu.log.bytes, quotas = st.quotas, errortype_suffix = emu.errortype_suffix })
  elseif path == "config" and m == "GET" then
    return ok({ delay_scale = st.delay_scale, auth = emu.auth, log_size = emu.log.size,
                log_bytes = emu.log.bytes, account = st.account, region = st.region, quotas = st.quotas,
                errortype_suffix = emu.errortype_suffix })
  elseif path == "status" and m == "POST" then
    if type(body.resource) ~= "string" or type(body.status) ~= "string" then
      return no("resource (ID or ARN) and status are required")
    end
    if body.status_reason ~= nil and type(body.status_reason) ~= "string" then
      return no("status_reason must be a string")
    end
    st:sweep()
    local r = st:find_any(body.resource)
    if not r then return emu:error_response(request_id, "ResourceNotFoundException", "no resource " .. body.resource) end
    st:schedule(r, { { body.status, reason = body.status_reason } })
    return ok({ resource = r.arn, status = body.status })
  elseif m == "GET" and path:match("^play/") then
    return stream_urls.play(emu, req, request_id, path:match("^play/(.*)$"))
  end
  return emu:error_response(request_id, "UnknownOperationException", "No control endpoint " .. m .. " /_emulator/" .. path)
end

return _M
