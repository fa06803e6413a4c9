-- Waiters: the model's acceptors against the emulator, and the Smithy algorithm
-- (back-off with jitter, max_wait with a last attempt at the deadline, cancellation)
-- against a scripted server, both over real sockets with the real client.
local helpers = require("helpers")

-- GET /applications/{id}:
--   "ready-after-<N>"  PROCESSING for the first N requests (per id), then READY
--   "never"            always PROCESSING
--   "throttled"        always 400 ValidationException (an error no acceptor matches)
local SCRIPTED = [[
local httpd = require("gameliftstreams.emulator.httpd")
local cjson = require("cjson")
local seen = {}
httpd.main{ handler = function(req)
  local id = req.path:match("^/applications/([^/]+)$")
  if not id then return 404, {}, "" end
  seen[id] = (seen[id] or 0) + 1
  local status = "PROCESSING"
  local n = tonumber(id:match("^ready%-after%-(%d+)"))
  if n and seen[id] > n then status = "READY" end
  if id == "throttled" then
    return 400, { ["Content-Type"] = "application/json", ["x-amzn-errortype"] = "ValidationException" },
      cjson.encode({ message = "nope" })
  end
  return 200, { ["Content-Type"] = "application/json" },
    cjson.encode({ Arn = "arn:aws:gameliftstreams:us-west-2:111122223333:application/" .. id, Id = id,
                   Status = status, Description = "x" })
end }
]]

local APP = {
  Description = "waiter-spec", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
  ExecutablePath = "bin/game", ApplicationSourceUri = "s3://bucket/game/",
}

local function with(t, extra)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

local FAST = { min_delay = 0.02, max_delay = 0.1, max_wait = 20 }

