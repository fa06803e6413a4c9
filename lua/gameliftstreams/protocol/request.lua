--- restJson1, the request side: an operation input becomes an HTTP request (method, path with
-- its labels encoded, query string, headers, JSON body), driven by the model's shapes. lua-cjson
-- 2.1.0 cannot tell `[]` from `{}` and prints integers as `7.0`, so the JSON is written here,
-- shape by shape. Reached through gameliftstreams.protocol (protocol.lua), with the response
-- side (protocol/response.lua).
local errors = require("gameliftstreams.errors")
local path_label_problem = require("gameliftstreams.validate").path_label_problem
local json_null = require("cjson").null

local _M = {}

local type, pairs, next, tostring, tonumber, pcall, error = type, pairs, next, tostring, tonumber, pcall, error
local rawget, getmetatable, setmetatable = rawget, getmetatable, setmetatable
local floor, huge, abs = math.floor, math.huge, math.abs
local math_type = math.type
local format, sub, find, lower, gsub = string.format, string.sub, string.find, string.lower, string.gsub
local concat, sort = table.concat, table.sort

local iso8601, http_date = require("gameliftstreams.text").iso8601, require("gameliftstreams.text").http_date

local function ref_name(ref)
  if type(ref) == "table" then return ref.shape end
  return ref
end

---------------------------------------------------------------------------
-- Encoding helpers
---------------------------------------------------------------------------

--- Percent-encodes every byte except the RFC 3986 unreserved characters.
_M.pct_encode = require("gameliftstreams.text").pct_encode
local pct_encode = _M.pct_encode

local function is_integral(v)
  return v == v and v ~= huge and v ~= -huge and floor(v) == v
end

--- Formats a number as JSON: integers without ".0", other numbers with the
-- shortest representation that reads back to the same double.
function _M.format_number(v)
  if math_type and math_type(v) == "integer" then
    return format("%d", v)
  end
  if v ~= v or v == huge or v == -huge then
    return nil
  end
  if is_integral(v) and abs(v) < 1e21 then
    if v == 0 then return "0" end -- -0.0 too: "-0", a valid JSON number, is no integer text
    return format("%.0f", v)
  end
  for p = 14, 17 do
    local s = format("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
  return format("%.17g", v)
end
local format_number = _M.format_number

-- A finite timestamp as text: in the shape's timestampFormat, else in `default` (restJson1: a
-- date-time in a label or the query, an HTTP date in a header, epoch seconds in the body).
local function timestamp_text(shape, v, default)
  local f = shape.timestamp_format or default
  if f == "rfc822" then return http_date(v) end
  if f == "unixTimestamp" then return format_number(v) end
  return iso8601(v)
end

--- Quotes a string for JSON: escapes quote, backslash and control characters; UTF-8 bytes and
-- DEL pass through unchanged. In C (core.json_quote): a Lua pattern scan cost about 10 ns a
-- byte, some 90 µs for the SignalRequest of a StartStreamSession under Lua 5.4.
_M.json_string = require("gameliftstreams.core").json_quote
local json_string = _M.json_string

