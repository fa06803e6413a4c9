--- The shared AWS config and credentials files, the environment, and the region.
-- Files are parsed the way the AWS CLI parses them: `[profile x]` (and `[default]`)
-- sections in the config file, `[x]` sections in the credentials file; `#` and `;`
-- start a comment on a line of their own, or inline after whitespace; option names
-- are case-insensitive; an indented line continues the previous value, and a value
-- that is empty on its own line followed by indented `k = v` lines is a nested map
-- (e.g. `s3 =` blocks). The credentials file wins over the config file for a key
-- both set in the same profile.
-- Every environment read goes through opts.getenv (default os.getenv) so it can be
-- injected; nothing here runs at require time.
local _M = { _VERSION = "0.1" }

local errors = require("gameliftstreams.errors")
local text = require("gameliftstreams.text")

local type, pairs, ipairs, tostring, pcall, setmetatable, error =
  type, pairs, ipairs, tostring, pcall, setmetatable, error
local lower = string.lower
local os_getenv = os.getenv

local trim = text.trim

-- An inline comment starts at `#` or `;` preceded by whitespace.
local function strip_inline_comment(s)
  local at = s:find("%s[#;]")
  if at then s = s:sub(1, at) end
  return trim(s)
end

-- The one reader of the environment: opts.getenv (default os.getenv). With a settings record
-- (a client's opts._settings) each variable is read once per client and kept in the record, so
-- every module that asks (the client, its retry strategy, endpoint and credentials chain) sees
-- the same value.
local function getenv_of(opts)
  local given = (opts and opts.getenv) or os_getenv
  local rec = opts and opts._settings
  if not rec then return given end
  local reader = rec.getenv
  if not reader then
    local seen = {}
    reader = function(name)
      local v = seen[name]
      if v == nil then
        v = given(name)
        if v == nil then v = false end
        seen[name] = v
      end
      return v or nil
    end
    rec.getenv = reader
  end
  return reader
end
_M.getenv_of = getenv_of

-- Nonempty environment value or nil.
local function env(getenv, name)
  local v = getenv(name)
  if v == nil or v == "" then return nil end
  return v
end
_M.env = env

--- Parses the text of an INI file of the AWS CLI flavour.
-- Returns { [section name] = { [key] = value | { [subkey] = value } } } and the
-- section names in file order.
function _M.parse(text)
  local sections, order = {}, {}
  local section, key, first, cont = nil, nil, nil, nil
  local function finish()
    if section and key then
      if cont then
        if first == "" then
          local nested = {}
          for _, l in ipairs(cont) do
            local k, v = l:match("^([^=]-)%s*=%s*(.*)$")
            if k then nested[trim(k)] = trim(v) end
          end
          section[key] = nested
        else
          local parts = { first }
          for _, l in ipairs(cont) do parts[#parts + 1] = l end
          section[key] = table.concat(parts, "\n")
        end
      end
    end
    key, first, cont = nil, nil, nil
  end
  for raw in (text .. "\n"):gmatch("([^\n]*)\n") do
    local line = raw:gsub("\r$", "")
    local stripped = trim(line)
    if stripped == "" or stripped:find("^[#;]") then
      -- blank lines and full-line comments neither end nor extend a value
    elseif line:find("^%s") and key then
      cont = cont or {}
      cont[#cont + 1] = strip_inline_comment(stripped)
    else
      local name = stripped:match("^%[(.*)%]$")
      if name then
        finish()
        name = trim(name)
        section = sections[name]
        if not section then
          section = {}
          sections[name] = section
          order[#order + 1] = name
        end
      elseif section then
        finish()
        local eq, colon = stripped:find("=", 1, true), stripped:find(":", 1, true)
        local at = eq
        if colon and (not eq or colon < eq) then at = colon end
        if at then
          key = trim(stripped:sub(1, at - 1)):lower()
          first = strip_inline_comment(stripped:sub(at + 1))
          if key == "" then
            key = nil
          else
            section[key] = first
          end
        end
      end
    end
  end
  finish()
  return sections, order
end

--- Reads a whole file; nil when it does not exist or cannot be read.
_M.read_file = text.read_file

local function expand_home(path, getenv)
  if path:sub(1, 1) == "~" and (path:sub(2, 2) == "/" or #path == 1) then
    local home = env(getenv, "HOME") or env(getenv, "USERPROFILE")
    if home then return home .. path:sub(2) end
  end
  return path
end
_M.expand_home = expand_home

--- The paths of the config and credentials files.
-- opts.config_file / opts.credentials_file, else AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE,
-- else ~/.aws/config and ~/.aws/credentials.
-- Settled once per settings record (opts._settings) when there is one.
function _M.paths(opts)
  opts = opts or {}
  local rec = opts._settings
  if rec and rec.config_path then return rec.config_path, rec.credentials_path end
  local getenv = getenv_of(opts)
  local cfg = opts.config_file or env(getenv, "AWS_CONFIG_FILE") or "~/.aws/config"
  local cred = opts.credentials_file or env(getenv, "AWS_SHARED_CREDENTIALS_FILE")
    or "~/.aws/credentials"
  cfg, cred = expand_home(cfg, getenv), expand_home(cred, getenv)
  if rec then rec.config_path, rec.credentials_path = cfg, cred end
  return cfg, cred
end

--- The profile name: opts.profile, else AWS_DEFAULT_PROFILE, else AWS_PROFILE, else "default"
-- (botocore's order; the AWS JS SDK v3 reads only AWS_PROFILE). A variable set to "" is unset,
-- as every variable the SDK reads (and as the JS SDK v3 and the Go SDK read AWS_PROFILE;
-- botocore would name the profile "" and fail).
-- Returns the name, whether it was chosen explicitly (option or environment), and where it
-- came from ("the profile option", the variable's name, or nil for the implicit default).
-- Settled once per settings record (opts._settings) when there is one.
function _M.profile_name(opts)
  opts = opts or {}
  local rec = opts._settings
  if rec and rec.profile_name then return rec.profile_name, rec.profile_explicit, rec.profile_source end
  local name, source = opts.profile, "the profile option"
  if name == nil then
    local getenv = getenv_of(opts)
    for _, var in ipairs{ "AWS_DEFAULT_PROFILE", "AWS_PROFILE" } do
      local v = env(getenv, var)
      if type(v) == "string" then name, source = v, var break end
    end
    if name == nil then name, source = "default", nil end
  end
  local explicit = source ~= nil
  if rec then rec.profile_name, rec.profile_explicit, rec.profile_source = name, explicit, source end
  return name, explicit, source
end

-- Reads and parses both files now (see load_files).
local function read_files(opts)
  local cfg_path, cred_path = _M.paths(opts)
  local out = { config = {}, credentials = {}, sections = {},
                config_path = cfg_path, credentials_path = cred_path }
  local text = _M.read_file(cfg_path)
  if text then
    local sections, order = _M.parse(text)
    out.sections = sections
    for _, name in ipairs(order) do
      local profile
      if name == "default" then
        profile = "default"
      else
        local a, b, extra = name:match("^(%S+)%s+(%S+)(.*)$")
        if a == "profile" and trim(extra) == "" then profile = b end
      end
      if profile then
        local dst = out.config[profile] or {}
        for k, v in pairs(sections[name]) do dst[k] = v end
        out.config[profile] = dst
      end
    end
  end
  text = _M.read_file(cred_path)
  if text then out.credentials = (_M.parse(text)) end
  return out
end

--- A client's record of its settings: gls.new puts one in its copy of the options as
-- `_settings`. Every function here given those options reads the shared files through it (each
-- file at most once per client, on first need), and `settle_new`/`settle` write the client's
-- settings into it. Each field is written once and is read-only from then on: a second write
-- raises. The client, its retry strategy, its endpoint and its credentials chain all read it.
function _M.record()
  local store, settled = {}, {}
  return setmetatable({}, {
    __index = store,
    __newindex = function(_, k, v)
      if settled[k] then
        error("the settings record is read-only: " .. tostring(k) .. " is settled once", 2)
      end
      settled[k] = true
      store[k] = v
    end,
    __metatable = "gameliftstreams settings record",
  })
end

--- Reads and parses both files (once per record when opts carry one). Returns
-- { config = { [profile] = settings }, credentials = { [profile] = settings },
--   sections = { [raw config section] = settings }, config_path =, credentials_path = }.
-- Missing files count as empty.
function _M.load_files(opts)
  local rec = opts and opts._settings
  if not rec then return read_files(opts) end
  local files = rec.files
  if not files then
    files = read_files(opts)
    rec.files = files
  end
  return files
end

--- The settings of one profile from already loaded files: config values overlaid by
-- credentials-file values. Returns settings (a new table) and whether the profile exists.
function _M.profile_settings(files, name)
  local c, k = files.config[name], files.credentials[name]
  local out = {}
  for key, v in pairs(c or {}) do out[key] = v end
  for key, v in pairs(k or {}) do out[key] = v end
  return out, (c ~= nil or k ~= nil)
end

--- A profile's settings (max_attempts, retry_mode, endpoint_url, region, ...), read now.
-- Returns settings (empty when the profile or the files are absent), whether the
-- profile exists, and its name.
function _M.load(opts)
  local rec = opts and opts._settings
  if rec and rec.profile then return rec.profile, rec.found, rec.name end
  local name = _M.profile_name(opts)
  local files = _M.load_files(opts)
  local settings, found = _M.profile_settings(files, name)
  if rec then rec.profile, rec.found, rec.name = settings, found, name end
  return settings, found, name
end

--- A custom endpoint configured for a service outside the code, in the SDKs' order:
-- AWS_ENDPOINT_URL_<KEY>, AWS_ENDPOINT_URL, the profile's `services` section
-- (`[services name]` with a `<key> =` sub-section holding endpoint_url), the profile's
-- endpoint_url. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / ignore_configured_endpoint_urls = true
-- turn all of them off. key: the service identifier, e.g. "sts", "gameliftstreams".
-- settings: the profile's settings when already loaded (else read now). Returns url or nil.
function _M.configured_endpoint(opts, key, settings)
  opts = opts or {}
  local getenv = getenv_of(opts)
  local ignore = env(getenv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
  local function load_settings()
    if settings == nil then settings = _M.load(opts) end
    return settings
  end
  if ignore == nil then ignore = load_settings().ignore_configured_endpoint_urls end
  if type(ignore) == "string" and ignore:lower() == "true" then return nil end
  local env_key = key:upper():gsub("[%s%-]", "_")
  local v = env(getenv, "AWS_ENDPOINT_URL_" .. env_key) or env(getenv, "AWS_ENDPOINT_URL")
  if v then return v end
  local s = load_settings()
  if type(s.services) == "string" and s.services ~= "" then
    local files = _M.load_files(opts)
    local section = files.sections["services " .. s.services]
    local sub = section and section[(key:lower():gsub("[%s%-]", "_"))]
    if type(sub) == "table" and type(sub.endpoint_url) == "string" and sub.endpoint_url ~= "" then
      return sub.endpoint_url
    end
  end
  if type(s.endpoint_url) == "string" and s.endpoint_url ~= "" then return s.endpoint_url end
  return nil
end

--- The region the code or the environment gives (opts.region, AWS_REGION, AWS_DEFAULT_REGION),
-- else the `region` of `settings` (a profile's, when given), else nil. The one place the
-- region's order is written: the client, config.resolve_region and STS use it.
function _M.region(opts, settings)
  if opts.region ~= nil and opts.region ~= "" then return opts.region end
  local getenv = getenv_of(opts)
  local r = env(getenv, "AWS_REGION") or env(getenv, "AWS_DEFAULT_REGION")
  if r then return r end
  r = settings and settings.region
  if type(r) == "string" and r ~= "" then return r end
  return nil
end

--- The region: opts.region, AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`.
-- Returns region, or nil and an InvalidParameter error listing where it looked.
function _M.resolve_region(opts)
  opts = opts or {}
  local r = _M.region(opts)
  if r then return r end
  local settings, _, name = _M.load(opts)
  r = settings.region
  if type(r) == "string" and r ~= "" then return r end
  return nil, errors.invalid("region: not set (looked at the region option, AWS_REGION, "
    .. "AWS_DEFAULT_REGION and profile " .. string.format("%q", tostring(name)) .. ")")
end

---------------------------------------------------------------------------
-- A client's settings, resolved once
---------------------------------------------------------------------------

local function truthy(v) return type(v) == "string" and lower(v) == "true" end
local function env_on(v) -- the project's own switches (GLS_LOG): anything but "", 0, false, no, off
  if type(v) ~= "string" then return false end
  v = lower(v)
  return v ~= "" and v ~= "0" and v ~= "false" and v ~= "no" and v ~= "off"
end

--- What gls.new settles from the options and the environment alone (no file is read), into
-- o._settings: `region_given` (option, AWS_REGION, AWS_DEFAULT_REGION), `use_fips_given`
-- (option, AWS_USE_FIPS_ENDPOINT; nil when neither says), `endpoint_given` (the option; the
-- environment's AWS_ENDPOINT_URL* only when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set, since
-- otherwise the profile's ignore switch may still turn them off), `app_id_given` (option,
-- AWS_SDK_UA_APP_ID), `log` (option, GLS_LOG), `new_2026_retries` (option,
-- AWS_NEW_RETRIES_2026). Returns the record.
function _M.settle_new(o, service_key)
  local rec = o._settings
  local getenv = getenv_of(o)
  rec.service_key = service_key
  rec.region_given = _M.region(o)
  local fips = o.use_fips
  if fips == nil then
    local v = env(getenv, "AWS_USE_FIPS_ENDPOINT")
    if v then fips = lower(v) == "true" end
  end
  rec.use_fips_given = fips
  local ep = o.endpoint
  if ep == "" then ep = nil end
  if ep == nil and env(getenv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") then
    ep = _M.configured_endpoint(o, service_key, {}) -- the environment alone
  end
  rec.endpoint_given = ep
  rec.app_id_given = o.app_id or env(getenv, "AWS_SDK_UA_APP_ID")
  local log = o.log
  if log == nil then log = env_on(getenv("GLS_LOG")) end
  rec.log = log
  local n26 = o.new_2026_retries
  if n26 == nil then n26 = truthy(getenv("AWS_NEW_RETRIES_2026")) end
  rec.new_2026_retries = n26
  return rec
end

--- The rest, on the first call: the profile (`profile_name`, `profile_explicit`, `profile` (its
-- settings), `profile_found`), `region` (or `region_error`), `use_fips`, `endpoint` (the
-- configured one or nil: the option, AWS_ENDPOINT_URL_<KEY>, AWS_ENDPOINT_URL, the profile's
-- services section and endpoint_url, both ignore switches), `app_id`, `ca_file` (option,
-- AWS_CA_BUNDLE, the profile's ca_bundle), `retry_env` (AWS_RETRY_MODE and AWS_MAX_ATTEMPTS as
-- the environment gives them; the profile's are in `profile`). Each file is read at most once.
-- Returns the record; settling it again returns it as it is.
function _M.settle(o)
  local rec = o._settings
  if rec.settled then return rec end
  local getenv = getenv_of(o)
  local name = _M.profile_name(o) -- (also profile_explicit)
  _M.paths(o) -- config_path, credentials_path
  local ok, settings, found = pcall(_M.load, o)
  if not ok or type(settings) ~= "table" then settings, found = {}, false end
  rec.profile_found = found and true or false
  local region = rec.region_given
  if not region and type(settings.region) == "string" and settings.region ~= "" then region = settings.region end
  rec.region = region
  if not region then
    rec.region_error = errors.invalid("region: not set (looked at the region option, AWS_REGION, "
      .. "AWS_DEFAULT_REGION and profile " .. string.format("%q", tostring(name)) .. ")")
  end
  local fips = rec.use_fips_given
  if fips == nil then fips = lower(tostring(settings.use_fips_endpoint)) == "true" end
  rec.use_fips = fips
  rec.endpoint = rec.endpoint_given or _M.configured_endpoint(o, rec.service_key, settings)
  local app_id = rec.app_id_given
  if not app_id and type(settings.sdk_ua_app_id) == "string" and settings.sdk_ua_app_id ~= "" then
    app_id = settings.sdk_ua_app_id
  end
  rec.app_id = app_id
  local ca = o.ca_file or env(getenv, "AWS_CA_BUNDLE")
  if not ca and type(settings.ca_bundle) == "string" and settings.ca_bundle ~= "" then ca = settings.ca_bundle end
  rec.ca_file = ca
  -- the retry strategy's variables, as the environment gives them (retry.lua decides what an
  -- unusable value falls back to: the profile's, then the default)
  rec.retry_env = { AWS_RETRY_MODE = getenv("AWS_RETRY_MODE"), AWS_MAX_ATTEMPTS = getenv("AWS_MAX_ATTEMPTS") }
  rec.settled = true
  return rec
end

return _M
