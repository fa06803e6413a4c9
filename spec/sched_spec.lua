-- The scheduler seam: blocking waits, tasks over the shared curl multi pool,
-- step/run, cancellation, failures, and the OpenResty switch.
local helpers = require("helpers")

-- A test server: /delay?s=N answers after N seconds, /hang never answers, /json answers an
-- object, /echo echoes.
local SERVER = [[
local httpd = require("gameliftstreams.emulator.httpd")
httpd.main{ handler = function(req)
  if req.path == "/delay" then
    local s = tonumber(req.query:match("s=([%d%.]+)")) or 0
    return httpd.delay(s, 200, { ["X-Delay"] = tostring(s) }, "slept " .. s)
  elseif req.path == "/hang" then
    return httpd.hang()
  elseif req.path == "/json" then
    return 200, { ["Content-Type"] = "application/json" }, '{"Name":"n","Size":' .. #req.target .. '}'
  end
  return 200, { ["Content-Type"] = "text/plain" }, req.method .. " " .. req.target .. " " .. (req.body or "")
end }
]]

describe("sched", function()
  local sched, srv, dir

  setup(function()
    dir = helpers.tmpdir()
    srv = helpers.spawn_server(helpers.write_file(dir .. "/server.lua", SERVER), {})
  end)

  teardown(function()
    if srv then srv.stop() end
    helpers.rm_rf(dir)
  end)

  before_each(function()
    package.loaded["gameliftstreams.sched"] = nil
    sched = require("gameliftstreams.sched")
  end)

  describe("outside a task", function()
    it("sleeps by blocking, on the monotonic clock", function()
      local t0 = sched.now()
      assert.is_true(sched.sleep(0.1))
      local dt = sched.now() - t0
      assert.is_true(dt >= 0.09, "slept " .. dt)
      assert.is_false(sched.in_task())
    end)

    it("sends a blocking request and returns status, headers and body", function()
      local res, err = sched.http{ method = "POST", url = srv.url .. "/echo?x=1", body = "hello",
                                   headers = { ["content-type"] = "text/plain" }, timeout = 5 }
      assert.is_nil(err)
      assert.equal(200, res.status)
      assert.equal("POST /echo?x=1 hello", res.body)
      assert.equal("text/plain", res.headers["content-type"])
    end)

    it("decodes a 2xx body with req.reader and answers the output, nil and the status, a non-2xx in full", function()
      local decode = require("gameliftstreams.core").json_plan{
        Out = { type = "structure", members = { Name = { shape = "S" }, Size = { shape = "I" } } },
        S = { type = "string" }, I = { type = "integer" } }
      local reader = { decode, "Out" }
      local res, err, status = sched.http{ method = "GET", url = srv.url .. "/json", timeout = 5, reader = reader }
      assert.same({ { Name = "n", Size = 5 }, nil, 200 }, { res, err, status })
      res, err, status = sched.http{ method = "GET", url = srv.url .. "/echo", timeout = 5, reader = reader }
      assert.equal("GET /echo ", res.body) -- not JSON: the whole response
      assert.equal(200, res.status)
      assert.is_nil(err)
      assert.is_nil(status)
      local outs = {}
      for i = 1, 5 do
        sched.spawn(function()
          outs[i] = { sched.http{ method = "GET", url = srv.url .. "/json?" .. i, timeout = 5, reader = reader } }
        end)
      end
      assert.is_true(sched.run())
      for i = 1, 5 do assert.same({ { Name = "n", Size = 7 }, nil, 200 }, outs[i]) end
    end)

    it("maps a refused connection to a NetworkError error object", function()
      -- a port nobody listens on: bind one, close it
      local socket = require("socket")
      local s = socket.bind("127.0.0.1", 0)
      local _, port = s:getsockname()
      s:close()
      local res, err = sched.http{ method = "GET", url = "http://127.0.0.1:" .. port .. "/", timeout = 2 }
      assert.is_nil(res)
      assert.is_true(require("gameliftstreams.errors").is(err))
      assert.equal("NetworkError", err.code)
      assert.equal("connect", err.reason)
      assert.equal(7, err.curl_code) -- CURLE_COULDNT_CONNECT, kept for debugging
    end)

    it("maps a request timeout to a Timeout error object", function()
      local t0 = sched.now()
      local res, err = sched.http{ method = "GET", url = srv.url .. "/hang", timeout = 0.3 }
      assert.is_nil(res)
      assert.equal("Timeout", err.code)
      assert.is_true(sched.now() - t0 < 3)
    end)
  end)

  describe("tasks", function()
    it("run, return their results and report done", function()
      local t = sched.spawn(function(a, b)
        assert.is_true(sched.in_task())
        sched.sleep(0.01)
        return a + b, "x", nil
      end, 2, 3)
      assert.equal("running", t.status)
      assert.is_true(sched.run())
      assert.equal("done", t.status)
      assert.equal(5, t.result)
      assert.equal(3, t.results.n)
      assert.equal("x", t.results[2])
    end)

    it("run HTTP calls at once over the shared pool", function()
      local n, delay = 20, 0.4
      local tasks = {}
      local t0 = sched.now()
      for i = 1, n do
        tasks[i] = sched.spawn(function()
          local res, err = sched.http{ method = "GET", url = srv.url .. "/delay?s=" .. delay, timeout = 10 }
          assert(res, err and tostring(err))
          return res.body
        end)
      end
      assert.is_true(sched.run())
      local dt = sched.now() - t0
      for i = 1, n do assert.equal("slept " .. delay, tasks[i].result) end
      -- one after the other would take n * delay = 8 s
      assert.is_true(dt < n * delay / 4, "took " .. dt)
    end)

    it("sleep concurrently: 50 tasks sleeping 0.2 s take about 0.2 s", function()
      local t0 = sched.now()
      local woke = 0
      for _ = 1, 50 do
        sched.spawn(function() sched.sleep(0.2); woke = woke + 1 end)
      end
      sched.run()
      local dt = sched.now() - t0
      assert.equal(50, woke)
      assert.is_true(dt >= 0.19 and dt < 1.5, "took " .. dt)
    end)

    it("wake sleepers in the order of their wake times, cancelled ones only with their error", function()
      local order, cancelled = {}, {}
      local tasks = {}
      -- spawned out of order; each sleeps 10 ms per rank
      local ranks = { 7, 2, 9, 1, 5, 3, 8, 4, 6, 10, 12, 11 }
      for _, rank in ipairs(ranks) do
        tasks[rank] = sched.spawn(function()
          local ok, err = sched.sleep(rank * 0.01)
          if ok then order[#order + 1] = rank else cancelled[#cancelled + 1] = err.code end
          if rank == 3 then
            -- a woken task sleeps again (a new heap entry) while its first one is gone
            assert.is_true(sched.sleep(0.001))
          end
        end)
      end
      sched.step(0) -- every task sleeps now
      assert.is_true(tasks[4]:cancel())
      assert.is_true(tasks[8]:cancel())
      assert.is_true(sched.run())
      assert.same({ 1, 2, 3, 5, 6, 7, 9, 10, 11, 12 }, order)
      assert.same({ "Cancelled", "Cancelled" }, cancelled)
    end)

    it("step(max) never blocks much longer than asked and returns the live count", function()
      for _ = 1, 5 do sched.spawn(function() sched.sleep(0.5) end) end
      sched.spawn(function() sched.http{ method = "GET", url = srv.url .. "/delay?s=0.5", timeout = 5 } end)
      local worst = 0
      local frames = 0
      local live
      repeat
        local t0 = sched.now()
        live = sched.step(0.01)
        local dt = sched.now() - t0
        if dt > worst then worst = dt end
        frames = frames + 1
      until live == 0
      assert.is_true(worst < 0.1, "a step took " .. worst)
      assert.is_true(frames > 10, "only " .. frames .. " frames")
      assert.equal(0, sched.count())
    end)

    it("step(max) keeps to its budget when many tasks are ready at once (a frame's burst)", function()
      -- 200 tasks, each needing 1 ms of CPU per resume, 3 resumes: 0.6 s of work in all, all
      -- ready at once (as 200 sessions' polls are); a step used to resume every one of them
      local function busy(s)
        local t0 = sched.now()
        while sched.now() - t0 < s do end
      end
      local done = 0
      for _ = 1, 200 do
        sched.spawn(function()
          for _ = 1, 3 do busy(0.001); sched.yield() end
          done = done + 1
        end)
      end
      local worst, frames = 0, 0
      local live
      repeat
        local budget = (frames % 2 == 0) and 0 or 0.005
        local t0 = sched.now()
        live = sched.step(budget)
        local over = sched.now() - t0 - budget
        if over > worst then worst = over end
        frames = frames + 1
      until live == 0 or frames > 10000
      assert.equal(0, live)
      assert.equal(200, done)
      assert.is_true(worst < 0.05, string.format("a step overran its budget by %.3f s", worst))
      assert.is_true(frames >= 50, "only " .. frames .. " frames")
    end)

    it("a step out of budget leaves the ready tasks it did not resume first in line", function()
      local order = {}
      local function task(name)
        return function()
          local t0 = sched.now()
          while sched.now() - t0 < 0.003 do end -- more than a step's least slice
          order[#order + 1] = name
        end
      end
      sched.spawn(task("a")); sched.spawn(task("b")); sched.spawn(task("c"))
      assert.equal(2, sched.step(0))
      assert.same({ "a" }, order)
      sched.spawn(task("d")) -- ready after b and c
      assert.equal(2, sched.step(0))
      assert.same({ "a", "b" }, order)
      assert.is_true(sched.run())
      assert.same({ "a", "b", "c", "d" }, order)
    end)

    it("report a task that raises: status, error, step's failed list, run's error", function()
      local t = sched.spawn(function() sched.sleep(0); error("boom") end)
      local ok, err, failed = sched.run()
      assert.is_nil(ok)
      assert.matches("boom", tostring(err))
      assert.equal(t, failed[1])
      assert.equal("failed", t.status)
      assert.matches("boom", t.error)
      assert.matches("traceback", t.traceback)

      local t2 = sched.spawn(function() error({ code = "X" }) end)
      local live, f = sched.step(0)
      assert.equal(0, live)
      assert.equal(t2, f[1])
      assert.equal("X", t2.error.code)
    end)

    it("join waits for another task, inside a task and from outside", function()
      local a = sched.spawn(function() sched.sleep(0.05); return 42 end)
      local b = sched.spawn(function() return a:join() end)
      local ok, v = b:join()
      assert.is_true(ok)
      assert.is_true(v)
      assert.equal(42, b.results[2])
      local c = sched.spawn(function() error("nope") end)
      local ok2, e = c:join()
      assert.is_false(ok2)
      assert.matches("nope", e)
    end)

    it("a task's own coroutine.yield just lets the others run", function()
      local order = {}
      sched.spawn(function() order[#order + 1] = "a1"; coroutine.yield(); order[#order + 1] = "a2" end)
      sched.spawn(function() order[#order + 1] = "b1" end)
      sched.run()
      assert.same({ "a1", "b1", "a2" }, order)
    end)

    it("refuses to step from inside a task", function()
      local t = sched.spawn(function() sched.step(0) end)
      sched.run()
      assert.equal("failed", t.status)
      assert.matches("inside a task", t.error)
    end)
  end)

  describe("cancellation", function()
    it("interrupts a sleep: the sleep returns a Cancelled error, clean-up still runs", function()
      local got, cleanup
      local t = sched.spawn(function()
        local ok, err = sched.sleep(30)
        got = { ok = ok, err = err }
        -- clean-up after a cancellation can still wait and call out
        local res = sched.http{ method = "GET", url = srv.url .. "/echo", timeout = 5 }
        cleanup = res and res.status
        return "cleaned"
      end)
      sched.step(0.05)
      local t0 = sched.now()
      assert.is_true(t:cancel())
      sched.run()
      assert.is_true(sched.now() - t0 < 2)
      assert.is_nil(got.ok)
      assert.equal("Cancelled", got.err.code)
      assert.equal(200, cleanup)
      assert.equal("cancelled", t.status)
      assert.equal("cleaned", t.result)
      assert.is_false(t:cancel())
    end)

    it("aborts an HTTP call in flight", function()
      local got
      local t = sched.spawn(function()
        local res, err = sched.http{ method = "GET", url = srv.url .. "/hang", timeout = 30 }
        got = { res = res, err = err }
      end)
      sched.step(0.1)
      local t0 = sched.now()
      t:cancel()
      sched.run()
      assert.is_true(sched.now() - t0 < 2)
      assert.is_nil(got.res)
      assert.equal("Cancelled", got.err.code)
      assert.equal("cancelled", t.status)
      -- the pool keeps working for others
      local other = sched.spawn(function()
        return sched.http{ method = "GET", url = srv.url .. "/delay?s=0", timeout = 5 }
      end)
      sched.run()
      assert.equal(200, other.result.status)
    end)

    it("a task cancelled before it ran never runs", function()
      local ran = false
      local t = sched.spawn(function() ran = true end)
      assert.is_true(t:cancel())
      sched.run()
      assert.is_false(ran)
      assert.equal("cancelled", t.status)
      assert.equal("Cancelled", t.error.code)
    end)

    it("a task that raises the Cancelled error ends cancelled, not failed", function()
      local t = sched.spawn(function()
        local ok, err = sched.sleep(10)
        if not ok then error(err) end
      end)
      sched.step(0)
      t:cancel()
      local ok = sched.run()
      assert.is_true(ok)
      assert.equal("cancelled", t.status)
    end)

    it("a task that ends before its cancellation reaches a wait is done, with its results", function()
      local t
      t = sched.spawn(function()
        t:cancel()
        return "finished"
      end)
      sched.run()
      assert.equal("done", t.status)
      assert.equal("finished", t.result)
      local ok, v = t:join()
      assert.is_true(ok)
      assert.equal("finished", v)
    end)

    it("a task cancelling itself gets the Cancelled error at its next wait", function()
      local t
      t = sched.spawn(function()
        t:cancel()
        return sched.sleep(5)
      end)
      local t0 = sched.now()
      sched.run()
      assert.is_true(sched.now() - t0 < 1)
      assert.equal("cancelled", t.status)
      assert.equal("Cancelled", t.results[2].code)
    end)
  end)

  describe("inside OpenResty", function()
    local saved
    before_each(function() saved = rawget(_G, "ngx") end)
    after_each(function() rawset(_G, "ngx", saved) end)

    it("uses ngx.sleep in a phase that allows it, and blocks in one that does not", function()
      local slept = {}
      local phase = "content"
      rawset(_G, "ngx", { get_phase = function() return phase end,
                          sleep = function(s) slept[#slept + 1] = s end })
      assert.is_true(sched.in_ngx())
      sched.sleep(0.25)
      assert.same({ 0.25 }, slept)
      phase = "init_worker"
      assert.is_false(sched.in_ngx())
      local t0 = sched.now()
      sched.sleep(0.05)
      assert.same({ 0.25 }, slept)
      assert.is_true(sched.now() - t0 >= 0.04)
    end)
  end)
end)