local function sorted_keys(t)
  local keys = {}
  for k in next, t do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- The raw length of a table (LuaJIT's # is raw for tables already).
local rawlen = rawlen or function(t) return #t end -- luacheck: ignore

-- The encoder reads what validation read, the same way: raw (next, rawget, rawlen), so a
-- metatable cannot show the encoder something validation did not see (validate.lua refuses
-- tables whose metatable would), and it writes only values of the shape's type: never the
-- text of tostring() of a table.

local function member_order(shape)
  if shape.order then return shape.order end
  return sorted_keys(shape.members or {})
end

-- Shape-driven JSON encoder. Appends to `out`. Returns true or nil, message.
local encode
encode = function(shapes, shape_name, v, out)
  local shape = shapes[shape_name]
  if not shape then return nil, "no shape " .. tostring(shape_name) end
  local t = shape.type
  if t == "structure" then
    if type(v) ~= "table" then return nil, "expected a table" end
    out[#out + 1] = "{"
    local first = true
    local members = shape.members or {}
    local order = member_order(shape)
    for i = 1, #order do
      local m = order[i]
      local mv = rawget(v, m)
      local mdef = members[m]
      if mv ~= nil and mv ~= json_null and mdef and not mdef.location then
        if not first then out[#out + 1] = "," end
        first = false
        out[#out + 1] = json_string(mdef.json_name or m)
        out[#out + 1] = ":"
        local ok, err = encode(shapes, ref_name(mdef), mv, out)
        if not ok then return nil, err end
      end
    end
    out[#out + 1] = "}"
  elseif t == "list" then
    if type(v) ~= "table" then return nil, "expected a table" end
    out[#out + 1] = "["
    local member = ref_name(shape.member)
    for i = 1, rawlen(v) do
      if i > 1 then out[#out + 1] = "," end
      local ok, err = encode(shapes, member, rawget(v, i), out)
      if not ok then return nil, err end
    end
    out[#out + 1] = "]"
  elseif t == "map" then
    if type(v) ~= "table" then return nil, "expected a table" end
    out[#out + 1] = "{"
    local value_shape = ref_name(shape.value)
    local keys = sorted_keys(v)
    for i = 1, #keys do
      local k = keys[i]
      if type(k) ~= "string" then return nil, "expected string map keys" end
      if i > 1 then out[#out + 1] = "," end
      out[#out + 1] = json_string(k)
      out[#out + 1] = ":"
      local ok, err = encode(shapes, value_shape, rawget(v, k), out)
      if not ok then return nil, err end
    end
    out[#out + 1] = "}"
  elseif t == "string" or t == "enum" then
    if type(v) ~= "string" then return nil, "expected a string" end
    out[#out + 1] = json_string(v)
  elseif t == "boolean" then
    if type(v) ~= "boolean" then return nil, "expected a boolean" end
    out[#out + 1] = v and "true" or "false"
  elseif t == "integer" or t == "long" or t == "float" or t == "double"
      or t == "timestamp" then
    if type(v) ~= "number" then return nil, "expected a number" end
    local s = format_number(v)
    if not s then return nil, "non-finite number" end
    if t == "timestamp" and shape.timestamp_format and shape.timestamp_format ~= "unixTimestamp" then
      s = json_string(timestamp_text(shape, v, "unixTimestamp"))
    end
    out[#out + 1] = s
  else
    return nil, "unsupported shape type " .. tostring(t)
  end
  return true
end

--- Encodes `value` as JSON following the model shape `shape_name`.
-- @return the JSON text, or nil and a message
function _M.encode_json(model, shape_name, value)
  local out = {}
  local ok, err = encode(model.shapes, shape_name, value, out)
  if not ok then return nil, err end
  return concat(out)
end

-- A scalar for a path label, a query string or a header (in_header); nil when `v` is not of the
-- shape's type.
local function scalar_text(shapes, shape_name, v, in_header)
  local shape = shapes[shape_name] or {}
  local t = shape.type
  local vt = type(v)
  if t == "boolean" then
    if vt ~= "boolean" then return nil end
    return v and "true" or "false"
  end
  if vt == "number" then
    if t == "timestamp" then
      if not (v > -huge and v < huge) then return nil end
      return timestamp_text(shape, v, in_header and "rfc822" or "iso8601")
    end
    return format_number(v)
  end
  if vt == "string" and t ~= "timestamp" then return v end
  return nil
end

-- Raised (and caught by build_request) when a query or header value has not its shape's type.
local NOT_SCALAR = {}
local function not_scalar(m) error(setmetatable({ member = m }, NOT_SCALAR)) end

local function pct_scalar(shapes, shape_name, v, m)
  local text = scalar_text(shapes, shape_name, v)
  if text == nil then not_scalar(m) end
  return pct_encode(text)
end

-- Puts the query-string and header members of `input` into `query` and `headers` (raises
-- through not_scalar for a value of the wrong type; build_request catches it).
local function place_members(shapes, members, order, input, query, headers)
  for i = 1, #order do
    local m = order[i]
    local mdef = members[m]
    local v = rawget(input, m)
    local loc = mdef and mdef.location
    if (loc == "querystring" or loc == "header") and v ~= nil and v ~= json_null then
      local target = ref_name(mdef)
      local mshape = shapes[target] or {}
      local wire = mdef.name or m
      if loc == "querystring" then
        if mshape.type == "list" then
          local member = ref_name(mshape.member)
          if type(v) ~= "table" then not_scalar(m) end
          for j = 1, rawlen(v) do
            query[#query + 1] = pct_encode(wire) .. "=" .. pct_scalar(shapes, member, rawget(v, j), m)
          end
        elseif mshape.type == "map" then
          local value_shape = ref_name(mshape.value)
          local vshape = shapes[value_shape] or {}
          if type(v) ~= "table" then not_scalar(m) end
          local keys = sorted_keys(v)
          for j = 1, #keys do
            local k = keys[j]
            if type(k) ~= "string" then not_scalar(m) end
            local mv = rawget(v, k)
            if vshape.type == "list" then
              if type(mv) ~= "table" then not_scalar(m) end
              for x = 1, rawlen(mv) do
                query[#query + 1] = pct_encode(k) .. "=" ..
                  pct_scalar(shapes, ref_name(vshape.member), rawget(mv, x), m)
              end
            else
              query[#query + 1] = pct_encode(k) .. "=" .. pct_scalar(shapes, value_shape, mv, m)
            end
          end
        else
          query[#query + 1] = pct_encode(wire) .. "=" .. pct_scalar(shapes, target, v, m)
        end
      else
        local text
        if mshape.type == "list" then
          if type(v) ~= "table" then not_scalar(m) end
          local parts = {}
          local member = ref_name(mshape.member)
          local quote = (shapes[member] or {}).type == "string"
          for j = 1, rawlen(v) do
            local part = scalar_text(shapes, member, rawget(v, j), true)
            if part == nil then not_scalar(m) end
            -- a string holding the list's separator or a quote goes in quotes (RFC 7230 quoted-string)
            if quote and find(part, '[,"]') then part = '"' .. gsub(part, '(["\\])', "\\%1") .. '"' end
            parts[j] = part
          end
          text = concat(parts, ", ")
        else
          text = scalar_text(shapes, target, v, true)
          if text == nil then not_scalar(m) end
        end
        headers[lower(wire)] = text
      end
    end
  end
end

---------------------------------------------------------------------------
-- Request building
---------------------------------------------------------------------------

-- What every request of one operation shares, worked out on its first request: the path's
-- pieces (`path`: the URI's literal pieces in place, a slot for each label, filled and let go
-- by each request in turn) and its labels (in URI order), the literal query, the members that
-- go to the query string or a header (in member order), whether a body is sent. One per
-- operation definition, kept while the model is.
local plans = setmetatable({}, { __mode = "k" })

local function plan_of(shapes, opdef)
  local shape_name = ref_name(opdef.input)
  local shape = shape_name and shapes[shape_name] or { members = {} }
  local members = shape.members or {}
  local uri = opdef.uri or "/"
  local literal_query
  local qpos = find(uri, "?", 1, true)
  if qpos then
    literal_query = sub(uri, qpos + 1)
    uri = sub(uri, 1, qpos - 1)
  end
  local by_label, has_body = {}, false -- labels by wire name
  for m, mdef in pairs(members) do
    if mdef.location == "uri" then
      by_label[mdef.name or m] = m
    elseif not mdef.location then
      has_body = true
    end
  end
  local path, labels, pos = {}, {}, 1
  while true do
    local a, b, label = find(uri, "{([^}]+)}", pos)
    if not a then break end
    if a > pos then path[#path + 1] = sub(uri, pos, a - 1) end
    local greedy = sub(label, -1) == "+"
    if greedy then label = sub(label, 1, -2) end
    local m = by_label[label] or label
    local target = ref_name(members[m])
    local t = (shapes[target] or {}).type
    path[#path + 1] = false
    -- (plain: a string value is the label's text as it is, as scalar_text would find)
    labels[#labels + 1] = { slot = #path, member = m, greedy = greedy, shape = target,
                            plain = t ~= "boolean" and t ~= "timestamp" }
    pos = b + 1
  end
  if pos <= #uri then path[#path + 1] = sub(uri, pos) end
  local located, order = {}, member_order(shape)
  for i = 1, #order do
    local mdef = members[order[i]]
    local loc = mdef and mdef.location
    if loc == "querystring" or loc == "header" then located[#located + 1] = order[i] end
  end
  local plan = { shape_name = shape_name, members = members, path = path, labels = labels,
                 literal_query = literal_query ~= "" and literal_query or nil, has_body = has_body,
                 located = located[1] and located, method = opdef.method or "POST" }
  plans[opdef] = plan
  return plan
end

-- The plan's path of n pieces as one string: up to 5 pieces with one `..` (a single
-- concatenation: under Lua 5.4 table.concat's buffer cost about 1,000 instructions more for a
-- path of 4), more with table.concat.
local function join(path, n, base)
  if n == 4 then return base .. path[1] .. path[2] .. path[3] .. path[4] end
  if n == 2 then return base .. path[1] .. path[2] end
  if n == 3 then return base .. path[1] .. path[2] .. path[3] end
  if n == 5 then return base .. path[1] .. path[2] .. path[3] .. path[4] .. path[5] end
  if n == 1 then return base .. path[1] end
  return base .. concat(path, "", 1, n)
end

-- Lets go of the label texts the first n labels put in the plan's path.
local function let_go(plan, n)
  local path, labels = plan.path, plan.labels
  for j = 1, n do path[labels[j].slot] = false end
end

local function label_error(plan, n, op, m, problem)
  let_go(plan, n)
  local e = errors.invalid(op .. ": input." .. m .. ": " .. problem)
  e.path = "input." .. m
  return nil, e
end

local NO_INPUT = {}

-- The content-type of a request body (restJson1): build's, or its caller's when build makes
-- no headers table.
local JSON = "application/json"
_M.JSON_CONTENT_TYPE = JSON

--- Builds the HTTP request of one operation (input already validated), as five values (no
-- table: the client makes the call's request table, at its size, from them).
-- @param base optional text to put before the path (the endpoint's: the client's call then
--   makes its URL without a second string)
-- @return method, path (the encoded wire path, after base), query (the encoded query string
--   without "?", "" when none), headers (the input's members bound to headers, and content-type
--   when a body is sent; nil when the input has none of them: a body's content-type is then
--   `_M.JSON_CONTENT_TYPE` for the caller to add), body (the JSON text or nil); or nil and a
--   `SerializationError` error object.
function _M.build(model, op, input, base)
  local opdef = model.operations[op]
  if not opdef then
    return nil, errors.new{ code = "SerializationError", message = "unknown operation " .. tostring(op) }
  end
  local shapes = model.shapes
  if input == nil then input = NO_INPUT end
  local plan = plans[opdef] or plan_of(shapes, opdef)

  -- A label's value never makes a dot segment or an empty one (see validate.path_label_problem):
  -- checked here too, on the text that goes out, so no caller of build_request can retarget.
  -- Building never yields, so the plan's path holds this request's labels until concat.
  local path, labels = plan.path, plan.labels
  local nlabels = #labels
  for j = 1, nlabels do
    local label = labels[j]
    local m = label.member
    local v = rawget(input, m)
    if v == nil or v == json_null then return label_error(plan, j - 1, op, m, "required member is missing") end
    local text
    if label.plain and type(v) == "string" then
      text = v
    else
      text = scalar_text(shapes, label.shape, v)
      if text == nil then
        return label_error(plan, j - 1, op, m, "expected a " .. tostring((shapes[label.shape] or {}).type))
      end
    end
    local greedy = label.greedy
    if greedy or text == "" or text == "." or text == ".." then
      local problem = path_label_problem(text, greedy)
      if problem then return label_error(plan, j - 1, op, m, problem) end
    end
    path[label.slot] = pct_encode(text, greedy) -- a greedy label keeps its "/"
  end
  local wire_path = join(path, #path, base or "")
  let_go(plan, nlabels)

  local query = ""
  local headers -- made only for members bound to headers (the caller adds its own otherwise)
  local located = plan.located
  if located or plan.literal_query then
    local parts = { plan.literal_query }
    if located then
      headers = {}
      local placed, perr = pcall(place_members, shapes, plan.members, located, input, parts, headers)
      if not placed then
        if type(perr) ~= "table" or getmetatable(perr) ~= NOT_SCALAR then error(perr, 0) end
        local where = "input." .. tostring(perr.member)
        return nil, errors.new{ code = "SerializationError", path = where,
          message = op .. ": " .. where .. ": a value does not have the model's type" }
      end
      if next(headers) == nil then headers = nil end
    end
    query = concat(parts, "&")
  end

  local body
  if plan.has_body then
    local out = {}
    local ok, err = encode(shapes, plan.shape_name, input, out)
    if not ok then
      return nil, errors.new{ code = "SerializationError", message = op .. ": " .. err }
    end
    body = concat(out)
    if headers then headers["content-type"] = JSON end
  end

  return plan.method, wire_path, query, headers, body
end
local build = _M.build

--- Builds the HTTP request of one operation (input already validated): `_M.build`'s values as
-- `{ method=, path=, query=, headers=, body= }`; or nil and a `SerializationError` error object.
function _M.build_request(model, op, input)
  local method, path, query, headers, body = build(model, op, input)
  if not method then return nil, path end
  if not headers then headers = body and { ["content-type"] = JSON } or {} end
  return { method = method, path = path, query = query, headers = headers, body = body }
end


return _M
