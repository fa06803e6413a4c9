--- Hooks: functions a client calls at defined points of every attempt, and a ready logger.
--
-- The `hooks` option of gls.new is a table of functions, or a list of such tables:
--   before_send(ev)    an attempt is signed and about to be sent
--   after_receive(ev)  its answer (or transport failure) is in, classified, the retry decided
--   call_end(ev)       the call returns (success or the final error)
-- Each gets one new table (see `event`), for the 30 operations (waiter polls and pages too) and
-- for the SDK's own calls (STS, SSO, SSO OIDC, the container endpoint, IMDS), which say so
-- (`sdk_call = true`, `service`). A hook that raises does not break the call: the failure is
-- reported once per hook function (stderr, or ngx.log inside OpenResty) and that hook goes on
-- being called.
--
-- Secrets never reach a hook: the authorization header's signature, x-amz-security-token, the
-- IMDS and SSO tokens and the container's authorization token are replaced by "REDACTED", and
-- every string a hook sees (URL, header values, error message) has the secret key, the session
-- token and the values of the call's sensitive members (SignalRequest, SignalResponse,
-- StreamUrl, TokenValue, RoleArn, and the secrets the SDK's own calls carry) cut out.
-- Request and response bodies are not shown.
--
-- The ready logger (the `log` option, else the GLS_LOG environment variable) is a hook set
-- writing one line per attempt: to stderr, or with ngx.log inside OpenResty (INFO for an
-- answer in 2xx, WARN otherwise).
--
-- Nothing here runs when a client has no hook: the call path tests one field per point.
local _M = { _VERSION = "0.1" }

local type, pairs, ipairs, tostring, pcall, error = type, pairs, ipairs, tostring, pcall, error
local rawget, next = rawget, next
local find, sub, format, gsub = string.find, string.sub, string.format, string.gsub
local concat = table.concat

local NAMES = { before_send = true, after_receive = true, call_end = true }
_M.NAMES = NAMES

local REDACTED = "REDACTED"
local MIN_SECRET = 6 -- shorter values are not searched for in strings (they would cut words)

-- Header names whose whole value is a secret (lower case, as the SDK sends them).
local SECRET_HEADERS = {
  ["x-amz-security-token"] = true,
  ["x-aws-ec2-metadata-token"] = true,
  ["x-amz-sso_bearer_token"] = true,
}

local core -- for the clock, loaded on the first event
local function now()
  if not core then core = require("gameliftstreams.core") end
  return core.monotime()
end

local function in_ngx()
  local ngx = _G.ngx
  return type(ngx) == "table" and type(ngx.log) == "function"
end

---------------------------------------------------------------------------
-- The option
---------------------------------------------------------------------------

local function check_set(t, where)
  local n = 0
  for k, v in pairs(t) do
    if not NAMES[k] then
      return nil, format("%s has '%s': a hook is before_send, after_receive or call_end", where,
        tostring(k))
    end
    if type(v) ~= "function" then
      return nil, format("%s.%s must be a function, got %s", where, k, type(v))
    end
    n = n + 1
  end
  if n == 0 then return nil, where .. " holds no hook (before_send, after_receive, call_end)" end
  return true
end

--- Checks the `hooks` option. Returns the list of hook tables, or nil and a message.
function _M.check(v)
  if type(v) ~= "table" then return nil, "must be a table of hooks or a list of them, got " .. type(v) end
  if v[1] == nil then
    local ok, msg = check_set(v, "hooks")
    if not ok then return nil, msg end
    return { v }
  end
  local list = {}
  for k in pairs(v) do
    if type(k) ~= "number" then return nil, "a list of hook tables cannot also have the key '" .. tostring(k) .. "'" end
  end
  for i, t in ipairs(v) do
    if type(t) ~= "table" then return nil, format("hooks[%d] must be a table, got %s", i, type(t)) end
    local ok, msg = check_set(t, format("hooks[%d]", i))
    if not ok then return nil, msg end
    list[i] = t
  end
  return list
end

