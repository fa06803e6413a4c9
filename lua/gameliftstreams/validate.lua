--- Input validation against the model, before anything is sent.
-- Checks required members (path labels included), Lua types at every depth,
-- unknown members, strings being UTF-8, lengths (strings in code points, lists
-- and maps in entries) and integer ranges (the model's, within 32 bits for an
-- integer and 64 for a long). Enum values and patterns are left to the
-- service, as the official SDKs do. Messages name the member path and the rule,
-- never a value, so sensitive members cannot leak through them.
-- List positions in paths are 1-based Lua indices: `input.Locations[1]`.
local errors = require("gameliftstreams.errors")

local _M = {}

local type, pairs, ipairs, next, tostring, rawget, setmetatable, getmetatable =
  type, pairs, ipairs, next, tostring, rawget, setmetatable, getmetatable
local floor, huge = math.floor, math.huge
local byte, find, format = string.byte, string.find, string.format
local sort, concat = table.sort, table.concat

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

--- Number of code points in `s`, or nil when `s` is not well-formed UTF-8 (RFC 3629), counted in
-- C: a byte loop in Lua 5.4, or a pattern scan, took 50 to 140 µs for a 5 KB SignalRequest.
_M.utf8_len = require("gameliftstreams.core").utf8_len
local utf8_len = _M.utf8_len

