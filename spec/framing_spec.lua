-- Response framing and connection reuse against hostile servers, on both transports: libcurl
-- (core.http_pool, what sched.http uses in plain Lua) and the cosocket client (ngx_http.lua,
-- inside a real nginx). spec/support/framing_server.lua answers with the exact bytes each case
-- names; a reply's bytes past its framed end must never be read as the next call's reply.
-- (The hostile servers of spec/hostile_servers_spec.lua and spec/ngx_hostile_spec.lua cover
-- truncation, resets, trickling and huge headers; this file the framing itself.)
local helpers = require("helpers")
local cjson = require("cjson")
local sched = require("gameliftstreams.sched")

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local function urlenc(s) return (s:gsub("[^%w]", function(c) return string.format("%%%02X", c:byte()) end)) end

-- The server's paths: bytes sent and the connection kept open, or a script.
local function raw(s) return "/raw/" .. hex(s) .. "/" end
local function steps(list) -- { "send", bytes } | { "rep", n, bytes } | { "wait", s } | { "close" }
  local lines = {}
  for _, st in ipairs(list) do
    if st[1] == "send" then lines[#lines + 1] = "send " .. hex(st[2])
    elseif st[1] == "rep" then lines[#lines + 1] = "rep " .. st[2] .. " " .. hex(st[3])
    elseif st[1] == "wait" then lines[#lines + 1] = "wait " .. st[2]
    else lines[#lines + 1] = "close" end
  end
  return "/steps/" .. hex(table.concat(lines, "\n")) .. "/"
end

local SMUGGLED = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"
local function ok200(extra, body) return "HTTP/1.1 200 OK\r\n" .. extra .. "\r\n" .. (body or "") end
local function chunked(body) return ok200("Transfer-Encoding: chunked\r\n", body) end

-- Replies followed by more bytes, sent 50 ms later: the next call, made once they are there
-- (200 ms on), must get its own reply, on another connection.
local LATER = {
  { "a second reply", steps{ { "send", ok200("Content-Length: 2\r\n", "ok") }, { "wait", 0.05 }, { "send", SMUGGLED } },
    { 200, "ok" } },
  { "a body longer than its Content-Length", steps{ { "send", ok200("Content-Length: 2\r\n", "ok") }, { "wait", 0.05 },
    { "send", "EXTRA" .. SMUGGLED } }, { 200, "ok" } },
  { "a body after a 204", steps{ { "send", "HTTP/1.1 204 No Content\r\n\r\n" }, { "wait", 0.05 }, { "send", SMUGGLED } },
    { 204, "" } },
  { "a body after a 304", steps{ { "send", "HTTP/1.1 304 Not Modified\r\nContent-Length: 8\r\n\r\n" },
    { "wait", 0.05 }, { "send", SMUGGLED } }, { 304, "" } },
  { "a chunked reply, then another", steps{ { "send", chunked("2\r\nok\r\n0\r\n\r\n") }, { "wait", 0.05 },
    { "send", SMUGGLED } }, { 200, "ok" } },
  { "a HEAD reply, then its body", steps{ { "send", ok200("Content-Length: 8\r\n") }, { "wait", 0.05 },
    { "send", "SMUGGLED" } }, { 200, "" }, { method = "HEAD" } },
  { "Connection: close, then another reply", steps{ { "send", ok200("Connection: close\r\nContent-Length: 2\r\n", "ok") },
    { "wait", 0.05 }, { "send", SMUGGLED } }, { 200, "ok" } },
  { "a 101, then another reply", steps{ { "send", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n" },
    { "wait", 0.05 }, { "send", SMUGGLED } }, { "Timeout", "timeout" }, { timeout = 0.4 } },
  { "a reply, then the server closes", steps{ { "send", ok200("Content-Length: 2\r\n", "ok") }, { "wait", 0.05 },
    { "close" } }, { 200, "ok" } },
}

local PROBE = [=[
  server {
    listen 127.0.0.1:PORT;
    location = /calls {
      content_by_lua_block {
        local sched = require("gameliftstreams.sched")
        local cjson = require("cjson")
        local out = {}
        for i, c in ipairs(cjson.decode(ngx.req.get_uri_args().calls)) do
          if c.wait then ngx.sleep(c.wait) end
          local res, err = sched.http{ method = c.method, url = c.url, timeout = c.timeout,
            max_response_bytes = c.max }
          out[i] = res and { status = res.status, headers = res.headers, body = res.body }
            or { error = { code = err.code, reason = err.reason, message = err.message } }
        end
        ngx.say(cjson.encode(out))
      }
    }
  }
]=]

local function result(res, err)
  if res then return { status = res.status, headers = res.headers, body = res.body } end
  return { error = { code = err.code, reason = err.reason, message = err.message } }
end

describe("response framing and connection reuse, both transports", function()
  local srv, dir, stop_nginx, probe_port

  setup(function()
    srv = helpers.spawn_server(helpers.root .. "/spec/support/framing_server.lua", {})
    if not helpers.have_nginx() then return end
    dir = helpers.tmpdir()
    local conf = assert(helpers.read_file(helpers.root .. "/examples/openresty/nginx.conf"))
    conf = conf:gsub("listen 127%.0%.0%.1:8089;", "listen 127.0.0.1:" .. helpers.free_port() .. ";")
    conf = conf:gsub("build/openresty", dir)
    probe_port = helpers.free_port()
    conf = conf:gsub("\n  server {", "\n" .. PROBE:gsub("PORT", probe_port) .. "\n  server {", 1)
    stop_nginx = helpers.start_nginx{ conf = conf, dir = dir, prefix = helpers.root, ready = function()
      return sched.http{ url = "http://127.0.0.1:" .. probe_port .. "/none", timeout = 1 } ~= nil
    end }
  end)

  teardown(function()
    if stop_nginx then stop_nginx() end
    if srv then srv.stop() end
    if dir then helpers.rm_rf(dir) end
  end)

  -- Each transport makes the calls in order ({ url, method, timeout, max, wait (seconds
  -- before it) }) and returns their results.
  local TRANSPORTS = {
    { "libcurl", function(calls)
      local out = {}
      for i, c in ipairs(calls) do
        if c.wait then sched.sleep(c.wait) end
        out[i] = result(sched.http{ method = c.method, url = c.url, timeout = c.timeout, max_response_bytes = c.max })
      end
      return out
    end },
    { "cosockets", function(calls)
      if not probe_port then return nil end
      local res = assert(sched.http{ url = "http://127.0.0.1:" .. probe_port .. "/calls?calls=" ..
        urlenc(cjson.encode(calls)), timeout = 60 })
      assert.equal(200, res.status, res.body)
      return cjson.decode(res.body)
    end },
  }

  local function check(where, got, want, headers)
    local shown = cjson.encode(got):sub(1, 300)
    if type(want[1]) == "number" then
      assert.equal(want[1], got.status, where .. ": " .. shown)
      assert.equal(want[2], got.body, where)
      for name, value in pairs(headers or {}) do
        assert.equal(value or nil, got.headers[name], where .. ": header " .. name)
      end
    else
      assert.is_table(got.error, where .. ": " .. shown)
      assert.equal(want[1], got.error.code, where .. ": " .. shown)
      assert.equal(want[2], got.error.reason, where .. ": " .. shown)
    end
  end

  local function own(got, where)
    assert.is_nil(got.error, where .. ": " .. cjson.encode(got))
    assert.equal(200, got.status, where)
    assert.truthy(tostring(got.body):match("^own 2 "), where .. ": " .. tostring(got.body))
  end

  for _, t in ipairs(TRANSPORTS) do
    local name, run = t[1], t[2]

    it(name .. ": never reads bytes that came past a reply's end as the next call's reply", function()
      local failures = {}
      for _, case in ipairs(LATER) do
        local o = case[4] or {}
        local out = run{ { url = srv.url .. case[2], method = o.method or "GET", timeout = o.timeout or 3 },
                         { url = srv.url .. "/own/2", method = "GET", timeout = 3, wait = 0.2 } }
        if out == nil then return end
        local ok, e = pcall(function()
          check(case[1], out[1], case[3])
          own(out[2], case[1] .. " (the call after)")
        end)
        if not ok then failures[#failures + 1] = tostring(e) end
      end
      assert.equal("", table.concat(failures, "\n"))
    end)

    it(name .. ": keeps a clean connection alive, idle or not", function()
      local out = run{ { url = srv.url .. "/own/1", method = "GET", timeout = 3 },
                       { url = srv.url .. "/own/2", method = "GET", timeout = 3 },
                       { url = srv.url .. "/own/3", method = "GET", timeout = 3, wait = 0.2 } }
      if out == nil then return end
      local peers = {}
      for i = 1, 3 do
        assert.equal(200, out[i].status, cjson.encode(out[i]))
        peers[i] = out[i].body:match("^own " .. i .. " (%S+)$")
      end
      assert.is_string(peers[1])
      assert.equal(peers[1], peers[2])
      assert.equal(peers[1], peers[3])
    end)
  end

  it("libcurl: a task cancelled mid-body leaves no bytes for the next call", function()
    local path = steps{ { "send", ok200("Content-Length: 20\r\n", "0123456789") }, { "wait", 0.2 },
      { "send", "0123456789" .. SMUGGLED } }
    local t = sched.spawn(function() return sched.http{ url = srv.url .. path, timeout = 3 } end)
    sched.spawn(function()
      sched.sleep(0.1)
      t:cancel()
    end)
    sched.run()
    assert.equal("cancelled", t.status)
    sched.sleep(0.3)
    own(result(sched.http{ url = srv.url .. "/own/2", timeout = 3 }), "after the cancel")
  end)

  it("libcurl: a reply whose first header line is folded, after a reply on the same handle, does not crash", function()
    -- libcurl 7.88 frees its stored headers between transfers and keeps a pointer to the last
    -- one: a folded first line wrote to it (a double free); run in a child process
    local script = [[
      local core = require("gameliftstreams.core")
      local url, a, b = ...
      local pool = core.http_pool{}
      for round = 1, 3 do
        local first = pool:request{ url = url .. a, timeout = 3 }
        local second = pool:request{ url = url .. b, timeout = 3 }
        io.write(first.status, " ", second.error and second.error.code or "-", "\n")
      end
    ]]
    local out, ok = helpers.run(string.format("printf '%%s' %s | env -u LD_PRELOAD %s lua5.4 - %s %s %s",
      helpers.shell_quote(script), helpers.lua_env(), helpers.shell_quote(srv.url),
      helpers.shell_quote(raw(ok200("X-A: 1\r\nX-B: 2\r\nContent-Length: 2\r\n", "ok"))),
      helpers.shell_quote(raw(ok200(" X-F: first\r\nContent-Length: 2\r\n", "ok")))))
    assert.is_true(ok, out)
    assert.equal(string.rep("200 NetworkError\n", 3), out)
  end)
end)
