-- Stand-ins for the AWS endpoints credential providers talk to, on the project's httpd:
--   sts        POST /  (query protocol: AssumeRole, AssumeRoleWithWebIdentity)
--   imds       PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[role]
--   container  GET /v2/credentials/<id> (relative URI) and GET /creds (full URI)
--   sso        GET /federation/credentials?account_id=&role_name= (IAM Identity Center portal)
--   oidc       POST /token (SSO OIDC CreateToken, refresh_token grant)
-- Usage: lua5.4 aws_standins.lua [sts] [imds] [container] [sso] [oidc] [--knob value]...
-- (no service named: all of them). Prints "listening <port>".
-- Knobs (start-up args, or POST /_ctl/config with a JSON object, merged):
--   expires_in   seconds until issued credentials expire (default 3600)
--   delay        seconds before answering a credentials request (default 0)
--   fail         number of credentials requests to fail before answering normally
--   fail_status  HTTP status of those failures (default 500)
--   fail_code    the STS error code of those failures (default InternalFailure)
--   sts_error    { code=, message=, status= }: every STS call answers this error
--   secrets      { [access key id] = secret }: STS verifies AssumeRole signatures made with these
--                keys, and with every key it issued itself (others: presence only)
--   web_token    the WebIdentityToken AssumeRoleWithWebIdentity accepts (any when unset)
--   auth_token   the Authorization value the container endpoint requires (none when unset)
--   imds_v1      true: the token PUT answers 403 and GETs need no token
--   role         the IMDS role name (default "standin-role")
--   hang         true: IMDS requests are never answered
--   sts_hang     number of STS calls to leave unanswered (a refresh stalled mid-way), counted down
--   token_hang   true: the IMDS token PUT is never answered and GETs need no token (an instance
--                whose PUT answers a container cannot reach, hop limit 1, with IMDSv1 allowed)
--   sso_token    the bearer token the SSO portal accepts (default "standin-sso-token"); a refresh
--                through oidc replaces it with the token it issues
--   sso_account  the account id (default "111122223333") and sso_role the role (default
--                "standin-sso-role") the portal knows; others get 403 ForbiddenException
--   oidc_client  the clientId/clientSecret pair oidc accepts ("standin-client"/"standin-secret")
--   refresh_token the refresh token oidc accepts (default "standin-refresh"); each refresh
--                issues a new one
--   oidc_error   { error=, type=, status= }: every CreateToken call answers this error (body
--                error, x-amzn-ErrorType type, default InvalidGrantException)
-- Control: GET /_ctl/log (every request: service, method, path, headers, params, at = epoch s),
--          POST /_ctl/reset (clears the log, restores the start-up knobs; null in /_ctl/config unsets one).
local httpd = require("gameliftstreams.emulator.httpd")
local cjson = require("cjson")
local socket = require("socket")

local serve = {}
local knobs = { expires_in = 3600, delay = 0, fail = 0, fail_status = 500, role = "standin-role",
                sso_token = "standin-sso-token", sso_account = "111122223333", sso_role = "standin-sso-role",
                oidc_client = "standin-client", oidc_secret = "standin-secret",
                refresh_token = "standin-refresh" }
local log, issued = {}, 0

local i = 1
while i <= #arg do
  local a = arg[i]
  local k = a:match("^%-%-([%w_]+)$")
  if k then
    local v = arg[i + 1]
    if v == "true" then v = true elseif v == "false" then v = false else v = tonumber(v) or v end
    knobs[k] = v
    i = i + 2
  else
    serve[a] = true
    i = i + 1
  end
end
local initial = {}
for k, v in pairs(knobs) do initial[k] = v end
if not next(serve) then serve = { sts = true, imds = true, container = true, sso = true, oidc = true } end

