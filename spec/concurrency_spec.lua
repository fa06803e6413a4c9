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
end)
