local helpers = require("helpers")

local SCM = "rockspec/gameliftstreams-scm-1.rockspec"
local RELEASE = "rockspec/gameliftstreams-0.1.0-1.rockspec"

local function load_rockspec(ROCKSPEC)
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

for _, ROCKSPEC in ipairs({ SCM, RELEASE }) do
  describe(ROCKSPEC, function()
    local spec = load_rockspec(ROCKSPEC)

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

    it("has a test section: luarocks test runs the busted suite", function()
      assert.are.equal("command", spec.test.type)
      assert.truthy(spec.test.command:find("busted", 1, true))
    end)

    it("installs a working require('gameliftstreams') into a tree with luarocks make", function()
      if os.getenv("GLS_SANITIZED") then return end -- builds with gcc: nothing to sanitize
      if ROCKSPEC ~= SCM then return end -- the release is installed by spec/install_spec.lua
      local tmp = helpers.tmpdir()
      finally(function() helpers.rm_rf(tmp) end)
      local q = helpers.shell_quote
      -- build from a copy, as a user's checkout would, so the working tree is left alone
      local _, ok = helpers.run(string.format("cp -r csrc lua bin rockspec types %s/", q(tmp)))
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

      -- the LuaLS annotations are in the rock's folder, where the README points editors
      for _, t in ipairs({ "gameliftstreams.lua", "gameliftstreams-client.lua", "gameliftstreams-shapes.lua" }) do
        local installed = helpers.read_file(tmp .. "/tree/lib/luarocks/rocks-5.4/gameliftstreams/scm-1/types/" .. t)
        assert.are.equal(helpers.read_file("types/" .. t), installed, t)
      end
    end)
  end)
end

describe("the release rockspec", function()
  local scm, release = helpers.read_file(SCM), helpers.read_file(RELEASE)

  it("is the scm rockspec with a version and a source pinned to the tag v0.1.0", function()
    local spec = load_rockspec(RELEASE)
    assert.are.equal("0.1.0-1", spec.version)
    assert.are.equal("v0.1.0", spec.source.tag)
    assert.is_nil(spec.source.branch)
    local same = release:gsub('version = "0%.1%.0%-1"', 'version = "scm-1"')
                        :gsub('  tag = "v0%.1%.0",\n  dir = "gameliftstreams%-lua",\n', '  branch = "main",\n')
    assert.is_true(same == scm, "the two rockspecs differ beyond version and source")
  end)

  it("is recorded in CHANGELOG.md", function()
    local log = assert(helpers.read_file("CHANGELOG.md"))
    assert.truthy(log:find("\n## 0%.1%.0 "))
  end)
end)

-- The output and whether the command succeeded (LuaJIT's popen close does not tell).
local function run_rc(cmd)
  local out = helpers.run("(" .. cmd .. ") 2>&1; echo \"rc=$?\"")
  local body, rc = out:match("^(.-)rc=(%d+)\n?$")
  return body, rc == "0"
end

describe("the C core and PUC Lua 5.1", function()
  local have = helpers.read_file("/usr/include/lua5.1/lua.h") ~= nil

  it("refuses to build against PUC Lua 5.1's headers, saying what to do", function()
    assert.is_true(have, "liblua5.1-0-dev is missing (tools/deps.sh installs it)")
    local out, ok = run_rc("cc -std=c99 -fsyntax-only -I/usr/include/lua5.1 csrc/core.c")
    assert.is_false(ok)
    assert.truthy(out:find("PUC Lua 5.1's headers", 1, true), out)
    assert.truthy(out:find("LUA_INCDIR=/usr/include/luajit-2.1", 1, true), out)
  end)

  it("builds against LuaJIT's headers", function()
    local out, ok = run_rc("cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fsyntax-only "
                                .. "-I/usr/include/luajit-2.1 csrc/*.c")
    assert.is_true(ok, out)
    assert.are.equal("", out)
  end)
end)
