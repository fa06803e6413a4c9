-- The JSON decoder of the C core (csrc/json.c, csrc/ljson.c): core.json_plan, the typed decoder
-- replies go through, and core.json_decode, the same walk without a shape. Replies through
-- protocol.parse_response are in protocol_spec and hostile_servers_spec.
local core = require("helpers").core()
local model = require("gameliftstreams.model")
local protocol = require("gameliftstreams.protocol")

local function is_integer(v)
  if math.type then return math.type(v) == "integer" end
  return type(v) == "number" and math.floor(v) == v
end

local function is_float(v)
  if math.type then return math.type(v) == "float" end
  return type(v) == "number"
end

-- A made-up model with every shape type the decoder checks, recursion and a renamed member.
local shapes = {
  T = { type = "structure", members = {
    S = { shape = "Str" }, E = { shape = "Enum" }, B = { shape = "Bool" }, I = { shape = "Int" },
    L = { shape = "Lng" }, D = { shape = "Dbl" }, F = { shape = "Flt" }, Ts = { shape = "Ts" },
    M = { shape = "Map" }, N = { shape = "TList" }, Sub = { shape = "T", json_name = "sub" },
    H = { shape = "Str", location = "header", name = "x-h" }, Code = { shape = "Int", location = "statusCode" },
    X = { shape = "Missing" }, Blob = { shape = "Blob" } } },
  TList = { type = "list", member = { shape = "T" } },
  Map = { type = "map", key = { shape = "Str" }, value = { shape = "SList" } },
  SList = { type = "list", member = "Str" },
  Str = { type = "string" }, Enum = { type = "enum", enum = { "A" } }, Bool = { type = "boolean" },
  Int = { type = "integer" }, Lng = { type = "long" }, Dbl = { type = "double" }, Flt = { type = "float" },
  Ts = { type = "timestamp" }, Blob = { type = "blob" },
}
local decode = core.json_plan(shapes)

local function ok(json, shape)
  local v, why, expected, path = decode(json, shape or "T")
  assert(v ~= nil, json .. ": " .. tostring(why) .. " " .. tostring(expected) .. " " .. tostring(path))
  return v
end

local function refused(json, expected, path)
  local v, why, exp, where = decode(json, "T")
  assert.is_nil(v, json)
  assert.equal("type", why, json)
  assert.equal(expected, exp, json)
  assert.equal(path, where, json)
end

local function not_json(json)
  local v, why = decode(json, "T")
  assert.is_nil(v, json)
  assert.equal("syntax", why, json)
  local g, gwhy = core.json_decode(json)
  assert.is_nil(g, json)
  assert.equal("syntax", gwhy, json)
end

local TS = "a timestamp (epoch seconds, or an RFC 3339 date-time)"

