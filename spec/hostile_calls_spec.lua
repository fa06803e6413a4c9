-- Hostile callers, over the whole public API: for each of the 30 operations (an input of
-- spec/support/wire_cases.lua as the valid base), every member the model has, at every depth, is
-- given values that break the rule the model states for it (type, required, length in code
-- points, range, list and map size, unknown members) and hostile Lua values (NaN, infinities,
-- integers past 2^31, 2^53 and 2^63, invalid UTF-8, tables whose metatable shows another table,
-- sparse lists, tables that are list and map at once, cycles). Each call must return an
-- InvalidParameter error object naming the member's path, never raise, and send nothing: the
-- emulator's request log stays empty. Values that keep every rule (a string of exactly the
-- maximum length in 2-byte characters, an integer given as a float) must be sent, unchanged.
local helpers = require("helpers")
local gls = require("gameliftstreams")
local model = require("gameliftstreams.model")
local cjson = require("cjson")
local CASES = require("support.wire_cases")

local shapes = model.shapes
local function ref(r) return type(r) == "table" and r.shape or r end

-- A valid value of shape `name` (for members the base input leaves out).
local function valid(name, depth)
  local s = shapes[name]
  depth = depth or 0
  if s.type == "string" or s.type == "enum" then
    if s.enum then return s.enum[1] end
    return ("a"):rep(math.max(s.min or 1, 1))
  elseif s.type == "integer" or s.type == "long" then return s.min or 1
  elseif s.type == "boolean" then return true
  elseif s.type == "timestamp" then return 1700000000
  elseif s.type == "list" then
    local t = {}
    for i = 1, math.max(s.min or 1, 1) do t[i] = valid(ref(s.member), depth + 1) end
    return t
  elseif s.type == "map" then return { k = valid(ref(s.value), depth + 1) }
  elseif s.type == "structure" then
    local t = {}
    for m, d in pairs(s.members or {}) do
      if s.required and s.required[m] then t[m] = valid(ref(d), depth + 1) end
    end
    return t
  end
end

