--- The static provider: the same keys every time (the credentials option, a profile's keys).
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local errors = B.errors
local type = type
local make_creds = B.make_creds

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

return _M
