-- Response framing and connection reuse against hostile servers, on both transports: libcurl
-- (core.http_pool, what sched.http uses in plain Lua) and the cosocket client (ngx_http.lua,
-- inside a real nginx). spec/support/framing_server.lua answers with the exact bytes each case
-- names; both transports must read the same reply the same way (status and body, or the same
-- error code and reason), and a reply's bytes past its framed end must never be read as the
-- next call's reply. The cases follow RFC 9112 (6.3 message body length, 5.2 obs-fold,
-- 7.1 chunked) and, where the RFC leaves a choice, what libcurl does.
-- (The hostile servers of spec/hostile_servers_spec.lua and spec/ngx_hostile_spec.lua cover
-- truncation, resets, trickling and huge headers; this file the framing itself.)
local helpers = require("helpers")
local cjson = require("cjson")
local sched = require("gameliftstreams.sched")

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local function urlenc(s) return (s:gsub("[^%w]", function(c) return string.format("%%%02X", c:byte()) end)) end

-- The server's paths: bytes sent and the connection kept open, sent then closed, or a script.
local function raw(s) return "/raw/" .. hex(s) .. "/" end
local function close(s) return "/close/" .. hex(s) .. "/" end
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
local function status_line(line) return raw(line .. "\r\nContent-Length: 2\r\n\r\nok") end

local PROTOCOL = { "NetworkError", "protocol" }
local PARTIAL = { "NetworkError", "partial" }
local TOO_LARGE = { "ResponseTooLarge", "too_large" }

