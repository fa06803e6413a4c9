--- Endpoint resolution: a generic evaluator of the model's endpoint rule set
-- (smithy.rules, as in botocore's endpoint-rule-set-1.json), and the client's resolution: a
-- configured endpoint (settled by the client: the option, AWS_ENDPOINT_URL_GAMELIFTSTREAMS,
-- AWS_ENDPOINT_URL, the profile; see config.configured_endpoint) or the rules.
-- No I/O at require time, and none later: no environment, no file (the client hands in what it
-- settled).
local _M = { _VERSION = "0.1.0" }

local type, pairs, ipairs, tostring, tonumber, setmetatable, getmetatable, pcall, require, error =
  type, pairs, ipairs, tostring, tonumber, setmetatable, getmetatable, pcall, require, error
local byte, sub, find, format, gsub, lower =
  string.byte, string.sub, string.find, string.format, string.gsub, string.lower
local concat = table.concat

local function make_error(message)
  local ok, errors = pcall(require, "gameliftstreams.errors")
  if ok and type(errors) == "table" and errors.new then
    return errors.new{ code = "EndpointError", message = message, retryable = false }
  end
  return { code = "EndpointError", message = message, retryable = false }
end

-- Raised inside the evaluator and turned into `nil, err` at the API boundary.
local RuleError = {}
local function fail(message)
  error(setmetatable({ message = message }, RuleError), 0)
end

---------------------------------------------------------------------------
-- Standard library functions of the rules language.
---------------------------------------------------------------------------

local function is_valid_host_label(s, allow_sub_domains)
  if type(s) ~= "string" then return false end
  if allow_sub_domains then
    if s == "" then return false end
    for label in (s .. "."):gmatch("([^.]*)%.") do
      if not is_valid_host_label(label, false) then return false end
    end
    return true
  end
  return #s >= 1 and #s <= 63 and find(s, "^[%w][%w%-]*$") ~= nil
end

local uri_encode = require("gameliftstreams.text").pct_encode

local function is_ip_host(host)
  if find(host, "^%[.*%]$") then return true end
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then
    return tonumber(a) <= 255 and tonumber(b) <= 255 and tonumber(c) <= 255 and tonumber(d) <= 255
  end
  return false
end

local function parse_url(url)
  if type(url) ~= "string" then return nil end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil end
  scheme = lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then return nil end
  if find(rest, "[?#]") then return nil end -- query or fragment: not a base URL
  local authority, path = rest:match("^([^/]*)(.*)$")
  if authority == "" then return nil end
  local host = authority:gsub(":%d+$", "")
  local normalized = path
  if sub(normalized, -1) ~= "/" then normalized = normalized .. "/" end
  return { scheme = scheme, authority = authority, path = path,
           normalizedPath = normalized, isIp = is_ip_host(host) }
end

local function substring(input, start, stop, reverse)
  if type(input) ~= "string" or find(input, "[\128-\255]") then return nil end
  if start >= stop or #input < stop then return nil end
  if reverse then
    return sub(input, #input - stop + 1, #input - start)
  end
  return sub(input, start + 1, stop)
end

local function parse_arn(s)
  if type(s) ~= "string" then return nil end
  local partition, service, region, account, resource =
    s:match("^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.+)$")
  if not partition or partition == "" or service == "" then return nil end
  local ids = {}
  for piece in (resource .. ":"):gsub("/", ":"):gmatch("([^:]*):") do ids[#ids + 1] = piece end
  return { partition = partition, service = service, region = region, accountId = account,
           resourceId = ids }
end

local function is_virtual_hostable_s3_bucket(s, allow_sub_domains)
  if type(s) ~= "string" then return false end
  if allow_sub_domains then
    for label in (s .. "."):gmatch("([^.]*)%.") do
      if not is_virtual_hostable_s3_bucket(label, false) then return false end
    end
    return true
  end
  if #s < 3 or #s > 63 then return false end
  if is_ip_host(s) then return false end
  return find(s, "^[a-z0-9][a-z0-9%-]*[a-z0-9]$") ~= nil
end

-- `aws.partition`: exact region names first, then each partition's patterns,
-- else the first partition ("aws"): unknown regions are assumed commercial.
local function partition_of(partitions, region)
  if type(region) ~= "string" then return nil end
  for _, p in ipairs(partitions) do
    if p.regions[region] then return p.outputs end
  end
  for _, p in ipairs(partitions) do
    for _, pat in ipairs(p.region_patterns) do
      if find(region, pat) then return p.outputs end
    end
  end
  return partitions[1] and partitions[1].outputs
end
_M.partition = function(region, partitions)
  return partition_of(partitions or require("gameliftstreams.model").partitions, region)
end

-- getAttr path: "a.b[2]" (index 0-based, as in the rules language).
local function get_attr(value, path)
  for part in path:gmatch("[^.]+") do
    local name, rest = part:match("^([^%[]*)(.*)$")
    if name ~= "" then
      if type(value) ~= "table" then return nil end
      value = value[name]
    end
    for idx in rest:gmatch("%[(%d+)%]") do
      if type(value) ~= "table" then return nil end
      value = value[tonumber(idx) + 1]
    end
  end
  return value
end

---------------------------------------------------------------------------
-- The evaluator.
---------------------------------------------------------------------------

local eval_expr

local function template(s, scope)
  -- "{{" / "}}" are literal braces; "{Name}" and "{Name#path}" are substitutions.
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = sub(s, i, i)
    if c == "{" and sub(s, i + 1, i + 1) == "{" then
      out[#out + 1] = "{"; i = i + 2
    elseif c == "}" and sub(s, i + 1, i + 1) == "}" then
      out[#out + 1] = "}"; i = i + 2
    elseif c == "{" then
      local close = find(s, "}", i + 1, true)
      if not close then fail("unterminated template in " .. s) end
      local ref = sub(s, i + 1, close - 1)
      local name, path = ref:match("^([^#]+)#(.+)$")
      local v
      if name then v = get_attr(scope[name], path) else v = scope[ref] end
      if v == nil then fail("template reference " .. ref .. " is not set") end
      out[#out + 1] = tostring(v)
      i = close + 1
    else
      local j = find(s, "[{}]", i) or n + 1
      out[#out + 1] = sub(s, i, j - 1)
      i = j
    end
  end
  return concat(out)
end

local functions = {
  isSet = function(_, x) return x ~= nil end,
  ["not"] = function(_, x) return not x end,
  booleanEquals = function(_, a, b) return a == b end,
  stringEquals = function(_, a, b) return a == b end,
  getAttr = function(_, v, path) return get_attr(v, path) end,
  ["aws.partition"] = function(ctx, region) return partition_of(ctx.partitions, region) end,
  ["aws.parseArn"] = function(_, s) return parse_arn(s) end,
  ["aws.isVirtualHostableS3Bucket"] = function(_, s, sub_domains)
    return is_virtual_hostable_s3_bucket(s, sub_domains)
  end,
  parseURL = function(_, url) return parse_url(url) end,
  substring = function(_, s, a, b, rev) return substring(s, a, b, rev) end,
  uriEncode = function(_, s) if type(s) == "string" then return uri_encode(s) end end,
  isValidHostLabel = function(_, s, sub_domains) return is_valid_host_label(s, sub_domains) end,
}
_M.functions = functions

eval_expr = function(e, scope, ctx)
  local te = type(e)
  if te == "string" then return template(e, scope) end
  if te ~= "table" then return e end
  if e.ref ~= nil then return scope[e.ref] end
  if e.fn ~= nil then
    local f = functions[e.fn]
    if not f then fail("unsupported rules function " .. tostring(e.fn)) end
    local args, argv = {}, e.argv or {}
    for i = 1, #argv do args[i] = eval_expr(argv[i], scope, ctx) end
    return f(ctx, args[1], args[2], args[3], args[4])
  end
  local r = {}
  for k, v in pairs(e) do r[k] = eval_expr(v, scope, ctx) end
  return r
end

local function conditions_hold(conds, scope, ctx)
  for _, c in ipairs(conds or {}) do
    local v = eval_expr(c, scope, ctx)
    if v == nil or v == false then return false end
    if c.assign then
      if scope[c.assign] ~= nil then fail("rules assign to an existing name " .. c.assign) end
      scope[c.assign] = v
    end
  end
  return true
end

local function child(scope)
  return setmetatable({}, { __index = scope })
end

local function build_endpoint(ep, scope, ctx)
  local url = eval_expr(ep.url, scope, ctx)
  if type(url) ~= "string" then fail("endpoint url is not a string") end
  local headers = {}
  for name, values in pairs(ep.headers or {}) do
    local list = {}
    for i, v in ipairs(values) do list[i] = eval_expr(v, scope, ctx) end
    headers[name] = list
  end
  local properties = {}
  for k, v in pairs(ep.properties or {}) do properties[k] = eval_expr(v, scope, ctx) end
  return { url = url, properties = properties, headers = headers }
end

-- Returns (endpoint) or (nil, message) for an error rule; nil, nil when nothing matched.
local function eval_rules(rules, scope, ctx)
  for _, rule in ipairs(rules) do
    local s = child(scope)
    if conditions_hold(rule.conditions, s, ctx) then
      if rule.type == "endpoint" then
        return build_endpoint(rule.endpoint, s, ctx)
      elseif rule.type == "error" then
        local msg = eval_expr(rule.error, s, ctx)
        return nil, tostring(msg)
      elseif rule.type == "tree" then
        local ep, msg = eval_rules(rule.rules, s, ctx)
        if ep or msg then return ep, msg end
        fail("no endpoint rule matched inside a tree rule")
      else
        fail("unknown rule type " .. tostring(rule.type))
      end
    end
  end
  return nil, nil
end

--- Evaluates a rule set (as in model.endpoint_rules) for the given parameters.
-- @tparam table ruleset `{ parameters = ..., rules = ... }`
-- @tparam table params e.g. `{ Region = "us-west-2", UseFIPS = false, Endpoint = nil }`
-- @tparam table partitions as in model.partitions
-- @return `{ url=, properties=, headers= }` or `nil, err` (EndpointError)
function _M.evaluate(ruleset, params, partitions)
  if type(ruleset) ~= "table" then error("endpoints.evaluate: ruleset must be a table", 2) end
  if params ~= nil and type(params) ~= "table" then
    error("endpoints.evaluate: params must be a table", 2)
  end
  params = params or {}
  local scope = {}
  for name, def in pairs(ruleset.parameters or {}) do
    local v = params[name]
    if v == nil then v = def.default end
    if v ~= nil then
      local want = def.type == "boolean" and "boolean" or (def.type == "string" and "string") or nil
      if want and type(v) ~= want then
        return nil, make_error(format("endpoint parameter %s must be a %s", name, want))
      end
    elseif def.required then
      return nil, make_error("missing required endpoint parameter " .. name)
    end
    scope[name] = v
  end
  local ctx = { partitions = partitions or {} }
  local ok, ep, msg = pcall(eval_rules, ruleset.rules or {}, scope, ctx)
  if not ok then
    if getmetatable(ep) == RuleError then return nil, make_error(ep.message) end
    error(ep, 0)
  end
  if ep then return ep end
  return nil, make_error(msg or "no endpoint rule matched")
end

--- Resolves the endpoint from the model's rule set.
-- @tparam table params `{ Region = string|nil, UseFIPS = bool|nil, Endpoint = string|nil }`
-- @return `{ url=, properties=, headers= }` or `nil, err` (code "EndpointError",
--   message = the rule's error text, e.g. "Invalid Configuration: Missing Region")
function _M.resolve(params)
  local model = require("gameliftstreams.model")
  return _M.evaluate(model.endpoint_rules, params, model.partitions)
end

--- What is wrong with an endpoint URL parse_url refuses, and what to write instead. The URL
-- itself is not repeated (it may carry user:password@).
function _M.url_problem(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    if url:find("://", 1, true) then return "the scheme before :// is malformed; use http:// or https://" end
    return "it has no scheme: start it with http:// or https:// (e.g. http://127.0.0.1:8000)"
  end
  scheme = lower(scheme)
  if scheme ~= "http" and scheme ~= "https" then
    return "the scheme " .. scheme .. ":// is not supported; use http:// or https://"
  end
  if find(rest, "[?#]") then return "a base URL has no query (?) or fragment (#)" end
  if rest:match("^([^/]*)") == "" then return "it has no host after " .. scheme .. "://" end
  return "it is not an http(s) URL"
end

--- Client-level resolution: the endpoint the caller has settled (the option, or what
-- config.configured_endpoint found in the environment or the profile; nil for none), else the
-- model's rules. This module reads no environment and no file: configuration is settled once,
-- by the client (config.lua), and handed in. A trailing "/" of a configured endpoint is dropped.
-- @tparam table opts `{ region=, use_fips=, endpoint=, source_name= }`; source_name says where
--   `endpoint` came from, for the error about a bad URL
-- @return `{ url=, properties=, headers=, source = "configured"|"rules" }` or `nil, err`
--   (EndpointError)
function _M.for_client(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("endpoints.for_client: opts must be a table", 2) end
  local region, endpoint = opts.region, opts.endpoint
  if endpoint == "" then endpoint = nil end
  if endpoint ~= nil and type(endpoint) ~= "string" then
    return nil, make_error("endpoint must be a string")
  end
  if endpoint ~= nil then
    if not parse_url((endpoint:gsub("/+$", ""))) then
      local from = opts.source_name
      return nil, make_error("invalid endpoint URL" .. (from and (" (from " .. from .. ")") or "") .. ": "
        .. _M.url_problem(endpoint))
    end
    endpoint = endpoint:gsub("/+$", "")
  end
  if region ~= nil then
    if type(region) ~= "string" or not is_valid_host_label(region, false) then
      return nil, make_error(type(region) ~= "string" and ("region must be a string, got " .. type(region))
        or string.format("region %q is not a region name: 1 to 63 letters, digits and hyphens, starting"
          .. " with a letter or digit (e.g. us-west-2)", #region > 64 and region:sub(1, 64) .. "..." or region))
    end
  end
  local ep, err = _M.resolve{ Region = region, UseFIPS = opts.use_fips and true or false, Endpoint = endpoint }
  if not ep then return nil, err end
  ep.source = endpoint and "configured" or "rules"
  return ep
end

return _M
