-- Generates lua/gameliftstreams/model.lua from the official botocore model files.
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

function _M.script_dir()
  local src = debug.getinfo(1, "S").source
  local d = src:match("^@(.*)/[^/]*$")
  return d or "."
end

local function main(dir, outpath)
  if not dir or not outpath then
    io.stderr:write("usage: genmodel.lua BOTOCORE_DIR OUTPUT.lua\n")
    os.exit(2)
  end
  local text = _M.generate(dir, _M.script_dir() .. "/partitions.lua")
  local f = assert(io.open(outpath, "wb"))
  f:write(text)
  f:close()
end

if select("#", ...) > 0 then
  main(...)
else
  return _M
end
