--- The local GameLift Streams emulator: restJson1 protocol, SigV4 verification,
-- fault injection and the control API under /_emulator/, on top of httpd.
local httpd = require("gameliftstreams.emulator.httpd")
local json = require("gameliftstreams.emulator.json")
local schema = require("gameliftstreams.emulator.schema")
local state = require("gameliftstreams.emulator.state")
local ops = require("gameliftstreams.emulator.ops")
local auth = require("gameliftstreams.emulator.auth")
local socket = require("socket")

local ok_core, core = pcall(require, "gameliftstreams.core")
if not ok_core then core = {} end

local _M = { _VERSION = "0.1" }
local mt = { __index = _M }

_M.DEFAULT_ACCESS_KEY = "AKIDEMULATOR"
_M.DEFAULT_SECRET = "emulator-secret"
_M.ERRORTYPE_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.gameliftstreams/"
_M.LOG_BYTES = 16 * 1024 * 1024    -- the request log's bound, all entries together
_M.LOG_BODY_BYTES = 1024 * 1024    -- the most of one body the log keeps

local STATUS = {
  ValidationException = 400, ServiceQuotaExceededException = 402, AccessDeniedException = 403,
  ResourceNotFoundException = 404, ConflictException = 409, StreamSessionAccessNotReadyException = 409,
  ThrottlingException = 429, InternalServerException = 500, UnknownOperationException = 404,
  InvalidSignatureException = 403, UnrecognizedClientException = 403,
  MissingAuthenticationTokenException = 403, IncompleteSignatureException = 400,
}

local function uuid4()
  if core.uuid4 then return core.uuid4() end
  local t = {}
  for i = 1, 16 do t[i] = math.random(0, 255) end
  t[7] = 0x40 + (t[7] % 16)
  t[9] = 0x80 + (t[9] % 64)
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
    t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15], t[16])
end

local function pct_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_query(q)
  local out = {}
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = pct_decode(k), pct_decode(v)
    out[k] = out[k] or {}
    table.insert(out[k], v)
  end
  return out
end