-- JSON text is UTF-8 (RFC 8259): other bytes would be counted wrong against the length limits
-- and sent as text the service cannot read (the official SDKs' strings cannot hold them).
local NOT_UTF8 = "expected a string of UTF-8 text, got bytes that are not well-formed UTF-8"

-- The range of the model's integer shapes: 32-bit two's complement (a long's 64 bits are
-- checked in its checker, as no Lua number holds 2^63 - 1 under LuaJIT).
local INT32_MIN, INT32_MAX = -2147483648, 2147483647
local TWO63 = 2 ^ 63

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

local OPAQUE_EVENTS = { "__index", "__len", "__pairs", "__newindex" }

-- Validation and encoding see a table the same way, raw (next, rawget, a raw length): a table
-- whose metatable would show something else to `#`, indexing or pairs (__len, __index, __pairs)
-- or hides itself behind a __metatable that is not a table is refused, so what was checked is
-- all that is sent. (A table-valued __metatable is looked at in the real one's place; both
-- sides read such a table raw all the same, so they still see the same members.)
local function opaque(v)
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

-- What is wrong with v as the table of a list or map (`what`), or nil.
local function table_problem(v, what)
  if type(v) ~= "table" then return "expected " .. what .. " (table), got " .. lua_type(v) end
  if getmetatable(v) ~= nil then return opaque(v) end
  return nil
end

local function length_problem(min, max, n, what)
  if min and n < min then return format("%s %d is below the minimum of %d", what, n, min) end
  if max and n > max then return format("%s %d is above the maximum of %d", what, n, max) end
  return nil
end

-- Each shape gets a checker, made once per shapes table (as protocol/response.lua makes its
-- converters) and held weakly with it: checker(v) -> nil when v is valid, else the problem and
-- where it is below v (".Locations[2]", nil for v itself). The path is built only on the way out
-- of a failure, so a valid input costs the walk and nothing else. The checks, their order and
-- their messages are the rules at the top of this file.
local checkers = setmetatable({}, { __mode = "k" }) -- shapes table -> { [shape name] = fn }

local function per_shapes(shapes)
  local cache = checkers[shapes]
  if not cache then
    cache = {}
    checkers[shapes] = cache
  end
  return cache
end

local function no_shape(name)
  local problem = "the model has no shape '" .. tostring(name) .. "'"
  return function() return problem end
end

local checker

-- The members of a structure in the order they are checked: the model's order, else by name.
local function member_order(shape)
  local order = shape.order
  if not order then
    order = {}
    for m in pairs(shape.members or {}) do order[#order + 1] = m end
    sort(order)
  end
  return order
end

-- The Lua type a structure checks inline for a member of these shape types (no call), and
-- what its message says the member must be.
local INLINE = { string = "string", enum = "string", boolean = "boolean" }
local EXPECTED = { string = "expected a string, got ", boolean = "expected a boolean, got " }

-- With `uri` (the operation's), the checker of an operation's input, which checks its path
-- labels too: a label's problem is reported once every other check has passed, the first label
-- in member order. Not kept in `cache`: the same shape found inside a value has no labels.
local function structure_checker(shapes, cache, name, shape, uri)
  local members = shape.members or {}
  local order = member_order(shape)
  -- per member, in order: its name, ".name", whether it is required; then either the Lua type
  -- checked inline (with a string's length limits) or its checker; a path label's greediness
  local n = #order
  local names, dotted, required, inline, lo, hi, checks = {}, {}, {}, {}, {}, {}, {}
  local label = uri and {}
  local fn = function(v)
    if type(v) ~= "table" then return "expected a structure (table), got " .. lua_type(v) end
    local plain = getmetatable(v) == nil -- then v[k] is a raw read
    if not plain then
      local problem = opaque(v)
      if problem then return problem end
    end
    -- Unknown members first, in a stable order.
    local unknown, bad_label, bad_at
    for k in next, v do
      if members[k] == nil then
        if type(k) ~= "string" then
          return "expected a structure (a table with member names as keys), found a " .. type(k) .. " key"
        end
        unknown = unknown or {}
        unknown[#unknown + 1] = k
      end
    end
    if unknown then
      sort(unknown)
      local m = unknown[1]
      local msg = "unknown member '" .. m .. "'"
      local hint = suggestion(shape, m)
      if hint then return msg .. " (did you mean '" .. hint .. "'?)" end
      -- nothing close: the members there are, as gls.new lists its options (and boto3 its
      -- parameters)
      local known = {}
      for k in pairs(members) do known[#known + 1] = k end
      sort(known)
      return msg .. " (known: " .. concat(known, ", ") .. ")"
    end
    for i = 1, n do
      local mv
      if plain then mv = v[names[i]] else mv = rawget(v, names[i]) end
      if mv == nil then
        if required[i] then return "required member is missing", dotted[i] end
      else
        local lt = inline[i]
        if lt then
          if type(mv) ~= lt then return EXPECTED[lt] .. lua_type(mv), dotted[i] end
          if lt == "string" then
            local len = utf8_len(mv)
            if not len then return NOT_UTF8, dotted[i] end
            local min, max = lo[i], hi[i]
            if (min and len < min) or (max and len > max) then
              return length_problem(min, max, len, "string length"), dotted[i]
            end
          end
        else
          local problem, where = checks[i](mv)
          if problem then return problem, dotted[i] .. (where or "") end
        end
        if label then
          local greedy = label[i]
          -- (what path_label_problem can find in a plain label's text, without a call)
          if greedy ~= nil and not bad_label
              and (mv == "" or mv == "." or mv == ".." or (greedy and type(mv) == "string")) then
            bad_label = path_label_problem(mv, greedy)
            bad_at = i
          end
        end
      end
    end
    if bad_label then return bad_label, dotted[bad_at] end
    return nil
  end
  if not label then cache[name] = fn end -- before the members, so a shape that contains itself finds it
  for i = 1, n do
    local m = order[i]
    local mdef = members[m]
    local target = ref_name(mdef)
    local mshape = target ~= nil and shapes[target]
    names[i], dotted[i], required[i] = m, "." .. m, is_required(shape, m)
    inline[i] = mshape and INLINE[mshape.type] or false
    if inline[i] == "string" then lo[i], hi[i] = mshape.min, mshape.max end
    checks[i] = checker(shapes, cache, target)
    if label and mdef and mdef.location == "uri" then
      label[i] = find(uri, "{" .. (mdef.name or m) .. "+}", 1, true) ~= nil
    end
  end
  if label and next(label) == nil then return checker(shapes, cache, name) end
  return fn
end

local function list_checker(shapes, cache, name, shape)
  local element
  local fn = function(v)
    local problem = table_problem(v, "a list")
    if problem then return problem end
    local n = 0
    for k in next, v do
      if type(k) ~= "number" or k < 1 or floor(k) ~= k then
        return "expected a list (a sequence table), found a "
          .. (type(k) == "number" and "non-sequence number" or type(k)) .. " key"
      end
      n = n + 1
    end
    for i = 1, n do
      if rawget(v, i) == nil then return "expected a list (a sequence table), found holes" end
    end
    problem = length_problem(shape.min, shape.max, n, "list length")
    if problem then return problem end
    for i = 1, n do
      local where
      problem, where = element(rawget(v, i))
      if problem then return problem, "[" .. i .. "]" .. (where or "") end
    end
    return nil
  end
  cache[name] = fn
  element = checker(shapes, cache, ref_name(shape.member))
  return fn
end

local function map_checker(shapes, cache, name, shape)
  local key_name = ref_name(shape.key)
  local key_shape = key_name and shapes[key_name]
  local hidden = key_shape and key_shape.sensitive
  local key_check, value_check
  local fn = function(v)
    local problem = table_problem(v, "a map")
    if problem then return problem end
    local keys = {}
    for k in next, v do
      if type(k) ~= "string" then
        return "expected a map with string keys, found a " .. type(k) .. " key"
      end
      keys[#keys + 1] = k
    end
    sort(keys)
    problem = length_problem(shape.min, shape.max, #keys, "map size")
    if problem then return problem end
    for i = 1, #keys do
      local k = keys[i]
      local where
      if key_check then
        problem, where = key_check(k)
        if problem then
          return problem, "[" .. (hidden and "<key>" or key_repr(k)) .. "] (key)" .. (where or "")
        end
      end
      problem, where = value_check(rawget(v, k))
      if problem then return problem, "[" .. (hidden and "<key>" or key_repr(k)) .. "]" .. (where or "") end
    end
    return nil
  end
  cache[name] = fn
  key_check = key_name and checker(shapes, cache, key_name)
  value_check = checker(shapes, cache, ref_name(shape.value))
  return fn
end

-- The checker of the shape called `name` in `shapes` (made on first use, kept in `cache`).
checker = function(shapes, cache, name)
  if name == nil then return no_shape(name) end
  local fn = cache[name]
  if fn then return fn end
  local shape = shapes[name]
  if not shape then
    fn = no_shape(name)
    cache[name] = fn
    return fn
  end
  local t = shape.type
  if t == "structure" then return structure_checker(shapes, cache, name, shape) end
  if t == "list" then return list_checker(shapes, cache, name, shape) end
  if t == "map" then return map_checker(shapes, cache, name, shape) end
  local lo, hi = shape.min, shape.max
  if t == "string" or t == "enum" then
    fn = function(v)
      if type(v) ~= "string" then return "expected a string, got " .. lua_type(v) end
      local len = utf8_len(v)
      if not len then return NOT_UTF8 end
      return length_problem(lo, hi, len, "string length")
    end
  elseif t == "integer" or t == "long" then
    -- a bound of the type itself, not the model's, is named as such
    local lo_why, hi_why = "", ""
    if t == "integer" then
      if not lo or lo < INT32_MIN then lo, lo_why = INT32_MIN, " (a 32-bit integer)" end
      if not hi or hi > INT32_MAX then hi, hi_why = INT32_MAX, " (a 32-bit integer)" end
    end
    fn = function(v)
      local lt = lua_type(v)
      if lt ~= "integer number" then return "expected an integer, got " .. lt end
      if lo and v < lo then return format("value is below the minimum of %d", lo) .. lo_why end
      if hi and v > hi then return format("value is above the maximum of %d", hi) .. hi_why end
      if v >= TWO63 or v < -TWO63 then return "value is outside the range of a 64-bit integer" end
      return nil
    end
  elseif t == "float" or t == "double" then
    fn = function(v)
      local lt = lua_type(v)
      if type(v) ~= "number" or lt == "non-finite number" then
        return "expected a finite number, got " .. lt
      end
      if lo and v < lo then return "value is below the minimum of " .. tostring(lo) end
      if hi and v > hi then return "value is above the maximum of " .. tostring(hi) end
      return nil
    end
  elseif t == "boolean" then
    fn = function(v)
      if type(v) ~= "boolean" then return "expected a boolean, got " .. lua_type(v) end
      return nil
    end
  elseif t == "timestamp" then
    fn = function(v)
      local lt = lua_type(v)
      if type(v) ~= "number" or lt == "non-finite number" then
        return "expected a timestamp (epoch seconds as a number), got " .. lt
      end
      return nil
    end
  else
    local problem = "unsupported shape type '" .. tostring(t) .. "'"
    fn = function() return problem end
  end
  cache[name] = fn
  return fn
end


local function invalid(op, path, problem)
  local err = errors.invalid(op .. ": " .. path .. ": " .. problem)
  err.path = path
  return nil, err
end

-- What validating an operation's input takes, made on its first call and kept while the
-- operation's definition is: the input shape's checker, path labels included (none: the
-- operation takes no input).
local plans = setmetatable({}, { __mode = "k" }) -- opdef -> plan (for one shapes table)

local function plan_of(shapes, opdef)
  local shape_name = ref_name(opdef.input)
  local plan = { shapes = shapes }
  if shape_name then
    local cache, shape = per_shapes(shapes), shapes[shape_name]
    local t = shape and shape.type
    if t == "structure" then
      plan.check = structure_checker(shapes, cache, shape_name, shape, opdef.uri or "")
    else
      plan.check = checker(shapes, cache, shape_name)
    end
    -- a structure, list or map checker refuses what is not a table first; another does not
    plan.tables_only = t == "structure" or t == "list" or t == "map"
  end
  plans[opdef] = plan
  return plan
end

local NO_INPUT = {}

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
  local shapes = model.shapes
  local plan = plans[opdef]
  if not plan or plan.shapes ~= shapes then plan = plan_of(shapes, opdef) end
  if input == nil then input = NO_INPUT end
  local check = plan.check
  if not check then
    if type(input) ~= "table" or next(input) ~= nil then
      return invalid(op, "input", "this operation takes no input")
    end
    return true
  end
  local problem, where
  if plan.tables_only or type(input) == "table" then problem, where = check(input) end
  if problem or not plan.tables_only then
    if type(input) ~= "table" then
      return invalid(op, "input", "expected a table, got " .. lua_type(input))
    end
    if problem then return invalid(op, "input" .. (where or ""), problem) end
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
        and (" (did you mean '" .. hint .. "'?)") or (" (known: " .. concat(names, ", ") .. ")")))
    end
    if not rule[1](v) then
      return nil, errors.invalid(where .. ": option '" .. k .. "' must be " .. rule[2] .. ", got "
        .. lua_type(v))
    end
  end
  return true
end

return _M
