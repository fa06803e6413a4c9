--- JSON for the emulator: decoding through lua-cjson, encoding by hand so that
-- integers print as integers (cjson would print 5.0 or 1.7e+09), timestamps keep
-- their milliseconds, empty lists print as [] and object keys come out sorted.
local cjson = require("cjson").new()

local _M = {}

local ARRAY = {}
local floor, huge = math.floor, math.huge
local format, concat, sort = string.format, table.concat, table.sort

_M.null = cjson.null

--- Marks a table as a JSON array (so an empty one encodes as []).
function _M.array(t)
  return setmetatable(t or {}, ARRAY)
end

function _M.is_array(t)
  return getmetatable(t) == ARRAY
end

local ESC = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
local function escape_char(c)
  return ESC[c] or format("\\u%04x", c:byte())
end

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', escape_char) .. '"'
end

local function encode_number(x)
  if x ~= x or x == huge or x == -huge then
    error("json: cannot encode " .. tostring(x))
  end
  if floor(x) == x and x > -2^53 and x < 2^53 then
    return format("%d", x)
  end
  -- shortest form that reads back as the same double
  for digits = 15, 17 do
    local s = format("%." .. digits .. "g", x)
    if tonumber(s) == x then return s end
  end
  return format("%.17g", x)
end
_M.encode_number = encode_number

local encode_value

local function encode_table(t, out)
  local n = #t
  if getmetatable(t) == ARRAY or n > 0 then
    out[#out + 1] = "["
    for i = 1, n do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], out)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then error("json: object key must be a string") end
    keys[#keys + 1] = k
  end
  sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = encode_string(k)
    out[#out + 1] = ":"
    encode_value(t[k], out)
  end
  out[#out + 1] = "}"
end

encode_value = function(v, out)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = encode_string(v)
  elseif tv == "number" then
    out[#out + 1] = encode_number(v)
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "table" then
    encode_table(v, out)
  elseif v == cjson.null then
    out[#out + 1] = "null"
  else
    error("json: cannot encode a " .. tv)
  end
end

--- Encodes a Lua value. Tables with t[1] or marked by json.array are arrays.
function _M.encode(v)
  local out = {}
  encode_value(v, out)
  return concat(out)
end

--- Decodes a JSON text; returns value or nil, message.
function _M.decode(s)
  local ok, v = pcall(cjson.decode, s)
  if not ok then return nil, tostring(v) end
  return v
end

return _M
