--- Input validation against the model, before anything is sent.
-- Checks required members (path labels included), Lua types at every depth,
-- unknown members, lengths (strings in UTF-8 code points, lists and maps in
-- entries) and integer ranges. Enum values and patterns are left to the
-- service, as the official SDKs do. Messages name the member path and the rule,
-- never a value, so sensitive members cannot leak through them.
-- List positions in paths are 1-based Lua indices: `input.Locations[1]`.
local errors = require("gameliftstreams.errors")

local _M = {}

local type, pairs, ipairs, next, tostring, rawget, setmetatable, getmetatable =
  type, pairs, ipairs, next, tostring, rawget, setmetatable, getmetatable
local floor, huge = math.floor, math.huge
local byte, format = string.byte, string.format
local sort = table.sort

local function ref_name(ref)
  if type(ref) == "table" then return ref.shape end
  return ref
end
_M.ref_name = ref_name

local function is_required(shape, name)
  local req = shape.required
  if not req then return false end
  if req[name] == true then return true end
  for i = 1, #req do
    if req[i] == name then return true end
  end
  return false
end
_M.is_required = is_required

--- Number of UTF-8 code points in `s` (continuation bytes are not counted), counted in C: a
-- byte loop in Lua 5.4, or a pattern scan, took 50 to 140 µs for a 5 KB SignalRequest.
_M.utf8_len = require("gameliftstreams.core").utf8_len
local utf8_len = _M.utf8_len

local function lua_type(v)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == huge or v == -huge then return "non-finite number" end
    if floor(v) == v then return "integer number" end
    return "fractional number"
  end
  return t
end

-- Levenshtein distance, for "did you mean" hints on typos.
local function distance(a, b)
  a, b = a:lower(), b:lower()
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = byte(a, i)
    for j = 1, lb do
      local cost = (ca == byte(b, j)) and 0 or 1
      local d = prev[j] + 1
      if cur[j - 1] + 1 < d then d = cur[j - 1] + 1 end
      if prev[j - 1] + cost < d then d = prev[j - 1] + cost end
      cur[j] = d
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end

--- The candidate closest to `name` (a likely typo), or nil when none is close.
-- @tparam string name what was given
-- @tparam table candidates a set (name -> anything) of valid names
function _M.closest(name, candidates)
  local best, best_d
  for m in pairs(candidates) do
    local d = distance(name, m)
    if d <= 3 and d < #m and (not best_d or d < best_d or (d == best_d and m < best)) then
      best, best_d = m, d
    end
  end
  return best
end

local function suggestion(shape, name)
  return _M.closest(name, shape.members or {})
end

local function key_repr(k)
  if type(k) == "string" then
    if k:match("^[%w_%-%.]*$") then return '"' .. k .. '"' end
    return format("%q", k):gsub("\\\n", "\\n")
  end
  return "<" .. type(k) .. ">"
end

local check, opaque
local OPAQUE_EVENTS = { "__index", "__len", "__pairs", "__newindex" }

local function fail(ctx, path, msg)
  ctx.err = errors.invalid(ctx.op .. ": " .. path .. ": " .. msg)
  ctx.err.path = path
  return false
end

local function check_length(ctx, path, shape, n, what)
  if shape.min and n < shape.min then
    return fail(ctx, path, format("%s %d is below the minimum of %d", what, n, shape.min))
  end
  if shape.max and n > shape.max then
    return fail(ctx, path, format("%s %d is above the maximum of %d", what, n, shape.max))
  end
  return true
end

