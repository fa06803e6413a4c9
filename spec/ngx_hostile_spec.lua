-- Hostile servers and hostile headers through the OpenResty transport (ngx_http.lua), for real:
-- Debian's nginx with lua-nginx-module runs a probe that calls sched.http (cosockets) or a client
-- against spec/support/hostile_server.lua. The curl transport meets the same servers in
-- spec/hostile_servers_spec.lua (issue 15).
local helpers = require("helpers")
local cjson = require("cjson")

local have_nginx = helpers.have_nginx()

local describe_ngx = have_nginx and describe or pending

local PROBES = [=[
  server {
    listen 127.0.0.1:PORT;
    location = /hprobe {
      content_by_lua_block {
        local sched = require("gameliftstreams.sched")
        local cjson = require("cjson")
        local a = ngx.req.get_uri_args()
        local t0 = sched.now()
        local ok, res, err = pcall(sched.http, { method = a.method or "GET", url = a.url,
          headers = a.hname and { [a.hname] = a.hvalue } or nil, timeout = tonumber(a.timeout) or 5 })
        local out
        if not ok then out = { raised = tostring(res) }
        elseif res then out = { status = res.status, headers = res.headers, body = res.body }
        else out = { error = { code = err.code, reason = err.reason, message = err.message,
                               retryable = err.retryable } } end
        out.elapsed = sched.now() - t0
        ngx.say(cjson.encode(out))
      }
    }
    location = /hclient {
      content_by_lua_block {
        local gls = require("gameliftstreams")
        local cjson = require("cjson")
        local a = ngx.req.get_uri_args()
        local client, nerr = gls.new{ region = "us-west-2", endpoint = a.endpoint, timeout = 2,
          credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "s" },
          user_agent_suffix = a.suffix }
        if not client then
          ngx.say(cjson.encode({ new_error = { code = nerr.code, message = nerr.message } }))
          return
        end
        local ok, out, err = pcall(client.get_stream_session, client,
          { Identifier = a.group or "sg-1", StreamSessionIdentifier = "s-1" })
        local r
        if not ok then r = { raised = tostring(out) }
        elseif out then r = { out = out }
        else r = { error = { code = err.code, message = err.message, path = err.path,
                             attempts = err.attempts } } end
        ngx.say(cjson.encode(r))
      }
    }
  }
]=]

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function urlenc(s)
  return (s:gsub("[^%w]", function(c) return string.format("%%%02X", c:byte()) end))
end

