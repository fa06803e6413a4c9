--- restJson1, the response side: an HTTP response becomes an output table (cjson.decode, then a
-- walk of the output shape that checks and restores the model's types) or an error object.
-- Never raises on what a server sent. Reached through gameliftstreams.protocol (protocol.lua),
-- with the request side (protocol/request.lua); the parsing choices are listed there.
local cjson_mod = require("cjson")
local errors = require("gameliftstreams.errors")
local retry = require("gameliftstreams.retry")

local _M = {}

local type, pairs, ipairs, next, tostring, tonumber, pcall = type, pairs, ipairs, next, tostring, tonumber, pcall
local setmetatable = setmetatable
local floor, huge = math.floor, math.huge
local tointeger = math.tointeger
local byte, format, sub, find, lower = string.byte, string.format, string.sub, string.find, string.lower

local cjson = cjson_mod.new and cjson_mod.new() or cjson_mod
-- NaN, Infinity and hex numbers are not JSON: a body holding them is not valid JSON (on our own
-- instance only: the global cjson keeps its settings)
if cjson ~= cjson_mod and cjson.decode_invalid_numbers then pcall(cjson.decode_invalid_numbers, false) end
local json_null = cjson_mod.null

local function ref_name(ref)
  if type(ref) == "table" then return ref.shape end
  return ref
end

---------------------------------------------------------------------------
-- Response parsing
---------------------------------------------------------------------------

local function to_int(v)
  if tointeger then
    return tointeger(v) or v
  end
  return v
end

local parse_iso8601 = require("gameliftstreams.text").parse_rfc3339
_M.parse_iso8601 = parse_iso8601

-- A JSON number written as a string ("1767225600", "1.7672256E9"): its value, else nil. Only
-- the JSON grammar, so no hex, no blanks, no "inf" or "nan".
local function strict_number(s)
  local int, rest = s:match("^%-?(%d+)(.*)$")
  if not int or (#int > 1 and byte(int) == 48) then return nil end
  if rest ~= "" then
    local fr = rest:match("^%.%d+")
    if fr then rest = sub(rest, #fr + 1) end
    if rest ~= "" and not find(rest, "^[eE][%+%-]?%d+$") then return nil end
  end
  return tonumber(s)
end

-- Converting a decoded JSON value to the model's types, checking them as the AWS JS SDK v3's
-- deserialisers do. Each shape gets a converter function, made on first use and cached per
-- shapes table: a structure walks the keys the JSON has (not every member the model lists)
-- through a key -> member table, so a sparse answer costs only what it holds, and converts the
-- decoded table in place when no member is renamed (no new tables to fill and grow). Unknown
-- keys and JSON nulls are dropped; header-bound members (`location`) are never read from the
-- body; unknown enum values pass (they are strings).
--
-- A converter returns the converted value, or nil, what was expected ("a string") and where
-- (".CreatedAt", "[2].Arn", built only on the way out of a failure). The checks are what the
-- walk costs anyway: the Lua type each member must have is compared inline (strings, enums and
-- booleans need nothing else, so no function call); numbers and timestamps get their own
-- converter; a list must be a JSON array, a map a JSON object. The value itself never goes
-- into a message (it may be a sensitive member).
local EXPECT = {
  structure = "a structure (JSON object)", list = "a list (JSON array)", map = "a map (JSON object)",
  string = "a string", enum = "a string", boolean = "a boolean",
  integer = "an integer (32-bit)", long = "an integer (64-bit)",
  float = "a finite number", double = "a finite number",
  timestamp = "a timestamp (epoch seconds, or an RFC 3339 date-time)",
}
-- The Lua type a decoded value of each shape type has (timestamps: a number or a string).
local LUA_TYPE = {
  structure = "table", list = "table", map = "table", string = "string", enum = "string",
  boolean = "boolean", integer = "number", long = "number", float = "number", double = "number",
}

local TS = EXPECT.timestamp

local function keep(v) return v end

local function to_timestamp(v)
  local tv = type(v)
  if tv == "string" then
    local n = strict_number(v)
    if not n then
      n = parse_iso8601(v)
      if not n then return nil, TS end
    end
    v = n
  elseif tv ~= "number" then
    return nil, TS
  end
  if not (v > -huge and v < huge) then return nil, TS end -- NaN fails both
  if floor(v) == v then return to_int(v) end
  return v
end

-- Integers: whole, and in the shape type's range (as the JS SDK's expectInt32 / expectLong).
local function integer_converter(lo, hi, expected)
  return function(v) -- v is a number: the caller checked the Lua type
    if not (v >= lo and v < hi) or floor(v) ~= v then return nil, expected end
    return to_int(v)
  end
end
local to_int32 = integer_converter(-2147483648, 2147483648, EXPECT.integer)
local to_int64 = integer_converter(-2 ^ 63, 2 ^ 63, EXPECT.long)

local function to_finite(v)
  if not (v > -huge and v < huge) then return nil, EXPECT.double end
  return v
end

-- A map key as it may appear in a message: a plain short name, else <key>.
local function key_path(k)
  if #k <= 64 and not find(k, "[^%w_%-%.:/]") then return "[\"" .. k .. "\"]" end
  return "[<key>]"
end

-- What is worked out once per shape, in a table per shapes table (held weakly).
local function per_shapes(store, shapes)
  local t = store[shapes]
  if not t then
    t = {}
    store[shapes] = t
  end
  return t
end

local converters = setmetatable({}, { __mode = "k" }) -- shapes table -> { [shape name] = fn }

-- The Lua type a value of shape `name` must have (nil: not checked), and what the message says.
local function expected_of(shapes, name)
  local shape = shapes[name]
  local t = shape and shape.type
  return LUA_TYPE[t], EXPECT[t]
end

local converter
converter = function(shapes, cache, name)
  local fn = cache[name]
  if fn then return fn end
  local shape = shapes[name]
  local t = shape and shape.type
  if t == "structure" then
    -- JSON key -> member name, the Lua type its value must have, what that is called, and its
    -- converter (false: nothing beyond the type check)
    local member_of, lt_of, exp_of, conv_of, renamed = {}, {}, {}, {}, false
    local function bad_key(k)
      if type(k) ~= "string" then return nil, EXPECT.structure end -- a JSON array
      return true
    end
    fn = function(v)
      if type(v) ~= "table" then return nil, EXPECT.structure end
      if renamed then
        local out = {}
        for k, jv in next, v do
          local m = member_of[k]
          if not m then
            local ok, e = bad_key(k)
            if not ok then return nil, e end
          elseif jv ~= json_null then
            local lt = lt_of[k]
            if lt and type(jv) ~= lt then return nil, exp_of[k], "." .. m end
            local c = conv_of[k]
            if c then
              local cv, ce, cp = c(jv)
              if cv == nil then return nil, ce, "." .. m .. (cp or "") end
              jv = cv
            end
            out[m] = jv
          end
        end
        return out
      end
      -- in place: only existing fields are changed or cleared while traversing, as next allows
      for k, jv in next, v do
        if not member_of[k] then
          local ok, e = bad_key(k)
          if not ok then return nil, e end
          v[k] = nil
        elseif jv == json_null then
          v[k] = nil
        else
          local lt = lt_of[k]
          if lt and type(jv) ~= lt then return nil, exp_of[k], "." .. k end
          local c = conv_of[k]
          -- (assigned even when equal: 3.0 == 3, but the integer is what is wanted)
          if c then
            local cv, ce, cp = c(jv)
            if cv == nil then return nil, ce, "." .. k .. (cp or "") end
            v[k] = cv
          end
        end
      end
      return v
    end
    cache[name] = fn -- before the members, so a shape that contains itself finds it
    for m, mdef in pairs(shape.members or {}) do
      if not mdef.location then
        local key = mdef.json_name or m
        member_of[key] = m
        if key ~= m then renamed = true end
        local target = ref_name(mdef)
        lt_of[key], exp_of[key] = expected_of(shapes, target)
        local c = converter(shapes, cache, target)
        conv_of[key] = c ~= keep and c
      end
    end
    return fn
  elseif t == "list" or t == "map" then
    local conv, elt, eexp
    if t == "list" then
      fn = function(v)
        if type(v) ~= "table" then return nil, EXPECT.list end
        local n = #v
        -- cjson gives a JSON object string keys only, a JSON array 1..n: a table without 1 but
        -- with keys was an object
        if n == 0 then
          if next(v) ~= nil then return nil, EXPECT.list end
          return v
        end
        local out, j = {}, 0
        for i = 1, n do
          local e = v[i]
          if e ~= nil and e ~= json_null then
            if elt and type(e) ~= elt then return nil, eexp, "[" .. i .. "]" end
            if conv then
              local ce, cp
              e, ce, cp = conv(e)
              if e == nil then return nil, ce, "[" .. i .. "]" .. (cp or "") end
            end
            j = j + 1
            out[j] = e
          end
        end
        return out
      end
    else
      fn = function(v) -- in place, as a structure
        if type(v) ~= "table" then return nil, EXPECT.map end
        for k, mv in next, v do
          if type(k) ~= "string" then return nil, EXPECT.map end -- a JSON array
          if mv == json_null then
            v[k] = nil
          else
            if elt and type(mv) ~= elt then return nil, eexp, key_path(k) end
            if conv then
              local cv, ce, cp = conv(mv)
              if cv == nil then return nil, ce, key_path(k) .. (cp or "") end
              v[k] = cv
            end
          end
        end
        return v
      end
    end
    cache[name] = fn
    local target = ref_name(t == "list" and shape.member or shape.value)
    elt, eexp = expected_of(shapes, target)
    conv = converter(shapes, cache, target)
    if conv == keep then conv = false end
    return fn
  elseif t == "integer" then
    fn = to_int32
  elseif t == "long" then
    fn = to_int64
  elseif t == "float" or t == "double" then
    fn = to_finite
  elseif t == "timestamp" then
    fn = to_timestamp
  else
    -- strings, enums, booleans (the caller checks the Lua type) and shapes the model does not have
    fn = keep
  end
  cache[name] = fn
  return fn
end

-- Converts `v` to shape `shape_name`: the value, or nil, expected, where (see above). A value
-- that is not the right Lua type is refused here too (the converters of numbers and of scalars
-- trust their caller's check).
local function convert(shapes, shape_name, v)
  if v == nil or v == json_null then return nil end
  local lt, exp = expected_of(shapes, shape_name)
  if lt and type(v) ~= lt then return nil, exp, "" end
  return converter(shapes, per_shapes(converters, shapes), shape_name)(v)
end

--- Converts a decoded JSON value to the model's types, following `shape_name`. The value's
-- tables are reused and changed (structures and maps in place): pass a value of your own only
-- if you are done with it.
-- @return the converted value; or nil, what was expected and where (a member path such as
--   ".Items[2].CreatedAt") when the value does not have the model's types
function _M.convert(model, shape_name, value)
  return convert(model.shapes, shape_name, value)
end

local header = require("gameliftstreams.text").header
_M.header = header

-- The members of an output shape that come from the response's headers or status code, as
-- { { member name, member def }, ... }, found once per shape.
local located = setmetatable({}, { __mode = "k" }) -- shapes table -> { [shape name] = list }

local function located_members(shapes, name)
  local cache = per_shapes(located, shapes)
  local list = cache[name]
  if not list then
    list = {}
    local shape = shapes[name]
    for m, mdef in pairs(shape and shape.members or {}) do
      if mdef.location == "header" or mdef.location == "statusCode" then list[#list + 1] = { m, mdef } end
    end
    cache[name] = list
  end
  return list
end

local function serialization_error(op, resp, message, path)
  local e = errors.new{ code = "SerializationError", status = resp.status, message = op .. ": " .. message,
    request_id = header(resp.headers, "x-amzn-requestid"), operation = op }
  e.path = path
  return e
end

local function parse_response(model, op, resp)
  local opdef = model.operations[op]
  local out_shape = opdef and ref_name(opdef.output)
  local body = resp.body
  local decoded = {}
  if body and find(body, "%S") then
    local ok, v = pcall(cjson.decode, body)
    if not ok then
      return nil, serialization_error(op, resp, "the response body is not valid JSON")
    end
    -- The body of a restJson1 answer is a JSON object. An array, a string, a number or null
    -- (cjson cannot tell [] from {}, hence the first byte) is refused, as the JS SDK v3 does.
    if type(v) ~= "table" or not find(body, "^%s*{") then
      return nil, serialization_error(op, resp, "the response body is not a JSON object")
    end
    decoded = v
  end
  if not out_shape then return {} end
  local out, expected, where = convert(model.shapes, out_shape, decoded)
  if out == nil then
    local path = "output" .. (where or "")
    return nil, serialization_error(op, resp, path .. ": expected " .. tostring(expected)
      .. " (the response has another type or an invalid value)", path)
  end
  -- header-bound and status-code output members (none in this model today)
  for _, lm in ipairs(located_members(model.shapes, out_shape)) do
    local m, mdef = lm[1], lm[2]
    if mdef.location == "header" then
      local name = lower(mdef.name or m)
      local hv = header(resp.headers, name)
      if hv ~= nil then
        local cv, hexp = convert(model.shapes, ref_name(mdef), hv)
        if cv == nil then
          return nil, serialization_error(op, resp, "response header " .. name .. ": expected "
            .. tostring(hexp), "output." .. m)
        end
        out[m] = cv
      end
    else
      out[m] = resp.status
    end
  end
  return out
end

--- Parses a successful (2xx) response. Never raises: whatever the body holds, the answer is
-- the output table or a `SerializationError` naming the member path and the type expected
-- (never the value).
-- @return the output table, or nil and a `SerializationError` error object
function _M.parse_response(model, op, resp)
  local ok, out, err = pcall(parse_response, model, op, resp)
  if ok then return out, err end
  -- a defect of this module: said without the raised text, which might quote the response
  return nil, errors.new{ code = "SerializationError", status = type(resp) == "table" and resp.status or nil,
    operation = op, message = tostring(op) .. ": the response could not be parsed" }
end

--- Normalises a restJson1 error code: strips a ":..." suffix and a "namespace#" prefix.
function _M.clean_code(code)
  if type(code) ~= "string" then return nil end
  local c = code
  local colon = find(c, ":", 1, true)
  if colon then c = sub(c, 1, colon - 1) end
  local hash = c:match(".*()#")
  if hash then c = sub(c, hash + 1) end
  c = c:match("^%s*(.-)%s*$")
  if c == "" then return nil end
  return c
end
local clean_code = _M.clean_code

local function parse_error(model, op, resp)
  local status = resp.status
  local headers = resp.headers or {}
  local decoded
  local body = resp.body
  if body and find(body, "%S") then
    local ok, v = pcall(cjson.decode, body)
    if ok and type(v) == "table" then decoded = v end
  end
  local code = clean_code(header(headers, "x-amzn-errortype"))
  if not code and decoded then
    code = clean_code(decoded.__type) or clean_code(decoded.code) or clean_code(decoded.Code)
  end
  local message
  if decoded then
    for _, k in pairs({ "message", "Message", "errorMessage", "ErrorMessage" }) do
      local m = decoded[k]
      if type(m) == "string" then message = m break end
    end
  end
  local from_status = false
  if not code then
    code = "HTTP" .. tostring(status)
    from_status = true
  end
  if not message then
    if decoded then
      message = "HTTP " .. tostring(status) .. " error without a message"
    elseif body and find(body, "%S") then
      local ctype = header(headers, "content-type")
      message = format("HTTP %s error with a non-JSON body (%s%d bytes)", tostring(status),
        ctype and (tostring(ctype) .. ", ") or "", #body)
    else
      message = "HTTP " .. tostring(status) .. " error with an empty body"
    end
  end
  -- retryable and throttling: the model's flags for its errors, else the SDK's one classifier
  local def = model.errors and model.errors[code]
  local retryable, throttling
  if def then
    retryable = def.retryable == true
    throttling = def.throttling == true
  else
    throttling = retry.THROTTLING_CODES[code] == true
    retryable = retry.classify{ code = code, status = status, throttling = throttling } ~= nil
  end
  local e = errors.new{
    code = code, message = message, status = status,
    request_id = header(headers, "x-amzn-requestid") or header(headers, "x-amz-request-id"),
    retryable = retryable, throttling = throttling, operation = op,
    fault = def and def.fault or (type(status) == "number" and status >= 500 and "server" or "client"),
  }
  if from_status then e.code_from_status = true end
  -- Modeled members of the error shape (besides the message), e.g. for future fields; left out
  -- when they do not have the model's types (the error itself is what matters).
  local shape = decoded and def and model.shapes[code]
  if shape and shape.type == "structure" then
    local fields = convert(model.shapes, code, decoded)
    if type(fields) == "table" then
      fields.Message, fields.message = nil, nil
      if next(fields) ~= nil then e.fields = fields end
    end
  end
  return e
end

--- Builds the error object of a non-2xx response. Never raises.
-- The code comes from `x-amzn-errortype`, else the body's `__type`, `code` or
-- `Code`; the status never decides the code (two errors share HTTP 409).
function _M.parse_error(model, op, resp)
  local ok, e = pcall(parse_error, model, op, resp)
  if ok then return e end
  local status = type(resp) == "table" and resp.status or nil
  return errors.new{ code = "HTTP" .. tostring(status), code_from_status = true, status = status,
    operation = op, fault = type(status) == "number" and status >= 500 and "server" or "client",
    retryable = retry.classify{ code = "HTTP" .. tostring(status), status = status } ~= nil,
    message = "HTTP " .. tostring(status) .. " error that could not be parsed" }
end

return _M
