--- The options of gls.new: name -> { check, description }, and the check of an options table
-- (client.lua uses it before it makes anything; client.OPTIONS is this table).
local _M = {}

local errors = require("gameliftstreams.errors")
local validate = require("gameliftstreams.validate")
local unusable_credentials = require("gameliftstreams.pipeline").unusable_credentials

local type, pairs, pcall = type, pairs, pcall
local floor, find = math.floor, string.find


local function is_provider(v)
  if type(v) ~= "table" and type(v) ~= "userdata" then return false end
  local ok, get = pcall(function() return v.get end)
  return ok and type(get) == "function"
end

local function check_positive_number(v)
  return type(v) == "number" and v > 0 and v == v and v < math.huge
end

local function check_positive_integer(v)
  return type(v) == "number" and v >= 1 and floor(v) == v and v < math.huge
end

-- The characters of an HTTP token (RFC 9110), which a User-Agent product name may hold (ranges,
-- not %w, whose letters follow the C locale).
local NOT_TOKEN = "[^A-Za-z0-9!#$%%&'*+%-.^_`|~]"
local APP_ID_MAX = 50 -- the AWS SDKs' limit for an application id

local function check_app_id(v)
  return type(v) == "string" and #v >= 1 and #v <= APP_ID_MAX and not find(v, NOT_TOKEN)
end

-- name -> { check, description }
local OPTIONS = {
  region = { function(v) return type(v) == "string" end, "a string" },
  endpoint = { function(v) return type(v) == "string" end, "a string (URL)" },
  use_fips = { function(v) return type(v) == "boolean" end, "a boolean" },
  profile = { function(v) return type(v) == "string" end, "a string" },
  credentials = { function(v) return type(v) == "table" or is_provider(v) end,
                  "a table { access_key_id=, secret_access_key=, session_token= } or a provider with :get()" },
  max_attempts = { check_positive_integer, "a positive integer" },
  retry_mode = { function(v) return v == "standard" or v == "adaptive" or v == "legacy" end,
                 "\"standard\", \"adaptive\" or \"legacy\"" },
  connect_timeout = { check_positive_number, "a positive number of seconds" },
  timeout = { check_positive_number, "a positive number of seconds" },
  ca_file = { function(v) return type(v) == "string" end, "a string (path)" },
  ca_path = { function(v) return type(v) == "string" end, "a string (path)" },
  -- at most 2^53: what the C transport takes (a larger limit is no limit, and was refused per call)
  max_response_bytes = { function(v) return check_positive_integer(v) and v <= 2 ^ 53 end,
                         "a positive integer, at most 2^53 (9007199254740992)" },
  -- it goes into a header: a control character would break the request (tab is allowed)
  user_agent_suffix = { function(v) return type(v) == "string" and not v:find("[%z\1-\8\10-\31\127]") end,
                        "a string without control characters (CR, LF, NUL, ...)" },
  app_id = { check_app_id, "a string of 1 to 50 letters, digits or !#$%&'*+-.^_`|~" },
  config_file = { function(v) return type(v) == "string" end, "a string (path)" },
  credentials_file = { function(v) return type(v) == "string" end, "a string (path)" },
  getenv = { function(v) return type(v) == "function" end, "a function (name -> value)" },
  new_2026_retries = { function(v) return type(v) == "boolean" end, "a boolean" },
  -- functions called on every attempt (hooks.lua), and the ready logger on top of them
  hooks = { function(v) return type(v) == "table" end,
            "a table of hooks (before_send, after_receive, call_end) or a list of such tables" },
  log = { function(v) return type(v) == "boolean" end, "a boolean" },
  -- OpenResty: credentials and clock skew shared by the workers (shared_cache.lua)
  shared_dict = { function(v) return type(v) == "string" and v ~= "" end,
                  "the name of a lua_shared_dict (a non-empty string)" },
  shared_dict_lock_timeout = { check_positive_number, "a positive number of seconds" },
  -- knobs of the credential providers, credentials/ (tests, unusual hosts)
  refresh_window = { function(v) return type(v) == "number" and v >= 0 end, "a number of seconds >= 0" },
  clock = { function(v) return type(v) == "function" end, "a function (-> epoch seconds)" },
  http = { function(v) return type(v) == "function" end, "a function (req -> resp | nil, err)" },
  sts_endpoint = { function(v) return type(v) == "string" end, "a string (URL)" },
  sts_timeout = { check_positive_number, "a positive number of seconds" },
  imds_endpoint = { function(v) return type(v) == "string" end, "a string (URL)" },
  imds_timeout = { check_positive_number, "a positive number of seconds" },
  container_endpoint = { function(v) return type(v) == "string" end, "a string (URL)" },
  sso_cache_dir = { function(v) return type(v) == "string" end, "a string (path)" },
  fetch_wait = { check_positive_number, "a positive number of seconds" },
  mfa_code_provider = { function(v) return type(v) == "function" end,
    "a function (mfa serial -> the 6-digit code as a string)" },
}

local function option_names()
  local names = {}
  for k in pairs(OPTIONS) do names[#names + 1] = k end
  table.sort(names)
  return table.concat(names, ", ")
end

local function check_options(opts)
  for k, v in pairs(opts) do
    if type(k) ~= "string" then
      return nil, errors.invalid("gls.new: option names must be strings, got a " .. type(k))
    end
    local spec = OPTIONS[k]
    if not spec then
      local hint = validate.closest(k, OPTIONS)
      return nil, errors.invalid("gls.new: unknown option '" .. k .. "'"
        .. (hint and (" (did you mean '" .. hint .. "'?)") or (" (known: " .. option_names() .. ")")))
    end
    if not spec[1](v) then
      return nil, errors.invalid("gls.new: option '" .. k .. "' must be " .. spec[2]
        .. ", got " .. type(v))
    end
  end
  local c = opts.credentials
  if type(c) == "table" and not is_provider(c) then
    local _, field = unusable_credentials(c)
    if field == "session_token" then
      return nil, errors.invalid("gls.new: credentials.session_token must be a string")
    elseif field then
      return nil, errors.invalid("gls.new: option 'credentials' needs access_key_id and "
        .. "secret_access_key strings (or a provider with :get())")
    end
  end
  if opts.hooks ~= nil then
    local list, herr = require("gameliftstreams.hooks").check(opts.hooks)
    if not list then return nil, errors.invalid("gls.new: option 'hooks': " .. herr) end
  end
  return true
end

_M.OPTIONS = OPTIONS
_M.NOT_TOKEN = NOT_TOKEN
_M.check = check_options

return _M
