--- The environment provider: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local config = B.config
local env = config.env
local fail, absent, make_creds = B.fail, B.absent, B.make_creds

--- The environment provider: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
-- (AWS_CREDENTIAL_EXPIRATION optional), through config.getenv_of on every get(): a client's
-- chain reads each variable once (its settings record keeps what it read).
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

return _M
