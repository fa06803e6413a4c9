--- IAM Identity Center (SSO): the token `aws sso login` cached, refreshed through SSO OIDC,
-- traded for role credentials.
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local config, errors, protocol, pipeline, text = B.config, B.errors, B.protocol, B.pipeline, B.text
local type, ipairs, tostring, tonumber, pcall, error =
  type, ipairs, tostring, tonumber, pcall, error
local format, floor = string.format, math.floor
local fail, make_creds, lazy_core, default_clock, endpoint, last_answer, decode_json, share_key, service_retry =
  B.fail, B.make_creds, B.lazy_core, B.default_clock, B.endpoint, B.last_answer, B.decode_json, B.share_key, B.service_retry
local read_file = text.read_file

local form_escape = B.form_escape


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
      operation = "CreateToken", sdk_service = "sso-oidc", secrets = { doc.clientSecret, doc.refreshToken },
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
  return nil, fail(name, msg, { secrets = { doc.clientSecret, doc.refreshToken, doc.accessToken } })
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
    resp, err = sso_http(opts, { method = "GET", url = url, operation = "GetRoleCredentials",
      sdk_service = "sso", secrets = { token }, headers = { ["x-amz-sso_bearer_token"] = token } })
    if not resp and err and err.code == "Cancelled" then return nil, err end
    if not resp or resp.status ~= 200 then
      local msg, extra = http_failure("SSO GetRoleCredentials", resp, err)
      if resp and (resp.status == 401 or resp.status == 403) then msg = msg .. ": " .. sso_login_hint(c, pname) end
      extra = extra or {}
      extra.secrets = { token }
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

B.sso_config = sso_config

return _M