local function check_structure(ctx, path, shape, v)
  local members = shape.members or {}
  -- Unknown members first, in a stable order.
  local unknown
  for k in next, v do
    if type(k) ~= "string" then
      return fail(ctx, path, "expected a structure (a table with member names as keys), found a "
        .. type(k) .. " key")
    end
    if members[k] == nil then
      unknown = unknown or {}
      unknown[#unknown + 1] = k
    end
  end
  if unknown then
    sort(unknown)
    local name = unknown[1]
    local msg = "unknown member '" .. name .. "'"
    local hint = suggestion(shape, name)
    if hint then msg = msg .. " (did you mean '" .. hint .. "'?)" end
    return fail(ctx, path, msg)
  end
  local order = shape.order
  if not order then
    order = {}
    for m in pairs(members) do order[#order + 1] = m end
    sort(order)
  end
  for i = 1, #order do
    local m = order[i]
    local mv = rawget(v, m)
    local mpath = path .. "." .. m
    if mv == nil then
      if is_required(shape, m) then
        return fail(ctx, mpath, "required member is missing")
      end
    elseif not check(ctx, mpath, ref_name(members[m]), mv) then
      return false
    end
  end
  return true
end

local function check_list(ctx, path, shape, v)
  local n = 0
  for k in next, v do
    if type(k) ~= "number" or k < 1 or floor(k) ~= k then
      return fail(ctx, path, "expected a list (a sequence table), found a "
        .. (type(k) == "number" and "non-sequence number" or type(k)) .. " key")
    end
    n = n + 1
  end
  for i = 1, n do
    if rawget(v, i) == nil then
      return fail(ctx, path, "expected a list (a sequence table), found holes")
    end
  end
  if not check_length(ctx, path, shape, n, "list length") then return false end
  local member = ref_name(shape.member)
  for i = 1, n do
    if not check(ctx, path .. "[" .. i .. "]", member, rawget(v, i)) then return false end
  end
  return true
end

local function check_map(ctx, path, shape, v)
  local keys = {}
  for k in next, v do
    if type(k) ~= "string" then
      return fail(ctx, path, "expected a map with string keys, found a " .. type(k) .. " key")
    end
    keys[#keys + 1] = k
  end
  sort(keys)
  if not check_length(ctx, path, shape, #keys, "map size") then return false end
  local key_shape_name = ref_name(shape.key)
  local key_shape = key_shape_name and ctx.shapes[key_shape_name]
  local value_shape = ref_name(shape.value)
  for i = 1, #keys do
    local k = keys[i]
    local shown = (key_shape and key_shape.sensitive) and "<key>" or key_repr(k)
    local kpath = path .. "[" .. shown .. "]"
    if key_shape_name and not check(ctx, kpath .. " (key)", key_shape_name, k) then
      return false
    end
    if not check(ctx, kpath, value_shape, rawget(v, k)) then return false end
  end
  return true
end

-- Validation and encoding see a table the same way, raw (next, rawget, a raw length): a table
-- whose metatable would show something else to `#`, indexing or pairs (__len, __index, __pairs)
-- or hides itself (__metatable) is refused, so what was checked is all that is sent.
function opaque(v)
  local mt = getmetatable(v)
  if type(mt) ~= "table" then
    return "expected a plain table, got a table with a protected metatable"
  end
  for _, event in ipairs(OPAQUE_EVENTS) do
    if rawget(mt, event) ~= nil then
      return "expected a plain table, got a table whose metatable has " .. event
        .. " (what it shows is not what it holds)"
    end
  end
  return nil
end

check = function(ctx, path, shape_name, v)
  local shape = ctx.shapes[shape_name]
  if not shape then
    return fail(ctx, path, "the model has no shape '" .. tostring(shape_name) .. "'")
  end
  local t = shape.type
  local vt = type(v)
  if vt == "table" and (t == "structure" or t == "list" or t == "map") and getmetatable(v) ~= nil then
    local problem = opaque(v)
    if problem then return fail(ctx, path, problem) end
  end
  if t == "structure" then
    if vt ~= "table" then return fail(ctx, path, "expected a structure (table), got " .. lua_type(v)) end
    return check_structure(ctx, path, shape, v)
  elseif t == "list" then
    if vt ~= "table" then return fail(ctx, path, "expected a list (table), got " .. lua_type(v)) end
    return check_list(ctx, path, shape, v)
  elseif t == "map" then
    if vt ~= "table" then return fail(ctx, path, "expected a map (table), got " .. lua_type(v)) end
    return check_map(ctx, path, shape, v)
  elseif t == "string" or t == "enum" then
    if vt ~= "string" then return fail(ctx, path, "expected a string, got " .. lua_type(v)) end
    return check_length(ctx, path, shape, utf8_len(v), "string length")
  elseif t == "integer" or t == "long" then
    local lt = lua_type(v)
    if lt ~= "integer number" then
      return fail(ctx, path, "expected an integer, got " .. lt)
    end
    if shape.min and v < shape.min then
      return fail(ctx, path, format("value is below the minimum of %d", shape.min))
    end
    if shape.max and v > shape.max then
      return fail(ctx, path, format("value is above the maximum of %d", shape.max))
    end
    return true
  elseif t == "float" or t == "double" then
    local lt = lua_type(v)
    if vt ~= "number" or lt == "non-finite number" then
      return fail(ctx, path, "expected a finite number, got " .. lt)
    end
    if shape.min and v < shape.min then
      return fail(ctx, path, "value is below the minimum of " .. tostring(shape.min))
    end
    if shape.max and v > shape.max then
      return fail(ctx, path, "value is above the maximum of " .. tostring(shape.max))
    end
    return true
  elseif t == "boolean" then
    if vt ~= "boolean" then return fail(ctx, path, "expected a boolean, got " .. lua_type(v)) end
    return true
  elseif t == "timestamp" then
    local lt = lua_type(v)
    if vt ~= "number" or lt == "non-finite number" then
      return fail(ctx, path, "expected a timestamp (epoch seconds as a number), got " .. lt)
    end
    return true
  end
  return fail(ctx, path, "unsupported shape type '" .. tostring(t) .. "'")
end

--- What is wrong with `text` as the value of a path label, or nil when nothing is. A label that
-- is empty, "." or ".." would make a path segment that HTTP stacks remove or resolve (RFC 3986
-- dot segments), so the request would go to another resource: `ListStreamSessions` with the
-- Identifier ".." would become `GET /streamsessions`, ListStreamSessionsByAccount. A plain label
-- is sent encoded whole ("/" as %2F), so only the whole value matters; a greedy label (`{Name+}`)
-- keeps its "/", so each of its segments is checked.
-- @tparam string text the label's text
-- @tparam[opt] boolean greedy whether the label is greedy
function _M.path_label_problem(text, greedy)
  if text == "" or text == "." or text == ".." then
    return "a path label cannot be empty, \".\" or \"..\" (it would change the request's path)"
  end
  if greedy then
    local seg = "/" .. text .. "/"
    if seg:find("//", 1, true) or seg:find("/%.%.?/") then
      return "a greedy path label cannot have an empty, \".\" or \"..\" segment (it would change "
        .. "the request's path)"
    end
  end
  return nil
end
local path_label_problem = _M.path_label_problem

-- The path label members of an operation as { member name = greedy }, found once per operation.
local labels_of = setmetatable({}, { __mode = "k" })

local function path_labels(opdef, shape)
  local labels = labels_of[opdef]
  if labels then return labels end
  labels = {}
  local uri = opdef.uri or ""
  for m, mdef in pairs(shape.members or {}) do
    if mdef.location == "uri" then
      local wire = mdef.name or m
      labels[m] = uri:find("{" .. wire .. "+}", 1, true) ~= nil
    end
  end
  labels_of[opdef] = labels
  return labels
end

--- Validates the input of one operation.
-- @tparam table model the generated model
-- @tparam string op the operation name (PascalCase)
-- @param input the caller's input table (nil means an empty input)
-- @return true, or nil and an `InvalidParameter` error object
function _M.input(model, op, input)
  local opdef = model.operations[op]
  if not opdef then
    return nil, errors.invalid("unknown operation '" .. tostring(op) .. "'")
  end
  local ctx = { shapes = model.shapes, op = op }
  local shape_name = ref_name(opdef.input)
  if input == nil then input = {} end
  if not shape_name then
    if type(input) ~= "table" or next(input) ~= nil then
      return nil, errors.invalid(op .. ": input: this operation takes no input")
    end
    return true
  end
  if type(input) ~= "table" then
    return nil, errors.invalid(op .. ": input: expected a table, got " .. lua_type(input))
  end
  if not check(ctx, "input", shape_name, input) then return nil, ctx.err end
  for m, greedy in pairs(path_labels(opdef, ctx.shapes[shape_name])) do
    local v = rawget(input, m)
    if type(v) == "string" then
      local problem = path_label_problem(v, greedy)
      if problem then
        fail(ctx, "input." .. m, problem)
        return nil, ctx.err
      end
    end
  end
  return true
end

--- Checks an options table against `spec` (name -> { check(v) -> bool, "what it must be" }), as
-- gls.new checks its own: an unknown name (with a "did you mean" hint) or a value that fails
-- its check. Used by waiters, paginators and start_session_and_wait.
-- @tparam string where the function the options belong to, for the message ("wait")
-- @return true, or nil and an `InvalidParameter` error object naming the option and the rule
function _M.options(where, opts, spec)
  if opts == nil then return true end
  if type(opts) ~= "table" then
    return nil, errors.invalid(where .. ": options must be a table, got " .. type(opts))
  end
  for k, v in pairs(opts) do
    if type(k) ~= "string" then
      return nil, errors.invalid(where .. ": option names must be strings, got a " .. type(k))
    end
    local rule = spec[k]
    if not rule then
      local hint = _M.closest(k, spec)
      local names = {}
      for n in pairs(spec) do names[#names + 1] = n end
      sort(names)
      return nil, errors.invalid(where .. ": unknown option '" .. k .. "'" .. (hint
        and (" (did you mean '" .. hint .. "'?)") or (" (known: " .. table.concat(names, ", ") .. ")")))
    end
    if not rule[1](v) then
      return nil, errors.invalid(where .. ": option '" .. k .. "' must be " .. rule[2] .. ", got "
        .. lua_type(v))
    end
  end
  return true
end

return _M