-- The hostile values for a member of shape `s`: { value, what } pairs.
local function protected_mt() return setmetatable({}, { __metatable = "locked" }) end
local function hostile_values(s)
  local out = {}
  local function add(v, what) out[#out + 1] = { v, what } end
  local t = s.type
  -- wrong Lua types, for every shape
  if t ~= "string" and t ~= "enum" then add("5", "a string") end
  if t ~= "boolean" then add(true, "a boolean") end
  if t ~= "list" and t ~= "map" and t ~= "structure" then add({}, "a table") end
  if t ~= "integer" and t ~= "long" and t ~= "timestamp" then add(7, "a number") end
  add(print, "a function")
  add(coroutine.create(print), "a thread")
  add(io.stdout, "a userdata")
  add(0 / 0, "NaN"); add(math.huge, "inf"); add(-math.huge, "-inf")
  if t == "string" or t == "enum" then
    if s.min and s.min > 0 then add(("é"):rep(s.min - 1), "one code point too short") end
    if s.max then
      add(("é"):rep(s.max + 1), "one code point too long")
      add(("\x80"):rep(s.max + 1), "continuation bytes past the maximum")
    end
    add("a\xffb", "invalid UTF-8 (0xFF)")
    add("\xc0\x80", "an overlong NUL")
    add("x\xed\xa0\x80", "a UTF-16 surrogate")
    add("\xe2\x82", "a truncated sequence")
    add("\xf4\x90\x80\x80", "a code point past U+10FFFF")
  elseif t == "integer" or t == "long" then
    add(1.5, "a fraction"); add(-0.5, "a negative fraction")
    if s.min then add(s.min - 1, "below the minimum") end
    if s.max then add(s.max + 1, "above the maximum") end
    add(2 ^ 31, "2^31 (past a 32-bit integer)")
    add(-(2 ^ 31) - 1, "below -2^31")
    add(2 ^ 53 + 2, "a float past 2^53")
    add(2 ^ 63, "the float 2^63")
    add(1e300, "1e300")
    if math.type then
      add(math.maxinteger, "math.maxinteger"); add(math.mininteger, "math.mininteger")
    end
  elseif t == "list" then
    local e = valid(ref(s.member))
    add({ e, nil, e }, "a list with a hole")
    add({ e, extra = e }, "a list and a map at once")
    add({ [1.5] = e }, "a fractional key")
    add(setmetatable({}, { __len = function() return 3 end, __index = function() return e end }),
      "__len and __index making up elements")
    add(setmetatable({ e }, { __index = function() error("boom") end }), "an __index that raises")
    add(protected_mt(), "a protected metatable")
    if s.max then
      local big = {}
      for i = 1, s.max + 1 do big[i] = e end
      add(big, "one element too many")
    end
    if s.min and s.min > 0 then add({}, "too few elements") end
    local cyc = {}
    cyc[1] = cyc
    add(cyc, "a list holding itself")
  elseif t == "map" then
    local v = valid(ref(s.value))
    add({ v }, "a positional entry")
    add({ [true] = v }, "a boolean key")
    add(setmetatable({}, { __pairs = function() return next, { k = v } end }), "__pairs showing entries")
    add(protected_mt(), "a protected metatable")
    if s.max then
      local big = {}
      for i = 1, s.max + 1 do big["k" .. i] = v end
      add(big, "one entry too many")
    end
    local cyc = {}
    cyc.k = cyc
    add(cyc, "a map holding itself")
  elseif t == "structure" then
    add({ NoSuchMember = 1 }, "an unknown member")
    add({ [1] = "x" }, "a positional member")
    add(setmetatable({}, { __index = function(_, k) return "x" .. tostring(k) end }), "__index members")
    add(setmetatable({}, { __pairs = function() error("boom") end }), "a __pairs that raises")
    add(protected_mt(), "a protected metatable")
    local cyc = {}
    cyc.NoSuchMember = cyc
    add(cyc, "a structure holding itself")
  end
  return out
end

-- Every member path of `shape_name` under the value v (a table of that shape), with a setter:
-- calls fn(path, member shape, set) where set(x) puts x there and returns a function that
-- puts the old value back.
local function each_member(shape_name, v, path, fn)
  local s = shapes[shape_name]
  if s.type == "structure" then
    for m, d in pairs(s.members or {}) do
      local mp = path .. "." .. m
      fn(mp, shapes[ref(d)], function(x)
        local old = v[m]
        v[m] = x
        return function() v[m] = old end
      end)
      local cur = v[m]
      if cur == nil then
        local made = valid(ref(d))
        if type(made) == "table" then
          v[m] = made
          each_member(ref(d), made, mp, fn)
          v[m] = nil
        end
      elseif type(cur) == "table" then
        each_member(ref(d), cur, mp, fn)
      end
    end
  elseif s.type == "list" and v[1] ~= nil then
    fn(path .. "[1]", shapes[ref(s.member)], function(x)
      local old = v[1]
      v[1] = x
      return function() v[1] = old end
    end)
    if type(v[1]) == "table" then each_member(ref(s.member), v[1], path .. "[1]", fn) end
  end
end

-- A required member left out must be refused too (the model's own reading of `required`).
local is_required = require("gameliftstreams.validate").is_required

describe("hostile callers of the 30 operations", function()
  local emu, client
  setup(function()
    emu = helpers.start_emulator()
    client = helpers.client(emu, { max_attempts = 1 })
  end)
  teardown(function() emu.stop() end)


  it("sends values at the limits unchanged: multi-byte text of the maximum length, NUL, whole floats", function()
    helpers.control(emu, "DELETE", "requests")
    local description = ("\195\169"):rep(78) .. "\240\159\152\128" .. "\0" -- 80 code points, 162 bytes
    local _, err = client:create_stream_url{ Identifier = "sg-1", ApplicationIdentifier = "a-1",
      Protocol = "WebRTC", Description = description, UsageLimit = 2147483647.0, UrlExpiresAfterMinutes = 60, Locations = { "us-west-2" },
      AdditionalEnvironmentVariables = { A = "x\0y" } }
    assert.is_not.equal("InvalidParameter", err and err.code, tostring(err))
    local log = helpers.sent_requests(emu)
    assert.equal(1, #log)
    local body = log[1].body
    assert.truthy(body:find('"UsageLimit":2147483647[,}]'))
    local doc = cjson.decode(body)
    assert.equal(description, doc.Description)
    assert.equal("x\0y", doc.AdditionalEnvironmentVariables.A)
  end)

  for _, case in ipairs(CASES) do
    local op, method = case[1], case[2]
    it(op .. ": every broken rule and hostile value gives InvalidParameter naming the member, and sends nothing",
      function()
        helpers.control(emu, "DELETE", "requests")
        local input = helpers.deep_copy(case[3])
        local input_shape = ref(model.operations[op].input)
        local failures, tried = {}, 0
        local function try(path, what, expect_path)
          tried = tried + 1
          local ok, out, err = pcall(client[method], client, input)
          local problem
          if not ok then
            problem = "raised: " .. tostring(out)
          elseif out ~= nil then
            problem = "was accepted"
          elseif not gls.errors.is(err) or err.code ~= "InvalidParameter" then
            problem = "gave " .. tostring(err)
          elseif err.attempts ~= 0 then
            problem = "was sent " .. tostring(err.attempts) .. " times"
          elseif type(err.path) ~= "string" or err.path:sub(1, #expect_path) ~= expect_path then
            problem = "named " .. tostring(err.path) .. " (" .. err.message .. ")"
          end
          if problem then failures[#failures + 1] = path .. " = " .. what .. ": " .. problem end
        end
        for _, pair in ipairs(hostile_values({ type = "structure" })) do
          local saved = input
          input = pair[1]
          try("input", pair[2], "input")
          input = saved
        end
        each_member(input_shape, input, "input", function(path, s, set)
          for _, pair in ipairs(hostile_values(s)) do
            local restore = set(pair[1])
            try(path, pair[2], path)
            restore()
          end
        end)
        local top = shapes[input_shape]
        for m, d in pairs(top.members or {}) do
          if is_required(top, m) and not d.idempotency_token then -- (a ClientToken is filled in)
            local old = input[m]
            input[m] = nil
            try("input." .. m, "nil (required)", "input." .. m)
            input[m] = old
          end
        end
        assert.is_true(tried > 10)
        assert.same({}, failures)
        assert.same({}, helpers.sent_requests(emu))
      end)
  end
end)
