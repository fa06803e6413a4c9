-- Coroutine-friendliness, shown end to end against the emulator: 50 sessions started
-- and waited for in 50 tasks take about as long as one, and a game loop's
-- gls.step(0.01) never blocks much longer than asked. (Figures: bench/concurrency_bench.sh.)
local helpers = require("helpers")

describe("concurrency", function()
  local emu, client, gls, group, app

  -- Sessions take 0.5 s to become ACTIVE (delay scale 0.5); the waiter polls every 0.1 s.
  local WAIT = { min_delay = 0.1, max_delay = 0.1, max_wait = 60 }

  setup(function()
    emu = helpers.start_emulator{ delay_scale = 0.05 }
    client = helpers.client(emu)
    gls = require("gameliftstreams")
    local FAST = { min_delay = 0.02, max_delay = 0.1, max_wait = 20 }
    app = assert(client:create_application{
      Description = "concurrency-spec", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
      ExecutablePath = "bin/game", ApplicationSourceUri = "s3://bucket/game/" })
    assert(client:wait("application_ready", { Identifier = app.Id }, FAST))
    group = assert(client:create_stream_group{
      Description = "concurrency-spec", StreamClass = "gen5n_high", DefaultApplicationIdentifier = app.Id,
      LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 1 } } })
    assert(client:wait("stream_group_active", { Identifier = group.Id }, FAST))
    helpers.control(emu, "POST", "config", { delay_scale = 0.5 })
  end)

  teardown(function()
    if emu then emu.stop() end
  end)

  local function start_one(i)
    return client:start_session_and_wait({
      Identifier = group.Id, ApplicationIdentifier = app.Id, Protocol = "WebRTC",
      SignalRequest = "offer", UserId = "player-" .. i }, WAIT)
  end

  it("50 sessions waited for in 50 tasks take about as long as one", function()
    local sched = require("gameliftstreams.sched")
    local t0 = sched.now()
    local one = gls.spawn(start_one, 0)
    assert.is_true(gls.run())
    local single = sched.now() - t0
    assert.equal("ACTIVE", one.result.Status)
    assert.is_true(single >= 0.45, "a session became ACTIVE in " .. single .. " s: the emulator is not slowed down")

    local tasks = {}
    t0 = sched.now()
    for i = 1, 50 do tasks[i] = gls.spawn(start_one, i) end
    local ok, err = gls.run()
    local many = sched.now() - t0
    assert.is_true(ok, tostring(err))
    local arns = {}
    for i = 1, 50 do
      assert.equal("done", tasks[i].status)
      assert.equal("ACTIVE", tasks[i].result.Status)
      arns[tasks[i].result.Arn] = true
    end
    local distinct = 0
    for _ in pairs(arns) do distinct = distinct + 1 end
    assert.equal(50, distinct)
    -- one after the other: 50 x single; at once: about single
    assert.is_true(many < 5 * single, string.format("50 at once: %.2f s, one: %.2f s", many, single))
  end)

  it("a game loop's step(0.01) never blocks much longer than asked", function()
    local sched = require("gameliftstreams.sched")
    local tasks = {}
    for i = 1, 30 do tasks[i] = gls.spawn(start_one, 100 + i) end
    local worst, frames, live = 0, 0, nil
    local t0 = sched.now()
    repeat
      local f0 = sched.now()
      local failed
      live, failed = gls.step(0.01)
      assert.is_nil(failed)
      local dt = sched.now() - f0
      if dt > worst then worst = dt end
      frames = frames + 1
    until live == 0 or sched.now() - t0 > 30
    assert.equal(0, live)
    for i = 1, 30 do assert.equal("ACTIVE", tasks[i].result.Status) end
    -- generous: a frame's budget plus the CPU work of whatever finished in it
    assert.is_true(worst < 0.25, string.format("worst frame %.3f s", worst))
    assert.is_true(frames >= 30, "only " .. frames .. " frames")
  end)

  describe("the examples", function()
    local emu2

    setup(function() emu2 = helpers.start_emulator{ delay_scale = 0.1 } end)
    teardown(function() if emu2 then emu2.stop() end end)

    -- Runs an example with the interpreter running this spec, against the emulator.
    local function run_example(file, extra_env)
      local root = helpers.root
      local lua, variant = "lua5.4", "5.4"
      if rawget(_G, "jit") then lua, variant = "luajit", "jit" end
      local cmd = string.format("cd %s && env -u LD_PRELOAD LUA_PATH=%s LUA_CPATH=%s GLS_ENDPOINT=%s " ..
        "AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=us-west-2 AWS_CONFIG_FILE=/dev/null " ..
        "AWS_SHARED_CREDENTIALS_FILE=/dev/null GLS_POLL_SECONDS=0.05 %s timeout 120 %s %s",
        helpers.shell_quote(root),
        helpers.shell_quote(root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"),
        helpers.shell_quote(root .. "/build/" .. variant .. "/?.so;;"),
        emu2.url, emu2.access_key_id, emu2.secret_access_key, extra_env or "", lua, file)
      return helpers.run(cmd)
    end

    it("quickstart.lua goes from nothing to a session and back, and exits 0", function()
      local out, ok = run_example("examples/quickstart.lua")
      assert.is_true(ok, out)
      assert.matches("is READY", out)
      assert.matches("is ACTIVE", out)
      assert.matches("1 session%(s%)", out)
      assert.matches("application deleted", out)
      assert.matches("quickstart done", out)
    end)

    it("game_loop.lua streams to every player with one gls.step per frame", function()
      local out, ok = run_example("examples/game_loop.lua", "GLS_PLAYERS=12")
      assert.is_true(ok, out)
      assert.matches("done: 12 players streamed and left", out)
    end)
  end)
end)
