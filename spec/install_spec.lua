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
    local out, ok = run_rc(string.format(
      "cd %s && LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='/nonexistent/?.so;;' timeout 10 lua5.4 bin/gameliftstreams-emulator --port 0",
      helpers.shell_quote(helpers.root)))
    assert.is_false(ok)
    assert.is_nil(out:find("listening", 1, true))
    assert.truthy(out:find("cannot load the C module gameliftstreams.core", 1, true), out)
    assert.truthy(out:find("Lua 5.4", 1, true), out)
  end)
end)
