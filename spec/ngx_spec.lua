-- The OpenResty path, for real: Debian's nginx with lua-nginx-module runs
-- examples/openresty/ (one worker, LuaJIT, build/jit) against the emulator. Sessions
-- are started per request through cosockets; concurrent requests overlap, which they
-- could not if the worker blocked.
local helpers = require("helpers")

local have_nginx = helpers.have_nginx()

local describe_ngx = have_nginx and describe or pending

-- The probes of the SDK the nginx under test serves too, and the server they fetch from.
local PROBES = assert(helpers.read_file(helpers.root .. "/spec/support/ngx_probes.conf"))
local TARGETS = helpers.root .. "/spec/support/ngx_targets.lua"

describe_ngx("OpenResty (nginx + lua-nginx-module)", function()
  local emu, client, sched, dir, port, stop_nginx, app, group, probe_port, srv

  local FAST = { min_delay = 0.02, max_delay = 0.1, max_wait = 20 }

  local free_port = helpers.free_port

  local function get(path, body)
    return sched.http{ method = body and "POST" or "GET", url = "http://127.0.0.1:" .. port .. path,
                       body = body, timeout = 30, headers = body and { ["content-type"] = "text/plain" } or {} }
  end

  setup(function()
    sched = require("gameliftstreams.sched")
    emu = helpers.start_emulator{ delay_scale = 0.05 }
    client = helpers.client(emu)
    app = assert(client:create_application{
      Description = "ngx-spec", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
      ExecutablePath = "bin/game", ApplicationSourceUri = "s3://bucket/game/" })
    assert(client:wait("application_ready", { Identifier = app.Id }, FAST))
    group = assert(client:create_stream_group{
      Description = "ngx-spec", StreamClass = "gen5n_high", DefaultApplicationIdentifier = app.Id,
      LocationConfigurations = { { LocationName = "us-west-2" } } })
    assert(client:wait("stream_group_active", { Identifier = group.Id }, FAST))
    helpers.control(emu, "POST", "config", { delay_scale = 0.5 }) -- sessions: 0.5 s to ACTIVE

    dir = helpers.tmpdir()
    os.execute("mkdir -p " .. helpers.shell_quote(dir .. "/tmp"))
    srv = helpers.spawn_server(TARGETS, {})
    port = free_port()
    local conf = assert(helpers.read_file(helpers.root .. "/examples/openresty/nginx.conf"))
    conf = conf:gsub("listen 127%.0%.0%.1:8089;", "listen 127.0.0.1:" .. port .. ";")
    conf = conf:gsub("build/openresty", dir)
    -- a second server with probes of the transport and the scheduler, inside nginx
    probe_port = free_port()
    conf = conf:gsub("\n  server {", "\n" .. PROBES:gsub("PORT", probe_port) .. "\n  server {", 1)
    stop_nginx = helpers.start_nginx{ conf = conf, dir = dir, prefix = helpers.root,
      env = { GLS_ENDPOINT = emu.url, AWS_ACCESS_KEY_ID = emu.access_key_id,
              AWS_SECRET_ACCESS_KEY = emu.secret_access_key, AWS_REGION = "us-west-2",
              GLS_STREAM_GROUP = group.Id, GLS_APPLICATION = app.Id, GLS_POLL_SECONDS = "0.1" },
      ready = function() local res = get("/health"); return res and res.status == 200 end }
  end)

  teardown(function()
    if stop_nginx then stop_nginx() end
    if emu then emu.stop() end
    if srv then srv.stop() end
    helpers.rm_rf(dir)
  end)

  it("answers in the content phase", function()
    local res = assert(get("/health"))
    local body = require("cjson").decode(res.body)
    assert.equal("content", body.phase)
  end)

  it("starts a session per request and returns it ACTIVE with its SignalResponse", function()
    local res = assert(get("/sessions?user=ngx-player", "v=0 offer"))
    assert.equal(200, res.status, res.body)
    local body = require("cjson").decode(res.body)
    assert.equal("ACTIVE", body.status)
    assert.truthy(body.arn:find("streamsession/" .. group.Id .. "/", 1, true))
    assert.is_string(body.signal_response)
    local s = assert(client:get_stream_session{ Identifier = group.Id, StreamSessionIdentifier = body.arn })
    assert.equal("ngx-player", s.UserId)
  end)

  it("serves concurrent requests at once on one worker (nothing blocks it)", function()
    local t0 = sched.now()
    assert.equal(200, assert(get("/sessions?user=solo", "offer")).status)
    local single = sched.now() - t0
    local tasks = {}
    t0 = sched.now()
    for i = 1, 10 do
      tasks[i] = sched.spawn(function() return get("/sessions?user=p" .. i, "offer") end)
    end
    assert.is_true(sched.run())
    local many = sched.now() - t0
    for i = 1, 10 do assert.equal(200, tasks[i].result.status, tasks[i].result.body) end
    assert.is_true(single >= 0.45, "single " .. single)
    -- one after the other: 10 x single
    assert.is_true(many < 3 * single, string.format("10 at once %.2f s, one %.2f s", many, single))
  end)

  it("maps a failing session to an error answer and leaves nothing running", function()
    local res = assert(get("/sessions?user=fail-me", "offer"))
    assert.equal(502, res.status)
    local body = require("cjson").decode(res.body)
    assert.equal("WaiterFailure", body.error)
    local _, log = helpers.control(emu, "GET", "requests?operation=TerminateStreamSession")
    assert.is_true(#log.requests >= 1)
  end)
  describe("the cosocket transport", function()
    local cjson = require("cjson")
    local function probe(target, extra)
      local url = "http://127.0.0.1:" .. probe_port .. "/probe?url=" ..
        (srv.url .. target):gsub("[^%w]", function(c) return string.format("%%%02X", c:byte()) end) .. (extra or "")
      local res = assert(sched.http{ method = "GET", url = url, timeout = 30 })
      assert.equal(200, res.status, res.body)
      return cjson.decode(res.body)
    end

    it("reads a chunked body and joins repeated headers", function()
      local r = probe("/chunked")
      assert.equal(200, r.status)
      assert.equal("hello, world", r.body)
      assert.equal("1, 2", r.headers["x-a"])
    end)

    it("reads a body delimited by the connection closing", function()
      local r = probe("/close")
      assert.equal("until the end", r.body)
    end)

    it("sends a body with its length, and keeps the connection alive between requests", function()
      local a = probe("/echo", "&method=POST&body=abc")
      local b = probe("/echo", "&method=POST&body=def")
      local pa, pb = a.body:match("^POST (%S+) abc$"), b.body:match("^POST (%S+) def$")
      assert.is_string(pa)
      assert.equal(pa, pb) -- same client port: the pooled connection was reused
    end)

    it("maps a response over max_response_bytes to ResponseTooLarge", function()
      local r = probe("/big", "&max=100")
      assert.equal("ResponseTooLarge", r.error.code)
      assert.equal(5000, #probe("/big").body)
    end)

    it("maps a timeout to Timeout and a refused connection to NetworkError", function()
      local r = probe("/hang", "&timeout=0.3")
      assert.equal("Timeout", r.error.code)
      assert.is_true(r.elapsed < 2)
      local s = require("socket").bind("127.0.0.1", 0)
      local _, dead = s:getsockname()
      s:close()
      local url = "http://127.0.0.1:" .. probe_port .. "/probe?url=http%3A%2F%2F127.0.0.1%3A" .. dead .. "%2F"
      r = cjson.decode(assert(sched.http{ method = "GET", url = url, timeout = 10 }).body)
      assert.equal("NetworkError", r.error.code)
      assert.equal("connect", r.error.reason)
      r = probe("/reset")
      assert.equal("NetworkError", r.error.code)
    end)

    it("bounds the whole exchange by `timeout`, as libcurl does, not each read", function()
      local function drip(timeout)
        local url = "http://127.0.0.1:" .. probe_port .. "/probe?url=" ..
          ("http://127.0.0.1:" .. probe_port .. "/drip"):gsub("[^%w]", function(c)
            return string.format("%%%02X", c:byte()) end) .. "&timeout=" .. timeout
        local res = assert(sched.http{ method = "GET", url = url, timeout = 30 })
        return cjson.decode(res.body)
      end
      local r = drip(0.45)
      assert.equal("Timeout", r.error and r.error.code, require("cjson").encode(r))
      assert.is_true(r.elapsed >= 0.4 and r.elapsed < 0.8, "elapsed " .. r.elapsed)
      r = drip(5)
      assert.equal(200, r.status)
      assert.equal(string.rep("x", 10), r.body)
    end)
  end)

  local function probe_json(path)
    local res = assert(sched.http{ method = "GET", url = "http://127.0.0.1:" .. probe_port .. path, timeout = 30 })
    assert.equal(200, res.status, res.body)
    return require("cjson").decode(res.body)
  end

  it("keeps each request's tasks to itself when requests overlap on one worker", function()
    local tasks = {}
    for i = 1, 4 do tasks[i] = sched.spawn(probe_json, "/tasks") end
    assert.is_true(sched.run())
    for i = 1, 4 do
      local r = tasks[i].result
      assert.same({ 10, 20, 30, 40, 50 }, r.results)
      assert.is_false(r.ok)
      assert.matches("boom", r.err) -- its own failure, reported once
      assert.equal("cancelled", r.victim)
      assert.is_true(r.elapsed < 1.2, "elapsed " .. r.elapsed)
    end
  end)

  it("runs credential_process without blocking the worker (polled between ngx.sleep calls)", function()
    local r = probe_json("/credential-process")
    assert.same({ "AKIDPROC", "AKIDPROC", "AKIDPROC" }, r.keys)
    assert.is_true(r.elapsed < 0.9, "3 x 0.4 s commands took " .. r.elapsed .. " s") -- blocking: 1.2 s
    assert.matches("process provider: command exited with status 3", r.failed)
  end)

  it("signs through the FFI inside nginx, with the C binding's results", function()
    local r = probe_json("/signer")
    assert.is_true(r.ffi)
    assert.is_true(r.same)
  end)

  it("joins tasks spawned inside tasks", function()
    local r = probe_json("/tasks-nested")
    assert.is_true(r.ok, r.err)
    assert.equal("outer+inner", r.outer)
    assert.equal("inner", r.inner)
    assert.equal(0, r.count)
  end)

  it("wakes a sleeping light thread on cancel, and its clean-up code runs", function()
    local r = probe_json("/cancel-sleep")
    assert.is_true(r.ok)
    assert.equal("cancelled", r.status)
    assert.equal("Cancelled", r.code)
    assert.is_true(r.again)
    assert.is_true(r.cleaned)
    assert.is_true(r.elapsed < 1, "elapsed " .. r.elapsed)
  end)

  it("terminates the session of a cancelled start_session_and_wait task", function()
    helpers.control(emu, "POST", "config", { delay_scale = 5 }) -- the session stays ACTIVATING
    local r = probe_json("/cancel-session?after=0.3")
    helpers.control(emu, "POST", "config", { delay_scale = 0.5 })
    assert.equal("cancelled", r.status)
    assert.equal("Cancelled", r.code)
    assert.is_string(r.arn)
    local s = assert(client:get_stream_session{ Identifier = group.Id, StreamSessionIdentifier = r.arn })
    assert.matches("TERMINAT", s.Status)
  end)

  describe("no session is leaked", function()
    after_each(function() helpers.control(emu, "DELETE", "faults") end)

    -- The sessions of `user`, once all of them are TERMINATED (or after `secs`).
    local function terminated(user, secs)
      local t0 = sched.now()
      local found
      repeat
        found = {}
        local all = true
        for s in client:items("list_stream_sessions", { Identifier = group.Id }) do
          if s.UserId == user then
            found[#found + 1] = s
            all = all and s.Status == "TERMINATED"
          end
        end
        if all and #found > 0 then break end
        sched.sleep(0.1)
      until sched.now() - t0 > (secs or 10)
      return found
    end

    local function all_terminated(found, n)
      assert.equal(n or 1, #found)
      for _, s in ipairs(found) do assert.equal("TERMINATED", s.Status, s.Arn) end
    end

    it("a request ended mid-start: its lease runs out and a timer terminates the session", function()
      helpers.control(emu, "POST", "faults", { kind = "slow", seconds = 1, count = 1, operation = "StartStreamSession" })
      local res = assert(sched.http{ method = "GET", url = "http://127.0.0.1:" .. probe_port ..
                                     "/start-then-exit?user=ngx-killed", timeout = 10 })
      assert.equal(200, res.status)
      -- lease: 1 attempt x 1.5 s + 0.5 s grace = 2 s; then the job
      all_terminated(terminated("ngx-killed", 12))
    end)

    it("every attempt's answer lost: an ngx.timer goes on after the request and terminates it", function()
      helpers.control(emu, "POST", "faults", { kind = "drop", after = true, count = 100, operation = "StartStreamSession" })
      local r = probe_json("/lost-start?user=ngx-lost")
      assert.is_false(r.session)
      assert.equal("NetworkError", r.code)
      assert.is_string(r.token)
      assert.equal("pending", r.cleanup)
      helpers.control(emu, "DELETE", "faults")
      all_terminated(terminated("ngx-lost"))
      -- each failed attempt was logged at warn by the SDK, none at error by the cosockets
      local log = helpers.read_file(dir .. "/error.log") or ""
      assert.matches("%[warn%][^\n]*gameliftstreams: POST 127%.0%.0%.1:%d+: NetworkError", log)
      for line in log:gmatch("[^\n]+") do
        assert.is_nil(line:find("[error]", 1, true) and line:find("socket", 1, true) and line, line)
      end
    end)

    it("slow answers past `timeout`: the message gives the timeout, and the session is terminated", function()
      helpers.control(emu, "POST", "faults", { kind = "slow", seconds = 1, count = 100, operation = "StartStreamSession" })
      local r = probe_json("/lost-start?user=ngx-slow")
      assert.equal("Timeout", r.code)
      assert.matches("timeout 0%.4 s", r.message)
      assert.equal("pending", r.cleanup)
      helpers.control(emu, "DELETE", "faults")
      all_terminated(terminated("ngx-slow"))
    end)

    it("a task cancelled mid-start: join returns the error with session_arn, the session is terminated", function()
      helpers.control(emu, "POST", "faults", { kind = "slow", seconds = 0.6, count = 1, operation = "StartStreamSession" })
      local r = probe_json("/cancel-start?user=ngx-cancel-start")
      assert.is_false(r.ok)
      assert.equal("cancelled", r.status)
      assert.equal("Cancelled", r.code)
      assert.is_string(r.arn)
      assert.is_string(r.token)
      local found = terminated("ngx-cancel-start")
      all_terminated(found)
      assert.equal(r.arn, found[1].Arn)
    end)

    it("20 players hang up half-way: the example handler terminates their 20 sessions", function()
      -- sessions take 2 s to start while the players are there: they leave well before
      helpers.control(emu, "POST", "config", { delay_scale = 2 })
      local tasks = {}
      for i = 1, 20 do
        tasks[i] = sched.spawn(function()
          -- libcurl gives up after 0.2 s and closes the connection (sessions take 0.5 s to start)
          return sched.http{ method = "POST", url = "http://127.0.0.1:" .. port .. "/sessions?user=hangup-" .. i,
                             body = "v=0 offer", timeout = 0.2, headers = { ["content-type"] = "text/plain" } }
        end)
      end
      sched.run()
      helpers.control(emu, "POST", "config", { delay_scale = 0.5 })
      for i = 1, 20 do assert.is_nil(tasks[i].results[1]) end -- each hung up
      local n = 0
      for i = 1, 20 do
        all_terminated(terminated("hangup-" .. i, 10))
        n = n + 1
      end
      assert.equal(20, n)
    end)
  end)

  it("a timeout's message gives the timeout, as libcurl's does", function()
    local url = "http://127.0.0.1:" .. probe_port .. "/probe?url=" ..
      (srv.url .. "/hang"):gsub("[^%w]", function(c) return string.format("%%%02X", c:byte()) end) .. "&timeout=0.3"
    local r = require("cjson").decode(assert(sched.http{ method = "GET", url = url, timeout = 30 }).body)
    assert.equal("Timeout", r.error.code)
    assert.matches("request timed out %(timeout 0%.3 s%)", r.error.message)
  end)

  it("a task cancelled in a cosocket call that then returns without waiting is done, its result kept", function()
    local r = probe_json("/cancel-late")
    assert.is_true(r.ok)
    assert.equal("xxxxxxxxxx", r.v)
    assert.equal("done", r.status)
  end)

  it("runs tasks as light threads: concurrent, cancellable, failures reported", function()
    local res = assert(sched.http{ method = "GET", url = "http://127.0.0.1:" .. probe_port .. "/tasks", timeout = 30 })
    assert.equal(200, res.status, res.body)
    local r = require("cjson").decode(res.body)
    assert.same({ 10, 20, 30, 40, 50 }, r.results)
    assert.is_true(r.elapsed >= 0.29 and r.elapsed < 1.2, "elapsed " .. r.elapsed) -- 5 x 0.3 s at once
    assert.equal("cancelled", r.victim)
    assert.equal("failed", r.bad)
    assert.is_false(r.ok)
    assert.matches("boom", r.err)
  end)
end)