describe("waiters", function()
  local emu, client, sched

  setup(function()
    emu = helpers.start_emulator{ delay_scale = 0.05 }
    client = helpers.client(emu)
    sched = require("gameliftstreams.sched")
  end)

  teardown(function()
    if emu then emu.stop() end
  end)

  local function ready_group()
    local app = assert(client:create_application(APP))
    assert(client:wait("application_ready", { Identifier = app.Id }, FAST))
    local g = assert(client:create_stream_group{
      Description = "waiter-spec", StreamClass = "gen5n_high", DefaultApplicationIdentifier = app.Id,
      LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 1 } } })
    assert(client:wait("stream_group_active", { Identifier = g.Id }, FAST))
    return g, app
  end

  describe("against the emulator", function()
    it("application_ready returns the READY output (snake_case and PascalCase names)", function()
      local app = assert(client:create_application(APP))
      assert.equal("INITIALIZED", app.Status)
      local out, err = client:wait("application_ready", { Identifier = app.Id }, FAST)
      assert.is_nil(err)
      assert.equal("READY", out.Status)
      assert.equal(app.Id, out.Id)
      out = assert(client:wait("ApplicationReady", { Identifier = app.Id }, FAST))
      assert.equal("READY", out.Status)
    end)

    it("a failure acceptor gives WaiterFailure with the matched state and last output", function()
      local app = assert(client:create_application(with(APP, { Description = "please fail-me" })))
      local out, err = client:wait("application_ready", { Identifier = app.Id }, FAST)
      assert.is_nil(out)
      assert.equal("WaiterFailure", err.code)
      assert.equal("failure", err.state)
      assert.equal("ERROR", err.last_output.Status)
      assert.equal("application_ready", err.waiter)
      assert.is_true(err.attempts >= 1)
    end)

    it("an error acceptor gives success: application_deleted and stream_group_deleted", function()
      local g, app = ready_group()
      assert(client:delete_stream_group{ Identifier = g.Id })
      local out, err = client:wait("stream_group_deleted", { Identifier = g.Id }, FAST)
      assert.is_nil(err)
      assert.is_table(out)
      assert(client:delete_application{ Identifier = app.Id })
      out, err = client:wait("application_deleted", { Identifier = app.Id }, FAST)
      assert.is_nil(err)
      assert.is_table(out)
    end)

    it("an error no acceptor matches fails the waiter with that error attached", function()
      local out, err = client:wait("stream_session_active",
        { Identifier = "sg-000000000", StreamSessionIdentifier = "nosuchsession" }, FAST)
      assert.is_nil(out)
      assert.equal("WaiterFailure", err.code)
      assert.equal("error", err.state)
      assert.equal("ResourceNotFoundException", err.last_error.code)
      assert.equal(1, err.attempts)
    end)

    it("stream_session_active: ACTIVE succeeds, ERROR fails, a terminated session fails fast", function()
      local g, app = ready_group()
      local s = assert(client:start_stream_session{ Identifier = g.Id, ApplicationIdentifier = app.Id,
                                                    Protocol = "WebRTC", SignalRequest = "offer" })
      local out = assert(client:wait("stream_session_active",
        { Identifier = g.Id, StreamSessionIdentifier = s.Arn }, FAST))
      assert.equal("ACTIVE", out.Status)

      local bad = assert(client:start_stream_session{ Identifier = g.Id, ApplicationIdentifier = app.Id,
                                                      Protocol = "WebRTC", SignalRequest = "offer", UserId = "fail-me" })
      local _, err = client:wait("stream_session_active", { Identifier = g.Id, StreamSessionIdentifier = bad.Arn }, FAST)
      assert.equal("WaiterFailure", err.code)
      assert.equal("ERROR", err.last_output.Status)

      assert(client:terminate_stream_session{ Identifier = g.Id, StreamSessionIdentifier = s.Arn })
      local t0 = sched.now()
      _, err = client:wait("stream_session_active", { Identifier = g.Id, StreamSessionIdentifier = s.Arn },
                           { min_delay = 0.02, max_delay = 0.1, max_wait = 5 })
      assert.equal("WaiterFailure", err.code)
      assert.matches("TERMINAT", err.last_output.Status)
      assert.is_true(sched.now() - t0 < 2)

      -- the extension off: the model alone would keep polling until max_wait
      t0 = sched.now()
      _, err = client:wait("stream_session_active", { Identifier = g.Id, StreamSessionIdentifier = s.Arn },
                           { min_delay = 0.05, max_delay = 0.1, max_wait = 0.5, fail_fast = false })
      assert.equal("WaiterTimeout", err.code)
      assert.is_true(sched.now() - t0 >= 0.45)
    end)

    it("puts the inner error's code and message in an unexpected error's WaiterFailure", function()
      local _, err = client:wait("stream_session_active",
        { Identifier = "sg-000000000", StreamSessionIdentifier = "nosuchsession" }, FAST)
      assert.equal("WaiterFailure", err.code)
      -- the service's own message, after its code
      assert.matches("unexpected error: ResourceNotFoundException: .+", err.message)
      assert.truthy(err.message:find(err.last_error.message, 1, true))
      -- validation: the member path and the rule
      _, err = client:wait("stream_session_active", { Identifier = "sg-000000000" }, FAST)
      assert.equal("WaiterFailure", err.code)
      assert.matches("InvalidParameter: GetStreamSession: input.StreamSessionIdentifier: required", err.message)
      -- a transport failure: its reason
      local dead = helpers.client({ url = "http://127.0.0.1:1", credentials = emu.credentials }, { max_attempts = 1 })
      _, err = dead:wait("application_ready", { Identifier = "a-1" }, FAST)
      assert.equal("WaiterFailure", err.code)
      assert.matches("unexpected error: NetworkError: .*connect", err.message)
    end)

    it("checks its options as gls.new does: unknown names with a hint, wrong types", function()
      local _, err = client:wait("application_ready", { Identifier = "x" }, { maxwait = 5 })
      assert.equal("InvalidParameter", err.code)
      assert.matches("unknown option 'maxwait' %(did you mean 'max_wait'%?%)", err.message)
      _, err = client:wait("application_ready", { Identifier = "x" }, { mindelay = 5 })
      assert.matches("did you mean 'min_delay'", err.message)
      _, err = client:wait("application_ready", { Identifier = "x" }, { fail_fast = "no" })
      assert.matches("option 'fail_fast' must be a boolean, got string", err.message)
      _, err = client:wait("application_ready", { Identifier = "x" }, { max_wait = "5" })
      assert.matches("option 'max_wait' must be a non%-negative number of seconds, got string", err.message)
      _, err = client:wait("application_ready", { Identifier = "x" }, { max_attempts = 2.5 })
      assert.matches("option 'max_attempts' must be a positive integer", err.message)
      _, err = client:wait("application_ready", { Identifier = "x" }, { cancel = 1 })
      assert.matches("option 'cancel' must be a function or a table", err.message)
      _, err = client:wait("application_ready", { Identifier = "x" }, "fast")
      assert.matches("options must be a table", err.message)
      _, err = client:wait("stream_session_activ", { Identifier = "x" })
      assert.matches("unknown waiter 'stream_session_activ' %(did you mean 'stream_session_active'%?%)", err.message)
      _, err = client:wait("StreamGroupActiv", { Identifier = "x" })
      assert.equal("unknown waiter 'StreamGroupActiv' (did you mean 'StreamGroupActive'?)", err.message)
      -- nothing close: the waiters there are
      _, err = client:wait("stream_group_ready", { Identifier = "x" })
      assert.equal("unknown waiter 'stream_group_ready' (known: application_deleted, application_ready, "
        .. "stream_group_active, stream_group_deleted, stream_session_active)", err.message)
    end)

    it("rejects an unknown waiter and bad delays with InvalidParameter", function()
      local _, err = client:wait("stream_group_gone", { Identifier = "x" })
      assert.equal("InvalidParameter", err.code)
      _, err = client:wait("application_ready", { Identifier = "x" }, { min_delay = 5, max_delay = 1 })
      assert.equal("InvalidParameter", err.code)
      _, err = client:wait("application_ready", { Identifier = "x" }, { max_wait = -1 })
      assert.equal("InvalidParameter", err.code)
    end)
  end)

  describe("the algorithm", function()
    local srv, dir, sc

    setup(function()
      dir = helpers.tmpdir()
      srv = helpers.spawn_server(helpers.write_file(dir .. "/scripted.lua", SCRIPTED), {})
      sc = helpers.client(srv, { max_attempts = 1, credentials = emu.credentials })
    end)

    teardown(function()
      if srv then srv.stop() end
      helpers.rm_rf(dir)
    end)

    -- A client that records when each attempt is sent (real calls underneath).
    local function recording(c)
      local times = {}
      return setmetatable({ times = times, call = function(_, op, input)
        times[#times + 1] = sched.now()
        return c:call(op, input)
      end }, { __index = c }), times
    end

    local function gaps(times)
      local g = {}
      for i = 2, #times do g[#g + 1] = times[i] - times[i - 1] end
      return g
    end

    it("backs off exponentially from min_delay up to max_delay (rng at its top)", function()
      local rc, times = recording(sc)
      local out = assert(require("gameliftstreams.waiters").wait(rc, "application_ready",
        { Identifier = "ready-after-5" }, { min_delay = 0.05, max_delay = 0.2, max_wait = 10,
                                            rng = function() return 0.999999 end }))
      assert.equal("READY", out.Status)
      assert.equal(6, #times)
      local want = { 0.05, 0.1, 0.2, 0.2, 0.2 }
      for i, g in ipairs(gaps(times)) do
        assert.is_true(g >= want[i] - 0.005 and g < want[i] + 0.1,
          string.format("gap %d: %.3f, want %.3f", i, g, want[i]))
      end
    end)

    it("draws each delay between min_delay and the cap (rng at its bottom: min_delay)", function()
      local rc, times = recording(sc)
      assert(require("gameliftstreams.waiters").wait(rc, "application_ready",
        { Identifier = "ready-after-4" }, { min_delay = 0.05, max_delay = 1, max_wait = 10,
                                            rng = function() return 0 end }))
      for i, g in ipairs(gaps(times)) do
        assert.is_true(g >= 0.045 and g < 0.15, string.format("gap %d: %.3f", i, g))
      end
    end)

    it("never sleeps past max_wait and makes one last attempt at the deadline", function()
      local rc, times = recording(sc)
      local t0 = sched.now()
      local out, err = require("gameliftstreams.waiters").wait(rc, "application_ready",
        { Identifier = "never" }, { min_delay = 0.3, max_delay = 0.3, max_wait = 1 })
      local dt = sched.now() - t0
      assert.is_nil(out)
      assert.equal("WaiterTimeout", err.code)
      assert.equal("PROCESSING", err.last_output.Status)
      -- attempts at 0, 0.3, 0.6, 0.9 and the last one at the deadline, 1.0
      assert.equal(5, #times)
      assert.equal(5, err.attempts)
      assert.matches("timed out after 1%.%d s %(5 attempts%)", err.message)
      local last = times[#times] - times[1]
      assert.is_true(last >= 0.99 and last < 1.2, "last attempt at " .. last)
      assert.is_true(dt < 1.5, "took " .. dt)
    end)

    it("stops after max_attempts with WaiterTimeout", function()
      local rc, times = recording(sc)
      local _, err = require("gameliftstreams.waiters").wait(rc, "application_ready",
        { Identifier = "never" }, { min_delay = 0.01, max_delay = 0.02, max_attempts = 3 })
      assert.equal("WaiterTimeout", err.code)
      assert.equal(3, err.attempts)
      assert.equal(3, #times)
    end)

    it("defaults to the model's delays (ApplicationReady: 2 s) and its max wait", function()
      -- rng 0 gives exactly min_delay: one gap of the model's 2 s
      local rc, times = recording(sc)
      assert(require("gameliftstreams.waiters").wait(rc, "application_ready",
        { Identifier = "ready-after-1" }, { rng = function() return 0 end }))
      assert.equal(2, #times)
      local g = times[2] - times[1]
      assert.is_true(g >= 1.95 and g < 2.5, "gap " .. g)
    end)

    it("an unmatched service error stops at once", function()
      local rc, times = recording(sc)
      local _, err = require("gameliftstreams.waiters").wait(rc, "application_ready",
        { Identifier = "throttled" }, FAST)
      assert.equal("WaiterFailure", err.code)
      assert.equal("ValidationException", err.last_error.code)
      assert.equal(1, #times)
    end)

    it("stops with Cancelled when the cancel token fires, even mid-delay", function()
      local waiters = require("gameliftstreams.waiters")
      local tok = waiters.cancel_token()
      local t0 = sched.now()
      local task = sched.spawn(function()
        return waiters.wait(sc, "application_ready", { Identifier = "never" },
                            { min_delay = 5, max_delay = 5, max_wait = 60, cancel = tok })
      end)
      sched.spawn(function() sched.sleep(0.3); tok.cancel() end)
      sched.run()
      assert.is_true(sched.now() - t0 < 2)
      assert.is_nil(task.results[1])
      assert.equal("Cancelled", task.results[2].code)
      -- a plain function works too
      local _, err = waiters.wait(sc, "application_ready", { Identifier = "never" },
                                  { min_delay = 5, max_delay = 5, cancel = function() return true end })
      assert.equal("Cancelled", err.code)
    end)

    it("stops with Cancelled when its task is cancelled", function()
      local task = sched.spawn(function()
        return sc:wait("application_ready", { Identifier = "never" }, { min_delay = 10, max_delay = 10 })
      end)
      sched.step(0.2)
      local t0 = sched.now()
      task:cancel()
      sched.run()
      assert.is_true(sched.now() - t0 < 1)
      assert.equal("cancelled", task.status)
      assert.equal("Cancelled", task.results[2].code)
    end)

    it("many waiters in tasks wait at the same time", function()
      local tasks = {}
      local t0 = sched.now()
      for i = 1, 20 do
        tasks[i] = sched.spawn(function()
          return sc:wait("application_ready", { Identifier = "ready-after-3-task" .. i },
                         { min_delay = 0.2, max_delay = 0.2, max_wait = 10 })
        end)
      end
      assert.is_true(sched.run())
      local dt = sched.now() - t0
      for i = 1, 20 do assert.equal("READY", tasks[i].result.Status) end
      -- each needs 3 delays of 0.2 s: one after the other would take 12 s
      assert.is_true(dt >= 0.55 and dt < 3, "took " .. dt)
    end)
  end)
end)