describe("core.json_plan: valid values of every shape type", function()
  it("builds strings, enums (unknown values too), booleans and nested structures", function()
    local v = ok('{"S":"a\\"b\\u00e9\\ud83d\\ude00","E":"NEW","B":false,"sub":{"S":"in","sub":{"B":true}}}')
    assert.equal('a"b\195\169\240\159\152\128', v.S)
    assert.equal("NEW", v.E)
    assert.is_false(v.B)
    assert.same({ S = "in", Sub = { B = true } }, v.Sub)
  end)

  it("makes integers of whole numbers in range, and keeps doubles as floats", function()
    local v = ok('{"I":-2147483648,"L":9007199254740992,"D":1,"F":-2.5e-3}')
    assert.equal(-2147483648, v.I)
    assert.is_true(is_integer(v.I) and is_integer(v.L))
    assert.equal(9007199254740992, v.L)
    assert.equal(1, v.D)
    assert.is_true(is_float(v.D))
    assert.equal(-2.5e-3, v.F)
    for _, c in ipairs{ { "7.0", 7 }, { "7e0", 7 }, { "-0", 0 }, { "1E2", 100 }, { "2147483647", 2147483647 } } do
      local w = ok('{"I":' .. c[1] .. '}')
      assert.equal(c[2], w.I, c[1])
      assert.is_true(is_integer(w.I), c[1])
    end
    -- a long is read exactly, all 64 bits (lua-cjson read every number as a double)
    if math.type then
      assert.equal(math.maxinteger, ok('{"L":9223372036854775807}').L)
      assert.equal(math.mininteger, ok('{"L":-9223372036854775808}').L)
      assert.equal(9007199254740993, ok('{"L":9007199254740993}').L)
    end
  end)

  it("reads timestamps as epoch seconds, a number written as a string, or an RFC 3339 date-time", function()
    for _, c in ipairs{
      { "1767225600", 1767225600 }, { '"1767225600"', 1767225600 }, { "1.7672256E9", 1767225600 },
      { '"1.7672256E9"', 1767225600 }, { '"2026-01-01T00:00:00Z"', 1767225600 },
      { '"2026-01-01T01:00:00.000+01:00"', 1767225600 },
    } do
      local v = ok('{"Ts":' .. c[1] .. '}')
      assert.equal(c[2], v.Ts, c[1])
      assert.is_true(is_integer(v.Ts), c[1])
    end
    assert.equal(1767225600.5, ok('{"Ts":"2026-01-01T00:00:00.5Z"}').Ts)
    assert.equal(1767225600.123, ok('{"Ts":1767225600.123}').Ts)
    assert.equal(-1.5, ok('{"Ts":"-1.5"}').Ts)
    assert.equal(1e300, ok('{"Ts":1e300}').Ts)
  end)

  it("builds maps and lists, dropping nulls (lists compacted) and unknown members at every depth", function()
    local v = ok('{"M":{"a":["x",null,"y"],"b":null,"c":[]},"N":[null,{"S":"1","New":{"deep":[1,{"x":null}]}},null],'
      .. '"Unknown":[[[{"a":"b"}]]],"S":null}')
    assert.same({ a = { "x", "y" }, c = {} }, v.M)
    assert.same({ { S = "1" } }, v.N)
    assert.is_nil(v.Unknown)
    assert.is_nil(v.S)
  end)

  it("reads a renamed member by its JSON name only, and never a header-bound one from the body", function()
    local v = ok('{"sub":{"S":"x"},"Sub":{"S":"wrong"},"H":"from body","Code":7}')
    assert.same({ Sub = { S = "x" } }, v)
  end)

  it("takes any JSON value for a shape it does not check or does not know", function()
    local v = ok('{"X":{"a":[1,"2",null,true]},"Blob":"aGk="}')
    assert.same({ a = { 1, "2", true } }, v.X)
    assert.equal("aGk=", v.Blob)
    assert.same({ 1, { a = 2 } }, ok("[1,{\"a\":2}]", "NotAShape"))
  end)

  it("lets the last of repeated keys win, its failure or success with it", function()
    assert.same({ S = "b" }, ok('{"S":"a","S":"b"}'))
    assert.same({}, ok('{"S":"a","S":null}'))
    assert.same({ I = 3 }, ok('{"I":"bad","I":3}'))
    assert.same({ N = {} }, ok('{"N":[{"I":"bad"}],"N":[]}'))
    assert.same({ M = { k = { "v" } } }, ok('{"M":{"k":1,"k":["v"]}}'))
    refused('{"I":3,"I":"bad"}', "an integer (32-bit)", ".I")
  end)

  it("decodes an operation without output (no shape name) as any JSON object, keeping nothing", function()
    local d = core.json_plan(model.shapes)
    assert.same({}, d('{"a":1,"b":[{}]}'))
    local v, why, expected, path = d("[]")
    assert.is_nil(v)
    assert.same({ "type", "a structure (JSON object)", "" }, { why, expected, path })
  end)

  it("decodes the model's output shapes (the bench reply)", function()
    local f = io.open("bench/http_reply.json", "rb")
    local body = f:read("*a")
    f:close()
    local out = assert(core.json_plan(model.shapes)(body, "GetStreamSessionOutput"))
    assert.equal("ACTIVE", out.Status)
    assert.equal(120, out.ConnectionTimeoutSeconds)
    assert.equal(1733097500, out.CreatedAt)
    assert.equal(1733097600.5, out.LastUpdatedAt)
    assert.same({ "-windowed", "-nosound" }, out.AdditionalLaunchArgs)
    assert.same({ GAME_MODE = "bench", LOG_LEVEL = "warn" }, out.AdditionalEnvironmentVariables)
    assert.is_false(out.PerformanceStatsConfiguration.SharedWithClient)
  end)
end)

