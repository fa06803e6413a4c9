-- client:start_session_and_wait against the emulator: success, and clean-up
-- (TerminateStreamSession) after a failure, a timeout and a cancellation; starts whose
-- answer is lost (timeouts on every attempt, a dropped or unreadable answer after the
-- session was created, a cancelled task) are cleaned up by replaying their ClientToken, at
-- once or in the background, within the clean-up's bound.
local helpers = require("helpers")

describe("start_session_and_wait", function()
  local emu, client, sched, group, app

  local FAST = { min_delay = 0.02, max_delay = 0.1, max_wait = 20 }

  setup(function()
    emu = helpers.start_emulator{ delay_scale = 0.05 }
    client = helpers.client(emu)
    sched = require("gameliftstreams.sched")
    app = assert(client:create_application{
      Description = "sessions-spec", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
      ExecutablePath = "bin/game", ApplicationSourceUri = "s3://bucket/game/" })
    assert(client:wait("application_ready", { Identifier = app.Id }, FAST))
    group = assert(client:create_stream_group{
      Description = "sessions-spec", StreamClass = "gen5n_high", DefaultApplicationIdentifier = app.Id,
      LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 1 } } })
    assert(client:wait("stream_group_active", { Identifier = group.Id }, FAST))
  end)

  teardown(function()
    if emu then emu.stop() end
  end)

  local function input(extra)
    local t = { Identifier = group.Id, ApplicationIdentifier = app.Id, Protocol = "WebRTC",
                SignalRequest = "v=0 offer" }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  -- TerminateStreamSession requests the emulator received for this session.
  local function terminations(arn)
    local _, body = helpers.control(emu, "GET", "requests?operation=TerminateStreamSession")
    local n = 0
    local id = arn:match("[^/]+$")
    for _, r in ipairs(body.requests) do
      if tostring(r.path or r.target or ""):find(id, 1, true) then n = n + 1 end
    end
    return n
  end

  local function status_of(arn)
    local out = assert(client:get_stream_session{ Identifier = group.Id, StreamSessionIdentifier = arn })
    return out.Status
  end

  it("returns the ACTIVE session with its SignalResponse", function()
    local s, err = client:start_session_and_wait(input{ UserId = "player-1" }, FAST)
    assert.is_nil(err)
    assert.equal("ACTIVE", s.Status)
    assert.equal("player-1", s.UserId)
    assert.is_string(s.SignalResponse)
    assert.is_true(#s.SignalResponse > 0)
    assert.equal(0, terminations(s.Arn))
  end)

  it("returns the start's own error when the start fails, terminating nothing", function()
    local s, err = client:start_session_and_wait(input{ Identifier = "sg-000000000" }, FAST)
    assert.is_nil(s)
    assert.equal("ResourceNotFoundException", err.code)
  end)

  it("terminates the session when it goes to ERROR and returns the waiter's failure", function()
    local s, err = client:start_session_and_wait(input{ UserId = "fail-me" }, FAST)
    assert.is_nil(s)
    assert.equal("WaiterFailure", err.code)
    assert.equal("ERROR", err.last_output.Status)
    assert.is_string(err.session_arn)
    assert.equal(1, terminations(err.session_arn))
    assert.is_nil(err.termination_error)
  end)

  it("terminates the session when the wait times out", function()
    -- slow the emulator down so ACTIVATING outlasts max_wait
    helpers.control(emu, "POST", "config", { delay_scale = 5 })
    local ok, s, err = pcall(client.start_session_and_wait, client, input(),
                             { min_delay = 0.05, max_delay = 0.1, max_wait = 0.3 })
    helpers.control(emu, "POST", "config", { delay_scale = 0.05 })
    assert.is_true(ok, tostring(s))
    assert.is_nil(s)
    assert.equal("WaiterTimeout", err.code)
    assert.equal(1, terminations(err.session_arn))
    assert.matches("TERMINAT", status_of(err.session_arn))
  end)

  it("terminates the session when its task is cancelled, and returns Cancelled", function()
    helpers.control(emu, "POST", "config", { delay_scale = 5 })
    local task = sched.spawn(function()
      return client:start_session_and_wait(input(), { min_delay = 0.05, max_delay = 0.1, max_wait = 60 })
    end)
    local t0 = sched.now()
    while sched.now() - t0 < 0.3 do sched.step(0.02) end
    task:cancel()
    local ok = sched.run()
    helpers.control(emu, "POST", "config", { delay_scale = 0.05 })
    assert.is_true(ok)
    assert.equal("cancelled", task.status)
    local err = task.results[2]
    assert.equal("Cancelled", err.code)
    assert.is_string(err.session_arn)
    assert.equal(1, terminations(err.session_arn))
    assert.matches("TERMINAT", status_of(err.session_arn))
  end)

  -- Sessions of the group started for this UserId, as the emulator lists them.
  local function sessions_of(user)
    local found = {}
    for s in client:items("list_stream_sessions", { Identifier = group.Id }) do
      if s.UserId == user then found[#found + 1] = s end
    end
    return found
  end

  it("counts a cancelled task's start as pending until its clean-up ran: cancel all, drain, nothing left", function()
    -- a game server shutting down: 30 starts waiting (ACTIVATING), every task cancelled, then
    -- drain_cleanups, then exit; the tasks had not run since their cancel when drain began
    helpers.control(emu, "POST", "config", { delay_scale = 5 })
    local tasks = {}
    for i = 1, 30 do
      tasks[i] = sched.spawn(function()
        return client:start_session_and_wait(input{ UserId = "shutdown" },
          { min_delay = 0.05, max_delay = 0.1, max_wait = 60 })
      end)
    end
    local t0 = sched.now()
    while sched.now() - t0 < 0.3 do sched.step(0.02) end
    for i = 1, 30 do assert.is_true(tasks[i]:cancel()) end
    local pending = client:pending_cleanups()
    assert.equal(30, #pending)
    for _, rec in ipairs(pending) do
      assert.equal("pending", rec.status)
      assert.is_string(rec.client_token)
      assert.is_string(rec.session_arn)
      assert.is_nil(rec.input)
    end
    local drained = client:drain_cleanups(20)
    helpers.control(emu, "POST", "config", { delay_scale = 0.05 })
    assert.is_true(drained)
    assert.equal(0, #client:pending_cleanups())
    local found = sessions_of("shutdown")
    assert.equal(30, #found)
    for _, s in ipairs(found) do assert.matches("TERMINAT", s.Status) end
    for i = 1, 30 do assert.equal("cancelled", tasks[i].status) end
  end)

  it("does not count a start under way whose task was not cancelled", function()
    helpers.control(emu, "POST", "config", { delay_scale = 5 })
    local task = sched.spawn(function()
      return client:start_session_and_wait(input{ UserId = "still-starting" },
        { min_delay = 0.05, max_delay = 0.1, max_wait = 60 })
    end)
    local t0 = sched.now()
    while sched.now() - t0 < 0.3 do sched.step(0.02) end
    assert.equal(0, #client:pending_cleanups())
    helpers.control(emu, "POST", "config", { delay_scale = 0.05 })
    assert.is_true(sched.run())
    assert.equal("ACTIVE", task.result.Status)
    assert.is_true(client:drain_cleanups(1))
  end)

  it("terminates a session whose start was cut off by a cancellation (replays its ClientToken)", function()
    helpers.control(emu, "POST", "faults", { kind = "slow", operation = "StartStreamSession",
                                             seconds = 1, count = 1 })
    local given = input{ UserId = "cut-off" }
    local task = sched.spawn(function()
      return client:start_session_and_wait(given, FAST)
    end)
    local t0 = sched.now()
    while sched.now() - t0 < 0.3 do sched.step(0.02) end
    task:cancel()
    assert.is_true(sched.run())
    helpers.control(emu, "DELETE", "faults")
    assert.is_nil(given.ClientToken) -- the caller's table is left alone
    local err = task.results[2]
    assert.equal("Cancelled", err.code)
    assert.is_string(err.session_arn)
    assert.equal(1, terminations(err.session_arn))
    local found = sessions_of("cut-off")
    assert.equal(1, #found)
    assert.equal(err.session_arn, found[1].Arn)
    assert.matches("TERMINAT", found[1].Status)
    -- both starts carried the same token
    local _, log = helpers.control(emu, "GET", "requests?operation=StartStreamSession")
    local tokens = {}
    for _, r in ipairs(log.requests) do
      if r.client_token then tokens[r.client_token] = (tokens[r.client_token] or 0) + 1 end
    end
    local most = 0
    for _, n in pairs(tokens) do most = math.max(most, n) end
    assert.is_true(most >= 2, "the replay reused the first start's ClientToken")
  end)

  it("uses the caller's ClientToken for the start", function()
    local token = "caller-token-0123456789abcdef0123456789"
    local s = assert(client:start_session_and_wait(input{ UserId = "own-token", ClientToken = token }, FAST))
    local again = assert(client:start_stream_session(input{ UserId = "own-token", ClientToken = token }))
    assert.equal(s.Arn, again.Arn) -- the same token names the same session
  end)

  it("t:join() of a cancelled start returns the error that carries session_arn", function()
    helpers.control(emu, "POST", "config", { delay_scale = 5 })
    local task = sched.spawn(function()
      return client:start_session_and_wait(input{ UserId = "joined" }, { min_delay = 0.05, max_delay = 0.1, max_wait = 60 })
    end)
    local t0 = sched.now()
    while sched.now() - t0 < 0.3 do sched.step(0.02) end
    task:cancel()
    local ok, err = task:join()
    helpers.control(emu, "POST", "config", { delay_scale = 0.05 })
    assert.is_false(ok)
    assert.equal("Cancelled", err.code)
    assert.is_string(err.session_arn)
    assert.is_string(err.client_token)
    assert.equal(task.results[2], err)
  end)

  describe("a start whose answer is lost", function()
    -- a client whose attempts give up quickly, and a clean-up that retries quickly
    local fc
    local CLEAN = { min_delay = 0.05, max_delay = 0.2, max_time = 30 }
    local function opts(extra)
      local o = { min_delay = 0.02, max_delay = 0.1, max_wait = 20, cleanup = CLEAN }
      for k, v in pairs(extra or {}) do o[k] = v end
      return o
    end

    setup(function()
      fc = helpers.client(emu, { timeout = 0.4, connect_timeout = 1, max_attempts = 2 })
      fc.retry.rng = function() return 0.01 end
    end)
    after_each(function() helpers.control(emu, "DELETE", "faults") end)

    local function fault(f)
      f.operation = f.operation or "StartStreamSession"
      f.count = f.count or 100
      assert.equal(200, (helpers.control(emu, "POST", "faults", f)))
    end

    -- Every session of `user` ends TERMINATED (within `secs`), and there is exactly one.
    local function terminated_one(user, secs)
      local t0 = sched.now()
      local found
      repeat
        found = sessions_of(user)
        local all = #found > 0
        for _, s in ipairs(found) do all = all and s.Status == "TERMINATED" end
        if all then break end
        sched.sleep(0.05)
      until sched.now() - t0 > (secs or 5)
      assert.equal(1, #found, "sessions of " .. user)
      assert.equal("TERMINATED", found[1].Status)
      return found[1]
    end

    local function lost(kind_fault, code, user)
      fault(kind_fault)
      local s, err = fc:start_session_and_wait(input{ UserId = user }, opts())
      assert.is_nil(s)
      assert.equal(code, err.code)
      assert.is_string(err.client_token)
      -- the replay at once was lost too: the clean-up goes on
      assert.equal("pending", err.cleanup.status)
      assert.equal(err.client_token, err.cleanup.client_token)
      assert.equal(1, #fc:pending_cleanups())
      assert.is_nil(err.cleanup.input) -- the start's input (its SignalRequest) is not in the record
      helpers.control(emu, "DELETE", "faults") -- the network recovers
      assert.is_true(fc:drain_cleanups(20))
      assert.equal("terminated", err.cleanup.status)
      assert.is_string(err.session_arn)
      assert.equal(err.session_arn, err.cleanup.session_arn)
      local found = terminated_one(user)
      assert.equal(err.session_arn, found.Arn)
      assert.equal(0, #fc:pending_cleanups())
      return err
    end

    it("slow answers past `timeout` on every attempt: the session is found and terminated", function()
      lost({ kind = "slow", seconds = 1 }, "Timeout", "lost-slow")
    end)

    it("a connection dropped after the session was created", function()
      lost({ kind = "drop", after = true }, "NetworkError", "lost-drop")
    end)

    it("a 2xx answer that is not JSON", function()
      local err = lost({ kind = "garbage", after = true }, "SerializationError", "lost-garbage")
      assert.equal(200, err.status)
    end)

    it("a 500 on every attempt after the session was created", function()
      lost({ kind = "error", status = 500, after = true }, "InternalServerException", "lost-500")
    end)

    it("a replay that succeeds at once settles it before returning", function()
      fault{ kind = "garbage", after = true, count = 1 } -- the start (not retried), not the replay
      local s, err = fc:start_session_and_wait(input{ UserId = "lost-once" }, opts())
      assert.is_nil(s)
      assert.equal("SerializationError", err.code)
      assert.equal("terminated", err.cleanup.status)
      assert.is_string(err.session_arn)
      assert.equal(0, #fc:pending_cleanups())
      terminated_one("lost-once")
    end)

    it("a task cancelled mid-start: the clean-up runs as a task that gls.run drives", function()
      fault{ kind = "slow", seconds = 1 }
      local task = sched.spawn(function()
        return fc:start_session_and_wait(input{ UserId = "lost-cancelled" }, opts())
      end)
      local t0 = sched.now()
      while sched.now() - t0 < 0.2 do sched.step(0.02) end
      task:cancel()
      while task.status == "running" do sched.step(0.05) end
      local ok, err = task:join()
      assert.is_false(ok)
      assert.equal("Cancelled", err.code)
      assert.is_string(err.client_token)
      assert.equal("pending", err.cleanup.status)
      assert.equal(1, sched.count()) -- the clean-up task
      helpers.control(emu, "DELETE", "faults")
      assert.is_true(sched.run())
      assert.equal("terminated", err.cleanup.status)
      assert.is_string(err.session_arn)
      terminated_one("lost-cancelled")
    end)

    it("gives up after cleanup.max_time, saying so in the record", function()
      fault{ kind = "drop", after = true }
      local t0 = sched.now()
      local _, err = fc:start_session_and_wait(input{ UserId = "lost-bound" },
        opts{ cleanup = { min_delay = 0.05, max_delay = 0.1, max_time = 0.5 } })
      assert.is_true(fc:drain_cleanups(10))
      assert.equal("expired", err.cleanup.status)
      assert.equal("NetworkError", err.cleanup.last_error.code)
      assert.is_true(err.cleanup.attempts >= 2)
      assert.is_true(sched.now() - t0 < 5)
    end)

    it("sessions.terminate goes on in the background when the termination fails", function()
      local sessions = require("gameliftstreams.sessions")
      local started = assert(fc:start_stream_session(input{ UserId = "handed-back" }))
      fault{ kind = "error", status = 503, code = "ServiceUnavailableException", operation = "TerminateStreamSession" }
      local ok, err = sessions.terminate(fc, group.Id, started.Arn, CLEAN)
      assert.is_nil(ok)
      assert.equal("ServiceUnavailableException", err.code)
      assert.equal(started.Arn, err.session_arn)
      assert.equal("pending", err.cleanup.status)
      helpers.control(emu, "DELETE", "faults")
      assert.is_true(fc:drain_cleanups(20))
      assert.equal("terminated", err.cleanup.status)
      terminated_one("handed-back")
      assert.is_true(sessions.terminate(fc, group.Id, started.Arn)) -- gone already: done
    end)

    it("credentials the service stops taking mid-way: the clean-up goes on until new ones work", function()
      helpers.control(emu, "POST", "credentials", { access_key_id = "AKIDROTATED1", secret_access_key = "s1" })
      helpers.control(emu, "POST", "credentials", { access_key_id = "AKIDROTATED2", secret_access_key = "s2" })
      local key = { access_key_id = "AKIDROTATED1", secret_access_key = "s1" }
      local rc = helpers.client(emu, { credentials = { get = function() return key end } })
      helpers.control(emu, "POST", "config", { delay_scale = 5 })
      local task = sched.spawn(function()
        return rc:start_session_and_wait(input{ UserId = "rotated" }, opts())
      end)
      local t0 = sched.now()
      while sched.now() - t0 < 0.3 do sched.step(0.02) end
      -- the service expires the client's key before the client refreshes it
      helpers.control(emu, "DELETE", "credentials", { access_key_id = "AKIDROTATED1" })
      while task.status == "running" and sched.now() - t0 < 10 do sched.step(0.02) end
      helpers.control(emu, "POST", "config", { delay_scale = 0.05 })
      local err = task.results[2]
      assert.is_string(err.session_arn)
      assert.equal("UnrecognizedClientException", err.termination_error.code)
      assert.equal("pending", err.cleanup.status)
      assert.equal(1, #rc:pending_cleanups())
      key = { access_key_id = "AKIDROTATED2", secret_access_key = "s2" } -- the refresh
      assert.is_true(rc:drain_cleanups(20))
      assert.equal("terminated", err.cleanup.status)
      assert.equal(err.session_arn, terminated_one("rotated").Arn)
    end)

    it("sessions.terminate under way in a task is pending: drain_cleanups waits for it", function()
      local sessions = require("gameliftstreams.sessions")
      local started = assert(fc:start_stream_session(input{ UserId = "terminate-in-task" }))
      fault{ kind = "slow", seconds = 0.3, count = 1, operation = "TerminateStreamSession" }
      local task = sched.spawn(sessions.terminate, fc, group.Id, started.Arn, CLEAN)
      local t0 = sched.now()
      while sched.now() - t0 < 0.1 do sched.step(0.02) end
      local pending = fc:pending_cleanups()
      assert.equal(1, #pending)
      assert.equal(started.Arn, pending[1].session_arn)
      assert.equal("pending", pending[1].status)
      assert.is_true(fc:drain_cleanups(10))
      assert.equal("done", task.status)
      assert.is_true(task.result)
      assert.equal(started.Arn, terminated_one("terminate-in-task").Arn)
    end)

    it("drain_cleanups(max_seconds) returns what is still pending when time runs out", function()
      fault{ kind = "drop", after = true }
      local _, err = fc:start_session_and_wait(input{ UserId = "lost-drain" }, opts())
      local ok, pending = fc:drain_cleanups(0.2)
      assert.is_false(ok)
      assert.equal(1, #pending)
      assert.equal(err.cleanup, pending[1])
      helpers.control(emu, "DELETE", "faults")
      assert.is_true(fc:drain_cleanups(20))
      terminated_one("lost-drain")
    end)
  end)

  it("terminates the session when the wait raises (a malformed timestamp), then raises again", function()
    helpers.control(emu, "POST", "faults", { kind = "garbage", operation = "GetStreamSession", count = 1,
      body = '{"Arn":"x","Status":"ACTIVATING","CreatedAt":"2026-13-01T00:00:00Z"}' })
    local ok, s, err = pcall(client.start_session_and_wait, client, input{ UserId = "bad-date" }, FAST)
    helpers.control(emu, "DELETE", "faults")
    if ok then -- once responses never raise: a WaiterFailure, the session terminated
      assert.is_nil(s)
      assert.is_string(err.session_arn)
    end
    local found = sessions_of("bad-date")
    assert.equal(1, #found)
    assert.matches("TERMINAT", found[1].Status)
  end)

  it("terminates the session when a poll raises, and raises that error again", function()
    local real = client
    local wrapper = { call = function(_, op, i)
      if op == "GetStreamSession" then error("poll exploded") end
      return real:call(op, i)
    end }
    local ok, e = pcall(require("gameliftstreams.sessions").start_and_wait, wrapper,
                        input{ UserId = "raised" }, FAST)
    assert.is_false(ok)
    assert.matches("poll exploded", e)
    local found = sessions_of("raised")
    assert.equal(1, #found)
    assert.matches("TERMINAT", found[1].Status)
  end)

  it("checks its options before starting anything, as gls.new does", function()
    local _, err = client:start_session_and_wait(input{ UserId = "bad-opts" }, { maxwait = 5 })
    assert.equal("InvalidParameter", err.code)
    assert.matches("start_session_and_wait: unknown option 'maxwait' %(did you mean 'max_wait'%?%)", err.message)
    _, err = client:start_session_and_wait(input{ UserId = "bad-opts" }, { cleanup = { maxtime = 5 } })
    assert.matches("cleanup: unknown option 'maxtime' %(did you mean 'max_time'%?%)", err.message)
    _, err = client:start_session_and_wait(input{ UserId = "bad-opts" }, { cleanup = 5 })
    assert.matches("option 'cleanup' must be a table", err.message)
    _, err = client:start_session_and_wait(input{ UserId = "bad-opts" }, { fail_fast = 1 })
    assert.matches("option 'fail_fast' must be a boolean", err.message)
    assert.equal(0, #sessions_of("bad-opts"))
  end)

  it("attaches the termination's own error when that fails too", function()
    helpers.control(emu, "POST", "faults", { kind = "error", operation = "TerminateStreamSession",
                                             code = "AccessDeniedException", status = 403, count = 1 })
    local s, err = client:start_session_and_wait(input{ UserId = "fail-me" }, FAST)
    helpers.control(emu, "DELETE", "faults")
    assert.is_nil(s)
    assert.equal("WaiterFailure", err.code)
    assert.equal("AccessDeniedException", err.termination_error.code)
  end)
end)

describe("the clean-up job's back-off", function()
  local sessions = require("gameliftstreams.sessions")
  local retry = require("gameliftstreams.retry")

  it("is the SDK's one back-off: retry.backoff from min_delay, doubling, up to max_delay", function()
    for _, u in ipairs{ 0, 0.25, 0.999 } do
      local rng = function() return u end
      for n = 1, 12 do
        assert.equal(retry.backoff(n, 1, 60, rng, 1), sessions.cleanup_delay(n, 1, 60, rng))
      end
    end
    local top = function() return 1 end
    assert.equal(1, sessions.cleanup_delay(1, 1, 60, top))   -- the first wait is min_delay
    assert.equal(4, sessions.cleanup_delay(3, 1, 60, top))   -- then it doubles
    assert.equal(60, sessions.cleanup_delay(10, 1, 60, top)) -- up to max_delay
    assert.equal(1, sessions.cleanup_delay(10, 1, 60, function() return 0 end)) -- never under min_delay
    assert.equal(1, sessions.cleanup_delay(0, 1, 60, top))   -- before any try: as the first
  end)
end)