describe_ngx("OpenResty transport against hostile servers (issue 15)", function()
  local sched, dir, stop_nginx, probe_port, srv, core

  local free_port = helpers.free_port

  local function get(path)
    local res = assert(sched.http{ method = "GET", url = "http://127.0.0.1:" .. probe_port .. path, timeout = 30 })
    assert.equal(200, res.status, res.body)
    return cjson.decode(res.body)
  end

  local function probe(target, extra)
    return get("/hprobe?url=" .. urlenc(srv.url .. target) .. (extra or ""))
  end

  local function server_log(method)
    local res = assert(sched.http{ method = method or "GET", url = srv.url .. "/_log", timeout = 5 })
    return res.body
  end

  setup(function()
    sched = require("gameliftstreams.sched")
    core = helpers.core()
    dir = helpers.tmpdir()
    os.execute("mkdir -p " .. helpers.shell_quote(dir .. "/tmp"))
    srv = helpers.spawn_server(helpers.root .. "/spec/support/hostile_server.lua", {})
    local conf = assert(helpers.read_file(helpers.root .. "/examples/openresty/nginx.conf"))
    conf = conf:gsub("listen 127%.0%.0%.1:8089;", "listen 127.0.0.1:" .. free_port() .. ";")
    conf = conf:gsub("build/openresty", dir)
    probe_port = free_port()
    conf = conf:gsub("\n  server {", "\n" .. PROBES:gsub("PORT", probe_port) .. "\n  server {", 1)
    stop_nginx = helpers.start_nginx{ conf = conf, dir = dir, prefix = helpers.root,
      ready = function()
        return sched.http{ method = "GET", url = "http://127.0.0.1:" .. probe_port .. "/none", timeout = 1 } ~= nil
      end }
  end)

  teardown(function()
    if stop_nginx then stop_nginx() end
    if srv then srv.stop() end
    helpers.rm_rf(dir)
  end)

  it("refuses CR, LF and NUL in header values and bad header names, as the curl path does, sending nothing", function()
    server_log("DELETE")
    for _, case in ipairs{
      { "x-a", "v\r\nX-Injected: 1", 'invalid value for header "x-a": contains CR, LF or NUL' },
      { "x-a", "v\ninjected", 'invalid value for header "x-a": contains CR, LF or NUL' },
      { "x-a", "v\0w", 'invalid value for header "x-a": contains CR, LF or NUL' },
      { "x a", "v", 'invalid header name "x a"' },
      { "x-a\r\nX-Injected", "v", 'invalid header name "x-a??X-Injected"' },
    } do
      local r = probe("/json/200/7b7d/", "&hname=" .. urlenc(case[1]) .. "&hvalue=" .. urlenc(case[2]))
      assert.is_table(r.error, cjson.encode(r))
      assert.equal("InvalidParameter", r.error.code)
      assert.equal(case[3], r.error.message)
      assert.is_false(r.error.retryable)
      -- the curl transport says the same
      local _, cerr = sched.http{ url = srv.url .. "/json/200/7b7d/", headers = { [case[1]] = case[2] } }
      assert.equal("InvalidParameter", cerr.code)
      assert.equal(case[3]:gsub("x%-a%?%?X%-Injected", "x-a\r\nX-Injected"), cerr.message)
    end
    assert.equal("", server_log())
  end)

  it("refuses a User-Agent suffix with CR/LF inside nginx (the client's own headers)", function()
    server_log("DELETE")
    local r = get("/hclient?endpoint=" .. urlenc(srv.url .. "/json/200/7b7d") .. "&suffix=" ..
      urlenc("x\r\nX-Injected: 1"))
    assert.is_nil(r.raised)
    -- refused by gls.new, before any call could send it
    assert.is_table(r.new_error, cjson.encode(r))
    assert.equal("InvalidParameter", r.new_error.code)
    assert.matches("user_agent_suffix", r.new_error.message)
    assert.equal("", server_log())
  end)

  it("sends the path as built: no dot segment removed", function()
    server_log("DELETE")
    local r = probe("/json/200/7b7d/a/../b/./c")
    assert.equal(200, r.status, cjson.encode(r))
    assert.equal("GET /json/200/7b7d/a/../b/./c", server_log())
  end)

  it("bounds trickled headers and bodies by `timeout`", function()
    for _, case in ipairs{ "/trickle-head/", "/trickle-body/100/" } do
      local r = probe(case, "&timeout=1")
      assert.is_table(r.error, cjson.encode(r))
      assert.equal("Timeout", r.error.code, case)
      assert.is_true(r.elapsed >= 0.9 and r.elapsed < 2, case .. " took " .. r.elapsed)
    end
  end)

  it("refuses huge headers as ResponseTooLarge (as libcurl's limits), and joins many repeats quickly", function()
    local r = probe("/huge-header/200000/")
    assert.equal("ResponseTooLarge", r.error and r.error.code, cjson.encode(r):sub(1, 300))
    assert.equal("header_too_large", r.error.reason)
    assert.is_false(r.error.retryable)
    r = probe("/header-bytes/400000/")
    assert.equal("ResponseTooLarge", r.error and r.error.code)
    assert.equal("header_too_large", r.error.reason)
    r = probe("/many-headers/20000/")
    assert.equal(200, r.status, r.error and r.error.message)
    assert.equal(20000, select(2, r.headers["x-rep"]:gsub(", ", "")) + 1)
    assert.is_true(r.elapsed < 2, "20000 repeats took " .. r.elapsed)
  end)

  it("maps truncation, resets, bad chunking and non-HTTP to NetworkError; reads a body ended by close", function()
    for _, case in ipairs{ { "/truncate/", "partial" }, { "/cut-header/", "partial" },
                           { "/bad-chunk/zz/", "protocol" }, { "/bad-chunk/-1/", "protocol" },
                           { "/chunk-cut/", "partial" }, { "/garbage/", "protocol" },
                           { "/empty/", "reset" }, { "/reset/" }, { "/reset-mid/" } } do
      local r = probe(case[1])
      assert.is_nil(r.raised, case[1])
      assert.is_table(r.error, case[1] .. " " .. cjson.encode(r):sub(1, 200))
      assert.equal("NetworkError", r.error.code, case[1])
      if case[2] then assert.equal(case[2], r.error.reason, case[1] .. " " .. r.error.message) end
      assert.is_true(r.elapsed < 2)
    end
    local r = probe("/no-length/" .. hex('{"Arn":"a"}') .. "/")
    assert.equal(200, r.status)
    assert.equal('{"Arn":"a"}', r.body)
  end)

  it("does not follow redirects", function()
    server_log("DELETE")
    local r = probe("/redirect/302/")
    assert.equal(302, r.status)
    assert.equal("GET /redirect/302/", server_log())
  end)

  it("turns wrong-typed answers into a SerializationError inside nginx, once, without raising", function()
    local body = '{"Arn":"a","CreatedAt":"2026-13-01T00:00:00Z"}'
    local r = get("/hclient?endpoint=" .. urlenc(srv.url .. "/json/200/" .. hex(body)))
    assert.is_nil(r.raised)
    assert.equal("SerializationError", r.error.code, cjson.encode(r))
    assert.equal("output.CreatedAt", r.error.path)
    assert.equal(1, r.error.attempts)
    r = get("/hclient?endpoint=" .. urlenc(srv.url .. "/redirect/301"))
    assert.equal("HTTP301", r.error.code)
    assert.equal(1, r.error.attempts)
    r = get("/hclient?endpoint=" .. urlenc(srv.url .. "/json/200/7b7d") .. "&group=..")
    assert.equal("InvalidParameter", r.error.code)
  end)
end)
