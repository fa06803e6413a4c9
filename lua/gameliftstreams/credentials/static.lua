--- The static provider: the same keys every time (the credentials option, a profile's keys).
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local errors = B.errors
local make_creds = B.make_creds
local unusable_credentials = B.pipeline.unusable_credentials

--- A provider that always returns the same keys.
function _M.static(t, name)
  name = name or "static"
  local unusable, field = unusable_credentials(t)
  if unusable then
    return nil, errors.invalid(field == "session_token" and "credentials: session_token must be a string"
      or "credentials: need access_key_id and secret_access_key strings")
  end
  local creds = make_creds(t, name)
  return { name = name, get = function() return creds end }
end

return _M
