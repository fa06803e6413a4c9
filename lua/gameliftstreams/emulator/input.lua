--- From an HTTP request to an operation and its input: the compiled route table
-- (ops.routes), percent-decoding, the query string, and the checks of path labels,
-- query members and the JSON body against the hand-written shapes (schema.lua).
local json = require("gameliftstreams.emulator.json")
local schema = require("gameliftstreams.emulator.schema")
local ops = require("gameliftstreams.emulator.ops")

local _M = {}

local function pct_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_query(q)
  local out = {}
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = pct_decode(k), pct_decode(v)
    out[k] = out[k] or {}
    table.insert(out[k], v)
  end
  return out
end

local function split_path(p)
  local segs = {}
  for seg in p:gmatch("/([^/]*)") do segs[#segs + 1] = seg end
  return segs
end

-- compiled route table: { method, segments (literal or { label = name }), op, success, query }
local ROUTES = {}
for _, r in ipairs(ops.routes) do
  local segs = {}
  for i, seg in ipairs(split_path(r[2])) do
    local label = seg:match("^{(%w+)}$")
    segs[i] = label and { label = label } or seg
  end
  ROUTES[#ROUTES + 1] = { method = r[1], segs = segs, op = r[3], success = r[4], query = r[5] or {} }
end

--- Finds the operation of a request: route, labels (decoded); or nil, path_matched.
function _M.route(method, path)
  local segs = split_path(path)
  local path_matched = false
  for _, r in ipairs(ROUTES) do
    if #r.segs == #segs then
      local labels, ok = {}, true
      for i, s in ipairs(r.segs) do
        if type(s) == "table" then
          labels[s.label] = pct_decode(segs[i])
        elseif s ~= segs[i] then
          ok = false
          break
        end
      end
      if ok then
        if r.method == method then return r, labels end
        path_matched = true
      end
    end
  end
  return nil, path_matched
end

local function bad(message) return nil, { code = "ValidationException", message = message } end

--- Validates labels, query and body; returns ctx fields or nil, err.
function _M.parse_input(req, route, labels)
  for name, value in pairs(labels) do
    local shape = ops.label_shapes[name]
    local ok, err = schema.check(shape, value, name)
    if ok == nil then return bad(err) end
  end
  local raw = parse_query(req.query)
  local query = {}
  for wire, member in pairs(route.query) do
    local spec = ops.query_shapes[member]
    local shape = (member == "Status" and ops.query_status_shape[route.op]) or spec.shape
    local values = raw[wire]
    if values == nil then
      if spec.required then return bad("Value at '" .. member .. "' failed to satisfy constraint: Member must not be null") end
    elseif spec.list then
      local v, err = schema.check(shape, values, member)
      if v == nil then return bad(err) end
      query[member] = v
    else
      local v = values[1]
      if spec.integer then
        if not v:match("^%-?%d+$") then return bad("Value at '" .. member .. "' must be an integer") end
        v = tonumber(v)
      end
      local cv, err = schema.check(shape, v, member)
      if cv == nil then return bad(err) end
      query[member] = cv
    end
  end
  local input = {}
  local bshape = schema.bodies[route.op]
  if bshape then
    local body = req.body or ""
    local decoded = {}
    if body:match("%S") then
      local err
      decoded, err = json.decode(body)
      if decoded == nil then return bad("The request body is not valid JSON: " .. tostring(err)) end
      if type(decoded) ~= "table" or decoded[1] ~= nil then return bad("The request body must be a JSON object") end
    end
    local err
    input, err = schema.check(bshape, decoded, "")
    if input == nil then return bad(err) end
  end
  return query, input
end

_M.pct_decode = pct_decode
_M.parse_query = parse_query

return _M
