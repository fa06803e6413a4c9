--- Container credentials (ECS, EKS Pod Identity).
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local config, pipeline, text = B.config, B.pipeline, B.text
local type, tostring = type, tostring
local env = config.env
local fail, absent, make_creds, endpoint, local_endpoint, last_answer, decode_json, share_key =
  B.fail, B.absent, B.make_creds, B.endpoint, B.local_endpoint, B.last_answer, B.decode_json, B.share_key
local read_file, trim = text.read_file, text.trim

local CONTAINER_ENDPOINT = "http://169.254.170.2"


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
    local why
    token, why = read_file(token_file)
    if not token then
      return nil, fail(name, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " .. token_file .. ": "
        .. tostring(why))
    end
    token = trim(token)
  else
    token = env(getenv, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
  end
  if token then
    if token:find("[\r\n]") then return nil, fail(name, "the authorization token contains a line break") end
    headers.authorization = token
  end
  local resp, err = last_answer(pipeline.send(local_endpoint(opts, 3, 2, 1),
    { method = "GET", url = url, headers = headers, operation = "GetCredentials",
      sdk_service = "container", secrets = { token } }))
  if not resp and err.code == "Cancelled" then return nil, err end
  if not resp then
    return nil, fail(name, "request failed: " .. tostring(err and err.code) .. ": " .. tostring(err and err.message),
      { secrets = { token } })
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

return _M
