-- The small utilities of the C core: clocks, sleep, UUIDv4, base64.
local core = require("helpers").core()

describe("core.uuid4", function()
  it("returns lower-case 8-4-4-4-12 hex with the version 4 and RFC 4122 variant bits", function()
    for _ = 1, 200 do
      local u = core.uuid4()
      assert.equal(36, #u)
      assert.truthy(u:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"), u)
      assert.equal(u:lower(), u)
    end
  end)

  it("does not repeat itself and uses every hex digit", function()
    local seen, digits = {}, {}
    for _ = 1, 2000 do
      local u = core.uuid4()
      assert.is_nil(seen[u])
      seen[u] = true
      for c in u:gmatch("%x") do digits[c] = true end
    end
    local n = 0
    for _ in pairs(digits) do n = n + 1 end
    assert.equal(16, n)
  end)

  it("still draws ids in a finalizer that runs after its pool's at lua_close", function()
    -- finalizers run in the reverse order of their objects': this table's runs after the core's
    local helpers = require("helpers")
    local script = [[
      local core
      KEEP = setmetatable({}, { __gc = function() print(#core.uuid4(), core.uuid4() ~= core.uuid4()) end })
      core = require("gameliftstreams.core")
      core.uuid4()
      os.exit(0, true)
    ]]
    local out, ok = helpers.run(helpers.lua_env() .. " lua5.4 -e " .. helpers.shell_quote(script))
    assert.is_true(ok, out)
    assert.equal("36\ttrue\n", out)
  end)
end)

describe("core.b64encode and core.b64decode", function()
  local vectors = { -- RFC 4648, section 10
    { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
  }

  it("encodes and decodes the RFC 4648 test vectors", function()
    for _, v in ipairs(vectors) do
      assert.equal(v[2], core.b64encode(v[1]))
      assert.equal(v[1], core.b64decode(v[2]))
    end
  end)

  it("uses the standard alphabet (+ and /)", function()
    assert.equal("+/+/", core.b64encode("\251\255\191"))
    assert.equal("\251\255\191", core.b64decode("+/+/"))
  end)

  it("round-trips every byte value and every length up to 100", function()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    assert.equal(all, core.b64decode(core.b64encode(all)))
    for n = 0, 100 do
      local s = all:sub(157 - n, 156)
      local e = core.b64encode(s)
      assert.equal(4 * math.ceil(n / 3), #e)
      assert.equal(s, core.b64decode(e))
    end
  end)

  it("returns nil for input that is not padded standard base64", function()
    for _, bad in ipairs{ "Zg", "Zg=", "Zm9", "Zg=a", "Z===", "====", "=Zm9", "Zg==Zg==", "Zm9v!A==",
                          "Zm9v\n", " Zm9v", "Zm9v YmFy", "Zm9-YmFy", "Zm9_YmFy", "Zm9vYmF\0" } do
      assert.is_nil(core.b64decode(bad), bad)
    end
  end)

  it("raises for a non-string argument", function()
    assert.has_error(function() core.b64encode(nil) end)
    assert.has_error(function() core.b64decode({}) end)
  end)
end)

describe("core.monotime, core.time and core.sleep", function()
  it("monotime never goes backwards", function()
    local last = core.monotime()
    for _ = 1, 10000 do
      local now = core.monotime()
      assert.is_true(now >= last)
      last = now
    end
  end)

  it("time is the wall clock in epoch seconds, with a fraction", function()
    local t = core.time()
    assert.is_true(math.abs(t - os.time()) <= 2)
    local fractional = false
    for _ = 1, 20 do
      if core.time() % 1 ~= 0 then fractional = true end
    end
    assert.is_true(fractional)
  end)

  it("sleep sleeps about the time asked, measured on the monotonic clock", function()
    for _, s in ipairs{ 0.05, 0.15 } do
      local t0 = core.monotime()
      core.sleep(s)
      local took = core.monotime() - t0
      assert.is_true(took >= s and took < s + 0.1, "asked " .. s .. ", took " .. took)
    end
  end)

  it("returns at once for zero or negative durations and raises for a non-number", function()
    local t0 = core.monotime()
    core.sleep(0)
    core.sleep(-5)
    assert.is_true(core.monotime() - t0 < 0.01)
    assert.has_error(function() core.sleep("soon") end)
    assert.has_error(function() core.sleep(0 / 0) end)
  end)
end)

describe("core.sha1_hex", function()
  it("matches the FIPS 180 test vectors", function()
    assert.equal("da39a3ee5e6b4b0d3255bfef95601890afd80709", core.sha1_hex(""))
    assert.equal("a9993e364706816aba3e25717850c26c9cd0d89d", core.sha1_hex("abc"))
    assert.equal("84983e441c3bd26ebaae4aa1f95129e5e54670f1",
      core.sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
    assert.equal("34aa973cd4c4daa4f61eeb2bdbad27316534016f", core.sha1_hex(("a"):rep(1000000)))
  end)
end)

describe("core.write_private", function()
  local helpers = require("helpers")
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  local function mode_of(path)
    return (helpers.run("stat -c %a " .. helpers.shell_quote(path)):match("^%d+"))
  end

  local function entries()
    local out = {}
    for name in helpers.run("ls -A " .. helpers.shell_quote(dir)):gmatch("[^\n]+") do out[#out + 1] = name end
    table.sort(out)
    return out
  end

  it("replaces a file with the data, readable by its owner only, leaving no temporary file", function()
    local path = dir .. "/token.json"
    helpers.write_file(path, "old contents that are longer than the new ones")
    os.execute("chmod 644 " .. helpers.shell_quote(path))
    assert.is_true(core.write_private(path, "new\0bytes"))
    assert.equal("new\0bytes", helpers.read_file(path))
    assert.equal("600", mode_of(path))
    assert.same({ "token.json" }, entries())
    local big = ("x"):rep(3 * 1024 * 1024)
    assert.is_true(core.write_private(path, big))
    assert.equal(big, helpers.read_file(path))
  end)

  it("returns nil and a message naming the path when the directory is missing", function()
    local ok, msg = core.write_private(dir .. "/missing/token.json", "x")
    assert.is_nil(ok)
    assert.matches("cannot create a file next to .*/missing/token%.json: No such file", msg)
  end)

  it("returns nil and a message when the target cannot be replaced, and cleans up", function()
    assert(os.execute("mkdir " .. helpers.shell_quote(dir .. "/adir")))
    helpers.write_file(dir .. "/adir/inside", "x")
    local ok, msg = core.write_private(dir .. "/adir", "x") -- rename over a non-empty directory
    assert.is_nil(ok)
    assert.matches("cannot write .*/adir: ", msg)
    assert.same({ "adir" }, entries())
  end)
end)
