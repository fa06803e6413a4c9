--- The static provider: the same keys every time (the credentials option, a profile's keys).
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local config, errors, retry, protocol, pipeline, text =
  B.config, B.errors, B.retry, B.protocol, B.pipeline, B.text
local type, pairs, ipairs, tostring, tonumber, pcall, setmetatable, error =
  type, pairs, ipairs, tostring, tonumber, pcall, setmetatable, error
local format, concat, floor = string.format, table.concat, math.floor
local env = config.env
local fail, absent, make_creds, lazy_core, default_clock, lazy_sched =
  B.fail, B.absent, B.make_creds, B.lazy_core, B.default_clock, B.lazy_sched
local endpoint, local_endpoint, last_answer, is_true, decode_json, share_key, service_retry =
  B.endpoint, B.local_endpoint, B.last_answer, B.is_true, B.decode_json, B.share_key, B.service_retry
local read_file, trim = text.read_file, text.trim
local REFRESH_WINDOW = B.REFRESH_WINDOW

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
