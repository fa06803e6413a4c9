--- The shared-files provider: what a profile of ~/.aws/config and ~/.aws/credentials says.
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local config = B.config
local type, tostring, tonumber = type, tostring, tonumber
local format = string.format
local fail, absent = B.fail, B.absent

local sso_config = B.sso_config


local unusable_credentials = B.pipeline.unusable_credentials

local function has_keys(s)
  return not unusable_credentials{ access_key_id = s.aws_access_key_id, secret_access_key = s.aws_secret_access_key }
end

local function static_from_settings(s, pname)
  return _M.static({ access_key_id = s.aws_access_key_id, secret_access_key = s.aws_secret_access_key,
    session_token = s.aws_session_token ~= "" and s.aws_session_token or nil }, "profile " .. pname)
end

local function role_of(s)
  return { role_arn = s.role_arn, role_session_name = s.role_session_name, external_id = s.external_id,
           duration_seconds = tonumber(s.duration_seconds), token_file = s.web_identity_token_file,
           mfa_serial = s.mfa_serial ~= "" and s.mfa_serial or nil }
end

-- Builds the provider for profile `pname` from loaded files. Returns provider, or nil and err
-- (err.not_found when the profile holds no credentials at all).
local function build_profile(files, pname, opts, visited)
  local s, found = config.profile_settings(files, pname)
  local where = format("profile %q", pname)
  if not found then return nil, fail("profile", where .. " not found in the config or credentials file") end
  if type(s.role_arn) == "string" and s.role_arn ~= "" then
    local role = role_of(s)
    if type(s.web_identity_token_file) == "string" and s.web_identity_token_file ~= "" then
      return _M.web_identity(role, opts, s)
    end
    local src, cs = s.source_profile, s.credential_source
    if src and cs then
      return nil, fail("profile", where .. " sets both source_profile and credential_source")
    end
    local source, err
    if cs then
      if cs == "Environment" then source = _M.environment(opts)
      elseif cs == "Ec2InstanceMetadata" then source = _M.imds(opts, s, true)
      elseif cs == "EcsContainer" then source = _M.container(opts)
      else return nil, fail("profile", where .. ": unsupported credential_source " .. tostring(cs)) end
    elseif src then
      if src == pname and has_keys(s) then
        -- A profile may name itself as source: its own keys assume its role.
        source = static_from_settings(s, pname)
      elseif visited[src] or src == pname then
        return nil, fail("profile", "source_profile cycle through " .. format("%q", src))
      else
        visited[pname] = true
        source, err = build_profile(files, src, opts, visited)
        if not source then
          if err.not_found then
            return nil, fail("profile", format("source profile %q has no credentials", src))
          end
          return nil, err
        end
      end
    else
      return nil, fail("profile", where .. " sets role_arn without source_profile, credential_source"
        .. " or web_identity_token_file")
    end
    if role.mfa_serial and type(opts.mfa_code_provider) ~= "function" then
      return nil, fail("profile", where .. " sets mfa_serial: give the client an mfa_code_provider"
        .. " option (a function: serial -> the 6-digit code)")
    end
    return _M.assume_role(source, role, opts, s)
  end
  if has_keys(s) then return static_from_settings(s, pname) end
  if type(s.credential_process) == "string" and s.credential_process ~= "" then
    return _M.process(s.credential_process, opts)
  end
  if s.sso_session or s.sso_start_url then
    local c, err = sso_config(files, s, where)
    if not c then return nil, err end
    return _M.sso(c, pname, opts)
  end
  return nil, absent(where)
end

--- The shared-files provider for opts.profile / AWS_DEFAULT_PROFILE / AWS_PROFILE / "default"
-- (config.profile_name). The files are read
-- on the first get(); the resulting provider (static, role, process) is kept.
function _M.profile(opts)
  opts = opts or {}
  local p = { name = "profile" }
  function p.get(self)
    if not self.inner then
      local pname, explicit = config.profile_name(opts)
      local files = config.load_files(opts)
      local _, found = config.profile_settings(files, pname)
      if not found and not explicit then return nil, absent(format("profile %q", pname)) end
      local inner, err = build_profile(files, pname, opts, {})
      if not inner then return nil, err end
      self.inner = inner
    end
    return self.inner:get()
  end
  return p
end

return _M
