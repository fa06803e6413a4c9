--- AssumeRoleWithWebIdentity: a role's credentials for a web identity token (a file).
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local config, text = B.config, B.text
local env = config.env
local fail, absent, share_key = B.fail, B.absent, B.share_key
local read_file, trim = text.read_file, text.trim
local type = type

local sts_call, session_name = B.sts_call, B.session_name


--- AssumeRoleWithWebIdentity with the token read from `token_file` on every fetch (unsigned).
function _M.web_identity(role, opts, settings)
  opts = opts or {}
  local name = "web identity"
  return _M.refreshing(name, function()
    local token, why = read_file(role.token_file)
    if not token then
      return nil, fail(name, "cannot read the token file " .. role.token_file .. ": " .. tostring(why))
    end
    token = trim(token)
    local params = { RoleArn = role.role_arn, RoleSessionName = session_name(opts, role.role_session_name),
                     WebIdentityToken = token }
    if role.duration_seconds then params.DurationSeconds = role.duration_seconds end
    return sts_call(opts, settings, name, "AssumeRoleWithWebIdentity", params, nil)
  end, opts, share_key("web-identity", role.role_arn, role.role_session_name, role.token_file,
                       role.duration_seconds))
end

-- Does the profile assume a role from a source profile or a credential_source? Such a profile
-- comes before the environment's web identity, as botocore's AssumeRoleProvider and the JS SDK
-- v3's fromIni come before their web identity providers.
local function profile_assumes_role(opts)
  local s = config.profile_settings(config.load_files(opts), (config.profile_name(opts)))
  return type(s.role_arn) == "string" and s.role_arn ~= ""
    and not (type(s.web_identity_token_file) == "string" and s.web_identity_token_file ~= "")
end

--- Web identity from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME),
-- unless the profile assumes a role of its own.
function _M.web_identity_env(opts)
  opts = opts or {}
  local getenv = config.getenv_of(opts)
  local inner
  return { name = "web identity", get = function()
    local file, arn = env(getenv, "AWS_WEB_IDENTITY_TOKEN_FILE"), env(getenv, "AWS_ROLE_ARN")
    if not file or not arn or (not inner and profile_assumes_role(opts)) then
      return nil, absent("web identity (environment)")
    end
    inner = inner or _M.web_identity({ token_file = file, role_arn = arn,
      role_session_name = env(getenv, "AWS_ROLE_SESSION_NAME") }, opts)
    return inner:get()
  end }
end

return _M