describe("core.json_plan: values without the shape's type", function()
  it("names what was expected and where, never the value", function()
    for _, c in ipairs{
      { '{"S":1}', "a string", ".S" }, { '{"E":true}', "a string", ".E" }, { '{"B":"true"}', "a boolean", ".B" },
      { '{"I":2147483648}', "an integer (32-bit)", ".I" }, { '{"I":2.5}', "an integer (32-bit)", ".I" },
      { '{"I":"5"}', "an integer (32-bit)", ".I" }, { '{"I":1e999}', "an integer (32-bit)", ".I" },
      { '{"L":9223372036854775808}', "an integer (64-bit)", ".L" },
      { '{"L":-9223372036854775809}', "an integer (64-bit)", ".L" },
      { '{"L":9223372036854775807.0}', "an integer (64-bit)", ".L" },
      { '{"D":1e999}', "a finite number", ".D" }, { '{"F":"1.5"}', "a finite number", ".F" },
      { '{"Ts":true}', TS, ".Ts" }, { '{"Ts":"2026-13-01T00:00:00Z"}', TS, ".Ts" }, { '{"Ts":"0x10"}', TS, ".Ts" },
      { '{"Ts":" 12"}', TS, ".Ts" }, { '{"Ts":-1e999}', TS, ".Ts" }, { '{"Ts":{}}', TS, ".Ts" },
      { '{"M":[]}', "a map (JSON object)", ".M" }, { '{"M":{"k":"v"}}', "a list (JSON array)", '.M["k"]' },
      { '{"M":{"a b":[1]}}', "a string", ".M[<key>][1]" },
      { '{"M":{"' .. string.rep("k", 65) .. '":[1]}}', "a string", ".M[<key>][1]" },
      { '{"M":{"ok.-_:/9":[1]}}', "a string", '.M["ok.-_:/9"][1]' },
      { '{"N":{}}', "a list (JSON array)", ".N" }, { '{"N":[null,[]]}', "a structure (JSON object)", ".N[2]" },
      { '{"N":[{},{"sub":{"N":[{"I":"x"}]}}]}', "an integer (32-bit)", ".N[2].Sub.N[1].I" },
      { '{"sub":[]}', "a structure (JSON object)", ".Sub" },
      { "[]", "a structure (JSON object)", "" }, { '"text"', "a structure (JSON object)", "" },
    } do
      refused(c[1], c[2], c[3])
    end
  end)

  it("refuses [] where an object is expected and {} where an array is (lua-cjson could not tell)", function()
    refused('{"M":[]}', "a map (JSON object)", ".M")
    refused('{"N":{}}', "a list (JSON array)", ".N")
    refused('{"sub":[]}', "a structure (JSON object)", ".Sub")
  end)

  it("names the first failure in the text", function()
    refused('{"S":1,"B":2,"I":"x"}', "a string", ".S")
    refused('{"N":[{"B":1},{"S":2}],"S":3}', "a boolean", ".N[1].B")
  end)

  it("says null, empty and not JSON apart", function()
    assert.same({ nil, "null" }, { decode("null", "T") })
    assert.same({ nil, "empty" }, { decode(" \r\n\t", "T") })
    assert.same({ nil, "empty" }, { decode("", "T") })
    not_json("<html>")
  end)
end)

describe("core.json_plan and core.json_decode on hostile text", function()
  it("refuses what RFC 8259 does not allow (lua-cjson let some of it through)", function()
    for _, s in ipairs{
      '{"D":1.}', '{"D":-.5}', '{"D":1.e3}', '{"D":01}', '{"D":+1}', '{"D":NaN}', '{"D":Infinity}', '{"D":0x10}',
      '{"S":"a\tb"}', '{"S":"a\1b"}', '{"S":"\\x"}', '{"S":"\\u12"}', '{"S":"\\ud800"}', '{"S":"\\udc00x"}',
      '{"S":"a"', '{"S":', '{"S"', '{', '[1,]', '{"S":"a",}', '{"S":"a"}}', '{} {}', '\239\187\191{}',
    } do
      not_json(s)
    end
  end)

  it("refuses NUL bytes outside strings' escapes, and keeps an escaped one", function()
    not_json('{"S":"a"}\0')
    not_json('{"S":"a\0b"}')
    not_json('\0{"S":"a"}')
    assert.equal("a\0b", ok('{"S":"a\\u0000b"}').S)
  end)

  it("passes bytes that are not UTF-8 through as they are (as lua-cjson did)", function()
    assert.equal("\255\254\128", ok('{"S":"\255\254\128"}').S)
  end)

  it("bounds nesting at 1000 levels, typed or skipped, and keeps going past a skipped value", function()
    local function nest(n) return string.rep("[", n) .. string.rep("]", n) end
    assert.same({ S = "after" }, ok('{"Unknown":' .. nest(999) .. ',"S":"after"}'))
    not_json('{"Unknown":' .. nest(1000) .. '}')
    assert.is_table(core.json_decode(nest(1000)))
    not_json(nest(1001))
    local deep = string.rep('{"sub":', 999) .. "{}" .. string.rep("}", 999)
    assert.is_table(ok(deep))
    not_json(string.rep('{"sub":', 1000) .. "{}" .. string.rep("}", 1000))
    -- a long flat text skips fast (no recursion, no quadratic walk)
    local t0 = core.monotime()
    local wide = '{"Unknown":[' .. string.rep('{"a":[1,2,"x"]},', 100000) .. '0],"S":"end"}'
    assert.equal("end", ok(wide).S)
    assert.is_true(core.monotime() - t0 < 5)
  end)

  it("reads huge numbers without trouble", function()
    local long = string.rep("9", 5000)
    assert.equal(math.huge, core.json_decode(long))
    assert.equal(0, core.json_decode("0." .. string.rep("0", 5000) .. "1"))
    refused('{"I":' .. long .. '}', "an integer (32-bit)", ".I")
    refused('{"D":' .. long .. '}', "a finite number", ".D")
    assert.equal(1e300, ok('{"Ts":1' .. string.rep("0", 300) .. '}').Ts)
    assert.equal(0.1, ok('{"D":0.1000000000000000055511151231257827021181583404541015625000000000000000000000000000000000000000000000000000000000000001}').D)
    assert.equal(1, ok('{"D":1e' .. string.rep("0", 400) .. '}').D)
    refused('{"D":1e' .. string.rep("9", 400) .. '}', "a finite number", ".D")
  end)

  it("refuses every truncation of a valid reply, and never raises on any bytes", function()
    local f = io.open("bench/http_reply.json", "rb")
    local body = f:read("*a"):match("^(.-)%s*$")
    f:close()
    local d = core.json_plan(model.shapes)
    for i = 1, #body - 1 do
      local v, why = d(body:sub(1, i), "GetStreamSessionOutput")
      assert.is_nil(v)
      assert.equal("syntax", why, i)
    end
    local seed = 11
    for _ = 1, 3000 do
      local bytes = {}
      for j = 1, 1 + seed % 60 do
        seed = (seed * 1103515245 + 12345) % 2147483648
        bytes[j] = string.char(({ 34, 44, 58, 91, 93, 123, 125, 92, 117, 48, 49, 45, 46, 101, 110, 116, 0, 32, 200 })[seed % 19 + 1])
      end
      local s = table.concat(bytes)
      assert.is_true(pcall(d, s, "GetStreamSessionOutput"))
      assert.is_true(pcall(core.json_decode, s))
    end
  end)
end)