local function iso8601(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

local function new_creds()
  issued = issued + 1
  knobs.secrets = knobs.secrets or {}
  knobs.secrets[string.format("ASIASTANDIN%05d", issued)] = "standin-secret-" .. issued
  return { id = string.format("ASIASTANDIN%05d", issued), secret = "standin-secret-" .. issued,
           token = "standin-token-" .. issued, expiration = iso8601(socket.gettime() + knobs.expires_in) }
end

local function url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_form(body)
  local t = {}
  for pair in (body or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    t[url_decode(k)] = url_decode(v)
  end
  return t
end

local function xml_escape(s)
  return (tostring(s):gsub("[&<>]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;" }))
end

local function answer(status, headers, body)
  if knobs.delay and knobs.delay > 0 then return httpd.delay(knobs.delay, status, headers, body) end
  return status, headers, body
end

-- Counts down `fail`; true when this request must fail.
local function failing()
  if (knobs.fail or 0) > 0 then
    knobs.fail = knobs.fail - 1
    return true
  end
  return false
end

local function sts_error(code, message, status)
  return status, { ["Content-Type"] = "text/xml", ["x-amzn-RequestId"] = "req-standin" }, string.format(
    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
    .. "<Code>%s</Code><Message>%s</Message></Error><RequestId>req-standin</RequestId></ErrorResponse>",
    xml_escape(code), xml_escape(message))
end

-- Verifies a SigV4 Authorization header with the C signer, given the secret of its key.
local function verify_signature(req, port)
  local auth = req.headers["authorization"] or ""
  local akid, date, region, service = auth:match("Credential=([^/]+)/(%d+)/([^/]+)/([^/]+)/aws4_request")
  local signed = auth:match("SignedHeaders=([^,%s]+)")
  local sig = auth:match("Signature=(%x+)")
  if not (akid and signed and sig) then return false, "no SigV4 authorization" end
  local secret = knobs.secrets and knobs.secrets[akid]
  if not secret then return true, akid end -- presence only: the stand-in does not know this key
  local ok_core, core = pcall(require, "gameliftstreams.core")
  if not ok_core then return true, akid end
  local amzdate = req.headers["x-amz-date"] or ""
  local y, mo, d, h, mi, s = amzdate:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return false, "no x-amz-date" end
  local t = os.time{ year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
                     min = tonumber(mi), sec = tonumber(s), isdst = false }
  -- os.time reads local time; undo the local offset to get UTC epoch seconds.
  local now = os.time()
  t = t + os.difftime(now, os.time(os.date("!*t", now)))
  local headers = {}
  for name in signed:gmatch("[^;]+") do headers[name] = req.headers[name] end
  local res = core.sign{ method = req.method, url = "http://127.0.0.1:" .. port .. req.target,
    headers = headers, body = req.body or "", region = region, service = service,
    credentials = { access_key_id = akid, secret_access_key = secret,
                    session_token = req.headers["x-amz-security-token"] }, time = t }
  if res and res.signature == sig then return true, akid end
  return false, "signature mismatch"
end

local port

local function sts(req, entry)
  local p = parse_form(req.body)
  entry.params = p
  if (knobs.sts_hang or 0) > 0 then
    knobs.sts_hang = knobs.sts_hang - 1
    entry.hung = true
    return httpd.hang()
  end
  if knobs.sts_error then
    local e = knobs.sts_error
    return answer(sts_error(e.code or "AccessDenied", e.message or "denied", e.status or 403))
  end
  local result
  if p.Action == "AssumeRole" then
    local ok, who = verify_signature(req, port)
    entry.signature_ok = ok
    if not ok then return answer(sts_error("SignatureDoesNotMatch", who, 403)) end
    entry.signer = who
    if not p.RoleArn or not p.RoleSessionName then
      return answer(sts_error("ValidationError", "RoleArn and RoleSessionName are required", 400))
    end
    result = "AssumeRoleResult"
  elseif p.Action == "AssumeRoleWithWebIdentity" then
    if knobs.web_token and p.WebIdentityToken ~= knobs.web_token then
      return answer(sts_error("InvalidIdentityToken", "the token is not valid", 400))
    end
    result = "AssumeRoleWithWebIdentityResult"
  else
    return answer(sts_error("InvalidAction", "unknown action", 400))
  end
  if failing() then return answer(sts_error(knobs.fail_code or "InternalFailure", "stand-in failure", knobs.fail_status)) end
  local c = new_creds()
  -- the request id in a header too, as STS sends it
  return answer(200, { ["Content-Type"] = "text/xml", ["x-amzn-RequestId"] = "req-" .. issued }, string.format(
    "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <%s>\n"
    .. "    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/%s</Arn>"
    .. "<AssumedRoleId>AROA:%s</AssumedRoleId></AssumedRoleUser>\n"
    .. "    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n      <SecretAccessKey>%s</SecretAccessKey>\n"
    .. "      <SessionToken>%s</SessionToken>\n      <Expiration>%s</Expiration>\n    </Credentials>\n"
    .. "  </%s>\n  <ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata>\n</%sResponse>\n",
    p.Action, result, xml_escape(p.RoleSessionName or ""), xml_escape(p.RoleSessionName or ""),
    c.id, c.secret, c.token, c.expiration, result, issued, p.Action))
end

local function json_creds(extra)
  local c = new_creds()
  local doc = { AccessKeyId = c.id, SecretAccessKey = c.secret, Token = c.token, Expiration = c.expiration }
  for k, v in pairs(extra or {}) do doc[k] = v end
  return answer(200, { ["Content-Type"] = "application/json" }, cjson.encode(doc))
end

local IMDS_TOKEN = "standin-imds-token"
local CREDS_PATH = "/latest/meta-data/iam/security-credentials/"

local function imds(req)
  if knobs.hang then return httpd.hang() end
  if req.method == "PUT" and req.path == "/latest/api/token" then
    if knobs.token_hang then return httpd.hang() end
    if knobs.imds_v1 then return 403, {}, "" end
    if not req.headers["x-aws-ec2-metadata-token-ttl-seconds"] then return 400, {}, "missing ttl" end
    return 200, { ["x-aws-ec2-metadata-token-ttl-seconds"] = "21600" }, IMDS_TOKEN
  end
  if not knobs.imds_v1 and not knobs.token_hang and req.headers["x-aws-ec2-metadata-token"] ~= IMDS_TOKEN then
    return 401, {}, ""
  end
  if req.path == CREDS_PATH then return 200, { ["Content-Type"] = "text/plain" }, knobs.role end
  if req.path == CREDS_PATH .. knobs.role then
    if failing() then return answer(knobs.fail_status, {}, "stand-in failure") end
    return json_creds{ Code = "Success", Type = "AWS-HMAC", LastUpdated = iso8601(socket.gettime()) }
  end
  return 404, {}, ""
end

local function container(req)
  if knobs.auth_token and req.headers["authorization"] ~= knobs.auth_token then
    return 401, { ["Content-Type"] = "application/json" }, '{"message":"unauthorized"}'
  end
  if failing() then return answer(knobs.fail_status, {}, "stand-in failure") end
  return json_creds()
end

local function json_answer(status, doc, etype)
  local h = { ["Content-Type"] = "application/json" }
  if etype then h["x-amzn-ErrorType"] = etype .. ":http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/" end
  return answer(status, h, cjson.encode(doc))
end

local function sso(req)
  if req.method ~= "GET" or req.path ~= "/federation/credentials" then return 404, {}, "" end
  if req.headers["x-amz-sso_bearer_token"] ~= knobs.sso_token then
    return json_answer(401, { message = "Session token not found or invalid" }, "UnauthorizedException")
  end
  local q = parse_form(req.query)
  if q.account_id ~= knobs.sso_account or q.role_name ~= knobs.sso_role then
    return json_answer(403, { message = "No access" }, "ForbiddenException")
  end
  if failing() then return json_answer(knobs.fail_status, { message = "stand-in failure" }, "InternalServerException") end
  local c = new_creds()
  return json_answer(200, { roleCredentials = { accessKeyId = c.id, secretAccessKey = c.secret,
    sessionToken = c.token, expiration = math.floor((socket.gettime() + knobs.expires_in) * 1000) } })
end

local oidc_issued = 0
local function oidc(req)
  if req.method ~= "POST" or req.path ~= "/token" then return 404, {}, "" end
  if knobs.oidc_error then
    local e = knobs.oidc_error
    return json_answer(e.status or 400, { error = e.error or "invalid_grant", error_description = "stand-in" },
      e.type or "InvalidGrantException")
  end
  local ok, b = pcall(cjson.decode, req.body or "")
  if not ok or type(b) ~= "table" or b.grantType ~= "refresh_token" then
    return json_answer(400, { error = "invalid_request" }, "InvalidRequestException")
  end
  if b.clientId ~= knobs.oidc_client or b.clientSecret ~= knobs.oidc_secret then
    return json_answer(401, { error = "invalid_client" }, "InvalidClientException")
  end
  if b.refreshToken ~= knobs.refresh_token then
    return json_answer(400, { error = "invalid_grant" }, "InvalidGrantException")
  end
  oidc_issued = oidc_issued + 1
  knobs.sso_token = "standin-sso-token-" .. oidc_issued
  knobs.refresh_token = "standin-refresh-" .. oidc_issued
  return json_answer(200, { accessToken = knobs.sso_token, expiresIn = knobs.expires_in,
                            refreshToken = knobs.refresh_token, tokenType = "Bearer" })
end

local function handler(req)
  if req.path == "/_ctl/log" then
    return 200, { ["Content-Type"] = "application/json" }, cjson.encode(log)
  elseif req.path == "/_ctl/reset" then
    log = {}
    local secrets = knobs.secrets
    knobs = {}
    for k, v in pairs(initial) do knobs[k] = v end
    knobs.secrets = secrets
    return 204, {}, ""
  elseif req.path == "/_ctl/config" then
    local ok, t = pcall(cjson.decode, req.body or "")
    if not ok or type(t) ~= "table" then return 400, {}, "bad json" end
    for k, v in pairs(t) do
      if v == cjson.null then
        knobs[k] = nil
      elseif k == "secrets" and type(v) == "table" then
        knobs.secrets = knobs.secrets or {}
        for id, secret in pairs(v) do knobs.secrets[id] = secret end
      else
        knobs[k] = v
      end
    end
    return 204, {}, ""
  end
  local entry = { method = req.method, path = req.path, headers = req.headers, body = req.body,
                  at = socket.gettime() }
  local service
  if serve.imds and req.path:sub(1, 8) == "/latest/" then
    service = "imds"
  elseif serve.container and (req.path:match("^/v2/credentials/") or req.path == "/creds") then
    service = "container"
  elseif serve.sts and req.method == "POST" and req.path == "/" then
    service = "sts"
  elseif serve.sso and req.path == "/federation/credentials" then
    service = "sso"
  elseif serve.oidc and req.path == "/token" then
    service = "oidc"
  end
  entry.service = service or "unknown"
  log[#log + 1] = entry
  if service == "imds" then return imds(req) end
  if service == "container" then return container(req) end
  if service == "sts" then return sts(req, entry) end
  if service == "sso" then
    entry.query = req.query
    return sso(req)
  end
  if service == "oidc" then return oidc(req) end
  return 404, {}, "not found"
end

local srv = assert(httpd.new{ host = "127.0.0.1", port = 0, handler = handler })
port = srv.port
io.stdout:write("listening ", srv.port, "\n")
io.stdout:flush()
srv:run()
