-- Generates lua/gameliftstreams/model.lua from the official botocore model files.
--
-- A build tool, not part of the library, and one file (over 500 lines) on purpose: it runs as a
-- single script from `make model` with nothing beside it, and writes model.lua, the LuaLS types
-- and docs/OPERATIONS.md from the same parsed model in one pass.
--
--   lua5.4 tools/genmodel.lua model/botocore lua/gameliftstreams/model.lua   (or: make model)
--
-- Reads service-2.json, paginators-1.json, waiters-2.json, endpoint-rule-set-1.json,
-- ../gameliftstreams.smithy.json beside BOTOCORE_DIR (waiter minDelay/maxDelay and anchored patterns, which
-- botocore lacks) and tools/partitions.lua (hand-kept partition data). Writes one
-- deterministic Lua module (sorted keys, no timestamps, no documentation text).
-- Loaded without arguments (dofile) it returns the module table, so specs can call
-- _M.generate() under any interpreter. Runs under Lua 5.4 and LuaJIT.

local _M = {}

local byte, char, sub, find, format = string.byte, string.char, string.sub, string.find, string.format
local concat, sort, insert = table.concat, table.sort, table.insert
local floor, tointeger = math.floor, math.tointeger

---------------------------------------------------------------------------
-- A small JSON reader that keeps the key order of objects (member order is
-- part of the model: `order` lists structure members as the model lists them).
---------------------------------------------------------------------------

local key_order = setmetatable({}, { __mode = "k" })