describe("core.json_decode", function()
  it("decodes any JSON value: integers as integers, nulls dropped, lists compacted", function()
    local v = core.json_decode('{"a":[1,null,2.5,"x",true,{"b":null}],"c":-0,"n":null}')
    assert.same({ a = { 1, 2.5, "x", true, {} }, c = 0 }, v)
    assert.is_true(is_integer(v.a[1]))
    assert.equal("x", core.json_decode('"x"'))
    assert.is_false(core.json_decode("false"))
    assert.same({ nil, "empty" }, { core.json_decode("") })
    assert.is_nil(core.json_decode("null"))
    assert.equal(math.type and 9007199254740993 or 2 ^ 53, core.json_decode("9007199254740993"))
  end)

  it("refuses to decode, without crashing, in a finalizer that runs after its plan's at lua_close", function()
    -- finalizers run in the reverse order of their objects': this table's runs after the core's
    local helpers = require("helpers")
    local script = [[
      local core
      KEEP = setmetatable({}, { __gc = function()
        print(pcall(core.json_decode, '{"a":"\\n"}'))
      end })
      core = require("gameliftstreams.core")
      assert(core.json_decode('{"a":"\\n"}').a == "\n")
      os.exit(0, true)
    ]]
    local out, ok = helpers.run(helpers.lua_env() .. " lua5.4 -e " .. helpers.shell_quote(script))
    assert.is_true(ok, out)
    assert.matches("^false\t.*attempt to use a closed JSON decoder\n$", out)
  end)
end)

describe("protocol.convert (the decoder as protocol.lua offers it)", function()
  it("returns the value, or nil with what was expected and where", function()
    local m = { shapes = shapes }
    assert.same({ S = "x" }, protocol.convert(m, "T", '{"S":"x"}'))
    assert.same({ nil, "a string", ".S" }, { protocol.convert(m, "T", '{"S":1}') })
    assert.same({ nil, "JSON text (RFC 8259)", "" }, { protocol.convert(m, "T", '{"S":') })
    assert.is_nil(protocol.convert(m, "T", "null"))
  end)
end)

describe("core.parse_rfc3339 and core.days_from_civil", function()
  it("are the one date-time parser and calendar (text.lua hands them on)", function()
    local text = require("gameliftstreams.text")
    assert.equal(core.parse_rfc3339, text.parse_rfc3339)
    assert.equal(core.days_from_civil, text.days_from_civil)
    assert.equal(951782400, core.parse_rfc3339("2000-02-29T00:00:00Z"))
    assert.is_true(is_integer(core.parse_rfc3339("2000-02-29T00:00:00Z")))
    assert.equal(951782400.25, core.parse_rfc3339("2000-02-29T00:00:00.25Z"))
    assert.is_nil(core.parse_rfc3339("2026-02-29T00:00:00Z"))
    assert.is_nil(core.parse_rfc3339(12))
    assert.equal(11017, core.days_from_civil(2000, 3, 1))
    assert.equal(-1, core.days_from_civil(1969, 12, 31))
    assert.is_false(pcall(core.days_from_civil, 2000, 13, 1))
    assert.is_false(pcall(core.days_from_civil, 2000.5, 1, 1))
  end)
end)
