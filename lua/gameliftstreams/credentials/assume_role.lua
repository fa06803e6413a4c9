--- AssumeRole: credentials of a role, from the credentials of a source provider.
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local errors = B.errors
local type, tostring, pcall = type, tostring, pcall
local format = string.format
local fail, endpoint, share_key = B.fail, B.endpoint, B.share_key

local sts_call, session_name = B.sts_call, B.session_name

-- The MFA code for `serial` from opts.mfa_code_provider, checked before anything is sent.
local function mfa_code(opts, name, serial)
  local ok, code = pcall(opts.mfa_code_provider, serial)
  if not ok then
    if errors.is(code) and code.code == "Cancelled" then return nil, code end
    return nil, fail(name, "mfa_code_provider failed: " .. tostring(code))
  end
  if type(code) ~= "string" or not code:match("^%d%d%d%d%d%d$") then
    return nil, fail(name, "mfa_code_provider must return the 6-digit code as a string, got "
      .. (type(code) == "string" and format("%d characters", #code) or type(code)))
  end
  return code
end

--- AssumeRole with the credentials of `source` (a provider). role: { role_arn,
-- role_session_name, external_id, duration_seconds, mfa_serial }, settings: the profile (for
-- region/endpoint). With mfa_serial, every fetch asks opts.mfa_code_provider(mfa_serial) for a
-- fresh code (as the JS SDK's mfaCodeProvider).
function _M.assume_role(source, role, opts, settings)
  opts = opts or {}
  local name = "assume role"
  return _M.refreshing(name, function()
    local screds, serr = source:get()
    if not screds then
      if serr and serr.code == "Cancelled" then return nil, serr end
      local why = tostring(serr and serr.message or "none"):gsub("^credentials: ", "")
      return nil, fail(name, "source credentials: " .. why, { cause = serr })
    end
    local params = { RoleArn = role.role_arn, RoleSessionName = session_name(opts, role.role_session_name) }
    if role.external_id then params.ExternalId = role.external_id end
    if role.duration_seconds then params.DurationSeconds = role.duration_seconds end
    if role.mfa_serial then
      local code, cerr = mfa_code(opts, name, role.mfa_serial)
      if not code then return nil, cerr end
      params.SerialNumber, params.TokenCode = role.mfa_serial, code
    end
    return sts_call(opts, settings, name, "AssumeRole", params, screds)
  end, opts, share_key("assume-role", role.role_arn, role.role_session_name, role.external_id,
                       role.duration_seconds, role.mfa_serial))
end

return _M
