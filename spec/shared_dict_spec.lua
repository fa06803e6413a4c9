-- The shared_dict option for real: Debian's nginx with 4 worker processes shares the
-- credentials of an assumed role (a stand-in STS on 127.0.0.1 counts its calls) and the
-- clock-skew offset through a lua_shared_dict; every worker signs calls to the emulator with them.
local helpers = require("helpers")
local cjson = require("cjson")

local have_nginx = helpers.have_nginx()

describe("the shared_dict option outside OpenResty", function()
  it("is refused with InvalidParameter, before anything is sent", function()
    local gls = require("gameliftstreams")
    local c, err = gls.new{ region = "us-west-2", shared_dict = "gls_cache",
                            credentials = { access_key_id = "AKID", secret_access_key = "s" } }
    assert.is_nil(c)
    assert.equal("InvalidParameter", err.code)
    assert.matches("shared_dict", err.message)
    assert.matches("OpenResty", err.message)
    c, err = gls.new{ shared_dict = 3 }
    assert.is_nil(c)
    assert.matches("option 'shared_dict' must be the name of a lua_shared_dict", err.message)
    c, err = gls.new{ shared_dict_lock_timeout = -1 }
    assert.is_nil(c)
    assert.matches("shared_dict_lock_timeout", err.message)
  end)
end)

-- Each worker keeps one client per profile (role) for its life, as an application would.
local HANDLER = [=[
local gls = require("gameliftstreams")
local cjson = require("cjson.safe")
local _M = {}
local clients = {}

local function reply(t)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
end

local function client_for(a)
  local key = (a.profile or "static") .. " " .. (a.window or "") .. " " .. (a.lock or "")
  if not clients[key] then
    local o = { region = "us-west-2", endpoint = os.getenv("GLS_ENDPOINT"), shared_dict = "gls_cache",
                config_file = os.getenv("GLS_DIR") .. "/config",
                credentials_file = os.getenv("GLS_DIR") .. "/credentials",
                sts_endpoint = os.getenv("GLS_STS"), sts_timeout = 30,
                refresh_window = tonumber(a.window) or 0,
                shared_dict_lock_timeout = tonumber(a.lock) or 15 }
    if a.profile then
      o.profile = a.profile
    else
      o.credentials = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret" }
    end
    clients[key] = assert(gls.new(o))
  end
  return clients[key]
end

function _M.call()
  local a = ngx.req.get_uri_args()
  local c = client_for(a)
  local out, err = c:list_stream_groups{ MaxResults = 1 }
  local creds = c.provider and c.provider:get()
  reply{ pid = ngx.worker.pid(), ok = out ~= nil, code = err and err.code,
         message = err and err.message, attempts = err and err.attempts,
         key = creds and creds.access_key_id }
end

-- The locks the SDK holds in the dict now: their values start with the holder's pid.
function _M.locks()
  local d = ngx.shared.gls_cache
  local out = {}
  for _, k in ipairs(d:get_keys(0)) do
    if k:sub(-5) == ":lock" then out[#out + 1] = d:get(k) end
  end
  reply{ locks = out }
end

-- The ready logger inside nginx: ngx.log, one line per attempt.
local logged
function _M.logged()
  logged = logged or assert(gls.new{ region = "us-west-2", endpoint = os.getenv("GLS_ENDPOINT"), log = true,
    credentials = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret",
                    session_token = "logged-session-token" } })
  local out, err = logged:list_stream_groups{ MaxResults = 2 }
  reply{ ok = out ~= nil, code = err and err.code }
end

function _M.bad_dict()
  local c, err = gls.new{ region = "us-west-2", shared_dict = "no_such_dict" }
  reply{ ok = c ~= nil, code = err and err.code, message = err and err.message }
end

-- Everything the dict holds, to look for secrets where they should not be.
function _M.dump()
  local d = ngx.shared.gls_cache
  local out = {}
  for _, k in ipairs(d:get_keys(0)) do out[#out + 1] = k end
  reply{ keys = out }
end

return _M
]=]

local CONF = [=[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
master_process on;
worker_processes 4;
daemon off;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log info;
env GLS_ENDPOINT;
env GLS_STS;
env GLS_DIR;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path @DIR@/tmp;
  proxy_temp_path @DIR@/tmp;
  fastcgi_temp_path @DIR@/tmp;
  uwsgi_temp_path @DIR@/tmp;
  scgi_temp_path @DIR@/tmp;
  lua_package_path "@ROOT@/lua/?.lua;@ROOT@/lua/?/init.lua;@DIR@/?.lua;;";
  lua_package_cpath "@ROOT@/build/jit/?.so;;";
  lua_shared_dict gls_cache 1m;
  server {
    listen 127.0.0.1:@PORT@ reuseport;
    location = /call { content_by_lua_block { require("shared_handler").call() } }
    location = /locks { content_by_lua_block { require("shared_handler").locks() } }
    location = /logged { content_by_lua_block { require("shared_handler").logged() } }
    location = /bad-dict { content_by_lua_block { require("shared_handler").bad_dict() } }
    location = /dump { content_by_lua_block { require("shared_handler").dump() } }
  }
}
]=]

