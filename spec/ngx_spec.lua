-- The OpenResty path, for real: Debian's nginx with lua-nginx-module runs
-- examples/openresty/ (one worker, LuaJIT, build/jit) against the emulator. Sessions
-- are started per request through cosockets; concurrent requests overlap, which they
-- could not if the worker blocked.
local helpers = require("helpers")

local MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"
local have_nginx = os.execute("command -v nginx >/dev/null 2>&1")
have_nginx = (have_nginx == true or have_nginx == 0) and io.open(MODULE) ~= nil
  and io.open(helpers.root .. "/build/jit/gameliftstreams/core.so") ~= nil

local describe_ngx = have_nginx and describe or pending

describe_ngx("OpenResty (nginx + lua-nginx-module)", function()
  local emu, client, sched, dir, port, nginx_pid, app, group

  local FAST = { min_delay = 0.02, max_delay = 0.1, max_wait = 20 }

  local function free_port()
    local socket = require("socket")
    local s = socket.bind("127.0.0.1", 0)
    local _, p = s:getsockname()
    s:close()
    return tonumber(p)
  end

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
    port = free_port()
    local conf = assert(helpers.read_file(helpers.root .. "/examples/openresty/nginx.conf"))
    conf = conf:gsub("listen 127%.0%.0%.1:8089;", "listen 127.0.0.1:" .. port .. ";")
    conf = conf:gsub("build/openresty", dir)
    helpers.write_file(dir .. "/nginx.conf", conf)
    local cmd = string.format(
      "cd %s && env -u LD_PRELOAD GLS_ENDPOINT=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=us-west-2 " ..
      "GLS_STREAM_GROUP=%s GLS_APPLICATION=%s GLS_POLL_SECONDS=0.1 " ..
      "nginx -p %s -e %s -c %s >%s 2>&1 & echo $!",
      helpers.shell_quote(helpers.root), emu.url, emu.access_key_id, emu.secret_access_key, group.Id, app.Id,
      helpers.shell_quote(helpers.root), helpers.shell_quote(dir .. "/error.log"),
      helpers.shell_quote(dir .. "/nginx.conf"), helpers.shell_quote(dir .. "/nginx.out"))
    local p = io.popen(cmd)
    nginx_pid = tonumber(p:read("*l"))
    p:close()
    local t0 = sched.now()
    while sched.now() - t0 < 10 do
      local res = get("/health")
      if res and res.status == 200 then return end
      sched.sleep(0.1)
    end
    error("nginx did not start: " .. tostring(helpers.read_file(dir .. "/nginx.out")) ..
          tostring(helpers.read_file(dir .. "/error.log")))
  end)

  teardown(function()
    if nginx_pid then os.execute("kill " .. nginx_pid .. " 2>/dev/null") end
    if emu then emu.stop() end
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
end)