local function utf8_char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then
    return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40)
  end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
              0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function json_decode(s)
  local pos = 1
  local function fail(msg) error(format("json: %s at byte %d", msg, pos), 0) end
  local function skip()
    pos = find(s, "[^ \t\r\n]", pos) or #s + 1
  end
  local value
  local function str()
    pos = pos + 1
    local buf = {}
    while true do
      local a, b = find(s, '^[^"\\]+', pos)
      if a then buf[#buf + 1] = sub(s, a, b); pos = b + 1 end
      local c = sub(s, pos, pos)
      if c == '"' then pos = pos + 1; return concat(buf) end
      if c ~= "\\" then fail("unterminated string") end
      local e = sub(s, pos + 1, pos + 1)
      if e == "u" then
        local cp = tonumber(sub(s, pos + 2, pos + 5), 16) or fail("bad \\u escape")
        pos = pos + 6
        if cp >= 0xD800 and cp < 0xDC00 and sub(s, pos, pos + 1) == "\\u" then
          local lo = tonumber(sub(s, pos + 2, pos + 5), 16)
          if lo and lo >= 0xDC00 and lo < 0xE000 then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            pos = pos + 6
          end
        end
        buf[#buf + 1] = utf8_char(cp)
      else
        buf[#buf + 1] = escapes[e] or fail("bad escape")
        pos = pos + 2
      end
    end
  end
  value = function()
    skip()
    local c = sub(s, pos, pos)
    if c == "{" then
      local obj, keys = {}, {}
      pos = pos + 1
      skip()
      if sub(s, pos, pos) == "}" then pos = pos + 1; key_order[obj] = keys; return obj end
      while true do
        skip()
        if sub(s, pos, pos) ~= '"' then fail("expected key") end
        local k = str()
        skip()
        if sub(s, pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        if obj[k] == nil then keys[#keys + 1] = k end
        obj[k] = value()
        skip()
        c = sub(s, pos, pos)
        pos = pos + 1
        if c == "}" then key_order[obj] = keys; return obj end
        if c ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      local arr = {}
      pos = pos + 1
      skip()
      if sub(s, pos, pos) == "]" then pos = pos + 1; return arr end
      while true do
        arr[#arr + 1] = value()
        skip()
        c = sub(s, pos, pos)
        pos = pos + 1
        if c == "]" then return arr end
        if c ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    elseif sub(s, pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif sub(s, pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif sub(s, pos, pos + 3) == "null" then pos = pos + 4; return nil
    else
      local a, b = find(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not a then fail("unexpected character") end
      pos = b + 1
      local n = tonumber(sub(s, a, b)) or fail("bad number")
      if tointeger then n = tointeger(n) or n end
      return n
    end
  end
  local v = value()
  skip()
  if pos <= #s then fail("trailing data") end
  return v
end
_M.json_decode = json_decode

local function keys_in_order(obj)
  return key_order[obj] or {}
end

---------------------------------------------------------------------------
-- ECMA-262 regex (the subset the model uses) -> list of Lua patterns.
-- A value matches the regex when it matches any of the patterns. Alternation
-- inside a group is expanded; top-level alternation, quantified groups and
-- anything unknown give nil (the consumer then needs a hand-written check).
---------------------------------------------------------------------------

local function lua_escape_char(c)
  if find(c, "^%w$") then return c end
  return "%" .. c
end

local function tokenize(re)
  local toks, i, n = {}, 1, #re
  local function esc_char(j)
    local e = sub(re, j, j)
    if e == "x" then
      local h = tonumber(sub(re, j + 1, j + 2), 16)
      if not h then return nil end
      return { t = "char", v = char(h) }, j + 3
    elseif e == "d" then return { t = "set", v = "%d" }, j + 1
    elseif e == "w" then return { t = "set", v = "[%w_]" }, j + 1
    elseif e == "s" then return { t = "set", v = "%s" }, j + 1
    elseif e == "n" then return { t = "char", v = "\n" }, j + 1
    elseif e == "t" then return { t = "char", v = "\t" }, j + 1
    elseif e == "r" then return { t = "char", v = "\r" }, j + 1
    elseif find(e, "^%p$") then return { t = "char", v = e }, j + 1
    end
    return nil
  end
  while i <= n do
    local c = sub(re, i, i)
    if c == "\\" then
      local tok, j = esc_char(i + 1)
      if not tok then return nil end
      toks[#toks + 1] = tok
      i = j
    elseif c == "[" then
      local j = i + 1
      local negate = false
      if sub(re, j, j) == "^" then negate = true; j = j + 1 end
      local items = {}
      local function atom(k)
        local a = sub(re, k, k)
        if a == "\\" then
          local tok, nk = esc_char(k + 1)
          if not tok then return nil end
          return tok, nk
        end
        if a == "" then return nil end
        return { t = "char", v = a }, k + 1
      end
      local first = true
      while true do
        local a = sub(re, j, j)
        if a == "]" and not first then j = j + 1; break end
        first = false
        local lo, nj = atom(j)
        if not lo then return nil end
        if sub(re, nj, nj) == "-" and sub(re, nj + 1, nj + 1) ~= "]" and lo.t == "char" then
          local hi, nk = atom(nj + 1)
          if not hi or hi.t ~= "char" then return nil end
          if find(lo.v .. hi.v, "[%%%]%^%-]") then return nil end
          items[#items + 1] = lo.v .. "-" .. hi.v
          j = nk
        else
          if lo.t == "set" then
            if sub(lo.v, 1, 1) == "[" then items[#items + 1] = sub(lo.v, 2, -2)
            else items[#items + 1] = lo.v end
          else
            items[#items + 1] = lua_escape_char(lo.v)
          end
          j = nj
        end
      end
      toks[#toks + 1] = { t = "set", v = "[" .. (negate and "^" or "") .. concat(items) .. "]" }
      i = j
    elseif c == "(" then
      if sub(re, i + 1, i + 1) == "?" then return nil end
      toks[#toks + 1] = { t = "open" }; i = i + 1
    elseif c == ")" then toks[#toks + 1] = { t = "close" }; i = i + 1
    elseif c == "|" then toks[#toks + 1] = { t = "alt" }; i = i + 1
    elseif c == "." then toks[#toks + 1] = { t = "set", v = "[^\n\r]" }; i = i + 1
    elseif c == "^" then toks[#toks + 1] = { t = "bol" }; i = i + 1
    elseif c == "$" then toks[#toks + 1] = { t = "eol" }; i = i + 1
    elseif c == "*" or c == "+" or c == "?" then
      toks[#toks + 1] = { t = "quant", lo = (c == "+") and 1 or 0, hi = (c ~= "?") and -1 or 1, sym = c }
      i = i + 1
    elseif c == "{" then
      local a, b, lo, comma, hi = find(re, "^{(%d+)(,?)(%d*)}", i)
      if not a then return nil end
      lo = tonumber(lo)
      if comma == "" then hi = lo elseif hi == "" then hi = -1 else hi = tonumber(hi) end
      toks[#toks + 1] = { t = "quant", lo = lo, hi = hi }
      i = b + 1
    else
      toks[#toks + 1] = { t = "char", v = c }; i = i + 1
    end
  end
  return toks
end

local function slice(t, a, b)
  local r = {}
  for k = a, b do r[#r + 1] = t[k] end
  return r
end

local function join(...)
  local r = {}
  for _, part in ipairs({ ... }) do
    for _, v in ipairs(part) do r[#r + 1] = v end
  end
  return r
end

-- Expands groups away: returns a list of token lists without open/close/alt, or nil.
local function expand(toks, depth)
  if depth > 8 then return nil end
  local i, n = 1, #toks
  while i <= n do
    local t = toks[i]
    if t.t == "alt" then return nil end -- top-level alternation
    if t.t == "close" then return nil end
    if t.t == "open" then
      local d, j, alts = 1, i + 1, { i }
      while j <= n do
        local u = toks[j].t
        if u == "open" then d = d + 1
        elseif u == "close" then d = d - 1; if d == 0 then break end
        elseif u == "alt" and d == 1 then alts[#alts + 1] = j end
        j = j + 1
      end
      if j > n then return nil end
      if toks[j + 1] and toks[j + 1].t == "quant" then return nil end
      alts[#alts + 1] = j
      local prefix, suffix = slice(toks, 1, i - 1), slice(toks, j + 1, n)
      local out = {}
      for k = 1, #alts - 1 do
        local sub_list = expand(join(prefix, slice(toks, alts[k] + 1, alts[k + 1] - 1), suffix), depth + 1)
        if not sub_list then return nil end
        for _, v in ipairs(sub_list) do out[#out + 1] = v end
      end
      return out
    end
    i = i + 1
  end
  return { toks }
end

local function emit(toks)
  local out, n = {}, #toks
  local i = 1
  while i <= n do
    local t = toks[i]
    local atom
    if t.t == "bol" then
      if i ~= 1 then return nil end
      atom = "^"
    elseif t.t == "eol" then
      if i ~= n then return nil end
      atom = "$"
    elseif t.t == "char" then atom = lua_escape_char(t.v)
    elseif t.t == "set" then atom = t.v
    else return nil end
    local q = toks[i + 1]
    if q and q.t == "quant" then
      if t.t == "bol" or t.t == "eol" then return nil end
      if q.sym then
        out[#out + 1] = atom .. q.sym
      else
        for _ = 1, q.lo do out[#out + 1] = atom end
        if q.hi < 0 then out[#out + 1] = atom .. "*"
        else for _ = q.lo + 1, q.hi do out[#out + 1] = atom .. "?" end end
      end
      i = i + 2
    else
      out[#out + 1] = atom
      i = i + 1
    end
  end
  return concat(out)
end

--- Converts an ECMA regex to a list of Lua patterns (any may match), or nil.
function _M.regex_to_lua(re)
  local toks = tokenize(re)
  if not toks then return nil end
  local lists = expand(toks, 0)
  if not lists then return nil end
  local pats = {}
  for _, l in ipairs(lists) do
    local p = emit(l)
    if not p then return nil end
    pats[#pats + 1] = p
  end
  return pats
end

---------------------------------------------------------------------------
-- Deterministic Lua serializer.
---------------------------------------------------------------------------

local lua_keywords = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat return then true until while"):gmatch("%S+") do
  lua_keywords[w] = true
end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\n" then return "\\n" end
    if c == "\r" then return "\\r" end
    if c == "\t" then return "\\t" end
    return format("\\%03d", byte(c))
  end) .. '"'
end

local function number_str(x)
  if x == floor(x) and x > -2 ^ 53 and x < 2 ^ 53 then
    return format("%d", x)
  end
  return format("%.17g", x)
end

local function key_str(k)
  if type(k) == "string" and find(k, "^[%a_][%w_]*$") and not lua_keywords[k] then
    return k
  end
  if type(k) == "number" then return "[" .. number_str(k) .. "]" end
  return "[" .. quote(k) .. "]"
end

local function is_array(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  sort(ks, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    return a < b
  end)
  return ks
end

local function ser(v)
  local tv = type(v)
  if tv == "string" then return quote(v) end
  if tv == "number" then return number_str(v) end
  if tv == "boolean" then return tostring(v) end
  if tv ~= "table" then error("cannot serialize " .. tv) end
  local parts = {}
  if is_array(v) then
    for i = 1, #v do parts[i] = ser(v[i]) end
  else
    for _, k in ipairs(sorted_keys(v)) do
      parts[#parts + 1] = key_str(k) .. "=" .. ser(v[k])
    end
  end
  return "{" .. concat(parts, ",") .. "}"
end
_M.serialize = ser

---------------------------------------------------------------------------
-- Model conversion.
---------------------------------------------------------------------------

--- PascalCase -> snake_case (StartStreamSession -> start_stream_session).
function _M.snake(name)
  local s = name:gsub("(%u)(%u%l)", "%1_%2"):gsub("([%l%d])(%u)", "%1_%2")
  return s:lower()
end

local function check_keys(where, t, allowed)
  for k in pairs(t) do
    if not allowed[k] then error(format("genmodel: unknown key %q in %s", k, where), 0) end
  end
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local OP_KEYS = set_of { "name", "http", "input", "output", "errors", "documentation", "idempotent",
                         "readonly", "deprecated", "deprecatedMessage" }
local MEMBER_KEYS = set_of { "shape", "location", "locationName", "idempotencyToken", "documentation",
                             "deprecated", "deprecatedMessage", "deprecatedSince" }
local SHAPE_KEYS = set_of { "type", "members", "required", "documentation", "error", "exception", "fault",
                            "retryable", "min", "max", "enum", "pattern", "sensitive", "member", "key",
                            "value", "box", "deprecated", "deprecatedMessage", "timestampFormat" }

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error("genmodel: " .. tostring(err), 0) end
  local s = f:read("*a")
  f:close()
  return s
end

local function smithy_facts(smithy)
  local facts = { waiters = {}, patterns = {} }
  if not smithy then return facts end
  for id, shape in pairs(smithy.shapes or {}) do
    local name = id:match("#(.+)$")
    local traits = shape.traits or {}
    if traits["smithy.api#pattern"] then facts.patterns[name] = traits["smithy.api#pattern"] end
    local w = traits["smithy.waiters#waitable"]
    if w then
      for wname, def in pairs(w) do
        facts.waiters[wname] = { min_delay = def.minDelay, max_delay = def.maxDelay }
      end
    end
  end
  return facts
end

local function error_info(shape)
  local e = shape.error or {}
  local status = e.httpStatusCode
  local fault
  if e.senderFault then fault = "client"
  elseif shape.fault or (status and status >= 500) then fault = "server"
  else fault = "client" end
  return {
    status = status,
    fault = fault,
    retryable = shape.retryable ~= nil,
    throttling = (shape.retryable and shape.retryable.throttling) == true,
  }
end

local function convert_shape(name, s, facts)
  check_keys("shape " .. name, s, SHAPE_KEYS)
  local out = { type = s.type }
  if s.type == "structure" then
    out.members, out.order, out.required = {}, {}, {}
    for _, mname in ipairs(keys_in_order(s.members)) do
      local m = s.members[mname]
      check_keys("member " .. name .. "." .. mname, m, MEMBER_KEYS)
      if m.location ~= nil and m.location ~= "uri" and m.location ~= "querystring" then
        error(format("genmodel: unsupported location %q on %s.%s", m.location, name, mname), 0)
      end
      out.members[mname] = {
        shape = m.shape,
        location = m.location,
        name = m.locationName or mname,
        idempotency_token = m.idempotencyToken or nil,
        deprecated = m.deprecated or nil,
      }
      out.order[#out.order + 1] = mname
    end
    for _, r in ipairs(s.required or {}) do out.required[r] = true end
    if s.exception or s.error then out.error = error_info(s) end
  elseif s.type == "list" then
    out.member = s.member.shape
  elseif s.type == "map" then
    out.key, out.value = s.key.shape, s.value.shape
  elseif s.type == "timestamp" then
    out.timestamp_format = s.timestampFormat
  end
  out.min, out.max = s.min, s.max
  if s.enum then
    out.enum = {}
    for i, v in ipairs(s.enum) do out.enum[i] = v end
  end
  out.sensitive = s.sensitive or nil
  if s.pattern then
    -- botocore strips the anchors (and mangles \n); the Smithy form carries its own.
    local re = facts.patterns[name] or ("^" .. s.pattern .. "$")
    out.pattern = re
    out.lua_patterns = _M.regex_to_lua(re)
  end
  return out
end

local function convert_partitions(parts)
  local out = {}
  for i, p in ipairs(parts) do
    local pats = _M.regex_to_lua(p.region_regex)
    if not pats then error("genmodel: cannot convert regionRegex of " .. p.id, 0) end
    local outputs = {}
    for k, v in pairs(p.outputs) do outputs[k] = v end
    out[i] = { id = p.id, region_regex = p.region_regex, region_patterns = pats,
               regions = set_of(p.regions), outputs = outputs }
  end
  return out
end

local function strip_docs(v)
  if type(v) ~= "table" then return v end
  local r = {}
  for k, x in pairs(v) do
    if k ~= "documentation" then r[k] = strip_docs(x) end
  end
  return r
end

--- Builds the model table from the botocore directory.
function _M.build(dir, partitions)
  local service = json_decode(read_file(dir .. "/service-2.json"))
  local paginators = json_decode(read_file(dir .. "/paginators-1.json")).pagination
  local waiters = json_decode(read_file(dir .. "/waiters-2.json")).waiters
  local rules = json_decode(read_file(dir .. "/endpoint-rule-set-1.json"))
  local smithy
  local sf = io.open(dir .. "/../gameliftstreams.smithy.json", "rb")
  if sf then smithy = json_decode(sf:read("*a")); sf:close() end
  local facts = smithy_facts(smithy)

  local md = service.metadata
  local model = {
    metadata = {
      service_id = md.serviceId, signing_name = md.signingName, endpoint_prefix = md.endpointPrefix,
      api_version = md.apiVersion, protocol = md.protocol, signature_version = md.signatureVersion,
      env_suffix = md.serviceId:upper():gsub(" ", "_"),
    },
    operations = {}, shapes = {}, errors = {}, paginators = {}, waiters = {},
  }

  for name, op in pairs(service.operations) do
    check_keys("operation " .. name, op, OP_KEYS)
    local errs = {}
    for i, e in ipairs(op.errors or {}) do errs[i] = e.shape end
    model.operations[name] = {
      method = op.http.method,
      uri = op.http.requestUri,
      success = op.http.responseCode or 200,
      input = op.input and op.input.shape,
      output = op.output and op.output.shape,
      errors = errs,
      idempotent = op.idempotent or nil,
      readonly = op.readonly or nil,
      snake = _M.snake(name),
    }
  end

  for name, s in pairs(service.shapes) do
    local shape = convert_shape(name, s, facts)
    model.shapes[name] = shape
    if shape.error then model.errors[name] = shape.error end
  end

  for name, p in pairs(paginators) do
    model.paginators[name] = { input_token = p.input_token, output_token = p.output_token,
                               limit_key = p.limit_key, result_key = p.result_key,
                               more_results = p.more_results }
  end

  for name, w in pairs(waiters) do
    local sm = facts.waiters[name] or {}
    local acc = {}
    for i, a in ipairs(w.acceptors) do
      acc[i] = { state = a.state, matcher = a.matcher, argument = a.argument, expected = a.expected }
    end
    model.waiters[name] = {
      operation = w.operation, delay = w.delay, max_attempts = w.maxAttempts,
      min_delay = sm.min_delay or 2, max_delay = sm.max_delay or 120,
      acceptors = acc, snake = _M.snake(name),
    }
  end

  model.endpoint_rules = strip_docs(rules)
  model.partitions = convert_partitions(partitions)
  return model
end

local HEADER = [[
-- GENERATED by tools/genmodel.lua from model/ (botocore + Smithy waiter delays)
-- and tools/partitions.lua. DO NOT EDIT: run `make model`.
-- Beyond docs/INTERNALS.md: shapes[S].pattern (anchored ECMA regex) and .lua_patterns (Lua
-- patterns, valid if ANY matches; absent when not expressible), members[M].deprecated,
-- waiters[W].snake, metadata.env_suffix, partitions = list of { id, region_regex,
-- region_patterns, regions (set), outputs (aws.partition result) }; unknown region -> [1].
]]

local SECTIONS = { "metadata", "operations", "shapes", "errors", "paginators", "waiters",
                   "endpoint_rules", "partitions" }
local ONE_PER_LINE = { operations = true, shapes = true, errors = true, paginators = true,
                       waiters = true, partitions = true }

--- Renders the model table as the text of lua/gameliftstreams/model.lua.
function _M.render(model)
  local out = { HEADER, "local _M = {}\n" }
  for _, sec in ipairs(SECTIONS) do
    local v = model[sec]
    if ONE_PER_LINE[sec] then
      insert(out, "_M." .. sec .. " = {\n")
      if is_array(v) then
        for _, x in ipairs(v) do insert(out, ser(x) .. ",\n") end
      else
        for _, k in ipairs(sorted_keys(v)) do insert(out, key_str(k) .. "=" .. ser(v[k]) .. ",\n") end
      end
      insert(out, "}\n")
    else
      insert(out, "_M." .. sec .. " = " .. ser(v) .. "\n")
    end
  end
  insert(out, "return _M\n")
  return concat(out)
end

--- Generates the module text from a botocore directory.
function _M.generate(dir, partitions_file)
  local partitions = dofile(partitions_file)
  return _M.render(_M.build(dir, partitions))
end

---------------------------------------------------------------------------
-- LuaLS (lua-language-server) annotations: types/*.lua, ---@meta files only.
---------------------------------------------------------------------------

local TYPES_HEADER = "-- GENERATED by tools/genmodel.lua from model/. DO NOT EDIT: run `make model`.\n"

local SCALAR = { string = "string", integer = "integer", long = "integer", float = "number",
                 double = "number", boolean = "boolean", timestamp = "number", blob = "string" }

local function tname(shape) return "gameliftstreams." .. shape end

local function quoted_union(values)
  local parts = {}
  for i, v in ipairs(values) do parts[i] = format("%q", v) end
  return concat(parts, "|")
end

-- what a member of shape `name` is, for a ---@field or ---@alias
local function alias_of(model, name)
  local s = model.shapes[name]
  if s.type == "string" and s.enum then return quoted_union(s.enum) end
  if SCALAR[s.type] then return SCALAR[s.type] end
  if s.type == "list" then return tname(s.member) .. "[]" end
  if s.type == "map" then return "table<" .. tname(s.key) .. ", " .. tname(s.value) .. ">" end
  error("genmodel: no LuaLS type for shape " .. name .. " (" .. tostring(s.type) .. ")", 0)
end

-- facts of one member, in brackets after its type: limits, location, sensitivity
local function member_facts(model, m)
  local s = model.shapes[m.shape]
  local facts = {}
  if s.min or s.max then
    local what = (s.type == "string" and "length") or ((s.type == "list" or s.type == "map") and "size") or "range"
    facts[#facts + 1] = format("%s %s..%s", what, s.min and tostring(s.min) or "", s.max and tostring(s.max) or "")
  end
  if m.location == "uri" then facts[#facts + 1] = "path"
  elseif m.location == "querystring" then facts[#facts + 1] = "query " .. m.name end
  if s.sensitive then facts[#facts + 1] = "sensitive" end
  if s.type == "timestamp" then facts[#facts + 1] = "epoch seconds" end
  if m.idempotency_token then facts[#facts + 1] = "filled with a UUID when absent" end
  if m.deprecated then facts[#facts + 1] = "deprecated" end
  return #facts > 0 and (" " .. concat(facts, "; ")) or ""
end

local function render_shapes(model)
  local out = { "---@meta _\n", TYPES_HEADER,
    "-- Every shape of the service model: a ---@class per structure (a ---@field per member,\n",
    "-- `?` when optional), a ---@alias per other shape (enums as string-literal unions).\n" }
  for _, name in ipairs(sorted_keys(model.shapes)) do
    local s = model.shapes[name]
    out[#out + 1] = "\n"
    if s.type == "structure" then
      out[#out + 1] = "---@class " .. tname(name) .. "\n"
      for _, mname in ipairs(s.order) do
        local m = s.members[mname]
        local opt = (s.required[mname] or m.idempotency_token) and "" or "?"
        -- a ClientToken is required by the model but the SDK fills it: optional for the caller
        if m.idempotency_token then opt = "?" end
        out[#out + 1] = format("---@field %s%s %s%s\n", mname, opt, tname(m.shape), member_facts(model, m))
      end
    else
      out[#out + 1] = format("---@alias %s %s\n", tname(name), alias_of(model, name))
    end
  end
  return concat(out)
end

local OPTIONS = { -- gls.new options: name, LuaLS type, what it is (client.lua's OPTIONS has the checks)
  { "region", "string", "else AWS_REGION, AWS_DEFAULT_REGION, the profile's region" },
  { "endpoint", "string", "URL; else AWS_ENDPOINT_URL_GAMELIFTSTREAMS, AWS_ENDPOINT_URL, the profile, the endpoint rules" },
  { "use_fips", "boolean", "FIPS endpoint (not with a custom endpoint)" },
  { "profile", "string", "else AWS_DEFAULT_PROFILE, AWS_PROFILE, else \"default\"" },
  { "credentials", "gameliftstreams.Credentials|gameliftstreams.CredentialsProvider", "absent: the default chain" },
  { "max_attempts", "integer", "else AWS_MAX_ATTEMPTS, the profile, 3" },
  { "retry_mode", "\"standard\"|\"adaptive\"|\"legacy\"", "else AWS_RETRY_MODE, the profile, \"standard\"" },
  { "connect_timeout", "number", "seconds (default 5)" },
  { "timeout", "number", "seconds for a whole HTTP exchange (default 30)" },
  { "ca_file", "string", "CA bundle for HTTPS (else AWS_CA_BUNDLE, the profile's ca_bundle)" },
  { "ca_path", "string", "CA directory for HTTPS" },
  { "max_response_bytes", "integer", "largest response body accepted (default 16 MiB)" },
  { "user_agent_suffix", "string", "appended to the User-Agent" },
  { "app_id", "string", "sent in the User-Agent as app/<id> (1 to 50 characters)" },
  { "config_file", "string", "path of the shared config file" },
  { "credentials_file", "string", "path of the shared credentials file" },
  { "getenv", "fun(name: string): string|nil", "used for every environment read" },
  { "new_2026_retries", "boolean", "the 2026 revision of the standard retry rules" },
  { "refresh_window", "number", "credentials: seconds before expiry to refresh" },
  { "clock", "fun(): number", "credentials: epoch seconds" },
  { "http", "fun(req: table): table|nil, gameliftstreams.Error|nil", "credentials: the HTTP function of the providers" },
  { "sts_endpoint", "string", "credentials: STS URL" },
  { "sts_timeout", "number", "credentials: seconds" },
  { "imds_endpoint", "string", "credentials: instance metadata URL" },
  { "imds_timeout", "number", "credentials: seconds" },
  { "container_endpoint", "string", "credentials: container credentials URL" },
  { "sso_cache_dir", "string", "credentials: SSO token cache folder" },
  { "fetch_wait", "number", "credentials: seconds to wait for a fetch another call started" },
  { "mfa_code_provider", "fun(mfa_serial: string): string", "the code for a role with mfa_serial" },
  { "shared_dict", "string", "OpenResty: the lua_shared_dict where the workers share credentials and clock skew" },
  { "shared_dict_lock_timeout", "number", "OpenResty: seconds one refresh may hold the shared lock (default 15)" },
  { "hooks", "gameliftstreams.Hooks|gameliftstreams.Hooks[]", "functions called on every attempt of every call" },
  { "log", "boolean", "one line per attempt on stderr (ngx.log in OpenResty); else GLS_LOG" },
}
_M.TYPE_OPTIONS = OPTIONS

local MODULE_TYPES = [[
---@class gameliftstreams.Hooks
---@field before_send? fun(ev: gameliftstreams.HookEvent) an attempt, signed, about to be sent
---@field after_receive? fun(ev: gameliftstreams.HookEvent) its answer, classified, the retry decided
---@field call_end? fun(ev: gameliftstreams.HookEvent) the call returns

---@class gameliftstreams.HookEvent
---@field event "before_send"|"after_receive"|"call_end"
---@field operation string the operation, or the SDK's own call (AssumeRole, GetRoleCredentials, ...)
---@field service string "gameliftstreams", or "sts", "sso", "sso-oidc", "container", "imds"
---@field sdk_call boolean true for the calls the credential providers make
---@field invocation_id? string
---@field attempt? integer
---@field max_attempts? integer
---@field attempts? integer call_end: attempts sent
---@field method? string
---@field url? string secrets redacted
---@field headers? table<string, string|string[]> as sent, secrets redacted
---@field status? integer
---@field request_id? string
---@field duration? number seconds (the attempt's; call_end: the call's)
---@field retry? boolean after_receive: another attempt follows
---@field delay? number after_receive: seconds before it
---@field error? table code, message (secrets redacted), status, request_id, retryable, ...

---@class gameliftstreams.Credentials
---@field access_key_id string
---@field secret_access_key string sensitive
---@field session_token? string sensitive
---@field expiration? number epoch seconds

---@class gameliftstreams.CredentialsProvider
---@field get fun(self: gameliftstreams.CredentialsProvider): gameliftstreams.Credentials|nil, gameliftstreams.Error|nil

---@class gameliftstreams.Error
---@field code string the service's error code, or the SDK's (InvalidParameter, NetworkError, Timeout, ...)
---@field message string
---@field status? integer HTTP status; nil when no response came back
---@field request_id? string
---@field retryable boolean
---@field attempts? integer requests sent (0: failed before sending; nil for gls.new)
---@field backoff? number seconds spent between attempts
---@field operation? string
---@field reason? string transport failures: resolve, connect, timeout, tls, reset, ...
---@field throttling? boolean
---@field fault? "client"|"server"
---@field quota_exhausted? boolean
---@field path? string validation: the member path
---@field fields? table modelled extra members of a service error
---@field code_from_status? boolean
---@field state? "failure"|"error" WaiterFailure
---@field waiter? string WaiterFailure, WaiterTimeout, Cancelled
---@field last_output? table waiters
---@field last_error? gameliftstreams.Error waiters
---@field session_arn? string start_session_and_wait
---@field termination_error? gameliftstreams.Error start_session_and_wait
---@field client_token? string start_session_and_wait: the start's ClientToken
---@field cleanup? gameliftstreams.CleanupRecord start_session_and_wait: its clean-up job

---@class gameliftstreams.errors
local errors = {}
---Whether `v` is an error object of the SDK.
---@param v any
---@return boolean
function errors.is(v) end

---@class gameliftstreams.SignRequest
---@field method string
---@field url string
---@field headers table<string, string|string[]>
---@field body? string
---@field region string
---@field service string
---@field credentials gameliftstreams.Credentials
---@field time? number epoch seconds (default: now)
---@field normalize? boolean normalize the path (default true)
---@field sign_body? boolean add x-amz-content-sha256
---@field omit_session_token? boolean
---@field presign? integer seconds: sign the query string instead of the headers
---@field headers_only? boolean leave signature, canonical_request and string_to_sign out of the result

---@class gameliftstreams.SignResult
---@field headers table<string, string|string[]> everything to send, authorization and x-amz-date included
---@field signature? string (not with headers_only)
---@field canonical_request? string (not with headers_only)
---@field string_to_sign? string (not with headers_only)
---@field url? string when presigning

---@class gameliftstreams.Task
---@field status "running"|"done"|"failed"|"cancelled"
---@field result any the first return value
---@field results? table all of them, with n
---@field error any what it raised
---@field traceback? string
local Task = {}
---Interrupts the wait the task is in (it gets a Cancelled error); true if it was still running.
---@return boolean
function Task:cancel() end
---Waits for the task: true and its results, or false and its error.
---@return boolean ok
---@return any ...
function Task:join() end

---@class gameliftstreams
---@field errors gameliftstreams.errors
---@field _VERSION string
local gls = {}

---Makes a client (no I/O).
---@param opts? gameliftstreams.Options
---@return gameliftstreams.Client|nil client
---@return gameliftstreams.Error|nil err InvalidParameter, EndpointError
function gls.new(opts) end

---Signs a request with SigV4 (raises on bad input).
---@param req gameliftstreams.SignRequest
---@return gameliftstreams.SignResult
function gls.sign(req) end

---Starts fn(...) as a task of the SDK's scheduler.
---@param fn function
---@param ... any
---@return gameliftstreams.Task
function gls.spawn(fn, ...) end

---Runs until every task has finished: true, or nil, the first failure's error and the tasks that failed.
---@return true|nil ok
---@return any first_error
---@return gameliftstreams.Task[]|nil failed
function gls.run() end

---Advances every task for at most max_seconds (default 0): the tasks still running, and those that failed.
---@param max_seconds? number
---@return integer live
---@return gameliftstreams.Task[]|nil failed
function gls.step(max_seconds) end

return gls
]]

local function render_module()
  local out = { "---@meta\n", TYPES_HEADER,
    "-- require(\"gameliftstreams\"): the module, gls.new options, gls.sign, tasks, error objects.\n\n",
    "---@class gameliftstreams.Options\n" }
  for _, o in ipairs(OPTIONS) do out[#out + 1] = format("---@field %s? %s %s\n", o[1], o[2], o[3]) end
  out[#out + 1] = "\n"
  out[#out + 1] = MODULE_TYPES
  return concat(out)
end

local function render_client(model)
  local out = { "---@meta _\n", TYPES_HEADER,
    "-- The client: one method per operation, pages, items, wait, start_session_and_wait.\n" }
  local function add(s) out[#out + 1] = s end
  local wnames, pnames = {}, {}
  for _, w in ipairs(sorted_keys(model.waiters)) do
    wnames[#wnames + 1] = model.waiters[w].snake; wnames[#wnames + 1] = w
  end
  for _, p in ipairs(sorted_keys(model.paginators)) do
    pnames[#pnames + 1] = model.operations[p].snake; pnames[#pnames + 1] = p
  end
  add("\n---@alias gameliftstreams.WaiterName " .. quoted_union(wnames) .. "\n")
  add("---@alias gameliftstreams.PaginatedOperation " .. quoted_union(pnames) .. "\n")
  add([[

---@class gameliftstreams.PageOptions
---@field page_size? integer sent as the operation's limit member
---@field max_items? integer stop after this many items, across pages
---@field starting_token? string a resume token (boto3's format) or a NextToken

---@class gameliftstreams.Pages
---@overload fun(): table|nil
local Pages = {}
---The next page, or nil at the end (raises the error object on failure).
---@return table|nil
function Pages:next_page() end
---Where a walk stopped by max_items can continue (nil until the walk is finished).
---@return string|nil
function Pages:resume_token() end
---Stops the walk.
function Pages:close() end

---@class gameliftstreams.Items
---@overload fun(): any
local Items = {}
---The next item, or nil at the end (raises the error object on failure).
---@return any
function Items:next_item() end
---Where a walk stopped by max_items can continue (nil until the walk is finished).
---@return string|nil
function Items:resume_token() end
---Stops the walk.
function Items:close() end

---@class gameliftstreams.WaiterOptions
---@field max_wait? number total seconds
---@field min_delay? number seconds between polls (lower bound)
---@field max_delay? number seconds between polls (upper bound)
---@field max_attempts? integer cap on the number of polls
---@field cancel? (fun(): boolean)|{ cancelled: boolean }
---@field fail_fast? boolean stream_session_active: fail at once on TERMINATING/TERMINATED (default true)
---@field rng? fun(): number a number in [0, 1) for the delays' jitter (tests)

---@class gameliftstreams.CleanupOptions
---@field max_time? number seconds the background clean-up goes on after a failure (default 600)
---@field min_delay? number seconds between its tries, first (default 1)
---@field max_delay? number seconds between its tries, at most (default 60)
---@field grace? number OpenResty: seconds added to a start's lease (default 10)

---@class gameliftstreams.StartSessionOptions: gameliftstreams.WaiterOptions
---@field cleanup? gameliftstreams.CleanupOptions

---@class gameliftstreams.CleanupRecord
---@field client_token string
---@field session_arn? string
---@field status "pending"|"terminated"|"failed"|"expired"
---@field attempts integer
---@field last_error? gameliftstreams.Error

---@class gameliftstreams.Client
local Client = {}
]])
  for _, name in ipairs(sorted_keys(model.operations)) do
    local op = model.operations[name]
    local input = op.input and model.shapes[op.input]
    local needs = false
    for r in pairs(input and input.required or {}) do
      if not input.members[r].idempotency_token then needs = true end
    end
    add(format("\n---%s %s%s\n", op.method, op.uri, model.paginators[name] and " (paginated)" or ""))
    if op.input then
      add(format("---@param input%s %s\n", needs and "" or "?", tname(op.input)))
    end
    add(format("---@return %s|nil output\n", op.output and tname(op.output) or "table"))
    add("---@return gameliftstreams.Error|nil err\n")
    add(format("function Client:%s(%s) end\n", op.snake, op.input and "input" or ""))
  end
  add([[

---Calls an operation by its model name ("StartStreamSession").
---@param op string
---@param input? table
---@return table|nil output
---@return gameliftstreams.Error|nil err
function Client:call(op, input) end
]])
  -- pages and items: one overload per paginated operation, for the element types
  local po, io_ = {}, {}
  for _, p in ipairs(sorted_keys(model.paginators)) do
    local op, pg = model.operations[p], model.paginators[p]
    local outshape = model.shapes[op.output]
    local item = tname(model.shapes[outshape.members[pg.result_key].shape].member)
    for _, n in ipairs({ op.snake, p }) do
      po[#po + 1] = format("---@overload fun(self: gameliftstreams.Client, op: %q, input?: %s, opts?: gameliftstreams.PageOptions): fun(): %s|nil\n",
                           n, tname(op.input), tname(op.output))
      io_[#io_ + 1] = format("---@overload fun(self: gameliftstreams.Client, op: %q, input?: %s, opts?: gameliftstreams.PageOptions): fun(): %s|nil\n",
                             n, tname(op.input), item)
    end
  end
  add("\n---Iterates over the pages of a paginated operation (a failure raises the error object).\n")
  add(concat(po))
  add([[
---@param op gameliftstreams.PaginatedOperation
---@param input? table
---@param opts? gameliftstreams.PageOptions
---@return gameliftstreams.Pages
function Client:pages(op, input, opts) end

---Iterates over the items of a paginated operation, across pages (a failure raises).
]])
  add(concat(io_))
  add([[
---@param op gameliftstreams.PaginatedOperation
---@param input? table
---@param opts? gameliftstreams.PageOptions
---@return gameliftstreams.Items
function Client:items(op, input, opts) end
]])
  local wo = {}
  for _, w in ipairs(sorted_keys(model.waiters)) do
    local wt = model.waiters[w]
    local op = model.operations[wt.operation]
    for _, n in ipairs({ wt.snake, w }) do
      wo[#wo + 1] = format("---@overload fun(self: gameliftstreams.Client, name: %q, input: %s, opts?: gameliftstreams.WaiterOptions): %s|nil, gameliftstreams.Error|nil\n",
                           n, tname(op.input), op.output and tname(op.output) or "table")
    end
  end
  add("\n---Waits for a model waiter: the last output, or nil and WaiterFailure/WaiterTimeout/Cancelled.\n")
  add(concat(wo))
  add([[
---@param name gameliftstreams.WaiterName
---@param input table
---@param opts? gameliftstreams.WaiterOptions
---@return table|nil output
---@return gameliftstreams.Error|nil err
function Client:wait(name, input, opts) end

---Starts a stream session and waits until it is ACTIVE; terminates it when the wait fails.
---@param input gameliftstreams.StartStreamSessionInput
---@param opts? gameliftstreams.StartSessionOptions
---@return gameliftstreams.GetStreamSessionOutput|nil session
---@return gameliftstreams.Error|nil err
function Client:start_session_and_wait(input, opts) end

---The clean-up jobs start_session_and_wait left running for this client.
---@return gameliftstreams.CleanupRecord[]
function Client:pending_cleanups() end

---Waits (at most max_seconds, default their bound) until this client's clean-up jobs are settled.
---@param max_seconds? number
---@return boolean settled
---@return gameliftstreams.CleanupRecord[]|nil pending
function Client:drain_cleanups(max_seconds) end
]])
  return concat(out)
end

--- The LuaLS annotation files: a list of { path under types/, text }.
function _M.render_types(model)
  return {
    { "gameliftstreams.lua", render_module() },
    { "gameliftstreams-client.lua", render_client(model) },
    { "gameliftstreams-shapes.lua", render_shapes(model) },
  }
end

--- Generates the annotation files from a botocore directory.
function _M.generate_types(dir, partitions_file)
  return _M.render_types(_M.build(dir, dofile(partitions_file)))
end

---------------------------------------------------------------------------
-- The per-operation reference (docs/OPERATIONS.md): facts of the model only.
---------------------------------------------------------------------------

-- whether the standard retry strategy retries an error shape (retry.lua's rules: throttling
-- codes or HTTP 429, transient codes or 500/502/503/504, the model's retryable trait)
local RETRY_THROTTLING = set_of { "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
  "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
  "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException" }
local RETRY_TRANSIENT_STATUS = set_of { 500, 502, 503, 504 }

function _M.error_retried(name, e)
  if RETRY_THROTTLING[name] or e.status == 429 or e.throttling then return "yes (throttling)" end
  if RETRY_TRANSIENT_STATUS[e.status] then return "yes (transient)" end
  if e.retryable then return "yes (retryable in the model)" end
  return "no"
end

local function md_type(model, shape)
  local s = model.shapes[shape]
  if s.type == "structure" then return "`" .. shape .. "`" end
  if s.type == "list" then return "list of " .. md_type(model, s.member) end
  if s.type == "map" then return "map " .. md_type(model, s.key) .. " to " .. md_type(model, s.value) end
  if s.type == "timestamp" then return "timestamp (epoch seconds)" end
  return s.type
end

local function md_limits(model, shape)
  local s = model.shapes[shape]
  local parts = {}
  if s.min or s.max then
    local what = (s.type == "string" and "length") or ((s.type == "list" or s.type == "map") and "items") or "value"
    if s.min and s.max then parts[#parts + 1] = format("%s %s to %s", what, tostring(s.min), tostring(s.max))
    elseif s.min then parts[#parts + 1] = format("%s at least %s", what, tostring(s.min))
    else parts[#parts + 1] = format("%s at most %s", what, tostring(s.max)) end
  end
  if s.enum then
    local vals = {}
    for i, v in ipairs(s.enum) do vals[i] = "`" .. v .. "`" end
    parts[#parts + 1] = "one of " .. concat(vals, ", ")
  end
  if s.pattern then parts[#parts + 1] = "pattern `" .. s.pattern:gsub("\n", "\\n"):gsub("|", "\\|") .. "`" end
  if s.sensitive then parts[#parts + 1] = "sensitive" end
  return concat(parts, "; ")
end

local function member_table(model, shape, input)
  local s = model.shapes[shape]
  local out = {}
  if #s.order == 0 then return "(no members)\n" end
  if input then
    out[#out + 1] = "| member | type | required | constraints | sent in |\n| --- | --- | --- | --- | --- |\n"
  else
    out[#out + 1] = "| member | type | constraints |\n| --- | --- | --- |\n"
  end
  for _, mname in ipairs(s.order) do
    local m = s.members[mname]
    local limits = md_limits(model, m.shape)
    if m.deprecated then limits = (limits ~= "" and limits .. "; " or "") .. "deprecated" end
    if input then
      local where = (m.location == "uri" and "path `{" .. m.name .. "}`")
        or (m.location == "querystring" and "query `" .. m.name .. "`") or "body"
      local req = s.required[mname] and "yes" or "no"
      if m.idempotency_token then req = "no (a UUID is filled in)" end
      out[#out + 1] = format("| `%s` | %s | %s | %s | %s |\n", mname, md_type(model, m.shape), req, limits, where)
    else
      out[#out + 1] = format("| `%s` | %s | %s |\n", mname, md_type(model, m.shape), limits)
    end
  end
  return concat(out)
end

--- Renders docs/OPERATIONS.md from the model table.
function _M.render_reference(model)
  local out = { "<!-- GENERATED by tools/genmodel.lua from model/. DO NOT EDIT: run `make model`. -->\n",
    "# Operations\n\n",
    "Every operation of the service model, as `client:<method>(input)`. Facts of the model only: ",
    "the model's prose is not carried (see the AWS API reference for GameLift Streams). Members ",
    "are the model's names (PascalCase); a call returns the output table, or nil and an error ",
    "object. \"Retried\" is what the standard retry strategy does with that error.\n\n" }
  local function add(s) out[#out + 1] = s end
  local names = sorted_keys(model.operations)
  local waiters_of = {}
  for _, w in ipairs(sorted_keys(model.waiters)) do
    local op = model.waiters[w].operation
    waiters_of[op] = waiters_of[op] or {}
    insert(waiters_of[op], model.waiters[w])
  end
  add("| operation | method | HTTP |\n| --- | --- | --- |\n")
  for _, name in ipairs(names) do
    local op = model.operations[name]
    add(format("| [%s](#%s) | `client:%s` | `%s %s` |\n", name, name:lower(), op.snake, op.method, op.uri))
  end
  local structures = {}
  for _, name in ipairs(names) do
    local op = model.operations[name]
    add(format("\n## %s\n\n", name))
    add(format("- method: `client:%s(input)`%s\n", op.snake, op.idempotent and " (idempotent)" or ""))
    add(format("- HTTP: `%s %s`, success status %d\n", op.method, op.uri, op.success))
    add("\n### Input\n\n")
    add(op.input and member_table(model, op.input, true) or "(none)\n")
    add("\n### Output\n\n")
    add(op.output and member_table(model, op.output, false) or "(an empty table)\n")
    add("\n### Errors\n\n| error | HTTP status | retried |\n| --- | --- | --- |\n")
    for _, e in ipairs(op.errors) do
      local info = model.errors[e]
      add(format("| `%s` | %s | %s |\n", e, info.status and tostring(info.status) or "", _M.error_retried(e, info)))
    end
    local pg = model.paginators[name]
    add("\n### Paginator\n\n")
    if pg then
      add(format("`client:pages(\"%s\", input, opts)` and `client:items(...)`: token `%s` -> `%s`, " ..
                 "page size `%s`, items `%s`.\n", op.snake, pg.input_token, pg.output_token,
                 tostring(pg.limit_key), pg.result_key))
    else
      add("none\n")
    end
    add("\n### Waiters\n\n")
    if waiters_of[name] then
      for _, w in ipairs(waiters_of[name]) do
        local states = {}
        for _, a in ipairs(w.acceptors) do
          states[#states + 1] = format("%s when %s%s = `%s`", a.state, a.matcher,
            a.argument and (" `" .. a.argument .. "`") or "", tostring(a.expected))
        end
        add(format("- `client:wait(\"%s\", input, opts)`: polls every %s-%s s, %s\n", w.snake,
                   tostring(w.min_delay), tostring(w.max_delay), concat(states, "; ")))
      end
    else
      add("none\n")
    end
    for _, sh in ipairs({ op.input, op.output }) do
      for _, mname in ipairs(sh and model.shapes[sh].order or {}) do
        local function collect(shape)
          local s = model.shapes[shape]
          if s.type == "structure" and not structures[shape] then
            structures[shape] = true
            for _, mm in ipairs(s.order) do collect(s.members[mm].shape) end
          elseif s.type == "list" then collect(s.member)
          elseif s.type == "map" then collect(s.value) end
        end
        collect(model.shapes[sh].members[mname].shape)
      end
    end
  end
  add("\n# Structures\n\nThe structures the inputs and outputs hold.\n")
  for _, name in ipairs(sorted_keys(structures)) do
    add(format("\n## %s\n\n", name))
    add(member_table(model, name, false))
  end
  return concat(out)
end

function _M.script_dir()
  local src = debug.getinfo(1, "S").source
  local d = src:match("^@(.*)/[^/]*$")
  return d or "."
end

local function main(dir, outpath, typesdir, refpath)
  if not dir or not outpath then
    io.stderr:write("usage: genmodel.lua BOTOCORE_DIR OUTPUT.lua [TYPES_DIR [REFERENCE.md]]\n")
    os.exit(2)
  end
  local model = _M.build(dir, dofile(_M.script_dir() .. "/partitions.lua"))
  local f = assert(io.open(outpath, "wb"))
  f:write(_M.render(model))
  f:close()
  if refpath then
    f = assert(io.open(refpath, "wb"))
    f:write(_M.render_reference(model))
    f:close()
  end
  for _, file in ipairs(typesdir and _M.render_types(model) or {}) do
    f = assert(io.open(typesdir .. "/" .. file[1], "wb"))
    f:write(file[2])
    f:close()
  end
end

if select("#", ...) > 0 then
  main(...)
else
  return _M
end
