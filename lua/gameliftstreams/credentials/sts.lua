--- STS (query protocol): the one STS call AssumeRole and AssumeRoleWithWebIdentity make.
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local config, errors, pipeline, text = B.config, B.errors, B.pipeline, B.text
local type, pairs, ipairs, tostring, tonumber, error =
  type, pairs, ipairs, tostring, tonumber, error
local format, concat, floor = string.format, table.concat, math.floor
local env = config.env
local fail, make_creds, default_clock, endpoint, service_retry =
  B.fail, B.make_creds, B.default_clock, B.endpoint, B.service_retry
local trim = text.trim

local STS_VERSION = "2011-06-15"

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
  if settings == nil then settings = config.load(opts) end
  local region = config.region(opts, settings) or "us-east-1"
  local url = opts.sts_endpoint or config.configured_endpoint(opts, "sts", settings)
    or ("https://sts." .. region .. (region:match("^cn%-") and ".amazonaws.com.cn" or ".amazonaws.com"))
  if not url:match("^https?://[^/]+/") then url = url:gsub("/*$", "") .. "/" end
  return url, region
end
_M.sts_endpoint = sts_endpoint
-- An STS answer: the credentials, or the error it holds (code UnknownError when it holds none).
-- IDPCommunicationError (HTTP 400: the identity provider did not answer STS in time) is retried,
-- as botocore's standard mode and the Go and Rust SDKs retry it for STS.
local function sts_decode(_, _, resp)
  local c, e = _M.parse_sts(resp.body)
  if resp.status == 200 and c and c.access_key_id and c.secret_access_key then return c end
  e = e or {}
  return nil, errors.new{ code = e.code or "UnknownError", sts_code = e.code, status = resp.status,
                          message = e.message or "unreadable response", request_id = e.request_id,
                          retryable = e.code == "IDPCommunicationError" or nil }
end

-- One STS call. `creds` signs it (AssumeRole) or nil (AssumeRoleWithWebIdentity, unsigned).
-- Throttling, 5xx and connection failures are retried as the SDKs' STS clients do.
local function sts_call(opts, settings, name, action, params, creds)
  local url, region = sts_endpoint(opts, settings)
  params.Action, params.Version = action, STS_VERSION
  local svc = endpoint(opts, service_retry(opts), sts_decode, opts.sts_timeout or 10,
    opts.connect_timeout or 5, region, creds and "sts" or nil)
  local c, err, resp = pipeline.send(svc, { method = "POST", url = url, body = form_encode(params),
    operation = action, sdk_service = "sts",
    secrets = { params.RoleArn, params.WebIdentityToken },
    credentials = creds, headers = { ["content-type"] = "application/x-www-form-urlencoded; charset=utf-8" } })
  if c then return make_creds(c, name) end
  if err.code == "Cancelled" then return nil, err end
  -- STS's message may quote the role ARN back ("... not authorized to perform sts:AssumeRole on
  -- resource: arn:aws:iam::..."): it is cut out, as are the token and the signing keys
  local secrets = { params.RoleArn, params.WebIdentityToken, creds and creds.secret_access_key,
                    creds and creds.session_token }
  local failure
  if resp then
    failure = fail(name, format("STS %s failed: %s: %s (HTTP %s)", action, tostring(err.code),
      tostring(err.message), tostring(resp.status)),
      { status = resp.status, sts_code = err.sts_code, request_id = err.request_id, secrets = secrets })
  else
    failure = fail(name, "STS " .. action .. " failed: " .. tostring(err.code) .. ": " .. tostring(err.message),
      { cause = err, sts_code = err.code, secrets = secrets })
  end
  failure.attempts = err.attempts
  return nil, failure
end

local function session_name(opts, given)
  if given and given ~= "" then return given end
  local clock = opts.clock or default_clock
  return "gameliftstreams-" .. format("%d", floor(clock()))
end

B.sts_call, B.session_name, B.form_escape = sts_call, session_name, form_escape

return _M
