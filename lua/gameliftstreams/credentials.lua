--- Credential providers and the default provider chain.
--
-- `credentials.from_config(opts)` (opts = the gls.new table) returns a provider: an object
-- with `get()` -> creds | nil, err, where creds = { access_key_id, secret_access_key,
-- session_token, expiration (epoch seconds or nil), provider (name) }.
-- Creating providers does no I/O: files, environment, processes and endpoints are read in get().
--
-- Chain order (as the AWS SDKs and Tools reference guide lists it):
--   1. explicit: opts.credentials (a table of keys, or any object with :get())
--   2. environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
--      (skipped when opts.profile is given, as botocore does for an explicit profile)
--   3. web identity from the environment: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
--   4. the profile (opts.profile, AWS_PROFILE, "default") in the shared files:
--      role_arn (+ source_profile | credential_source | web_identity_token_file),
--      then static keys, then credential_process, then IAM Identity Center (sso_session or
--      the legacy sso_start_url: the CLI's cached token, refreshed, traded for role credentials)
--   5. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI
--   6. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true
-- A provider that is not configured passes to the next; one that is configured and fails
-- stops the chain with its CredentialsError. When nothing is configured the error lists
-- what was tried. The first provider that answers is kept for later calls.
--
-- Temporary credentials are cached and refreshed `refresh_window` seconds (default 300)
-- before they expire; a failed refresh keeps the old ones while they are valid; concurrent
-- sched tasks share one fetch. Error messages never contain secrets or tokens.
--
-- credential_process: inside a task or OpenResty (sched.can_yield) the command's output is
-- read without blocking (core.spawn_shell, polled between sched.sleep calls), so the game
-- loop or the nginx worker goes on meanwhile; elsewhere io.popen blocks, as in every SDK.
-- Everything else waits through the sched seam (sched.http / sched.sleep).
--
-- Test and tuning knobs in opts: getenv, clock (epoch seconds), refresh_window,
-- fetch_wait (seconds a task waits for another task's fetch, default 30), sts_endpoint,
-- imds_endpoint, container_endpoint (base for the relative URI), config_file,
-- credentials_file, sso_cache_dir (default ~/.aws/sso/cache), rng and sts_retry_base (STS,
-- SSO and SSO OIDC back-off), sts_timeout (also SSO), imds_timeout,
-- http (a transport: req -> resp | nil, err), mfa_code_provider (serial -> 6-digit code string,
-- asked on each AssumeRole of a profile with mfa_serial).
local _M = { _VERSION = "0.1" }

local config = require("gameliftstreams.config")
local errors = require("gameliftstreams.errors")
local retry = require("gameliftstreams.retry")
local protocol = require("gameliftstreams.protocol")
local pipeline = require("gameliftstreams.pipeline")
local text = require("gameliftstreams.text")

local type, pairs, ipairs, tostring, tonumber, pcall, setmetatable, error =
  type, pairs, ipairs, tostring, tonumber, pcall, setmetatable, error
local format, concat, floor = string.format, table.concat, math.floor
local env = config.env

local REFRESH_WINDOW = 300
local IMDS_ENDPOINT = "http://169.254.169.254"
local IMDS_ENDPOINT_V6 = "http://[fd00:ec2::254]"
local CONTAINER_ENDPOINT = "http://169.254.170.2"
local STS_VERSION = "2011-06-15"

------------------------------------------------------------------------------
-- Small helpers

local function fail(provider, message, extra)
  local t = { code = "CredentialsError", retryable = false,
              message = "credentials: " .. provider .. " provider: " .. message, provider = provider }
  for k, v in pairs(extra or {}) do t[k] = v end
  return errors.new(t)
end

-- "Not configured here": the chain moves on and lists `tried`.
local function absent(tried)
  return errors.new{ code = "CredentialsError", message = "credentials: not configured: " .. tried,
                     not_found = true, tried = tried }
end

local creds_mt = {
  __tostring = function(c)
    local id = c.access_key_id or ""
    return format("credentials (%s..., from %s)", id:sub(1, 4), tostring(c.provider))
  end,
}

local function make_creds(t, provider)
  return setmetatable({
    access_key_id = t.access_key_id, secret_access_key = t.secret_access_key,
    session_token = t.session_token, expiration = t.expiration, provider = provider,
  }, creds_mt)
end

local function lazy_core()
  local ok, core = pcall(require, "gameliftstreams.core")
  if ok then return core end
  return nil
end

local function default_clock()
  local core = lazy_core()
  if core and core.time then return core.time() end
  return os.time()
end

local function lazy_sched()
  local ok, sched = pcall(require, "gameliftstreams.sched")
  if ok and type(sched) == "table" then return sched end
  return nil
end

local ZERO = function() return 0 end
local NO_ENV = function() return nil end

-- How the pipeline (pipeline.lua) reaches a credential endpoint: made per fetch. opts.http
-- replaces the scheduler's transport; opts.ca_file is the client's trust.
local function endpoint(opts, r, decode, timeout, connect_timeout, region, service)
  return { retry = r, decode = decode, http = opts.http, ca_file = opts.ca_file, timeout = timeout,
           connect_timeout = connect_timeout, region = region, service = service }
end

-- The container endpoint and IMDS: `attempts` sends, at once, while there is no answer or a 5xx.
local function local_endpoint(opts, attempts, timeout, connect_timeout)
  return endpoint(opts, retry.new{ mode = "legacy", max_attempts = attempts, base = 0, rng = ZERO,
                                   new_2026 = false, getenv = NO_ENV },
    function(_, _, resp)
      if resp.status < 500 then return resp end
      return nil, errors.new{ code = "HTTP" .. resp.status, status = resp.status, retryable = true }
    end, timeout, connect_timeout)
end

-- The last answer of a request to a local endpoint or SSO, or nil and the error of its last try.
local function last_answer(resp, err, last)
  if resp then return resp end
  if last then return last end
  return nil, err
end

local read_file, trim = text.read_file, text.trim

local function is_true(v) return type(v) == "string" and v:lower() == "true" end

--- Converts an ISO 8601 / RFC 3339 timestamp ("2026-11-22T19:00:00Z", fractions and
-- offsets allowed) or a number of epoch seconds into epoch seconds; nil if unreadable.
function _M.parse_time(s)
  if type(s) == "number" then return s end
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, frac, tz =
    s:match("^%s*(%d%d%d%d)-(%d%d)-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(%.?%d*)%s*(.-)%s*$")
  if not y then
    local n = tonumber(s)
    return n
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  -- days since 1970-01-01 in the proleptic Gregorian calendar
  local yy = mo <= 2 and y - 1 or y
  local era = floor(yy / 400)
  local yoe = yy - era * 400
  local mp = (mo + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  local t = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  if frac ~= "" and frac ~= "." then t = t + tonumber("0" .. frac) end
  if tz == "" or tz == "Z" or tz == "z" then return t end
  local sign, oh, om = tz:match("^([+-])(%d%d):?(%d%d)$")
  if not sign then return nil end
  local off = tonumber(oh) * 3600 + tonumber(om) * 60
  return sign == "+" and t - off or t + off
end

local function decode_json(s)
  local ok, cjson = pcall(require, "cjson")
  if not ok then return nil end
  local ok2, v = pcall(cjson.decode, s)
  if ok2 and type(v) == "table" then return v end
  return nil
end

------------------------------------------------------------------------------
-- Caching: refresh before expiry, keep valid ones on failure, one fetch at a time.

-- The key a provider's credentials are shared under (shared_dict): what they were fetched for.
local function share_key(...)
  local parts = { ... }
  for i = 1, select("#", ...) do parts[i] = tostring(parts[i] == nil and "" or parts[i]) end
  return concat(parts, "\n")
end

--- Wraps fetch() -> creds | nil, err into a caching provider. `key` names what fetch() gets
-- (role, URL, ...): with opts.shared_dict the credentials are shared under it by every nginx
-- worker (shared_cache.lua); without a key they never are.
function _M.refreshing(name, fetch, opts, key)
  opts = opts or {}
  local clock = opts.clock or default_clock
  local window = opts.refresh_window or REFRESH_WINDOW
  if key and opts.shared_dict then
    local shared_cache = require("gameliftstreams.shared_cache")
    local dict = shared_cache.dict(opts.shared_dict) -- checked by gls.new already
    if dict then
      return shared_cache.provider(dict, { key = key, name = name, fetch = fetch, clock = clock,
        window = window, lock_timeout = opts.shared_dict_lock_timeout, fetch_wait = opts.fetch_wait,
        fail = fail, make = function(t, provider) return make_creds(t, provider or name) end })
    end
  end
  local p = { name = name, fetches = 0 }
  function p.get(self)
    local now = clock()
    local c = self.cached
    if c and (not c.expiration or now < c.expiration - window) then return c end
    local sched = lazy_sched()
    if self.fetching and sched and sched.can_yield and sched.can_yield() then
      -- Another task is fetching: wait for its answer rather than asking again. A fetch
      -- that was cancelled, or that never ends (its task was dropped), is not waited for.
      local gen = self.generation
      local deadline = sched.now() + (opts.fetch_wait or 30)
      while self.fetching and self.generation == gen and sched.now() < deadline do
        local _, serr = sched.sleep(0.005)
        if serr then return nil, serr end
      end
      if not (self.fetching and self.generation == gen) then
        if self.last_creds then return self.last_creds end
        if not (self.last_err and self.last_err.code == "Cancelled") then return nil, self.last_err end
      end
    end
    self.fetching = true
    self.generation = (self.generation or 0) + 1
    local gen = self.generation
    self.fetches = self.fetches + 1
    local ok, creds, err = pcall(fetch)
    if self.generation ~= gen then
      -- A later fetch took over while this one hung: leave the state to it.
      if ok then return creds, err end
      return nil, fail(name, "failed: " .. tostring(creds))
    end
    self.fetching = false
    if not ok then
      err = fail(name, "failed: " .. tostring(creds))
      creds = nil
    end
    if creds then
      self.cached, self.last_creds, self.last_err = creds, creds, nil
      return creds
    end
    self.last_err = err
    -- A failed refresh keeps credentials that have not expired yet.
    if c and c.expiration and clock() < c.expiration then
      self.last_creds = c
      return c
    end
    self.last_creds = nil
    return nil, err
  end
  return p
end

------------------------------------------------------------------------------
-- Static and environment

--- A provider that always returns the same keys.
function _M.static(t, name)
  name = name or "static"
  if type(t) ~= "table" or type(t.access_key_id) ~= "string" or type(t.secret_access_key) ~= "string"
      or t.access_key_id == "" or t.secret_access_key == "" then
    return nil, errors.invalid("credentials: need access_key_id and secret_access_key strings")
  end
  local creds = make_creds(t, name)
  return { name = name, get = function() return creds end }
end

--- The environment provider: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
-- (AWS_CREDENTIAL_EXPIRATION optional). Read on every get().
function _M.environment(opts)
  opts = opts or {}
  local getenv = config.getenv_of(opts)
  return { name = "environment", get = function()
    local id, secret = env(getenv, "AWS_ACCESS_KEY_ID"), env(getenv, "AWS_SECRET_ACCESS_KEY")
    if not id and not secret then return nil, absent("environment") end
    if not id then return nil, fail("environment", "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") end
    if not secret then return nil, fail("environment", "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") end
    return make_creds({ access_key_id = id, secret_access_key = secret,
      session_token = env(getenv, "AWS_SESSION_TOKEN") or env(getenv, "AWS_SECURITY_TOKEN"),
      expiration = _M.parse_time(env(getenv, "AWS_CREDENTIAL_EXPIRATION")) }, "environment")
  end }
end

------------------------------------------------------------------------------
-- credential_process

-- The command's output, with its exit status printed last by the shell (an nginx worker
-- reaps children itself, so waitpid cannot be relied on for it).
local function wrap_command(command)
  return "(" .. command .. "); printf '\\n__gls_exit=%d\\n' $?"
end

-- Reads the command's whole output, yielding between reads. raw output, or nil and an
-- error object (Cancelled) or a message.
local function read_command_polling(core, sched, command)
  local proc, err = core.spawn_shell(wrap_command(command))
  if not proc then return nil, err end
  local parts, delay = {}, 0.002
  while true do
    local chunk, state = proc:read()
    if chunk then
      parts[#parts + 1] = chunk
      delay = 0.002
    elseif state == "eof" then
      break
    elseif state == "again" then
      local ok, serr = sched.sleep(delay)
      if not ok then
        proc:close() -- cancelled: the command (and what it started) is stopped
        return nil, serr
      end
      delay = math.min(delay * 2, 0.05)
    else
      proc:close()
      return nil, "reading its output failed: " .. tostring(state)
    end
  end
  proc:close()
  return concat(parts)
end

local function run_command(command)
  local sched, core = lazy_sched(), lazy_core()
  if sched and sched.can_yield and sched.can_yield() and core and core.spawn_shell then
    return read_command_polling(core, sched, command)
  end
  local pipe = io.popen(wrap_command(command), "r")
  if not pipe then return nil, "cannot start the command" end
  local out = pipe:read("*a") or ""
  pipe:close()
  return out
end

local function process_fetch(command, name)
  local out, rerr = run_command(command)
  if not out then
    if errors.is(rerr) then return nil, rerr end
    return nil, fail(name, rerr)
  end
  local body, status = out:match("^(.*)\n__gls_exit=(%d+)\n$")
  status = tonumber(status)
  if not status then return nil, fail(name, "command ended without an exit status") end
  if status ~= 0 then return nil, fail(name, "command exited with status " .. status) end
  local doc = decode_json(body)
  if not doc then return nil, fail(name, "command output is not a JSON object") end
  if doc.Version ~= 1 then
    return nil, fail(name, "unsupported Version " .. tostring(doc.Version) .. " (expected 1)")
  end
  if type(doc.AccessKeyId) ~= "string" or type(doc.SecretAccessKey) ~= "string" then
    return nil, fail(name, "command output lacks AccessKeyId or SecretAccessKey")
  end
  local exp
  if doc.Expiration ~= nil then
    exp = _M.parse_time(doc.Expiration)
    if not exp then return nil, fail(name, "unreadable Expiration") end
  end
  return make_creds({ access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = type(doc.SessionToken) == "string" and doc.SessionToken or nil,
    expiration = exp }, name)
end

--- Runs `command` (through /bin/sh) and reads credentials from its JSON output.
function _M.process(command, opts)
  return _M.refreshing("process", function() return process_fetch(command, "process") end, opts)
end

------------------------------------------------------------------------------
-- STS (query protocol)

local function form_escape(s)
  return text.pct_encode(tostring(s))
end

local function form_encode(params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = form_escape(k) .. "=" .. form_escape(params[k]) end
  return concat(parts, "&")
end
_M.form_encode = form_encode

local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }
local function xml_unescape(s)
  return (s:gsub("&(#?x?)(%w+);", function(kind, v)
    if kind == "" then return ENTITIES[v] end
    local n = tonumber(v, kind == "#x" and 16 or 10)
    if n and n < 128 then return string.char(n) end
    return nil
  end))
end

local function xml_field(s, tag)
  if not s then return nil end
  local v = s:match("<" .. tag .. ">(.-)</" .. tag .. ">")
  return v and xml_unescape(trim(v)) or nil
end

--- Parses an STS response body: credentials, or nil and { code, message, request_id }.
function _M.parse_sts(body)
  local c = body and body:match("<Credentials>(.-)</Credentials>")
  if c then
    return { access_key_id = xml_field(c, "AccessKeyId"), secret_access_key = xml_field(c, "SecretAccessKey"),
             session_token = xml_field(c, "SessionToken"),
             expiration = _M.parse_time(xml_field(c, "Expiration")) }
  end
  local e = body and body:match("<Error>(.-)</Error>")
  return nil, { code = xml_field(e, "Code"), message = xml_field(e, "Message"),
                request_id = xml_field(body, "RequestId") }
end

-- The STS endpoint and signing region for a provider.
local function sts_endpoint(opts, settings)
  local getenv = config.getenv_of(opts)
  if settings == nil then settings = config.load(opts) end
  local region = opts.region or env(getenv, "AWS_REGION") or env(getenv, "AWS_DEFAULT_REGION")
    or settings.region
  if type(region) ~= "string" or region == "" then region = "us-east-1" end
  local url = opts.sts_endpoint or config.configured_endpoint(opts, "sts", settings)
    or ("https://sts." .. region .. (region:match("^cn%-") and ".amazonaws.com.cn" or ".amazonaws.com"))
  if not url:match("^https?://[^/]+/") then url = url:gsub("/*$", "") .. "/" end
  return url, region
end
_M.sts_endpoint = sts_endpoint

-- The retry strategy of the clients of STS, SSO and SSO OIDC: standard mode, 3 attempts, as
-- the SDKs' own clients (opts.rng / opts.sts_retry_base make the back-off testable).
local function service_retry(opts)
  return retry.new{ max_attempts = 3, mode = "standard", rng = opts.rng, base = opts.sts_retry_base,
                    new_2026 = false, getenv = function() return nil end }
end

-- An STS answer: the credentials, or the error it holds (code UnknownError when it holds none).
local function sts_decode(_, _, resp)
  local c, e = _M.parse_sts(resp.body)
  if resp.status == 200 and c and c.access_key_id and c.secret_access_key then return c end
  e = e or {}
  return nil, errors.new{ code = e.code or "UnknownError", sts_code = e.code, status = resp.status,
                          message = e.message or "unreadable response", request_id = e.request_id }
end

-- One STS call. `creds` signs it (AssumeRole) or nil (AssumeRoleWithWebIdentity, unsigned).
-- Throttling, 5xx and connection failures are retried as the SDKs' STS clients do.
local function sts_call(opts, settings, name, action, params, creds)
  local url, region = sts_endpoint(opts, settings)
  params.Action, params.Version = action, STS_VERSION
  local svc = endpoint(opts, service_retry(opts), sts_decode, opts.sts_timeout or 10,
    opts.connect_timeout or 5, region, creds and "sts" or nil)
  local c, err, resp = pipeline.send(svc, { method = "POST", url = url, body = form_encode(params),
    credentials = creds, headers = { ["content-type"] = "application/x-www-form-urlencoded; charset=utf-8" } })
  if c then return make_creds(c, name) end
  if err.code == "Cancelled" then return nil, err end
  local failure
  if resp then
    failure = fail(name, format("STS %s failed: %s: %s (HTTP %s)", action, tostring(err.code),
      tostring(err.message), tostring(resp.status)),
      { status = resp.status, sts_code = err.sts_code, request_id = err.request_id })
  else
    failure = fail(name, "STS " .. action .. " failed: " .. tostring(err.code) .. ": " .. tostring(err.message),
      { cause = err, sts_code = err.code })
  end
  failure.attempts = err.attempts
  return nil, failure
end

local function session_name(opts, given)
  if given and given ~= "" then return given end
  local clock = opts.clock or default_clock
  return "gameliftstreams-" .. format("%d", floor(clock()))
end

-- The MFA code for `serial` from opts.mfa_code_provider, checked before anything is sent.
local function mfa_code(opts, name, serial)
  local ok, code = pcall(opts.mfa_code_provider, serial)
  if not ok then
    if errors.is(code) and code.code == "Cancelled" then return nil, code end
    return nil, fail(name, "mfa_code_provider failed: " .. tostring(code))
  end
  if type(code) ~= "string" or not code:match("^%d%d%d%d%d%d$") then
    return nil, fail(name, "mfa_code_provider must return the 6-digit code as a string, got "
      .. (type(code) == "string" and format("%d characters", #code) or type(code)))
  end
  return code
end

--- AssumeRole with the credentials of `source` (a provider). role: { role_arn,
-- role_session_name, external_id, duration_seconds, mfa_serial }, settings: the profile (for
-- region/endpoint). With mfa_serial, every fetch asks opts.mfa_code_provider(mfa_serial) for a
-- fresh code (as the JS SDK's mfaCodeProvider).
function _M.assume_role(source, role, opts, settings)
  opts = opts or {}
  local name = "assume role"
  return _M.refreshing(name, function()
    local screds, serr = source:get()
    if not screds then
      if serr and serr.code == "Cancelled" then return nil, serr end
      local why = tostring(serr and serr.message or "none"):gsub("^credentials: ", "")
      return nil, fail(name, "source credentials: " .. why, { cause = serr })
    end
    local params = { RoleArn = role.role_arn, RoleSessionName = session_name(opts, role.role_session_name) }
    if role.external_id then params.ExternalId = role.external_id end
    if role.duration_seconds then params.DurationSeconds = role.duration_seconds end
    if role.mfa_serial then
      local code, cerr = mfa_code(opts, name, role.mfa_serial)
      if not code then return nil, cerr end
      params.SerialNumber, params.TokenCode = role.mfa_serial, code
    end
    return sts_call(opts, settings, name, "AssumeRole", params, screds)
  end, opts, share_key("assume-role", role.role_arn, role.role_session_name, role.external_id,
                       role.duration_seconds, role.mfa_serial))
end

--- AssumeRoleWithWebIdentity with the token read from `token_file` on every fetch (unsigned).
function _M.web_identity(role, opts, settings)
  opts = opts or {}
  local name = "web identity"
  return _M.refreshing(name, function()
    local token = read_file(role.token_file)
    if not token then return nil, fail(name, "cannot read the token file " .. role.token_file) end
    token = trim(token)
    local params = { RoleArn = role.role_arn, RoleSessionName = session_name(opts, role.role_session_name),
                     WebIdentityToken = token }
    if role.duration_seconds then params.DurationSeconds = role.duration_seconds end
    return sts_call(opts, settings, name, "AssumeRoleWithWebIdentity", params, nil)
  end, opts, share_key("web-identity", role.role_arn, role.role_session_name, role.token_file,
                       role.duration_seconds))
end

--- Web identity from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME).
function _M.web_identity_env(opts)
  opts = opts or {}
  local getenv = config.getenv_of(opts)
  local inner
  return { name = "web identity", get = function()
    local file, arn = env(getenv, "AWS_WEB_IDENTITY_TOKEN_FILE"), env(getenv, "AWS_ROLE_ARN")
    if not file or not arn then return nil, absent("web identity (environment)") end
    inner = inner or _M.web_identity({ token_file = file, role_arn = arn,
      role_session_name = env(getenv, "AWS_ROLE_SESSION_NAME") }, opts)
    return inner:get()
  end }
end

------------------------------------------------------------------------------
-- Container credentials

local CONTAINER_HOSTS = { ["169.254.170.2"] = true, ["169.254.170.23"] = true,
  ["[fd00:ec2::23]"] = true, ["localhost"] = true, ["[::1]"] = true }

local function allowed_full_uri(uri)
  local scheme, host = uri:match("^(%a+)://([^/]+)")
  if not scheme then return false end
  scheme = scheme:lower()
  host = host:gsub("^.*@", ""):lower()
  if host:sub(1, 1) == "[" then host = host:match("^(%b[])") or host else host = host:gsub(":%d*$", "") end
  if scheme == "https" then return true end
  if scheme ~= "http" then return false end
  if CONTAINER_HOSTS[host] then return true end
  return host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end
_M.allowed_full_uri = allowed_full_uri

local function container_fetch(opts, url, getenv)
  local name = "container"
  local headers = { accept = "application/json" }
  local token_file = env(getenv, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
  local token
  if token_file then
    token = read_file(token_file)
    if not token then return nil, fail(name, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " .. token_file) end
    token = trim(token)
  else
    token = env(getenv, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
  end
  if token then
    if token:find("[\r\n]") then return nil, fail(name, "the authorization token contains a line break") end
    headers.authorization = token
  end
  local resp, err = last_answer(pipeline.send(local_endpoint(opts, 3, 2, 1),
    { method = "GET", url = url, headers = headers }))
  if not resp and err.code == "Cancelled" then return nil, err end
  if not resp then
    return nil, fail(name, "request failed: " .. tostring(err and err.code) .. ": " .. tostring(err and err.message))
  end
  if resp.status ~= 200 then return nil, fail(name, "endpoint answered HTTP " .. resp.status, { status = resp.status }) end
  local doc = decode_json(resp.body)
  if not doc or type(doc.AccessKeyId) ~= "string" or type(doc.SecretAccessKey) ~= "string" then
    return nil, fail(name, "endpoint answer is not a credentials document")
  end
  return make_creds({ access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = type(doc.Token) == "string" and doc.Token or nil,
    expiration = _M.parse_time(doc.Expiration) }, name)
end

--- Container credentials (ECS / EKS Pod Identity): AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against
-- http://169.254.170.2, else AWS_CONTAINER_CREDENTIALS_FULL_URI (http only to loopback or the
-- container hosts). The authorization token (file first) is read on every fetch.
function _M.container(opts)
  opts = opts or {}
  local getenv = config.getenv_of(opts)
  local cached
  return { name = "container", get = function()
    local rel = env(getenv, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    local full = env(getenv, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
    local url
    if rel then
      url = (opts.container_endpoint or CONTAINER_ENDPOINT) .. rel
    elseif full then
      if not allowed_full_uri(full) then
        return nil, fail("container", "AWS_CONTAINER_CREDENTIALS_FULL_URI must use https, or http to a "
          .. "loopback address or the container credentials host")
      end
      url = full
    else
      return nil, absent("container")
    end
    if not cached or cached.url ~= url then
      cached = _M.refreshing("container", function() return container_fetch(opts, url, getenv) end, opts,
        share_key("container", url))
      cached.url = url
    end
    return cached:get()
  end }
end

------------------------------------------------------------------------------
-- EC2 instance metadata (IMDSv2)

local IMDS_CREDS_PATH = "/latest/meta-data/iam/security-credentials/"

-- One IMDS request, sent up to im.attempts times while it gets no answer or a 5xx.
local function imds_get(opts, im, req)
  return last_answer(pipeline.send(local_endpoint(opts, im.attempts, im.timeout, im.timeout), req))
end

local function imds_fetch(opts, im, explicit)
  local name = "instance metadata"
  local function none(why, err)
    if err and err.code == "Cancelled" then return nil, err end
    if explicit then return nil, fail(name, why) end
    return nil, absent(name .. " (" .. why .. ")")
  end
  local base = im.base
  local resp, err = imds_get(opts, im, { method = "PUT", url = base .. "/latest/api/token",
    headers = { ["x-aws-ec2-metadata-token-ttl-seconds"] = "21600" } })
  if not resp and err and err.code == "Cancelled" then return nil, err end
  local headers = {}
  if resp and resp.status == 200 then
    headers["x-aws-ec2-metadata-token"] = resp.body
  else
    -- IMDSv1 fallback, as botocore and the JS SDK do, when the token call is refused or gets no
    -- answer at all: an instance whose hop limit keeps the PUT's answer from a container still
    -- answers its GETs.
    local refused = resp and (resp.status == 403 or resp.status == 404 or resp.status == 405)
    if not resp and im.v1_disabled then
      return none("no answer to the token request: " .. tostring(err and err.code), err)
    elseif resp and (im.v1_disabled or not refused) then
      return none("token request answered HTTP " .. resp.status)
    end
  end
  resp, err = imds_get(opts, im, { method = "GET", url = base .. IMDS_CREDS_PATH, headers = headers })
  if not resp then return none("no answer: " .. tostring(err and err.code), err) end
  if resp.status ~= 200 then return none("role request answered HTTP " .. resp.status) end
  local role = trim(resp.body or ""):match("^[^\r\n]+")
  if not role then return none("no role attached") end
  resp, err = imds_get(opts, im, { method = "GET", url = base .. IMDS_CREDS_PATH .. role, headers = headers })
  if not resp then return none("no answer: " .. tostring(err and err.code), err) end
  if resp.status ~= 200 then return none("credentials request answered HTTP " .. resp.status) end
  local doc = decode_json(resp.body)
  if not doc or (doc.Code ~= nil and doc.Code ~= "Success") or type(doc.AccessKeyId) ~= "string"
      or type(doc.SecretAccessKey) ~= "string" then
    return nil, fail(name, "answer is not a credentials document")
  end
  local expiration = _M.parse_time(doc.Expiration)
  -- Static stability, as botocore and the JS SDK have it: credentials that come back expired, or
  -- too close to expiry to be cached, mean IMDS cannot issue new ones (an outage). EC2 goes on
  -- accepting them, so they are used for 5 to 10 minutes past the refresh window before IMDS is
  -- asked again, rather than IMDS being asked on every call.
  local now = (opts.clock or default_clock)()
  local window = opts.refresh_window or REFRESH_WINDOW
  if expiration and expiration - window <= now then
    expiration = now + window + 300 + floor(300 * (opts.rng or math.random)())
  end
  return make_creds({ access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = type(doc.Token) == "string" and doc.Token or nil, expiration = expiration }, name)
end

--- EC2 instance metadata credentials. Endpoint: opts.imds_endpoint,
-- AWS_EC2_METADATA_SERVICE_ENDPOINT, profile ec2_metadata_service_endpoint, 169.254.169.254.
-- `explicit` (credential_source = Ec2InstanceMetadata) turns "not available" into an error.
function _M.imds(opts, settings, explicit)
  opts = opts or {}
  local getenv = config.getenv_of(opts)
  local inner
  return { name = "instance metadata", get = function()
    if is_true(env(getenv, "AWS_EC2_METADATA_DISABLED")) then
      if explicit then return nil, fail("instance metadata", "disabled by AWS_EC2_METADATA_DISABLED") end
      return nil, absent("instance metadata (disabled)")
    end
    if not inner then
      local im = {}
      im.base, im.v1_disabled, im.timeout, im.attempts = _M.imds_endpoint(opts, settings)
      inner = _M.refreshing("instance metadata", function()
        return imds_fetch(opts, im, explicit)
      end, opts, share_key("imds", im.base))
    end
    return inner:get()
  end }
end

--- How to reach IMDS: the base URL, whether the IMDSv1 fallback is off, the timeout of each
-- request (seconds) and how many times each is sent.
-- Base: opts.imds_endpoint, AWS_EC2_METADATA_SERVICE_ENDPOINT, profile
-- ec2_metadata_service_endpoint, else the IPv4 address, or the IPv6 one when
-- AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE (profile ec2_metadata_service_endpoint_mode) is IPv6.
-- AWS_EC2_METADATA_V1_DISABLED (profile ec2_metadata_v1_disabled) = true forbids the fallback.
-- Timeout: opts.imds_timeout, AWS_METADATA_SERVICE_TIMEOUT, profile metadata_service_timeout,
-- else 1; attempts: AWS_METADATA_SERVICE_NUM_ATTEMPTS, profile metadata_service_num_attempts,
-- else 1 (botocore's defaults). A value that is not a positive number (a positive whole
-- number for attempts) is passed over, as botocore's own settings are.
function _M.imds_endpoint(opts, settings)
  local getenv = config.getenv_of(opts)
  local s = settings
  local function profile()
    if s == nil then s = config.load(opts) end
    return s
  end
  local base = opts.imds_endpoint or env(getenv, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
    or profile().ec2_metadata_service_endpoint
  if type(base) ~= "string" or base == "" then
    local mode = env(getenv, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") or profile().ec2_metadata_service_endpoint_mode
    if type(mode) == "string" and mode:lower() == "ipv6" then base = IMDS_ENDPOINT_V6 else base = IMDS_ENDPOINT end
  end
  local v1 = env(getenv, "AWS_EC2_METADATA_V1_DISABLED")
  if v1 == nil then v1 = profile().ec2_metadata_v1_disabled end
  local function setting(env_name, key, whole)
    for _, v in ipairs{ env(getenv, env_name) or false, profile()[key] or false } do
      local n = tonumber(v)
      if n and n > 0 and n < math.huge and (not whole or n == floor(n)) then return n end
    end
  end
  local timeout = opts.imds_timeout or setting("AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout") or 1
  local attempts = setting("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "metadata_service_num_attempts", true) or 1
  return (base:gsub("/+$", "")), is_true(v1), timeout, attempts
end

------------------------------------------------------------------------------
-- IAM Identity Center (SSO): the token `aws sso login` cached, traded for role credentials

local SSO_TOKEN_WINDOW = 300   -- refresh a token this many seconds before it expires
local SSO_REFRESH_PAUSE = 30   -- and not more often than this after a failed refresh

local function iso8601(t) return text.iso8601(floor(t)) end

-- The SSO settings of a profile. Returns { start_url, region, account_id, role_name,
-- session (sso-session name, nil for the legacy form), cache_key }, or nil and err.
local function sso_config(files, s, where)
  local c = { account_id = s.sso_account_id, role_name = s.sso_role_name }
  if s.sso_session then
    local sec = files.sections["sso-session " .. s.sso_session]
    if type(sec) ~= "table" then
      return nil, fail("sso", format("%s names sso_session %q, but the config file has no "
        .. "[sso-session %s] section", where, s.sso_session, s.sso_session))
    end
    for _, k in ipairs{ "sso_start_url", "sso_region" } do
      if s[k] and sec[k] and s[k] ~= sec[k] then
        return nil, fail("sso", format("%s and [sso-session %s] give different %s", where, s.sso_session, k))
      end
    end
    c.session, c.start_url, c.region = s.sso_session, sec.sso_start_url, sec.sso_region
    c.cache_key = s.sso_session
  else
    c.start_url, c.region, c.cache_key = s.sso_start_url, s.sso_region, s.sso_start_url
  end
  for _, k in ipairs{ "start_url", "region", "account_id", "role_name" } do
    if type(c[k]) ~= "string" or c[k] == "" then
      return nil, fail("sso", format("%s is missing sso_%s", where, k))
    end
  end
  return c
end

local function sso_login_hint(c, pname)
  if c.session then return "run: aws sso login --sso-session " .. c.session end
  return "run: aws sso login --profile " .. pname
end

-- Writes the token file back after a refresh, readable by its owner only and replaced in one
-- rename (core.write_private), as the CLI keeps it. Returns true, or nil when it cannot.
local function write_token_file(path, doc)
  local ok, cjson = pcall(require, "cjson")
  local core = lazy_core()
  if not ok or not core then return nil end
  return core.write_private(path, cjson.encode(doc))
end

-- The x-amzn-errortype of an AWS JSON answer, cleaned as the service client cleans it.
local function error_type(resp)
  return protocol.clean_code(protocol.header(resp.headers, "x-amzn-errortype"))
end

-- A request to SSO or SSO OIDC, unsigned (they take a bearer token or a client secret instead).
-- Transport failures, throttling and 5xx are retried like STS calls.
local function sso_decode(_, _, resp)
  if resp.status < 400 then return resp end
  return nil, errors.new{ code = error_type(resp), status = resp.status }
end

local function sso_http(opts, req)
  return last_answer(pipeline.send(endpoint(opts, service_retry(opts), sso_decode,
    opts.sts_timeout or 10, opts.connect_timeout or 5), req))
end

-- The message and error fields for a failed SSO or SSO OIDC call.
local function http_failure(what, resp, err)
  if not resp then
    return format("%s failed: %s: %s", what, tostring(err and err.code), tostring(err and err.message)),
      { cause = err }
  end
  local doc = decode_json(resp.body or "") or {}
  local code = error_type(resp) or doc.error or protocol.clean_code(doc.__type) or "UnknownError"
  local msg = doc.message or doc.Message or doc.error_description or ""
  return format("%s failed: %s%s (HTTP %d)", what, tostring(code),
    msg ~= "" and (": " .. tostring(msg)) or "", resp.status), { status = resp.status, sso_code = code }
end

-- The cached token, refreshed through SSO OIDC CreateToken when it is about to expire and the
-- cache holds a refresh token (the sso-session form). Returns the access token or nil, err.
local function sso_token(c, pname, opts, state)
  local name = "sso"
  local clock = opts.clock or default_clock
  local getenv = config.getenv_of(opts)
  local core = lazy_core()
  if not core then return nil, fail(name, "the C core is not available") end
  local dir = opts.sso_cache_dir or config.expand_home("~/.aws/sso/cache", getenv)
  local path = dir .. "/" .. core.sha1_hex(c.cache_key) .. ".json"
  local text = read_file(path)
  local doc = text and decode_json(text)
  if not doc then
    return nil, fail(name, format("no cached SSO token (%s): %s", path, sso_login_hint(c, pname)))
  end
  local expires = _M.parse_time(doc.expiresAt)
  if type(doc.accessToken) ~= "string" or doc.accessToken == "" or not expires then
    return nil, fail(name, format("the cached SSO token in %s is unreadable: %s", path, sso_login_hint(c, pname)))
  end
  local now = clock()
  if now < expires - SSO_TOKEN_WINDOW then return doc.accessToken end
  local can_refresh = c.session and type(doc.refreshToken) == "string" and type(doc.clientId) == "string"
    and type(doc.clientSecret) == "string"
    and (doc.registrationExpiresAt == nil or (_M.parse_time(doc.registrationExpiresAt) or 0) > now)
  local refresh_err
  if can_refresh and (not state.refresh_failed_at or now - state.refresh_failed_at >= SSO_REFRESH_PAUSE) then
    local cjson = require("cjson")
    local base = config.configured_endpoint(opts, "sso oidc") or ("https://oidc." .. c.region .. ".amazonaws.com")
    local resp, err = sso_http(opts, { method = "POST", url = base:gsub("/+$", "") .. "/token",
      headers = { ["content-type"] = "application/json" },
      body = cjson.encode{ clientId = doc.clientId, clientSecret = doc.clientSecret,
                           refreshToken = doc.refreshToken, grantType = "refresh_token" } })
    if not resp and err and err.code == "Cancelled" then return nil, err end
    local new = resp and resp.status == 200 and decode_json(resp.body or "")
    if new and type(new.accessToken) == "string" and new.accessToken ~= "" and tonumber(new.expiresIn) then
      doc.accessToken = new.accessToken
      doc.expiresAt = iso8601(clock() + tonumber(new.expiresIn))
      if type(new.refreshToken) == "string" and new.refreshToken ~= "" then doc.refreshToken = new.refreshToken end
      state.refresh_failed_at = nil
      write_token_file(path, doc) -- a token that cannot be saved still serves this process
      return doc.accessToken
    end
    state.refresh_failed_at = now
    refresh_err = resp and resp.status == 200 and "SSO OIDC CreateToken answered no token"
      or http_failure("SSO OIDC CreateToken", resp, err)
  end
  if now < expires then return doc.accessToken end -- still valid for a moment
  local msg = "the SSO session token has expired: " .. sso_login_hint(c, pname)
  if refresh_err then msg = msg .. " (refresh: " .. refresh_err .. ")" end
  return nil, fail(name, msg)
end

--- Role credentials from IAM Identity Center for a profile with sso_session (or the legacy
-- sso_start_url form): the token `aws sso login` cached in ~/.aws/sso/cache (opts.sso_cache_dir),
-- refreshed when it can be, traded through the SSO portal's GetRoleCredentials.
function _M.sso(c, pname, opts)
  opts = opts or {}
  local name = "sso"
  local state = {}
  return _M.refreshing(name, function()
    local token, err = sso_token(c, pname, opts, state)
    if not token then return nil, err end
    local base = config.configured_endpoint(opts, "sso") or ("https://portal.sso." .. c.region .. ".amazonaws.com")
    local url = base:gsub("/+$", "") .. "/federation/credentials?account_id=" .. form_escape(c.account_id)
      .. "&role_name=" .. form_escape(c.role_name)
    local resp
    resp, err = sso_http(opts, { method = "GET", url = url,
      headers = { ["x-amz-sso_bearer_token"] = token } })
    if not resp and err and err.code == "Cancelled" then return nil, err end
    if not resp or resp.status ~= 200 then
      local msg, extra = http_failure("SSO GetRoleCredentials", resp, err)
      if resp and (resp.status == 401 or resp.status == 403) then msg = msg .. ": " .. sso_login_hint(c, pname) end
      return nil, fail(name, msg, extra)
    end
    local doc = decode_json(resp.body or "")
    local rc = doc and doc.roleCredentials
    if type(rc) ~= "table" or type(rc.accessKeyId) ~= "string" or type(rc.secretAccessKey) ~= "string" then
      return nil, fail(name, "SSO GetRoleCredentials answered no credentials")
    end
    local exp = tonumber(rc.expiration)
    return make_creds({ access_key_id = rc.accessKeyId, secret_access_key = rc.secretAccessKey,
      session_token = type(rc.sessionToken) == "string" and rc.sessionToken or nil,
      expiration = exp and exp / 1000 or nil }, name)
  end, opts, share_key("sso", c.start_url, c.account_id, c.role_name))
end

------------------------------------------------------------------------------
-- Profiles

local function has_keys(s)
  return type(s.aws_access_key_id) == "string" and s.aws_access_key_id ~= ""
     and type(s.aws_secret_access_key) == "string" and s.aws_secret_access_key ~= ""
end

local function static_from_settings(s, pname)
  return _M.static({ access_key_id = s.aws_access_key_id, secret_access_key = s.aws_secret_access_key,
    session_token = s.aws_session_token ~= "" and s.aws_session_token or nil }, "profile " .. pname)
end

local function role_of(s)
  return { role_arn = s.role_arn, role_session_name = s.role_session_name, external_id = s.external_id,
           duration_seconds = tonumber(s.duration_seconds), token_file = s.web_identity_token_file,
           mfa_serial = s.mfa_serial ~= "" and s.mfa_serial or nil }
end

-- Builds the provider for profile `pname` from loaded files. Returns provider, or nil and err
-- (err.not_found when the profile holds no credentials at all).
local function build_profile(files, pname, opts, visited)
  local s, found = config.profile_settings(files, pname)
  local where = format("profile %q", pname)
  if not found then return nil, fail("profile", where .. " not found in the config or credentials file") end
  if type(s.role_arn) == "string" and s.role_arn ~= "" then
    local role = role_of(s)
    if type(s.web_identity_token_file) == "string" and s.web_identity_token_file ~= "" then
      return _M.web_identity(role, opts, s)
    end
    local src, cs = s.source_profile, s.credential_source
    if src and cs then
      return nil, fail("profile", where .. " sets both source_profile and credential_source")
    end
    local source, err
    if cs then
      if cs == "Environment" then source = _M.environment(opts)
      elseif cs == "Ec2InstanceMetadata" then source = _M.imds(opts, s, true)
      elseif cs == "EcsContainer" then source = _M.container(opts)
      else return nil, fail("profile", where .. ": unsupported credential_source " .. tostring(cs)) end
    elseif src then
      if src == pname and has_keys(s) then
        -- A profile may name itself as source: its own keys assume its role.
        source = static_from_settings(s, pname)
      elseif visited[src] or src == pname then
        return nil, fail("profile", "source_profile cycle through " .. format("%q", src))
      else
        visited[pname] = true
        source, err = build_profile(files, src, opts, visited)
        if not source then
          if err.not_found then
            return nil, fail("profile", format("source profile %q has no credentials", src))
          end
          return nil, err
        end
      end
    else
      return nil, fail("profile", where .. " sets role_arn without source_profile, credential_source"
        .. " or web_identity_token_file")
    end
    if role.mfa_serial and type(opts.mfa_code_provider) ~= "function" then
      return nil, fail("profile", where .. " sets mfa_serial: give the client an mfa_code_provider"
        .. " option (a function: serial -> the 6-digit code)")
    end
    return _M.assume_role(source, role, opts, s)
  end
  if has_keys(s) then return static_from_settings(s, pname) end
  if type(s.credential_process) == "string" and s.credential_process ~= "" then
    return _M.process(s.credential_process, opts)
  end
  if s.sso_session or s.sso_start_url then
    local c, err = sso_config(files, s, where)
    if not c then return nil, err end
    return _M.sso(c, pname, opts)
  end
  return nil, absent(where)
end

--- The shared-files provider for opts.profile / AWS_PROFILE / "default". The files are read
-- on the first get(); the resulting provider (static, role, process) is kept.
function _M.profile(opts)
  opts = opts or {}
  local p = { name = "profile" }
  function p.get(self)
    if not self.inner then
      local pname, explicit = config.profile_name(opts)
      local files = config.load_files(opts)
      local _, found = config.profile_settings(files, pname)
      if not found and not explicit then return nil, absent(format("profile %q", pname)) end
      local inner, err = build_profile(files, pname, opts, {})
      if not inner then return nil, err end
      self.inner = inner
    end
    return self.inner:get()
  end
  return p
end

------------------------------------------------------------------------------
-- The chain

--- A provider that asks `providers` in order (see the module comment).
function _M.chain(providers)
  local c = { name = "chain", providers = providers }
  function c.get(self)
    if self.selected then return self.selected:get() end
    local tried = {}
    for _, p in ipairs(self.providers) do
      local creds, err = p:get()
      if creds then
        self.selected = p
        return creds
      end
      if not (errors.is(err) and err.not_found) then
        return nil, err or fail(p.name or "custom", "returned no credentials")
      end
      tried[#tried + 1] = err.tried or p.name
    end
    return nil, errors.new{ code = "CredentialsError", retryable = false,
      message = "credentials: none found (tried: " .. concat(tried, ", ") .. ")" }
  end
  return c
end

--- The provider for a client: explicit credentials, or the default chain.
-- Returns provider, or nil and an InvalidParameter error for malformed opts.credentials.
function _M.from_config(opts)
  opts = opts or {}
  local c = opts.credentials
  if c ~= nil then
    if type(c) == "table" and type(c.get) == "function" then return c end
    local p, err = _M.static(c, "explicit")
    if not p then return nil, err end
    return p
  end
  local list = {}
  if opts.profile == nil then list[#list + 1] = _M.environment(opts) end
  list[#list + 1] = _M.web_identity_env(opts)
  list[#list + 1] = _M.profile(opts)
  list[#list + 1] = _M.container(opts)
  list[#list + 1] = _M.imds(opts)
  return _M.chain(list)
end

return _M
