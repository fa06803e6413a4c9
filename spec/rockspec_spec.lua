local helpers = require("helpers")

local ROCKSPEC = "rockspec/gameliftstreams-scm-1.rockspec"

local function load_rockspec()
  local env = {}
  local chunk = assert(loadfile and (function()
    local src = assert(helpers.read_file(ROCKSPEC))
    if setfenv then
      local f = assert(loadstring(src))
      setfenv(f, env)
      return f
    end
    return assert(load(src, ROCKSPEC, "t", env))
  end)())
  chunk()
  return env
end

local function list(cmd)
  local out = {}
  local p = io.popen(cmd)
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

describe("the rockspec", function()
  local spec = load_rockspec()

  it("builds the C module from every C source in csrc/", function()
    local sources = {}
    for _, s in ipairs(spec.build.modules["gameliftstreams.core"].sources) do sources[s] = true end
    local files = list("ls csrc/*.c")
    assert.is_true(#files > 0)
    for _, f in ipairs(files) do
      assert.is_true(sources[f] == true, f .. " is not in the rockspec's sources")
    end
    for s in pairs(sources) do
      assert.is_not_nil(helpers.read_file(s), s .. " is listed but does not exist")
    end
  end)

  it("installs every Lua module under lua/, under its module name", function()
    local modules = spec.build.modules
    for _, f in ipairs(list("find lua -name '*.lua' | sort")) do
      local name = f:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      assert.equal(f, modules[name], f .. " is not installed as " .. name)
    end
  end)

  it("declares libcurl and OpenSSL as external dependencies and needs lua-cjson", function()
    assert.is_not_nil(spec.external_dependencies.CURL)
    assert.is_not_nil(spec.external_dependencies.OPENSSL)
    local deps = table.concat(spec.dependencies, " ")
    assert.truthy(deps:find("lua-cjson", 1, true))
  end)

  it("installs a working require('gameliftstreams') into a tree with luarocks make", function()
    if os.getenv("GLS_SANITIZED") then return end -- builds with gcc: nothing to sanitize
    local tmp = helpers.tmpdir()
    finally(function() helpers.rm_rf(tmp) end)
    local q = helpers.shell_quote
    -- build from a copy, as a user's checkout would, so the working tree is left alone
    local _, ok = helpers.run(string.format("cp -r csrc lua bin rockspec %s/", q(tmp)))
    assert.is_true(ok)
    local out
    out, ok = helpers.run(string.format(
      "cd %s && luarocks --lua-version=5.4 make --deps-mode=none %s --tree=%s/tree",
      q(tmp), ROCKSPEC, q(tmp)))
    assert.is_true(ok, out)
    local script = [[
      local gls = require("gameliftstreams")
      local s = gls.sign{ method = "GET", url = "https://example.amazonaws.com/", headers = {},
        body = "", region = "us-east-1", service = "service", time = 1440938160,
        credentials = { access_key_id = "AKIDEXAMPLE",
                        secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" } }
      io.write(s.signature)
    ]]
    out, ok = helpers.run(string.format(
      "cd %s && LUA_PATH=%s LUA_CPATH=%s lua5.4 -e %s", q(tmp),
      q(tmp .. "/tree/share/lua/5.4/?.lua;" .. tmp .. "/tree/share/lua/5.4/?/init.lua;/usr/share/lua/5.4/?.lua"),
      q(tmp .. "/tree/lib/lua/5.4/?.so;/usr/lib/x86_64-linux-gnu/lua/5.4/?.so"), q(script)))
    assert.is_true(ok, out)
    -- get-vanilla from the AWS SigV4 test suite
    assert.equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", out)
  end)
end)
