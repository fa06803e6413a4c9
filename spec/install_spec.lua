-- Installs that work the first time: what a user meets with LuaRocks.
local helpers = require("helpers")

-- The output and whether the command succeeded (LuaJIT's popen close does not tell).
local function run_rc(cmd)
  local out = helpers.run("(" .. cmd .. ") 2>&1; echo \"rc=$?\"")
  local body, rc = out:match("^(.-)rc=(%d+)\n?$")
  return body, rc == "0"
end

describe("the emulator without the C module", function()
  it("refuses to start and says why, instead of answering every request with a 500", function()
    -- run from an empty folder: the default path's ./?.so would find the gameliftstreams/core.so
    -- that `luarocks make` (the README's "from a checkout") leaves at the checkout's root
    local tmp = helpers.tmpdir()
    finally(function() helpers.rm_rf(tmp) end)
    local root = helpers.root
    local out, ok = run_rc(string.format(
      "cd %s && LUA_PATH=%s LUA_CPATH='/nonexistent/?.so;;' timeout 10 lua5.4 %s --port 0",
      helpers.shell_quote(tmp), helpers.shell_quote(root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"),
      helpers.shell_quote(root .. "/bin/gameliftstreams-emulator")))
    assert.is_false(ok)
    assert.is_nil(out:find("listening", 1, true))
    assert.truthy(out:find("cannot load the C module gameliftstreams.core", 1, true), out)
    assert.truthy(out:find("Lua 5.4", 1, true), out)
  end)
end)

-- The release as a user gets it: `luarocks pack` of rockspec/gameliftstreams-0.1.0-1.rockspec
-- makes a source rock, which `luarocks install` builds and installs with no network into a
-- tree, under Lua 5.4 and under LuaJIT. The rockspec's source (the project's git host, tag
-- v0.1.0) is replaced by a local git repository holding this tree with that tag: the one
-- change from the real rockspec. Run once, by the Lua 5.4 suite (it is about the trees).
local skip = rawget(_G, "jit") ~= nil or os.getenv("GLS_SANITIZED") ~= nil
local describe_rock = skip and pending or describe

describe_rock("the 0.1.0 release rock", function()
  local q = helpers.shell_quote
  local dir, rock
  -- no network: every download LuaRocks might try goes to a closed port
  local OFFLINE = "env http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 "
    .. "HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 "
  local FLAVOURS = {
    { name = "Lua 5.4", lua = "lua5.4", args = "--lua-version=5.4", tree = "t54", abi = "5.4", env = "" },
    -- the README's LuaJIT set-up: the 5.1 tree with LuaJIT's interpreter and headers
    { name = "LuaJIT", lua = "luajit", args = "--lua-version=5.1", tree = "tjit", abi = "5.1", jit = true },
  }

  setup(function()
    dir = helpers.tmpdir()
    local src = dir .. "/gameliftstreams-lua"
    local out, ok = run_rc(string.format(
      "mkdir %s && cp -r csrc lua bin rockspec types NOTICE README.md CHANGELOG.md %s/ && cd %s && git init -q . "
      .. "&& git add -A && git -c user.name=spec -c user.email=spec@example.com commit -qm 0.1.0 && git tag v0.1.0",
      q(src), q(src), q(src)))
    assert(ok, out)
    local spec = assert(helpers.read_file("rockspec/gameliftstreams-0.1.0-1.rockspec"))
    local url = "git+https://github.com/gameliftstreams/gameliftstreams-lua.git"
    assert(spec:find(url, 1, true), "the rockspec's source changed: update this spec")
    helpers.write_file(dir .. "/gameliftstreams-0.1.0-1.rockspec",
      (spec:gsub(url:gsub("%p", "%%%0"), "git+file://" .. src)))
    helpers.write_file(dir .. "/luajit-config.lua",
      'lua_interpreter = "luajit"\nvariables = { LUA_INCDIR = "/usr/include/luajit-2.1", LUA_BINDIR = "/usr/bin" }\n')
    FLAVOURS[2].env = "LUAROCKS_CONFIG=" .. q(dir .. "/luajit-config.lua") .. " "
    rock = dir .. "/gameliftstreams-0.1.0-1.src.rock"
  end)

  teardown(function() if dir then helpers.rm_rf(dir) end end)

  it("luarocks pack makes a source rock of the tag, with the rockspec and the sources", function()
    local out, ok = run_rc(string.format("cd %s && %sluarocks pack gameliftstreams-0.1.0-1.rockspec", q(dir), OFFLINE))
    assert.is_true(ok, out)
    assert.truthy(helpers.read_file(rock), out)
    local list = run_rc("cd " .. q(dir) .. " && luarocks --lua-version=5.4 unpack --force gameliftstreams-0.1.0-1.src.rock >/dev/null && ls gameliftstreams-0.1.0-1 gameliftstreams-0.1.0-1/gameliftstreams-lua")
    assert.truthy(list:find("gameliftstreams-0.1.0-1.rockspec", 1, true), list)
    assert.truthy(list:find("csrc", 1, true), list)
    assert.truthy(list:find("types", 1, true), list)
  end)

  for _, F in ipairs(FLAVOURS) do
    it("installs with no network under " .. F.name .. ", and a call and the emulator run from the tree", function()
      assert.truthy(helpers.read_file(rock), "no source rock (the pack spec failed)")
      local tree = dir .. "/" .. F.tree
      local out, ok = run_rc(string.format("cd %s && %s%sluarocks %s --tree=%s install --deps-mode=none %s",
        q(dir), OFFLINE, F.env, F.args, q(tree), q(rock)))
      assert.is_true(ok, out)
      if F.jit then assert.truthy(out:find("-I/usr/include/luajit-2.1", 1, true), out) end
      assert.truthy(helpers.read_file(tree .. "/lib/luarocks/rocks-" .. F.abi
        .. "/gameliftstreams/0.1.0-1/types/gameliftstreams.lua"), "types/ not installed")
      local path = run_rc(string.format("%sluarocks %s --tree=%s path", F.env, F.args, q(tree)))
      -- the emulator, as the rock's command
      local log = dir .. "/emu-" .. F.tree
      out, ok = run_rc(string.format("cd %s && %s (%s/bin/gameliftstreams-emulator --port 0 --delay-scale 0.01 >%s.out 2>%s.err & echo $! >%s.pid)",
        q(dir), path:gsub("\n", "; "), q(tree), q(log), q(log), q(log)))
      assert.is_true(ok, out)
      local pid = helpers.read_file(log .. ".pid"):match("%d+")
      finally(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
      local port
      for _ = 1, 100 do
        port = (helpers.read_file(log .. ".out") or ""):match("listening (%d+)")
        if port then break end
        os.execute("sleep 0.1")
      end
      assert.truthy(port, "the emulator did not start: " .. tostring(helpers.read_file(log .. ".err")))
      -- a call, with the library from the tree under that interpreter
      local script = [[
        local gls = require("gameliftstreams")
        io.write(package.searchpath("gameliftstreams.core", package.cpath), "\n")
        local c = assert(gls.new{ region = "us-west-2", endpoint = arg[1],
          credentials = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret" } })
        local app = assert(c:create_application{ Description = "rock", ExecutablePath = "bin/game",
          RuntimeEnvironment = { Type = "PROTON", Version = "20241007" }, ApplicationSourceUri = "s3://b/g/" })
        local got = assert(c:get_application{ Identifier = app.Id })
        io.write(got.Id == app.Id and "same application\n" or "different\n")
      ]]
      helpers.write_file(dir .. "/call.lua", script)
      out, ok = run_rc(string.format("cd %s && %s %s call.lua http://127.0.0.1:%s", q(dir), path:gsub("\n", "; "),
        F.lua, port))
      assert.is_true(ok, out)
      assert.truthy(out:find(tree .. "/lib/lua/" .. F.abi .. "/gameliftstreams/core.so\n", 1, true), out)
      assert.truthy(out:find("same application\n", 1, true), out)
    end)
  end

  it("refuses PUC Lua 5.1 (Debian's luarocks default) with a message that says what to do", function()
    local out, ok = run_rc(string.format("cd %s && %sluarocks --lua-version=5.1 --tree=%s install --deps-mode=none %s",
      q(dir), OFFLINE, q(dir .. "/t51"), q(rock)))
    assert.is_false(ok)
    assert.truthy(out:find("PUC Lua 5.1's headers", 1, true), out)
    assert.truthy(out:find("LUA_INCDIR=/usr/include/luajit-2.1", 1, true), out)
  end)
end)
