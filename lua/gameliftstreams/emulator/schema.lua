--- Input shapes of the emulator, written by hand from the service documentation
-- (not taken from the client's generated model, so the emulator checks the client
-- independently). check(shape, value, name) -> value (integers normalised) or nil, message.
local json = require("gameliftstreams.emulator.json")

local _M = {}

local floor = math.floor
local tointeger = math.tointeger or function(x) return x end

local function utf8_len(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function fail(name, what)
  return nil, string.format("Value at '%s' failed to satisfy constraint: %s", name, what)
end

local check

local function check_string(shape, v, name)
  if type(v) ~= "string" then return fail(name, "Member must be a string") end
  -- a code point takes at most 4 bytes: a string that long is too long without counting
  -- (counting copies it, and a hostile body may hold 60 MB)
  local n = (shape.max and #v > 4 * shape.max) and #v or utf8_len(v)
  if shape.min and n < shape.min then
    return fail(name, "Member must have length greater than or equal to " .. shape.min)
  end
  if shape.max and n > shape.max then
    return fail(name, "Member must have length less than or equal to " .. shape.max)
  end
  if shape.enum then
    local ok = false
    for _, e in ipairs(shape.enum) do if e == v then ok = true break end end
    if not ok then
      return fail(name, "Member must satisfy enum value set: [" .. table.concat(shape.enum, ", ") .. "]")
    end
  end
  if shape.test and not shape.test(v) then
    return fail(name, "Member must satisfy regular expression pattern: " .. (shape.pattern_text or "?"))
  end
  return v
end

local function check_integer(shape, v, name)
  if type(v) ~= "number" or v ~= v or floor(v) ~= v or v >= 2^63 or v < -2^63 then
    return fail(name, "Member must be an integer")
  end
  if shape.min and v < shape.min then
    return fail(name, "Member must have value greater than or equal to " .. shape.min)
  end
  if shape.max and v > shape.max then
    return fail(name, "Member must have value less than or equal to " .. shape.max)
  end
  return tointeger(v) or v
end

local function check_list(shape, v, name)
  if type(v) ~= "table" or (next(v) ~= nil and v[1] == nil) then
    return fail(name, "Member must be a list")
  end
  local n = #v
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k > n or floor(k) ~= k then return fail(name, "Member must be a list") end
  end
  if shape.min and n < shape.min then
    return fail(name, "Member must have length greater than or equal to " .. shape.min)
  end
  if shape.max and n > shape.max then
    return fail(name, "Member must have length less than or equal to " .. shape.max)
  end
  local out, seen = json.array({}), {}
  for i = 1, n do
    local item, err = check(shape.member, v[i], name .. "." .. i)
    if item == nil then return nil, err end
    if shape.unique then
      local key = json.encode(item)
      if seen[key] then return fail(name, "Member must have unique items") end
      seen[key] = true
    end
    out[i] = item
  end
  return out
end

local function check_map(shape, v, name)
  if type(v) ~= "table" or v[1] ~= nil or json.is_array(v) then return fail(name, "Member must be a map") end
  local out, n = {}, 0
  for k, item in pairs(v) do
    n = n + 1
    local key, err = check(shape.key, k, name .. ".key")
    if key == nil then return nil, err end
    local val
    val, err = check(shape.value, item, name .. "." .. tostring(k))
    if val == nil then return nil, err end
    out[key] = val
  end
  if shape.min and n < shape.min then
    return fail(name, "Member must have length greater than or equal to " .. shape.min)
  end
  if shape.max and n > shape.max then
    return fail(name, "Member must have length less than or equal to " .. shape.max)
  end
  return out
end

local function check_struct(shape, v, name)
  if type(v) ~= "table" or v[1] ~= nil or json.is_array(v) then return fail(name, "Member must be a structure") end
  local out = {}
  for _, m in ipairs(shape.required or {}) do
    if v[m] == nil or v[m] == json.null then
      return fail(name == "" and m or (name .. "." .. m), "Member must not be null")
    end
  end
  for m, mshape in pairs(shape.members) do
    local item = v[m]
    if item ~= nil and item ~= json.null then
      local val, err = check(mshape, item, name == "" and m or (name .. "." .. m))
      if val == nil then return nil, err end
      out[m] = val
    end
  end
  return out
end

check = function(shape, v, name)
  local k = shape.kind
  if k == "string" then return check_string(shape, v, name)
  elseif k == "integer" then return check_integer(shape, v, name)
  elseif k == "boolean" then
    if type(v) ~= "boolean" then return fail(name, "Member must be a boolean") end
    return v
  elseif k == "list" then return check_list(shape, v, name)
  elseif k == "map" then return check_map(shape, v, name)
  elseif k == "struct" then return check_struct(shape, v, name)
  end
  error("schema: unknown kind " .. tostring(k))
end
_M.check = check

-- constructors ---------------------------------------------------------------

local function str(t) t = t or {}; t.kind = "string"; return t end
local function int(min, max) return { kind = "integer", min = min, max = max } end
local function list(member, min, max, unique)
  return { kind = "list", member = member, min = min, max = max, unique = unique }
end
local function map(key, value, min, max) return { kind = "map", key = key, value = value, min = min, max = max } end
local function struct(members, required) return { kind = "struct", members = members, required = required } end
local BOOL = { kind = "boolean" }

_M.str, _M.int, _M.list, _M.map, _M.struct = str, int, list, map, struct

-- pattern helpers (Lua patterns cannot alternate, so some are functions) ---------

local function is_id(s) return s:match("^[%w%-]+$") ~= nil end

function _M.is_arn(s)
  return s:match("^arn:aws:gameliftstreams:[^:\n]*:%d%d%d%d%d%d%d%d%d%d%d%d:[^:\n]*$") ~= nil
end

local function is_identifier(s) return is_id(s) or _M.is_arn(s) end

local function is_description(s)
  return s:match("^[%w%-_%.!%+@/][%w%-_%.!%+@/ ]*$") ~= nil
end

local function is_log_uri(s)
  if s == "" then return true end
  local bucket, rest = s:match("^s3://([%w][%w%._%-]+[%w])(.*)$")
  if not bucket or #bucket < 3 or #bucket > 63 then return false end
  if rest == "" or rest == "/" then return true end
  rest = rest:gsub("/$", "")
  for seg in (rest .. "/"):gmatch("/([^/]*)") do
    if not seg:match("^[%w%._%-]+$") then return false end
  end
  return rest:sub(1, 1) == "/"
end

local function is_cidr(s)
  local a, b, c, d, m = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
  if not a then return false end
  for _, o in ipairs({ a, b, c, d }) do
    if #o > 1 and o:sub(1, 1) == "0" then return false end
    if tonumber(o) > 255 then return false end
  end
  if #m > 1 and m:sub(1, 1) == "0" then return false end
  return tonumber(m) <= 32
end

_M.is_identifier = is_identifier

-- shapes -------------------------------------------------------------------------

local S = {}
_M.shapes = S

S.Identifier = str{ min = 1, max = 128, test = is_identifier, pattern_text = "ID or gameliftstreams ARN" }
S.Arn = str{ min = 1, max = 128, test = _M.is_arn, pattern_text = "^arn:aws:gameliftstreams:([^:\\n]*):([0-9]{12}):([^:\\n]*)$" }
S.Description = str{ min = 1, max = 80, test = is_description,
  pattern_text = "^[a-zA-Z0-9-_.!+@/][a-zA-Z0-9-_.!+@/ ]*$" }
S.ClientToken = str{ min = 32, max = 128, test = function(s) return s:match("^[\33-\126]+$") ~= nil end,
  pattern_text = "^[\\x21-\\x7E]+$" }
S.LocationName = str{ min = 1, max = 20, test = is_id, pattern_text = "^[a-zA-Z0-9-]+$" }
S.Protocol = str{ enum = { "WebRTC" } }
S.StreamClass = str{ enum = {
  "gen4n_high", "gen4n_ultra", "gen4n_win2022", "gen5n_high", "gen5n_ultra", "gen5n_win2022",
  "gen6n_small", "gen6n_medium", "gen6n_high", "gen6n_ultra", "gen6n_ultra_win2022", "gen6n_pro",
  "gen6n_pro_win2022", "gen6n_small_win2022", "gen6n_medium_win2022", "gen6e_pro", "gen6e_pro_win2022" } }
S.StreamSessionStatus = str{ enum = { "ACTIVATING", "ACTIVE", "CONNECTED", "PENDING_CLIENT_RECONNECTION",
  "RECONNECTING", "TERMINATING", "TERMINATED", "ERROR" } }
S.ExportFilesStatus = str{ enum = { "SUCCEEDED", "FAILED", "PENDING" } }
S.StreamUrlStatus = str{ enum = { "ACTIVE", "EXPIRED", "REVOKED", "LIMIT_REACHED" } }
S.RevocationMode = str{ enum = { "REVOKE_URL", "REVOKE_AND_TERMINATE_SESSIONS" } }
S.MaxResults = int(1, 100)
S.Tags = map(str{ min = 1, max = 128 }, str{ min = 0, max = 256 }, 1, 50)
S.TagKeyList = list(str{ min = 1, max = 128 }, 0, 50)
S.Identifiers = list(S.Identifier, 1, 50)
S.LocationList = list(S.LocationName, 1, nil, true)
S.LocationsList = list(S.LocationName, 1, 100)
S.FilePaths = list(str{ min = 0, max = 1024 }, 0, 10)
S.ApplicationLogOutputUri = str{ min = 0, max = 1024, test = is_log_uri, pattern_text = "s3 URI" }
S.OutputUri = str{ min = 0, max = 1024, test = function(s)
  return s:match("^s3://") ~= nil and (s:match("/$") ~= nil or s:match("%.zip$") ~= nil or s:match("%.ZIP$") ~= nil)
end, pattern_text = "^s3://.*(/|\\.zip|\\.ZIP)$" }
S.SignalRequest = str{ min = 1 }
S.UserId = str{ min = 0, max = 1024, test = function(s) return s:match("^[%-_%w/=+]*$") ~= nil end,
  pattern_text = "^[-_a-zA-Z0-9/=+]*$" }
S.EnvironmentVariables = map(
  str{ min = 1, max = 256, test = function(s) return s:match("^[_%a][_%w]*$") ~= nil end,
       pattern_text = "^[_a-zA-Z][_a-zA-Z0-9]*$" },
  str{ min = 0, max = 4096 }, 0, 50)
S.GameLaunchArgList = list(str{}, 0, 100)
S.IamRoleArn = str{ min = 20, max = 2048,
  test = function(s) return s:match("^arn:aws[%a%-]*:iam::%d%d%d%d%d%d%d%d%d%d%d%d:role/.+$") ~= nil end,
  pattern_text = "IAM role ARN" }
S.DisplayConfiguration = struct({ Resolution = struct({ Width = int(320, 4096), Height = int(320, 4096) },
  { "Width", "Height" }) })
S.PerformanceStatsConfiguration = struct({ SharedWithClient = BOOL })
S.RuntimeEnvironment = struct({
  Type = str{ enum = { "PROTON", "WINDOWS", "UBUNTU" } },
  Version = str{ min = 1, max = 256 } }, { "Type", "Version" })
S.VpcTransitConfiguration = struct({
  VpcId = str{ min = 1, max = 32 },
  Ipv4CidrBlocks = list(str{ test = is_cidr, pattern_text = "IPv4 CIDR block" }, 1, 5, true) },
  { "VpcId", "Ipv4CidrBlocks" })
S.LocationConfiguration = struct({
  LocationName = S.LocationName,
  AlwaysOnCapacity = int(0), OnDemandCapacity = int(0), TargetIdleCapacity = int(0), MaximumCapacity = int(0),
  VpcTransitConfiguration = S.VpcTransitConfiguration }, { "LocationName" })
S.LocationConfigurations = list(S.LocationConfiguration, 1, 100, true)

-- Body shapes of the operations that take a JSON body.
_M.bodies = {
  AddStreamGroupLocations = struct({ LocationConfigurations = S.LocationConfigurations }, { "LocationConfigurations" }),
  AssociateApplications = struct({ ApplicationIdentifiers = S.Identifiers }, { "ApplicationIdentifiers" }),
  DisassociateApplications = struct({ ApplicationIdentifiers = S.Identifiers }, { "ApplicationIdentifiers" }),
  CreateApplication = struct({
    Description = S.Description, RuntimeEnvironment = S.RuntimeEnvironment,
    ExecutablePath = str{ min = 1, max = 1024 }, ApplicationSourceUri = str{ min = 1, max = 1024 },
    ApplicationLogPaths = S.FilePaths, ApplicationLogOutputUri = S.ApplicationLogOutputUri,
    Tags = S.Tags, ClientToken = S.ClientToken,
  }, { "Description", "RuntimeEnvironment", "ExecutablePath", "ApplicationSourceUri" }),
  UpdateApplication = struct({
    Description = S.Description, ApplicationLogPaths = S.FilePaths,
    ApplicationLogOutputUri = S.ApplicationLogOutputUri }),
  CreateStreamGroup = struct({
    Description = S.Description, StreamClass = S.StreamClass, DefaultApplicationIdentifier = S.Identifier,
    LocationConfigurations = S.LocationConfigurations, Tags = S.Tags, ClientToken = S.ClientToken,
  }, { "Description", "StreamClass" }),
  UpdateStreamGroup = struct({
    LocationConfigurations = S.LocationConfigurations, Description = S.Description,
    DefaultApplicationIdentifier = S.Identifier }),
  CreateStreamSessionConnection = struct({ ClientToken = S.ClientToken, SignalRequest = S.SignalRequest },
    { "SignalRequest" }),
  CreateStreamUrl = struct({
    ApplicationIdentifier = S.Identifier, Protocol = S.Protocol, UrlExpiresAfterMinutes = int(1),
    UsageLimit = int(1), Description = S.Description, Locations = S.LocationList,
    SessionLengthSeconds = int(1, 86400), AdditionalLaunchArgs = S.GameLaunchArgList,
    AdditionalEnvironmentVariables = S.EnvironmentVariables, RoleArn = S.IamRoleArn,
    DisplayConfiguration = S.DisplayConfiguration, ClientToken = S.ClientToken,
  }, { "ApplicationIdentifier", "Protocol", "UrlExpiresAfterMinutes", "Locations" }),
  ExportStreamSessionFiles = struct({ OutputUri = S.OutputUri }, { "OutputUri" }),
  RevokeStreamUrl = struct({ RevocationMode = S.RevocationMode }),
  StartStreamSession = struct({
    ClientToken = S.ClientToken, Description = S.Description, Protocol = S.Protocol,
    SignalRequest = S.SignalRequest, ApplicationIdentifier = S.Identifier, UserId = S.UserId,
    Locations = S.LocationList, ConnectionTimeoutSeconds = int(1, 3600), SessionLengthSeconds = int(1, 86400),
    AdditionalLaunchArgs = S.GameLaunchArgList, AdditionalEnvironmentVariables = S.EnvironmentVariables,
    PerformanceStatsConfiguration = S.PerformanceStatsConfiguration, RoleArn = S.IamRoleArn,
    DisplayConfiguration = S.DisplayConfiguration,
  }, { "Protocol", "SignalRequest", "ApplicationIdentifier" }),
  TagResource = struct({ Tags = S.Tags }, { "Tags" }),
}

return _M