local PROFILES = [[
[profile base]
region = us-west-2

[profile herd]
role_arn = arn:aws:iam::123456789012:role/herd
source_profile = base
role_session_name = herd

[profile expiry]
role_arn = arn:aws:iam::123456789012:role/expiry
source_profile = base
role_session_name = expiry

[profile expired]
role_arn = arn:aws:iam::123456789012:role/expired
source_profile = base
role_session_name = expired

[profile denied]
role_arn = arn:aws:iam::123456789012:role/denied
source_profile = base
role_session_name = denied

[profile crash]
role_arn = arn:aws:iam::123456789012:role/crash
source_profile = base
role_session_name = crash
]]

local CREDENTIALS = [[
[base]
aws_access_key_id = AKIDSHAREDBASE
aws_secret_access_key = shared-base-secret
]]

;(have_nginx and describe or pending)("credentials shared by 4 nginx workers (lua_shared_dict)", function()
  local emu, sts, dir, port, stop_nginx, sched

  local free_port = helpers.free_port

  -- close: the connection is not kept (a new one, which reuseport hands to a worker by its port)
  local function get(path, close)
    local res, err = sched.http{ method = "GET", url = "http://127.0.0.1:" .. port .. path, timeout = 60,
      headers = close and { connection = "close" } or nil }
    if not res then return nil, err end
    local ok, body = pcall(cjson.decode, res.body)
    return ok and body or { status = res.status, raw = res.body }
  end

  local function ctl(path, body)
    helpers._pool = helpers._pool or helpers.core().http_pool{}
    local res = helpers._pool:request{ method = body and "POST" or "GET", url = sts.url .. path,
      body = body and cjson.encode(body) or nil, timeout = 10,
      headers = body and { ["content-type"] = "application/json" } or {} }
    assert(not res.error, res.error and res.error.message)
    return res.body ~= "" and cjson.decode(res.body) or nil
  end

  -- The AssumeRole calls STS got for a role (including any left unanswered).
  local function sts_calls(role)
    local out = {}
    for _, e in ipairs(ctl("/_ctl/log")) do
      if e.service == "sts" and e.params and e.params.RoleArn == "arn:aws:iam::123456789012:role/" .. role then
        out[#out + 1] = e
      end
    end
    return out
  end

  -- n requests at once (tasks of the SDK's scheduler over one curl multi pool).
  local function burst(n, path, spread, close)
    local tasks = {}
    for i = 1, n do
      tasks[i] = sched.spawn(function()
        if spread then sched.sleep(spread * (i - 1) / n) end
        return get(path, close)
      end)
    end
    assert(sched.run())
    local out = {}
    for i = 1, n do out[i] = tasks[i].result end
    return out
  end

  local function pids_of(results)
    local set, n = {}, 0
    for _, r in ipairs(results) do
      if r.pid and not set[r.pid] then set[r.pid], n = true, n + 1 end
    end
    return set, n
  end

  setup(function()
    sched = require("gameliftstreams.sched")
    emu = helpers.start_emulator{}
    -- the emulator accepts what the stand-in STS will issue: ASIASTANDIN00001, ... (see aws_standins)
    for i = 1, 40 do
      helpers.control(emu, "POST", "credentials", { access_key_id = string.format("ASIASTANDIN%05d", i),
        secret_access_key = "standin-secret-" .. i, session_token = "standin-token-" .. i })
    end
    sts = helpers.spawn_server(helpers.root .. "/spec/support/aws_standins.lua", { "sts" })
    dir = helpers.tmpdir()
    os.execute("mkdir -p " .. helpers.shell_quote(dir .. "/tmp"))
    helpers.write_file(dir .. "/shared_handler.lua", HANDLER)
    helpers.write_file(dir .. "/config", PROFILES)
    helpers.write_file(dir .. "/credentials", CREDENTIALS)
    port = free_port()
    local conf = CONF:gsub("@DIR@", dir):gsub("@ROOT@", helpers.root):gsub("@PORT@", tostring(port))
    stop_nginx = helpers.start_nginx{ conf = conf, dir = dir,
      env = { GLS_ENDPOINT = emu.url, GLS_STS = sts.url .. "/", GLS_DIR = dir },
      ready = function() local r = get("/bad-dict"); return r and r.code ~= nil end }
  end)

  teardown(function()
    if stop_nginx then stop_nginx() end
    if emu then emu.stop() end
    if sts then sts.stop() end
    if os.getenv("GLS_KEEP") then print("kept " .. dir) else helpers.rm_rf(dir) end
  end)

  it("refuses a dict nginx does not have, naming it", function()
    local r = get("/bad-dict")
    assert.is_false(r.ok)
    assert.equal("InvalidParameter", r.code)
    assert.matches("no lua_shared_dict named 'no_such_dict'", r.message)
  end)

  it("asks STS once for 200 concurrent first calls across the 4 workers", function()
    local results = burst(200, "/call?profile=herd")
    for _, r in ipairs(results) do assert.is_true(r.ok, cjson.encode(r)) end
    local _, workers = pids_of(results)
    assert.equal(4, workers) -- every worker served, and none of them asked on its own
    assert.equal(1, #sts_calls("herd"))
  end)

  it("refreshes once, in one worker, while the others keep using the old set", function()
    -- issued sets live 6 s; the window is 3 s: a set is refreshed 3 s after it was issued
    ctl("/_ctl/config", { expires_in = 6 })
    local first = burst(8, "/call?profile=expiry&window=3")
    assert.equal(1, #sts_calls("expiry"))
    ctl("/_ctl/config", { expires_in = 3600 }) -- the refreshed set lasts
    -- 200 calls spread over the next 4.5 s: before, at and after the refresh point, before expiry
    local results = burst(200, "/call?profile=expiry&window=3", 4.5)
    local keys = {}
    for _, r in ipairs(results) do
      assert.is_true(r.ok, cjson.encode(r))
      keys[r.key] = true
    end
    assert.equal(2, #sts_calls("expiry")) -- the first set, and exactly one refresh
    assert.is_true(keys[first[1].key])    -- the burst began on the old set...
    local n = 0
    for _ in pairs(keys) do n = n + 1 end
    assert.equal(2, n)                    -- ...and ended on the new one
  end)

  it("waits for one refresh when the set has expired (no refresh window)", function()
    ctl("/_ctl/config", { expires_in = 3 })
    burst(4, "/call?profile=expired&window=0&lock=5")
    assert.equal(1, #sts_calls("expired"))
    ctl("/_ctl/config", { expires_in = 3600 })
    local results = burst(200, "/call?profile=expired&window=0&lock=5", 4)
    local keys = {}
    for _, r in ipairs(results) do
      assert.is_true(r.ok, cjson.encode(r))
      keys[r.key] = true
    end
    assert.equal(2, #sts_calls("expired"))
    local n = 0
    for _ in pairs(keys) do n = n + 1 end
    assert.equal(2, n) -- across the expiry point
  end)

  it("hands a failed refresh to the workers waiting on it, and keeps no lock", function()
    ctl("/_ctl/config", { sts_error = { code = "AccessDenied", message = "not allowed", status = 403 } })
    local t0 = sched.now()
    local results = burst(100, "/call?profile=denied")
    ctl("/_ctl/config", { sts_error = cjson.null })
    for _, r in ipairs(results) do
      assert.is_false(r.ok)
      assert.equal("CredentialsError", r.code)
      assert.matches("STS AssumeRole failed: AccessDenied: not allowed %(HTTP 403%)", r.message)
    end
    assert.is_true(sched.now() - t0 < 10, "the waiters waited for nothing")
    assert.is_true(#sts_calls("denied") < 100, #sts_calls("denied") .. " calls for 100 requests")
    assert.same({}, get("/locks").locks)
    -- STS answers again: the next call gets credentials at once
    local r = get("/call?profile=denied")
    assert.is_true(r.ok, cjson.encode(r))
  end)

  it("lets another worker take over after the lock timeout when the refreshing one dies", function()
    ctl("/_ctl/config", { sts_hang = 1 }) -- the first AssumeRole of the role is never answered
    local victim_task = sched.spawn(get, "/call?profile=crash&lock=2")
    local holder, t0 = nil, sched.now()
    while not holder and sched.now() - t0 < 10 do
      sched.step(0.05)
      local r = get("/locks")
      for _, v in ipairs(r.locks) do holder = tonumber(v:match("^(%d+) ")) end
    end
    assert.is_number(holder, "no worker took the lock")
    local calls = sts_calls("crash")
    assert.equal(1, #calls)
    assert.is_true(calls[1].hung)
    os.execute("kill -9 " .. holder)
    local killed_at = sched.now()
    -- new calls find no set and the lock still held: they wait until it times out
    local results = burst(20, "/call?profile=crash&lock=2")
    victim_task:join()
    for _, r in ipairs(results) do
      assert.is_true(r.ok, cjson.encode(r))
      assert.not_equal(holder, r.pid)
    end
    calls = sts_calls("crash")
    assert.equal(2, #calls)
    local gap = calls[2].at - calls[1].at
    assert.is_true(gap >= 1.8 and gap < 6, "took over after " .. gap .. " s")
    assert.is_true(sched.now() - killed_at < 8)
  end)

  it("shares the clock-skew offset: one rejected call for all the workers", function()
    helpers.control(emu, "POST", "clock", { offset = 3600 })
    helpers.control(emu, "DELETE", "requests")
    -- one call, in one worker: rejected as skewed, corrected, resent
    local one = get("/call")
    assert.is_true(one.ok, cjson.encode(one))
    local _, log = helpers.control(emu, "GET", "requests?operation=ListStreamGroups")
    assert.equal(2, #log.requests)
    assert.equal(403, log.requests[1].status)
    helpers.control(emu, "DELETE", "requests")
    -- then every worker signs with the shared offset from its first attempt
    -- (bursts of 40 on new connections until 3 workers or more have served: kept connections
    -- stay with the workers that accepted them, so a burst over them could reach 2 workers
    -- again and again; the point is that all of them sign right at once)
    local all, workers = {}, 0
    for _ = 1, 5 do
      for _, r in ipairs(burst(40, "/call", nil, true)) do
        assert.is_true(r.ok, cjson.encode(r))
        all[#all + 1] = r
      end
      _, workers = pids_of(all)
      if workers >= 3 then break end
    end
    assert.is_true(workers >= 3, workers .. " workers served")
    _, log = helpers.control(emu, "GET", "requests?operation=ListStreamGroups")
    assert.equal(#all, #log.requests)
    for _, e in ipairs(log.requests) do assert.equal(200, e.status) end
    helpers.control(emu, "POST", "clock", { offset = 0 })
  end)

  it("logs one line per attempt with ngx.log when the log option is on", function()
    local r = get("/logged")
    assert.equal("UnrecognizedClientException", r.code) -- the emulator knows no such token
    local log = helpers.read_file(dir .. "/error.log") or ""
    local line = log:match("[^\n]*gameliftstreams: ListStreamGroups attempt 1/3 GET [^\n]*")
    assert.is_string(line, log)
    assert.matches("%[warn%]", line)
    assert.matches("/streamgroups%?MaxResults=2 %-> 403 UnrecognizedClientException", line)
    assert.is_nil(log:find("logged-session-token", 1, true))
  end)

  it("keeps the secrets out of the dict's keys and out of nginx's error log", function()
    local r = get("/dump")
    local keys = table.concat(r.keys, "\n")
    assert.is_nil(keys:find("ASIA", 1, true))
    assert.is_nil(keys:find("arn:", 1, true))
    local log = helpers.read_file(dir .. "/error.log") or ""
    assert.is_nil(log:find("standin-secret", 1, true))
    assert.is_nil(log:find("standin-token", 1, true))
    assert.is_nil(log:find("shared-base-secret", 1, true))
    assert.is_nil(log:find("emulator-secret", 1, true))
  end)
end)
