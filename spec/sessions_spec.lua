-- client:start_session_and_wait against the emulator: success, and clean-up
-- (TerminateStreamSession) after a failure, a timeout and a cancellation.
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