-- { name, path, expected: { status, body } or { code, reason }, opts (timeout, max, method),
--   headers expected (name = value, or false: absent) }
local CASES = {
  -- Content-Length and Transfer-Encoding
  { "Content-Length and Transfer-Encoding both", raw(ok200("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
    "5\r\nhello\r\n0\r\n\r\n")), PROTOCOL },
  { "two different Content-Lengths", raw(ok200("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!")), PROTOCOL },
  { "the same Content-Length twice", raw(ok200("Content-Length: 5\r\nContent-Length: 5\r\n", "hello")), { 200, "hello" } },
  { "Content-Length 5, 5", raw(ok200("Content-Length: 5, 5\r\n", "hello")), { 200, "hello" } },
  { "Content-Length 5, 6", raw(ok200("Content-Length: 5, 6\r\n", "hello!")), PROTOCOL },
  { "Content-Length +5", raw(ok200("Content-Length: +5\r\n", "hello")), PROTOCOL },
  { "Content-Length -5", raw(ok200("Content-Length: -5\r\n", "hello")), PROTOCOL },
  { "Content-Length 5 5", raw(ok200("Content-Length: 5 5\r\n", "hello")), PROTOCOL },
  { "Content-Length 0x5", raw(ok200("Content-Length: 0x5\r\n", "hello")), PROTOCOL },
  { "Content-Length 5x", raw(ok200("Content-Length: 5x\r\n", "hello")), PROTOCOL },
  { "an empty Content-Length", raw(ok200("Content-Length: \r\n", "hello")), PROTOCOL },
  -- (an empty list element: the direct transfers' reader once took these, the header callback not)
  { "Content-Length 5,,5", raw(ok200("Content-Length: 5,,5\r\n", "hello")), PROTOCOL },
  { "Content-Length 5,", raw(ok200("Content-Length: 5,\r\n", "hello")), PROTOCOL },
  { "Content-Length 00005", raw(ok200("Content-Length: 00005\r\n", "hello")), { 200, "hello" } },
  { "Content-Length 2^53+1", raw(ok200("Content-Length: 9007199254740993\r\n", "hello")), TOO_LARGE },
  { "Content-Length past 2^64", raw(ok200("Content-Length: 99999999999999999999999\r\n", "hello")), TOO_LARGE },
  { "Transfer-Encoding gzip", close(ok200("Transfer-Encoding: gzip\r\n", "hello")), PROTOCOL },
  { "Transfer-Encoding identity with a length", raw(ok200("Transfer-Encoding: identity\r\nContent-Length: 5\r\n",
    "hello")), PROTOCOL },
  { "Transfer-Encoding chunked, gzip", close(ok200("Transfer-Encoding: chunked, gzip\r\n", "5\r\nhello\r\n0\r\n\r\n")),
    PROTOCOL },
  { "Transfer-Encoding chunked,", close(ok200("Transfer-Encoding: chunked,\r\n", "5\r\nhello\r\n0\r\n\r\n")),
    PROTOCOL },
  { "Transfer-Encoding xchunked", close(ok200("Transfer-Encoding: xchunked\r\n", "5\r\nhello\r\n0\r\n\r\n")), PROTOCOL },
  -- chunk sizes
  { "a chunk size of 17 hex digits", close(chunked("10000000000000000\r\nhello")), PROTOCOL },
  { "a chunk size of 2^63", close(chunked("8000000000000000\r\nhello")), PROTOCOL },
  { "a chunk size of 2^63-1, then close", close(chunked("7FFFFFFFFFFFFFFF\r\nhello")), PARTIAL },
  { "a chunk size of 2^60, then close", close(chunked("FFFFFFFFFFFFFFF\r\nhello")), PARTIAL },
  { "a chunk size past max, then close", close(chunked("1000000\r\nhello")), PARTIAL },
  { "a chunk size past max, sent", steps{ { "send", chunked("801\r\n") }, { "rep", 2049, "x" },
    { "send", "\r\n0\r\n\r\n" } }, TOO_LARGE, { max = 2048 } },
  { "a chunk size after a space", raw(chunked(" 5\r\nhello\r\n0\r\n\r\n")), PROTOCOL },
  { "a chunk size with a sign", raw(chunked("+5\r\nhello\r\n0\r\n\r\n")), PROTOCOL },
  { "a chunk size 0x5", raw(chunked("0x5\r\nhello\r\n0\r\n\r\n")), PROTOCOL },
  { "junk after a chunk size", raw(chunked("5zz\r\nhello\r\n0\r\n\r\n")), { 200, "hello" } },
  { "chunk extensions", raw(chunked("5;a=b;c=\"d\"\r\nhello\r\n0;x\r\n\r\n")), { 200, "hello" } },
  { "a chunk extension of 2,000 bytes", steps{ { "send", chunked("5;") }, { "rep", 2000, "e" },
    { "send", "\r\nhello\r\n0\r\n\r\n" } }, { 200, "hello" } },
  { "no CRLF after a chunk's data", raw(chunked("5\r\nhello0\r\n\r\n")), PROTOCOL },
  { "bare LF around chunks", raw(chunked("5\nhello\n0\n\n")), { 200, "hello" } },
  { "CR CR LF after a chunk's data", raw(chunked("5\r\nhello\r\r\n0\r\n\r\n")), { 200, "hello" } },
  -- trailers: read, never merged into the headers, counted in max_response_bytes
  { "trailers", raw(chunked("5\r\nhello\r\n0\r\nX-Trailer: t\r\nX-Amzn-ErrorType: Boom\r\n\r\n")), { 200, "hello" }, nil,
    { ["x-trailer"] = false, ["x-amzn-errortype"] = false } },
  { "a trailer line of 80 KB", steps{ { "send", chunked("5\r\nhello\r\n0\r\nX-T: ") }, { "rep", 80000, "t" },
    { "send", "\r\n\r\n" } }, PROTOCOL },
  { "400 KB of trailers", steps{ { "send", chunked("5\r\nhello\r\n0\r\n") },
    { "rep", 4000, "X-T: " .. string.rep("t", 93) .. "\r\n" }, { "send", "\r\n" } }, { 200, "hello" } },
  { "trailers past max", steps{ { "send", chunked("5\r\nhello\r\n0\r\n") },
    { "rep", 40, "X-T: " .. string.rep("t", 93) .. "\r\n" }, { "send", "\r\n" } }, TOO_LARGE, { max = 1000 } },
  { "a trailer line without a colon", raw(chunked("5\r\nhello\r\n0\r\nnot a trailer\r\n\r\n")), PROTOCOL },
  -- bodies a reply must not have, interim replies
  { "a 204 with a body", raw("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"), { 204, "" } },
  { "a 304 with a body", raw("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello"), { 304, "" } },
  { "HEAD with a length and a body", raw(ok200("Content-Length: 5\r\n", "hello")), { 200, "" }, { method = "HEAD" } },
  { "a 100 first", raw("HTTP/1.1 100 Continue\r\n\r\n" .. ok200("Content-Length: 2\r\n", "ok")), { 200, "ok" } },
  { "a 103 first", raw("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" .. ok200("Content-Length: 2\r\n", "ok")),
    { 200, "ok" }, nil, { link = false } },
  { "five 100s first", raw(string.rep("HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\n", 5) ..
    ok200("Content-Length: 2\r\n", "ok")), { 200, "ok" }, nil, { ["x-i"] = false } },
  { "500 KB of 100s", steps{ { "rep", 5000, "HTTP/1.1 100 Continue\r\nX-I: " .. string.rep("i", 90) .. "\r\n\r\n" },
    { "send", ok200("Content-Length: 2\r\n", "ok") } }, { "ResponseTooLarge", "header_too_large" } },
  { "a 101, then close", close("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n" ..
    SMUGGLED), { 101, SMUGGLED } },
  { "a 101, kept open", raw("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n" ..
    SMUGGLED), { "Timeout", "timeout" }, { timeout = 0.4 } },
  -- versions, and no framing
  { "HTTP/1.0", raw("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"), { 200, "ok" } },
  { "HTTP/1.0 keep-alive", raw("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"),
    { 200, "ok" } },
  { "no length: until the close", close("HTTP/1.1 200 OK\r\n\r\nuntil close"), { 200, "until close" } },
  -- status lines
  { "not HTTP", status_line("FOO/1.1 200 OK"), PROTOCOL },
  { "http in lower case", close("http/1.1 500 X\r\nContent-Length: 2\r\n\r\nok"), PROTOCOL },
  { "a status of 4 digits", status_line("HTTP/1.1 2000 OK"), PROTOCOL },
  { "a status of 2 digits", status_line("HTTP/1.1 20 OK"), PROTOCOL },
  { "a status 099", status_line("HTTP/1.1 099 X"), PROTOCOL },
  { "a status 999", status_line("HTTP/1.1 999 X"), { 999, "ok" } },
  { "HTTP/2 200", status_line("HTTP/2 200"), PROTOCOL },
  { "HTTP/1.2", status_line("HTTP/1.2 200 OK"), PROTOCOL },
  { "HTTP/2.0", status_line("HTTP/2.0 200 OK"), PROTOCOL },
  { "two spaces before the status", status_line("HTTP/1.1  200 OK"), PROTOCOL },
  { "a tab after the status", status_line("HTTP/1.1 200\tOK"), PROTOCOL },
  { "no reason phrase", status_line("HTTP/1.1 200"), { 200, "ok" } },
  { "a blank line first", status_line("\r\nHTTP/1.1 200 OK"), PROTOCOL },
  -- header lines
  { "bare LF line ends", raw("HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nok"), { 200, "ok" }, nil, { ["x-a"] = "b" } },
  { "obs-fold", raw(ok200("X-F: first\r\n  second\r\n\tthird: x\r\nContent-Length: 2\r\n", "ok")), { 200, "ok" }, nil,
    { ["x-f"] = "first second third: x" } },
  { "a folded line first", raw(ok200(" X-F: first\r\nContent-Length: 2\r\n", "ok")), PROTOCOL },
  -- RFC 9112 5.2: unfolded, "2 2" is no length and "chunked x" no coding
  { "a folded Content-Length", raw(ok200("Content-Length: 2\r\n 2\r\n", "ok")), PROTOCOL },
  { "a folded Transfer-Encoding", raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n x\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
    PROTOCOL },
  { "a header line without a colon", raw(ok200("X-NoColon\r\nContent-Length: 2\r\n", "ok")), PROTOCOL },
  { "an empty header name", raw(ok200(": v\r\nContent-Length: 2\r\n", "ok")), { 200, "ok" } },
  { "a space before the colon", raw(ok200("X-A : v\r\nContent-Length: 2\r\n", "ok")), { 200, "ok" }, nil,
    { ["x-a"] = "v" } },
  { "a NUL in a header value", raw(ok200("X-N: a\0b\r\nContent-Length: 2\r\n", "ok")), PROTOCOL },
  { "control bytes in a header value", raw(ok200("X-N: a\1\127b\r\nContent-Length: 2\r\n", "ok")), { 200, "ok" }, nil,
    { ["x-n"] = "a\1\127b" } },
  { "a status line of 150 KB", steps{ { "send", "HTTP/1.1 200 " }, { "rep", 150000, "r" },
    { "send", "\r\nContent-Length: 2\r\n\r\nok" } }, { "ResponseTooLarge", "header_too_large" } },
  -- a server that stops, or trickles
  { "stops in the status line", close("HTTP/1.1 20"), { "NetworkError", "reset" } },
  { "stops after the status line", close("HTTP/1.1 200 OK\r\n"), PARTIAL },
  { "stops in a chunk size", close(chunked("5")), PARTIAL },
  { "stops after the last chunk", close(chunked("5\r\nhello\r\n0\r\n")), PARTIAL },
  { "stops in the trailers", close(chunked("5\r\nhello\r\n0\r\nX-T: 1\r\n")), PARTIAL },
  { "a byte every 100 ms", steps{ { "send", "H" }, { "wait", 0.1 }, { "send", "T" }, { "wait", 0.1 }, { "send", "T" },
    { "wait", 0.1 }, { "send", "P" }, { "wait", 0.1 }, { "send", "/" }, { "wait", 0.1 }, { "send", "1" },
    { "wait", 0.1 }, { "send", "." }, { "wait", 0.1 }, { "send", "1" } }, { "Timeout", "timeout" }, { timeout = 0.5 } },
  -- errors with more bytes behind them
  { "a body over max, a reply behind it", raw(ok200("Content-Length: 20\r\n", string.rep("x", 20)) .. SMUGGLED),
    TOO_LARGE, { max = 10 } },
  { "a chunked body over max, a reply behind it", raw(chunked("14\r\n" .. string.rep("x", 20) .. "\r\n0\r\n\r\n") ..
    SMUGGLED), TOO_LARGE, { max = 10 } },
  { "a timeout mid-body, a reply behind it", steps{ { "send", ok200("Content-Length: 20\r\n", "0123456789") },
    { "wait", 0.6 }, { "send", "0123456789" .. SMUGGLED } }, { "Timeout", "timeout" }, { timeout = 0.3 } },
}

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
    -- libcurl's own HTTP, which still carries a request through a proxy (csrc/http.c's direct
    -- transfers carry the rest, the "libcurl" row above)
    { "libcurl's own HTTP", function(calls)
      local pool = assert(helpers.core().http_pool{ libcurl_only = true })
      local out = {}
      for i, c in ipairs(calls) do
        if c.wait then sched.sleep(c.wait) end
        local res = pool:request{ method = c.method, url = c.url, timeout = c.timeout, max_response_bytes = c.max }
        out[i] = res.error and result(nil, res.error) or result(res)
      end
      pool:close()
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

    it(name .. ": reads each reply as RFC 9112 and the other transport do; the next call gets its own", function()
      local failures = {}
      for _, case in ipairs(CASES) do
        local o = case[4] or {}
        local out = run{ { url = srv.url .. case[2], method = o.method or "GET", timeout = o.timeout or 3, max = o.max },
                         { url = srv.url .. "/own/2", method = "GET", timeout = 3 } }
        if out == nil then return end -- no nginx here
        local ok, e = pcall(function()
          check(case[1], out[1], case[3], case[5])
          own(out[2], case[1] .. " (the call after)")
        end)
        if not ok then failures[#failures + 1] = tostring(e) end
      end
      assert.equal("", table.concat(failures, "\n"))
    end)

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
        io.write(first.status, " ", second.error and second.error.code or "-", " ",
          second.error and second.error.reason or "-", "\n")
      end
    ]]
    local out, ok = helpers.run(string.format("printf '%%s' %s | env -u LD_PRELOAD %s lua5.4 - %s %s %s",
      helpers.shell_quote(script), helpers.lua_env(), helpers.shell_quote(srv.url),
      helpers.shell_quote(raw(ok200("X-A: 1\r\nX-B: 2\r\nContent-Length: 2\r\n", "ok"))),
      helpers.shell_quote(raw(ok200(" X-F: first\r\nContent-Length: 2\r\n", "ok")))))
    assert.is_true(ok, out)
    assert.equal(string.rep("200 NetworkError protocol\n", 3), out)
  end)
end)