local function split_path(p)
  local segs = {}
  for seg in p:gmatch("/([^/]*)") do segs[#segs + 1] = seg end
  return segs
end

-- compiled route table: { method, segments (literal or { label = name }), op, success, query }
local ROUTES = {}
for _, r in ipairs(ops.routes) do
  local segs = {}
  for i, seg in ipairs(split_path(r[2])) do
    local label = seg:match("^{(%w+)}$")
    segs[i] = label and { label = label } or seg
  end
  ROUTES[#ROUTES + 1] = { method = r[1], segs = segs, op = r[3], success = r[4], query = r[5] or {} }
end

--- Finds the operation of a request: route, labels (decoded); or nil, path_matched.
function _M.route(method, path)
  local segs = split_path(path)
  local path_matched = false
  for _, r in ipairs(ROUTES) do
    if #r.segs == #segs then
      local labels, ok = {}, true
      for i, s in ipairs(r.segs) do
        if type(s) == "table" then
          labels[s.label] = pct_decode(segs[i])
        elseif s ~= segs[i] then
          ok = false
          break
        end
      end
      if ok then
        if r.method == method then return r, labels end
        path_matched = true
      end
    end
  end
  return nil, path_matched
end

--- Creates an emulator. opts: delay_scale, account, region, credentials ({ {key, secret, token} }),
-- no_default_credentials, auth (default true), log_size (default 1000).
function _M.new(opts)
  opts = opts or {}
  local self = setmetatable({ opts = opts }, mt)
  self:reset()
  return self
end

function _M:reset()
  local opts = self.opts
  self.st = state.new{ delay_scale = opts.delay_scale or 1, account = opts.account, region = opts.region }
  self.creds = {}
  if not opts.no_default_credentials then
    self.creds[_M.DEFAULT_ACCESS_KEY] = { secret = _M.DEFAULT_SECRET }
  end
  for _, c in ipairs(opts.credentials or {}) do
    self.creds[c[1]] = { secret = c[2], session_token = c[3] }
  end
  self.faults = {}
  self.fault_seq = 0
  self:clear_log()
  self.log_seq = 0
  self.log_size = opts.log_size or 1000
  self.log_bytes = opts.log_bytes or _M.LOG_BYTES
  self.auth = opts.auth ~= false
  self.errortype_suffix = false
end

-- responses -----------------------------------------------------------------------------

function _M:base_headers(request_id)
  return {
    ["x-amzn-requestid"] = request_id,
    ["Date"] = auth.http_date(self.st:clock()),
  }
end

function _M:error_response(request_id, code, message, status, extra)
  local h = self:base_headers(request_id)
  h["Content-Type"] = "application/json"
  -- the real service may append its namespace; clients must strip it
  h["x-amzn-errortype"] = self.errortype_suffix and (code .. ":" .. _M.ERRORTYPE_NAMESPACE) or code
  for k, v in pairs(extra or {}) do h[k] = v end
  return status or STATUS[code] or 400, h, json.encode({ message = message })
end

function _M:json_response(request_id, status, body)
  local h = self:base_headers(request_id)
  if status == 204 then return status, h, "" end
  h["Content-Type"] = "application/json"
  return status, h, json.encode(body or {})
end

-- request log ------------------------------------------------------------------------------
-- Entries are kept oldest first in self.log[log_first .. log_last], bounded by count (log_size)
-- and by bytes (log_bytes). A request that fails authentication keeps no headers, query
-- or body: only what says it came and why it was refused.

--- A log entry for a request (not yet in the log: see commit_entry).
function _M:new_entry(req, request_id, op)
  self.log_seq = self.log_seq + 1
  local e = {
    seq = self.log_seq, time = state.ms(self.st:clock()), method = req.method, path = req.path,
    operation = op, request_id = request_id, peer = req.peer,
    connection_request = req.seq,
    invocation_id = req.headers["amz-sdk-invocation-id"],
  }
  local sdk = req.headers["amz-sdk-request"]
  if sdk then
    e.attempt = tonumber(sdk:match("attempt=(%d+)"))
    e.max_attempts = tonumber(sdk:match("max=(%d+)"))
  end
  return e
end

--- Adds what was sent (headers, query, body) to an entry of a request that passed auth.
function _M:add_content(e, req)
  local headers = {}
  for k, v in pairs(req.headers) do headers[k] = v end
  e.headers, e.query = headers, req.query
  local body = req.body or ""
  if #body > _M.LOG_BODY_BYTES then
    e.body, e.body_truncated, e.body_bytes = body:sub(1, _M.LOG_BODY_BYTES), true, #body
  else
    e.body = body
  end
  if body:find("ClientToken", 1, true) and #body <= _M.LOG_BODY_BYTES then
    local b = json.decode(body)
    if type(b) == "table" and type(b.ClientToken) == "string" then e.client_token = b.ClientToken end
  end
end

local function entry_cost(e)
  local n = 256 + #e.path + #(e.query or "") + #(e.body or "")
  for k, v in pairs(e.headers or {}) do n = n + #k + #v + 8 end
  if e.auth then n = n + #(e.auth.canonical_request or "") + #(e.auth.string_to_sign or "") end
  return n
end

local function drop_oldest(self)
  local e = self.log[self.log_first]
  self.log[self.log_first] = nil
  self.log_first = self.log_first + 1
  self.log_total = self.log_total - e.cost
end

--- Puts an entry in the log, dropping the oldest beyond the bounds.
function _M:commit_entry(e)
  e.cost = entry_cost(e)
  self.log_last = self.log_last + 1
  self.log[self.log_last] = e
  self.log_total = self.log_total + e.cost
  self:commit_entry_bounds()
end

--- Drops the oldest entries beyond log_size and log_bytes.
function _M:commit_entry_bounds()
  while self.log_last >= self.log_first and
      (self.log_last - self.log_first + 1 > self.log_size or self.log_total > self.log_bytes) do
    drop_oldest(self)
  end
end

function _M:clear_log()
  self.log, self.log_first, self.log_last, self.log_total = {}, 1, 0, 0
end

--- The log entries oldest first (a copy without the bookkeeping).
function _M:log_entries(want, limit)
  local list = json.array()
  for i = self.log_first, self.log_last do
    local e = self.log[i]
    if not want or e.operation == want then list[#list + 1] = e end
  end
  if limit and #list > limit then
    local tail = json.array()
    for i = #list - limit + 1, #list do tail[#tail + 1] = list[i] end
    list = tail
  end
  local out = json.array()
  for i, e in ipairs(list) do
    local copy = {}
    for k, v in pairs(e) do if k ~= "cost" then copy[k] = v end end
    out[i] = copy
  end
  return out
end

-- control values -----------------------------------------------------------------------------
-- Every number the control API takes has a range: a value outside it is refused with a 400
-- that names the field and the range (a clock offset of 1e300 once made every request 500).

local function fmt(x)
  return json.encode_number(x)
end

--- nil when v is a finite number in [lo, hi] (whole when `whole`), else the message.
local function check_number(v, name, lo, hi, whole)
  if type(v) ~= "number" or v ~= v or v < lo or v > hi or (whole and math.floor(v) ~= v) then
    return string.format("%s must be %s between %s and %s", name, whole and "a whole number" or "a number",
      fmt(lo), fmt(hi))
  end
  return nil
end
_M.check_number = check_number

_M.LIMITS = {
  offset = { -1e9, 1e9 },         -- clock offset, seconds (about 31 years either way)
  advance = { 0, 1e9 },           -- one advance, seconds
  advance_total = 1e10,           -- all advances together
  delay_scale = { 0, 1e6 },
  quota = { 0, 1e9 },
  log_size = { 0, 1e6 },
  log_bytes = { 0, 1024 * 1024 * 1024 },
  count = { 1, 1e9 },
  seconds = { 0, 3600 },          -- a slow fault's delay
  limit = { 0, 1e6 },             -- GET /_emulator/requests?limit=
}
local LIMITS = _M.LIMITS

local function has_ctl(s) return s:find("[%z\r\n]") ~= nil end

-- faults -------------------------------------------------------------------------------------

local FAULT_KINDS = { throttle = true, error = true, slow = true, drop = true, garbage = true, hang = true,
                      truncate = true }

function _M:add_fault(f)
  if type(f) ~= "table" then return nil, "fault must be a JSON object" end
  if not FAULT_KINDS[f.kind] then
    return nil, "kind must be one of throttle, error, slow, drop, garbage, truncate, hang"
  end
  if f.operation ~= nil and type(f.operation) ~= "string" then return nil, "operation must be a string" end
  local count = f.count == nil and 1 or f.count
  if type(count) ~= "number" or count < 1 or math.floor(count) ~= count then
    return nil, "count must be a positive integer"
  end
  local bad = check_number(count, "count", LIMITS.count[1], LIMITS.count[2], true)
  if bad then return nil, bad end
  if f.kind == "slow" and type(f.seconds) ~= "number" then return nil, "slow needs seconds" end
  if f.seconds ~= nil then
    bad = check_number(f.seconds, "seconds", LIMITS.seconds[1], LIMITS.seconds[2])
    if bad then return nil, bad end
  end
  if f.status ~= nil and (type(f.status) ~= "number" or f.status ~= f.status or f.status < 100 or f.status > 599) then
    return nil, "status must be an HTTP status code"
  end
  for _, name in ipairs({ "code", "message", "body" }) do
    if f[name] ~= nil and type(f[name]) ~= "string" then return nil, name .. " must be a string" end
  end
  if f.code ~= nil and has_ctl(f.code) then return nil, "code must not contain CR, LF or NUL" end
  if f.headers ~= nil then
    if type(f.headers) ~= "table" then return nil, "headers must be an object" end
    for k, v in pairs(f.headers) do
      if type(k) ~= "string" or not k:match("^[!#$%%&'*+%-.^_`|~%w]+$") then
        return nil, "headers: a header name must be a token"
      end
      if (type(v) ~= "string" and type(v) ~= "number") or (type(v) == "string" and has_ctl(v)) then
        return nil, "headers: " .. k .. " must be a string without CR, LF or NUL, or a number"
      end
      if type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge) then
        return nil, "headers: " .. k .. " must be a finite number"
      end
    end
  end
  -- x-amz-retry-after is whole milliseconds; a string goes out verbatim (to test bad hints)
  local ra = f.retry_after
  if ra ~= nil and type(ra) ~= "string"
      and (type(ra) ~= "number" or ra < 0 or math.floor(ra) ~= ra or ra >= 2^53) then
    return nil, "retry_after must be a whole number of milliseconds (or a string, sent verbatim)"
  end
  if type(ra) == "string" and has_ctl(ra) then return nil, "retry_after must not contain CR, LF or NUL" end
  self.fault_seq = self.fault_seq + 1
  local fault = {
    id = self.fault_seq, operation = f.operation or "*", count = math.floor(count), kind = f.kind,
    status = f.status and math.floor(f.status), code = f.code, message = f.message,
    retry_after = ra and (type(ra) == "number" and string.format("%d", ra) or ra), headers = f.headers, seconds = f.seconds, after = f.after == true,
    body = f.body,
  }
  self.faults[#self.faults + 1] = fault
  return fault
end
function _M:take_fault(op)
  for i, f in ipairs(self.faults) do
    if f.operation == "*" or f.operation == op then
      f.count = f.count - 1
      if f.count <= 0 then table.remove(self.faults, i) end
      return f
    end
  end
  return nil
end

-- Turns a fault into a response; `result` is the real response for "slow" / after-faults.
function _M:fault_response(f, request_id, result)
  local k = f.kind
  if k == "throttle" or k == "error" then
    local extra = {}
    local function text(v) return type(v) == "number" and json.encode_number(v) or tostring(v) end
    if f.retry_after ~= nil then extra["x-amz-retry-after"] = text(f.retry_after) end
    for hk, hv in pairs(f.headers or {}) do extra[hk] = text(hv) end
    if k == "throttle" then
      return self:error_response(request_id, f.code or "ThrottlingException", f.message or "Rate exceeded",
        f.status or 429, extra)
    end
    local code = f.code or "InternalServerException"
    return self:error_response(request_id, code, f.message or "Injected fault", f.status or STATUS[code] or 500, extra)
  elseif k == "slow" then
    return httpd.delay(f.seconds, result[1], result[2], result[3])
  elseif k == "drop" then
    return httpd.reset()
  elseif k == "hang" then
    return httpd.hang()
  elseif k == "garbage" then
    local h = self:base_headers(request_id)
    h["Content-Type"] = "application/json"
    return f.status or 200, h, f.body or "<html><body>502 Bad Gateway</body></html>{\"Arn\":"
  elseif k == "truncate" then
    local body = '{"message":"this body is cut short'
    return httpd.raw(string.format("HTTP/1.1 %d OK\r\nContent-Type: application/json\r\n" ..
      "x-amzn-requestid: %s\r\nContent-Length: %d\r\n\r\n%s", f.status or 200, request_id, #body + 100, body), true)
  end
end

-- input ------------------------------------------------------------------------------------

local function bad(message) return nil, { code = "ValidationException", message = message } end

--- Validates labels, query and body; returns ctx fields or nil, err.
function _M:parse_input(req, route, labels)
  for name, value in pairs(labels) do
    local shape = ops.label_shapes[name]
    local ok, err = schema.check(shape, value, name)
    if ok == nil then return bad(err) end
  end
  local raw = parse_query(req.query)
  local query = {}
  for wire, member in pairs(route.query) do
    local spec = ops.query_shapes[member]
    local shape = (member == "Status" and ops.query_status_shape[route.op]) or spec.shape
    local values = raw[wire]
    if values == nil then
      if spec.required then return bad("Value at '" .. member .. "' failed to satisfy constraint: Member must not be null") end
    elseif spec.list then
      local v, err = schema.check(shape, values, member)
      if v == nil then return bad(err) end
      query[member] = v
    else
      local v = values[1]
      if spec.integer then
        if not v:match("^%-?%d+$") then return bad("Value at '" .. member .. "' must be an integer") end
        v = tonumber(v)
      end
      local cv, err = schema.check(shape, v, member)
      if cv == nil then return bad(err) end
      query[member] = cv
    end
  end
  local input = {}
  local bshape = schema.bodies[route.op]
  if bshape then
    local body = req.body or ""
    local decoded = {}
    if body:match("%S") then
      local err
      decoded, err = json.decode(body)
      if decoded == nil then return bad("The request body is not valid JSON: " .. tostring(err)) end
      if type(decoded) ~= "table" or decoded[1] ~= nil then return bad("The request body must be a JSON object") end
    end
    local err
    input, err = schema.check(bshape, decoded, "")
    if input == nil then return bad(err) end
  end
  return query, input
end

-- replay of an idempotent creation: the resource as it is now
local RENDER = {
  CreateApplication = function(st, r) return st:app_output(r) end,
  CreateStreamGroup = function(st, r) return st:group_output(r) end,
  StartStreamSession = function(st, r) return st:session_output(r) end,
  CreateStreamUrl = function(st, r) return st:url_output(r) end,
}

--- Runs an operation: status, output table | nil, err.
function _M:call(route, labels, query, input, req)
  local st = self.st
  local ctx = {
    st = st, labels = labels, query = query, input = input, op = route.op,
    region = req.region or st.region,
    base_url = "http://" .. (req.headers.host or "127.0.0.1"),
  }
  local key, fp
  if ops.token_ops[route.op] and input.ClientToken then
    key = route.op .. "|" .. input.ClientToken
    local copy = {}
    for k, v in pairs(input) do if k ~= "ClientToken" then copy[k] = v end end
    fp = json.encode({ labels = labels, input = copy })
    local prev = st.tokens[key]
    if prev then
      if prev.fp ~= fp then
        return nil, { code = "ConflictException", message =
          "The ClientToken was already used for a " .. route.op .. " request with different parameters" }
      end
      local render = RENDER[route.op]
      return prev.status, render and render(st, prev.resource) or prev.output
    end
  end
  local status, out, resource = ops.handlers[route.op](ctx)
  if status and key then
    st.tokens[key] = { fp = fp, status = status, resource = resource, output = out }
  end
  return status, out
end

-- control API -------------------------------------------------------------------------------

function _M:control(req, request_id)
  local path = req.path:sub(#"/_emulator/" + 1)
  local m = req.method
  local body
  if req.body and req.body:match("%S") then
    body = json.decode(req.body)
    if type(body) ~= "table" then
      return self:error_response(request_id, "ValidationException", "control body must be a JSON object")
    end
  end
  body = body or {}
  local function ok(v) return self:json_response(request_id, 200, v or { ok = true }) end
  local function no(msg) return self:error_response(request_id, "ValidationException", msg) end
  local st = self.st

  if path == "health" and m == "GET" then
    local h = { status = "ok", version = _M._VERSION }
    local srv = self.httpd
    if srv then
      h.connections = { open = srv.nconns, max = srv.max_connections }
      for k, v in pairs(srv.stats) do h.connections[k] = v end
    end
    return ok(h)
  elseif path == "reset" and m == "POST" then
    self:reset()
    return ok()
  elseif path == "faults" and m == "POST" then
    local list = body[1] and body or { body }
    local added = json.array()
    for _, f in ipairs(list) do
      local fault, err = self:add_fault(f)
      if not fault then return no(err) end
      added[#added + 1] = fault
    end
    return ok({ faults = added })
  elseif path == "faults" and m == "GET" then
    local list = json.array()
    for i, f in ipairs(self.faults) do list[i] = f end
    return ok({ faults = list })
  elseif path == "faults" and m == "DELETE" then
    self.faults = {}
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
    self.creds[body.access_key_id] = { secret = body.secret_access_key, session_token = body.session_token }
    return ok()
  elseif path == "credentials" and m == "DELETE" then
    if type(body.access_key_id) ~= "string" then return no("access_key_id is required") end
    self.creds[body.access_key_id] = nil
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
    return ok({ requests = self:log_entries(want, limit) })
  elseif path == "requests" and m == "DELETE" then
    self:clear_log()
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
    if body.auth ~= nil then self.auth = body.auth end
    if body.errortype_suffix ~= nil then self.errortype_suffix = body.errortype_suffix end
    for name, v in pairs(body.quotas or {}) do st.quotas[name] = v ~= false and math.floor(v) or nil end
    if body.log_size ~= nil then self.log_size = math.floor(body.log_size) end
    if body.log_bytes ~= nil then self.log_bytes = math.floor(body.log_bytes) end
    if body.log_size ~= nil or body.log_bytes ~= nil then self:commit_entry_bounds() end
    return ok({ delay_scale = st.delay_scale, auth = self.auth, log_size = self.log_size,
                log_bytes = self.log_bytes, quotas = st.quotas, errortype_suffix = self.errortype_suffix })
  elseif path == "config" and m == "GET" then
    return ok({ delay_scale = st.delay_scale, auth = self.auth, log_size = self.log_size,
                log_bytes = self.log_bytes, account = st.account, region = st.region, quotas = st.quotas,
                errortype_suffix = self.errortype_suffix })
  elseif path == "status" and m == "POST" then
    if type(body.resource) ~= "string" or type(body.status) ~= "string" then
      return no("resource (ID or ARN) and status are required")
    end
    if body.status_reason ~= nil and type(body.status_reason) ~= "string" then
      return no("status_reason must be a string")
    end
    st:sweep()
    local r = st:find_any(body.resource)
    if not r then return self:error_response(request_id, "ResourceNotFoundException", "no resource " .. body.resource) end
    st:schedule(r, { { body.status, reason = body.status_reason } })
    return ok({ resource = r.arn, status = body.status })
  elseif m == "GET" and path:match("^play/") then
    return self:play(req, request_id, path:match("^play/(.*)$"))
  end
  return self:error_response(request_id, "UnknownOperationException", "No control endpoint " .. m .. " /_emulator/" .. path)
end

--- A browser opening a stream URL: starts a session through it (uses one use).
function _M:play(req, request_id, id)
  local st = self.st
  st:sweep()
  local u = st.urls[id]
  local q = parse_query(req.query)
  if not u or not q.token or q.token[1] ~= u.token then
    return self:error_response(request_id, "ResourceNotFoundException", "Unknown stream URL")
  end
  local status = st:url_status(u)
  if status ~= "ACTIVE" then
    return self:error_response(request_id, "ValidationException", "The stream URL is " .. status)
  end
  local g, a = st.groups[u.group_id], st.apps[u.app_id]
  if not g or not a then return self:error_response(request_id, "ResourceNotFoundException", "Stream group is gone") end
  local loc
  for _, name in ipairs(u.Locations or {}) do
    local l = st:find_location(g, name)
    if l and st:status(l) == "ACTIVE" then loc = name break end
  end
  if not loc then return self:error_response(request_id, "ValidationException", "No location of the URL is active") end
  u.uses = u.uses + 1
  local s = st:start_session(g, a, {
    Protocol = u.Protocol, SignalRequest = "v=0\r\ns=stream-url\r\n", SessionLengthSeconds = u.SessionLengthSeconds,
    AdditionalLaunchArgs = u.AdditionalLaunchArgs, AdditionalEnvironmentVariables = u.AdditionalEnvironmentVariables,
    RoleArn = u.RoleArn, DisplayConfiguration = u.DisplayConfiguration,
  }, loc, g.region, u)
  u.sessions[#u.sessions + 1] = s.id
  return self:json_response(request_id, 200, { Arn = s.arn, StreamGroupId = g.id })
end

-- the request handler -----------------------------------------------------------------------

function _M:handle(req)
  local request_id = uuid4()
  if req.path:sub(1, 11) == "/_emulator/" then
    return self:control(req, request_id)
  end
  self.st:sweep()
  local route, labels = _M.route(req.method, req.path)
  local entry = self:new_entry(req, request_id, route and route.op or nil)
  local function finish(status, headers, body)
    if type(status) == "number" then
      entry.status = status
      entry.error = headers["x-amzn-errortype"] and headers["x-amzn-errortype"]:match("^[^:]+")
    end
    if not (entry.auth and entry.auth.ok == false) then self:add_content(entry, req) end
    self:commit_entry(entry)
    return status, headers, body
  end
  if not route then
    return finish(self:error_response(request_id, "UnknownOperationException",
      string.format("No operation matches %s %s", req.method, req.path), labels and 405 or 404))
  end
  local fault = self:take_fault(route.op)
  if fault then
    entry.fault = fault.kind
    if not fault.after and fault.kind ~= "slow" then
      return finish(self:fault_response(fault, request_id))
    end
  end
  if self.auth then
    local info, aerr = auth.verify(req, { credentials = self.creds, now = self.st:clock(), sign = core.sign })
    if not info then
      entry.auth = { ok = false, code = aerr.code }
      if aerr.info then
        entry.auth.canonical_request = aerr.info.canonical_request
        entry.auth.string_to_sign = aerr.info.string_to_sign
      end
      local extra = aerr.date and { Date = auth.http_date(aerr.date) } or nil
      return finish(self:error_response(request_id, aerr.code, aerr.message, aerr.status, extra))
    end
    entry.auth = { ok = true, access_key_id = info.access_key_id, region = info.region }
    req.region = info.region
  end
  local status, out
  local query, input = self:parse_input(req, route, labels)
  if not query then
    out = input
  else
    status, out = self:call(route, labels, query, input, req)
  end
  local result
  if status then
    if status == 200 or status == 201 then status = route.success end
    result = { self:json_response(request_id, status, out) }
  else
    result = { self:error_response(request_id, out.code, out.message) }
  end
  if fault then return finish(self:fault_response(fault, request_id, result)) end
  return finish(result[1], result[2], result[3])
end

--- The httpd handler function of this emulator.
function _M:handler()
  return function(req)
    local ok, status, headers, body = pcall(self.handle, self, req)
    if not ok then
      io.stderr:write("gameliftstreams-emulator: internal error: ", tostring(status), "\n")
      return self:error_response(uuid4(), "InternalServerException", "The emulator failed: " .. tostring(status), 500)
    end
    return status, headers, body
  end
end

-- command line ------------------------------------------------------------------------------

local USAGE = [[
usage: gameliftstreams-emulator [options]
  --port N              port to listen on (default 8000; 0 = any free port)
  --host ADDR           address to bind (default 127.0.0.1)
  --delay-scale X       multiply every status delay by X (default 1; 0.01 for tests)
  --credentials K:S[:T] accept access key K with secret S (and session token T); repeatable
  --no-default-credentials  do not accept AKIDEMULATOR / emulator-secret
  --no-auth             accept requests without checking signatures
  --account ID          12-digit account id in ARNs (default 123456789012)
  --region R            region of ARNs when a request is not signed (default us-west-2)
  --log-size N          requests kept for GET /_emulator/requests (default 1000)
  --log-bytes N         bytes the request log may hold in all (default 16777216)
  --max-connections N   open connections at most (default 512; beyond, the longest idle is closed)
  --idle-timeout S      close a connection idle for S seconds (default 60)
  --header-timeout S    a request head must arrive within S seconds (default 30)
  --body-timeout S      a request body must arrive within S seconds after its head (default 60)
  --max-body-bytes N    larger request bodies are refused with 413 (default 67108864)
  --help                this text
Prints "listening <port>" on stdout, then serves until killed.
]]

--- Parses command-line arguments into emulator options; nil, message on error.
function _M.parse_args(argv)
  local o = { port = 8000, host = "127.0.0.1", credentials = {} }
  local i = 1
  local function value(name)
    i = i + 1
    local v = argv[i]
    if v == nil then error(name .. " needs a value", 0) end
    return v
  end
  local function number(name, lo, hi, whole)
    local v = tonumber(value(name))
    if check_number(v, name, lo, hi, whole) then
      error(string.format("%s needs %s between %s and %s", name, whole and "a whole number" or "a number",
        fmt(lo), fmt(hi)), 0)
    end
    return v
  end
  local ok, err = pcall(function()
    while i <= #argv do
      local a = argv[i]
      if a == "--port" then o.port = tonumber(value(a)) or error("--port needs a number", 0)
      elseif a == "--host" then o.host = value(a)
      elseif a == "--delay-scale" then
        o.delay_scale = tonumber(value(a))
        if check_number(o.delay_scale, "--delay-scale", LIMITS.delay_scale[1], LIMITS.delay_scale[2]) then
          error("--delay-scale needs a number between 0 and " .. fmt(LIMITS.delay_scale[2]), 0)
        end
      elseif a == "--credentials" then
        local v = value(a)
        local k, s, t = v:match("^([^:]+):([^:]+):?(.*)$")
        if not k then error("--credentials needs KEY:SECRET[:TOKEN]", 0) end
        o.credentials[#o.credentials + 1] = { k, s, t ~= "" and t or nil }
      elseif a == "--no-default-credentials" then o.no_default_credentials = true
      elseif a == "--no-auth" then o.auth = false
      elseif a == "--account" then
        o.account = value(a)
        if not o.account:match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then error("--account needs 12 digits", 0) end
      elseif a == "--region" then o.region = value(a)
      elseif a == "--log-size" then o.log_size = number(a, LIMITS.log_size[1], LIMITS.log_size[2], true)
      elseif a == "--log-bytes" then o.log_bytes = number(a, LIMITS.log_bytes[1], LIMITS.log_bytes[2], true)
      elseif a == "--max-connections" then o.max_connections = number(a, 1, 900, true)
      elseif a == "--idle-timeout" then o.idle_timeout = number(a, 0.01, 86400)
      elseif a == "--header-timeout" then o.header_timeout = number(a, 0.01, 86400)
      elseif a == "--body-timeout" then o.body_timeout = number(a, 0.01, 86400)
      elseif a == "--max-body-bytes" then o.max_body_bytes = number(a, 0, 1024 * 1024 * 1024, true)
      elseif a == "--help" or a == "-h" then o.help = true
      else error("unknown option " .. a, 0) end
      i = i + 1
    end
  end)
  if not ok then return nil, err end
  return o
end

--- Entry point of bin/gameliftstreams-emulator.
function _M.main(argv)
  local o, err = _M.parse_args(argv or {})
  if not o then
    io.stderr:write("gameliftstreams-emulator: ", err, "\n", USAGE)
    return 2
  end
  if o.help then io.stdout:write(USAGE) return 0 end
  math.randomseed(math.floor(socket.gettime() * 1000) % 2147483647)
  local emu = _M.new(o)
  local srv, serr = httpd.new{ host = o.host, port = o.port, handler = emu:handler(),
    max_connections = o.max_connections, idle_timeout = o.idle_timeout, header_timeout = o.header_timeout,
    body_timeout = o.body_timeout, max_body_bytes = o.max_body_bytes }
  if not srv then
    io.stderr:write("gameliftstreams-emulator: cannot listen on ", o.host, ":", tostring(o.port), ": ", tostring(serr), "\n")
    return 1
  end
  emu.httpd = srv
  io.stdout:write("listening ", srv.port, "\n")
  io.stdout:flush()
  io.stderr:write(string.format("gameliftstreams-emulator on http://%s:%d (access key %s, delay scale %s)\n",
    o.host, srv.port, o.no_default_credentials and "(custom)" or _M.DEFAULT_ACCESS_KEY,
    tostring(o.delay_scale or 1)))
  srv:run()
  return 0
end

return _M
