-- The emulator command (bin/gameliftstreams-emulator, emulator/cli.lua).
local helpers = require("helpers")

describe("the emulator command", function()
  it("explains its options and refuses unknown ones", function()
    local cmd = "env " .. helpers.lua_env() .. " lua5.4 " .. helpers.root .. "/bin/gameliftstreams-emulator"
    -- the exit status is echoed: LuaJIT's popen close does not report it
    local out = helpers.run(cmd .. " --help 2>&1; echo rc=$?")
    assert.matches("%-%-delay%-scale", out)
    assert.matches("rc=0", out)
    out = helpers.run(cmd .. " --bogus 2>&1; echo rc=$?")
    assert.matches("unknown option %-%-bogus", out)
    assert.matches("rc=2", out)
  end)
end)
