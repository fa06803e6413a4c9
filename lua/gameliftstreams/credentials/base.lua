--- What the credential providers share (credentials/*.lua): the error and credentials
-- shapes, the clock, the pipeline's description of a credential endpoint, the caching key.
-- `M` is the credentials module's table: each provider file adds its functions to it.
local M = { _VERSION = "0.1" }
local B = { M = M }

local config = require("gameliftstreams.config")
local errors = require("gameliftstreams.errors")
local retry = require("gameliftstreams.retry")
local protocol = require("gameliftstreams.protocol")
local pipeline = require("gameliftstreams.pipeline")
local text = require("gameliftstreams.text")
local hooks = require("gameliftstreams.hooks")
B.config, B.errors, B.retry, B.protocol, B.pipeline, B.text = config, errors, retry, protocol, pipeline, text

local _M = M
local type, pairs, tostring, tonumber, pcall, setmetatable =
  type, pairs, tostring, tonumber, pcall, setmetatable
local format, concat, floor = string.format, table.concat, math.floor

local REFRESH_WINDOW = 300
B.REFRESH_WINDOW = REFRESH_WINDOW

------------------------------------------------------------------------------
-- Small helpers

-- extra.secrets: strings to cut out of the message (a role ARN, a token an endpoint's answer
-- may quote back); longest first. They are not kept in the error.
local function fail(provider, message, extra)
  if extra and extra.secrets then
    local list = {}
    for _, s in pairs(extra.secrets) do if type(s) == "string" then list[#list + 1] = s end end
    table.sort(list, function(a, b) return #a > #b end)
    message = text.cut(message, list)
  end
  local t = { code = "CredentialsError", retryable = false,
              message = "credentials: " .. provider .. " provider: " .. message, provider = provider }
  for k, v in pairs(extra or {}) do if k ~= "secrets" then t[k] = v end end
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
-- opts.hooks: the client's hook list (or one hook table), which sees these calls too.
local function endpoint(opts, r, decode, timeout, connect_timeout, region, service)
  local list = opts.hooks
  if list ~= nil and list[1] == nil then list = hooks.check(list) end
  return { retry = r, decode = decode, http = opts.http, ca_file = opts.ca_file, timeout = timeout,
           connect_timeout = connect_timeout, region = region, service = service, hooks = list }
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
  -- the lenient forms the credential sources write, as RFC 3339 for the SDK's one parser:
  -- surrounding space, a space for the "T", no zone (UTC), an offset without its colon
  local date, time, frac, tz =
    s:match("^%s*(%d%d%d%d%-%d%d%-%d%d)[Tt ](%d%d:%d%d:%d%d)(%.?%d*)%s*(.-)%s*$")
  if not date then return tonumber(s) end
  if frac == "." then frac = "" end
  if tz == "" then tz = "Z" else tz = tz:gsub("^([+-]%d%d)(%d%d)$", "%1:%2") end
  return text.parse_rfc3339(date .. "T" .. time .. frac .. tz)
end

-- A JSON object or array of a credential source (core.json_decode), or nil.
local function decode_json(s)
  local core = lazy_core()
  if type(s) ~= "string" or not core then return nil end
  local v = core.json_decode(s)
  if type(v) == "table" then return v end
  return nil
end


-- The key a provider's credentials are shared under (shared_dict): what they were fetched for.
local function share_key(...)
  local parts = { ... }
  for i = 1, select("#", ...) do parts[i] = tostring(parts[i] == nil and "" or parts[i]) end
  return concat(parts, "\n")
end

-- The retry strategy of the clients of STS, SSO and SSO OIDC: standard mode, 3 attempts, as
-- the SDKs' own clients (opts.rng / opts.sts_retry_base make the back-off testable).
local function service_retry(opts)
  return retry.new{ max_attempts = 3, mode = "standard", rng = opts.rng, base = opts.sts_retry_base,
                    new_2026 = false, getenv = function() return nil end }
end

B.fail, B.absent, B.make_creds, B.lazy_core, B.default_clock, B.lazy_sched =
  fail, absent, make_creds, lazy_core, default_clock, lazy_sched
B.endpoint, B.local_endpoint, B.last_answer, B.is_true, B.decode_json, B.share_key, B.service_retry =
  endpoint, local_endpoint, last_answer, is_true, decode_json, share_key, service_retry

return B
