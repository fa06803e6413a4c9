--- EC2 instance metadata credentials (IMDSv2, IMDSv1 fallback).
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local config, pipeline, text = B.config, B.pipeline, B.text
local type, ipairs, tostring, tonumber, error = type, ipairs, tostring, tonumber, error
local floor = math.floor
local env = config.env
local fail, absent, make_creds, default_clock, local_endpoint, last_answer, is_true, decode_json, share_key =
  B.fail, B.absent, B.make_creds, B.default_clock, B.local_endpoint, B.last_answer, B.is_true, B.decode_json, B.share_key
local trim = text.trim
local REFRESH_WINDOW = B.REFRESH_WINDOW

local IMDS_ENDPOINT = "http://169.254.169.254"
local IMDS_ENDPOINT_V6 = "http://[fd00:ec2::254]"


local IMDS_CREDS_PATH = "/latest/meta-data/iam/security-credentials/"

-- One IMDS request, sent up to im.attempts times while it gets no answer or a 5xx.
local function imds_get(opts, im, req, operation)
  req.operation, req.sdk_service = operation, "imds"
  req.secrets = { req.headers and req.headers["x-aws-ec2-metadata-token"] }
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
    headers = { ["x-aws-ec2-metadata-token-ttl-seconds"] = "21600" } }, "GetToken")
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
  resp, err = imds_get(opts, im, { method = "GET", url = base .. IMDS_CREDS_PATH, headers = headers },
    "GetRoleName")
  if not resp then return none("no answer: " .. tostring(err and err.code), err) end
  if resp.status ~= 200 then return none("role request answered HTTP " .. resp.status) end
  local role = trim(resp.body or ""):match("^[^\r\n]+")
  if not role then return none("no role attached") end
  resp, err = imds_get(opts, im, { method = "GET", url = base .. IMDS_CREDS_PATH .. role, headers = headers },
    "GetCredentials")
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

return _M