--- The hook list of a client: the option's hooks, then the logger when `log` is true (the
-- `log` option, else GLS_LOG: config.settle_new decides). nil when there is none.
function _M.for_client(list, log)
  if not log then return list end
  local out = {}
  for i, t in ipairs(list or {}) do out[i] = t end
  out[#out + 1] = _M.logger()
  return out
end

---------------------------------------------------------------------------
-- Calling hooks
---------------------------------------------------------------------------

local reported = setmetatable({}, { __mode = "k" })

local function report(msg)
  if in_ngx() then
    _G.ngx.log(_G.ngx.ERR, msg)
  else
    io.stderr:write(msg, "\n")
  end
end
_M._report = report

local function run(list, name, ev)
  for i = 1, #list do
    local f = list[i][name]
    if f then
      local ok, err = pcall(f, ev)
      if not ok and not reported[f] then
        reported[f] = true
        report(format("gameliftstreams: the %s hook raised an error (reported once; the call goes "
          .. "on): %s", name, tostring(err)))
      end
    end
  end
end

---------------------------------------------------------------------------
-- Redaction
---------------------------------------------------------------------------

-- s with every plain occurrence of each secret replaced (secrets: longest first).
local scrub = require("gameliftstreams.text").cut
_M.scrub = scrub

local function header_value(name, v, secrets)
  if SECRET_HEADERS[name] then return REDACTED end
  if name == "authorization" then
    if sub(v, 1, 5) == "AWS4-" then
      -- the credential scope and the signed header names stay: they help debug a signature
      v = scrub(v, secrets)
      local a = find(v, "Signature=", 1, true)
      if not a then return v end
      local e = find(v, ",", a + 10, true) -- the signature is hex, usually last
      return sub(v, 1, a + 9) .. REDACTED .. (e and sub(v, e) or "")
    end
    return REDACTED -- a bearer or container token
  end
  return scrub(v, secrets)
end

--- A copy of `headers` (lower-case name -> value or list of values) as a hook may see them.
function _M.redact_headers(headers, secrets)
  local out = {}
  -- (the names are in lower case: the signer and the SDK's own calls write them so)
  for k, v in pairs(headers or {}) do
    local name = k
    if type(v) == "table" then
      local l = {}
      for i, x in ipairs(v) do l[i] = header_value(name, tostring(x), secrets) end
      out[k] = l
    else
      out[k] = header_value(name, tostring(v), secrets)
    end
  end
  return out
end

local ERROR_FIELDS = { "code", "status", "request_id", "retryable", "reason", "throttling", "fault",
                       "quota_exhausted", "provider", "sts_code", "sso_code", "curl_code" }

--- What a hook sees of an error object: its plain fields, and its message without secrets.
function _M.error_view(err, secrets)
  if err == nil then return nil end
  if type(err) ~= "table" then return { code = "Error", message = scrub(tostring(err), secrets) } end
  local v = {}
  for _, k in ipairs(ERROR_FIELDS) do
    local x = err[k]
    if type(x) ~= "table" and type(x) ~= "function" and type(x) ~= "userdata" then v[k] = x end
  end
  v.message = scrub(err.message ~= nil and tostring(err.message) or nil, secrets)
  return v
end

-- Adds s to the secrets searched for, once, the longest first (a shorter one inside a longer
-- one must not be cut first: the rest of the longer would stay).
local function add_secret(secrets, s)
  if type(s) ~= "string" or #s < MIN_SECRET then return end
  local at = #secrets + 1
  for i = 1, #secrets do
    local x = secrets[i]
    if x == s then return end
    if #x < #s and at > i then at = i end
  end
  table.insert(secrets, at, s)
end
_M.add_secret = add_secret

-- The secrets the SDK's own calls carried (role ARNs, tokens), kept for every call of this Lua
-- state: the error of an operation whose credentials could not be fetched quotes STS, whose
-- message may name the role. A bounded list: the oldest go first.
local REMEMBER = 64
local remembered = {}

local function remember(list)
  for i = 1, #list do
    local s = list[i]
    local known = false
    for j = 1, #remembered do if remembered[j] == s then known = true break end end
    if not known then
      if #remembered >= REMEMBER then table.remove(remembered, 1) end
      remembered[#remembered + 1] = s
    end
  end
end

-- The values of sensitive members in `value` of shape `shape_name` (the model's sensitive flag).
local function sensitive_values(model, shape_name, value, secrets, depth)
  local shape = model.shapes[shape_name]
  if not shape or depth > 20 or value == nil then return end
  if shape.sensitive then
    if type(value) == "string" then add_secret(secrets, value) end
    return
  end
  if type(value) ~= "table" then return end
  -- raw reads only, as validation and encoding read a value: no metatable runs here (an
  -- __index that makes up elements, a __len of 2^40 or a __pairs would hang or lie)
  if shape.type == "structure" then
    for m, mdef in pairs(shape.members or {}) do
      sensitive_values(model, mdef.shape, rawget(value, m), secrets, depth + 1)
    end
  elseif shape.type == "list" then
    local i = 1
    local x = rawget(value, 1)
    while x ~= nil do
      sensitive_values(model, shape.member, x, secrets, depth + 1)
      i = i + 1
      x = rawget(value, i)
    end
  elseif shape.type == "map" then
    for _, x in next, value do sensitive_values(model, shape.value, x, secrets, depth + 1) end
  end
end
_M.sensitive_values = sensitive_values

--- The values of the sensitive members of `value`, an input of shape `shape_name`: a list.
function _M.sensitive_strings(model, shape_name, value)
  local out = {}
  if shape_name then sensitive_values(model, shape_name, value, out, 0) end
  return out
end

---------------------------------------------------------------------------
-- One call's events
---------------------------------------------------------------------------

--- Starts the events of one call. info: operation, service, sdk_call, invocation_id,
-- max_attempts; model/input_shape/input add the input's sensitive values to the secrets;
-- secrets: a list of strings to cut out as well. Returns the call's context.
function _M.start(list, info)
  local secrets = {}
  for _, s in pairs(info.secrets or {}) do add_secret(secrets, s) end
  if info.model and info.input_shape then
    sensitive_values(info.model, info.input_shape, info.input, secrets, 0)
  end
  if info.sdk_call then remember(secrets) end
  for i = 1, #remembered do add_secret(secrets, remembered[i]) end
  return { list = list, operation = info.operation, service = info.service or "gameliftstreams",
           sdk_call = info.sdk_call == true, invocation_id = info.invocation_id,
           max_attempts = info.max_attempts, secrets = secrets, t0 = now(), attempts = 0 }
end

--- Adds the credentials an attempt is signed with (their secret and token) to the secrets.
function _M.add_credentials(ctx, creds)
  if type(creds) == "table" then
    add_secret(ctx.secrets, creds.secret_access_key)
    add_secret(ctx.secrets, creds.session_token)
  end
end

local function base_event(ctx, name)
  return { event = name, operation = ctx.operation, service = ctx.service, sdk_call = ctx.sdk_call,
           invocation_id = ctx.invocation_id, max_attempts = ctx.max_attempts }
end

--- An attempt is about to be sent. headers: exactly what goes on the wire.
function _M.before_send(ctx, attempt, method, url, headers)
  ctx.attempts = attempt
  ctx.method, ctx.url = method, scrub(url, ctx.secrets)
  ctx.headers = _M.redact_headers(headers, ctx.secrets)
  ctx.t_attempt = now()
  local ev = base_event(ctx, "before_send")
  ev.attempt, ev.method, ev.url, ev.headers = attempt, ctx.method, ctx.url, ctx.headers
  run(ctx.list, "before_send", ev)
end

local request_id = require("gameliftstreams.text").request_id

--- The attempt's answer: resp (status, headers) or nil; err: the failure (nil on success);
-- retry: whether another attempt follows, after `delay` seconds.
function _M.after_receive(ctx, resp, err, retry, delay)
  local ev = base_event(ctx, "after_receive")
  ev.attempt, ev.method, ev.url, ev.headers = ctx.attempts, ctx.method, ctx.url, ctx.headers
  ev.status = resp and resp.status
  ev.request_id = request_id(resp and resp.headers) or (type(err) == "table" and err.request_id or nil)
  ev.duration = now() - (ctx.t_attempt or ctx.t0)
  ev.retry = retry == true
  ev.delay = retry and delay or nil
  ev.error = _M.error_view(err, ctx.secrets)
  ctx.status, ctx.request_id = ev.status, ev.request_id
  run(ctx.list, "after_receive", ev)
end

--- The call returns: err is its final error, nil on success.
function _M.call_end(ctx, err)
  local ev = base_event(ctx, "call_end")
  ev.attempts = ctx.attempts
  ev.status, ev.request_id = ctx.status, ctx.request_id
  if type(err) == "table" then
    ev.status = err.status or ev.status
    ev.request_id = err.request_id or ev.request_id
  end
  ev.duration = now() - ctx.t0
  ev.error = _M.error_view(err, ctx.secrets)
  ev.method, ev.url = ctx.method, ctx.url
  run(ctx.list, "call_end", ev)
end

---------------------------------------------------------------------------
-- The ready logger
---------------------------------------------------------------------------

local function fmt_seconds(s)
  if type(s) ~= "number" then return "?" end
  return format("%.3f s", s)
end

--- One line for an after_receive event.
function _M.format_line(ev)
  local what = ev.operation
  if ev.sdk_call then what = ev.service .. ":" .. tostring(ev.operation) .. " (SDK call)" end
  local parts = { "gameliftstreams: ", tostring(what), " attempt ", tostring(ev.attempt) }
  if ev.max_attempts then parts[#parts + 1] = "/" .. tostring(ev.max_attempts) end
  parts[#parts + 1] = " " .. tostring(ev.method) .. " " .. tostring(ev.url) .. " -> "
  local e = ev.error
  if ev.status then parts[#parts + 1] = tostring(ev.status) end
  if e then
    parts[#parts + 1] = (ev.status and " " or "") .. tostring(e.code)
    if e.message and e.message ~= "" then parts[#parts + 1] = ": " .. e.message end
  end
  parts[#parts + 1] = " (" .. fmt_seconds(ev.duration)
  if ev.request_id then parts[#parts + 1] = ", request id " .. tostring(ev.request_id) end
  parts[#parts + 1] = ")"
  if ev.retry then parts[#parts + 1] = "; retry in " .. fmt_seconds(ev.delay) end
  return (gsub(concat(parts), "%c", " ")) -- one line, and no escape sequence a server sent
end

--- The ready logger: a hook table that writes one line per attempt.
function _M.logger(write)
  return { after_receive = function(ev)
    local line = _M.format_line(ev)
    if write then return write(line, ev) end
    if in_ngx() then
      local ngx = _G.ngx
      local ok = ev.error == nil and ev.status and ev.status < 300
      ngx.log(ok and ngx.INFO or ngx.WARN, line)
    else
      io.stderr:write(line, "\n")
    end
  end }
end

return _M
