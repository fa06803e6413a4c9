local helpers = require("helpers")
local socket = require("socket")
local cjson = require("cjson")

-- A raw HTTP exchange over one luasocket connection, so the server is tested
-- independently of the SDK's own transport.
local function exchange(sock, request)
  assert(sock:send(request))
  local status_line = assert(sock:receive("*l"))
  local headers = {}
  while true do
    local line = assert(sock:receive("*l"))
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    k = k:lower()
    headers[k] = headers[k] and (headers[k] .. ", " .. v) or v
  end
  local body = assert(sock:receive(tonumber(headers["content-length"] or 0)))
  return tonumber(status_line:match("^HTTP/1%.1 (%d+)")), headers, body
end

local function connect(port)
  local s = assert(socket.tcp())
  s:settimeout(5)
  assert(s:connect("127.0.0.1", port))
  return s
end

describe("the emulator's HTTP server (httpd)", function()
  local srv
  setup(function() srv = helpers.spawn_server("spec/support/httpd_echo.lua") end)
  teardown(function() srv.stop() end)

  it("parses method, raw path, query, headers and a Content-Length body", function()
    local s = connect(srv.port)
    local status, headers, body = exchange(s,
      "POST /a%2Fb/c?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nX-Two: 1\r\nx-two: 2\r\nContent-Length: 5\r\n\r\nhello")
    s:close()
    assert.equal(200, status)
    assert.equal("a, b", headers["x-multi"])
    local echo = cjson.decode(body)
    assert.equal("POST", echo.method)
    assert.equal("/a%2Fb/c", echo.path)
    assert.equal("x=1&y=%20", echo.query)
    assert.equal("hello", echo.body)
    assert.equal("1, 2", echo.headers["x-two"])
  end)

  it("decodes a chunked request body", function()
    local s = connect(srv.port)
    local _, _, body = exchange(s,
      "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    s:close()
    assert.equal("abcde", cjson.decode(body).body)
  end)

  it("keeps a connection alive across requests, pipelined or not", function()
    local s = connect(srv.port)
    local _, _, b1 = exchange(s, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n")
    local _, _, b2 = exchange(s, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert(s:send("GET /3 HTTP/1.1\r\nHost: h\r\n\r\nGET /4 HTTP/1.1\r\nHost: h\r\n\r\n"))
    local _, _, b3 = exchange(s, "")
    local _, _, b4 = exchange(s, "")
    s:close()
    assert.same({ 1, 2, 3, 4 }, { cjson.decode(b1).conn_count, cjson.decode(b2).conn_count,
      cjson.decode(b3).conn_count, cjson.decode(b4).conn_count })
    assert.equal("/4", cjson.decode(b4).path)
  end)

  it("closes after answering Connection: close", function()
    local s = connect(srv.port)
    local _, headers = exchange(s, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert.equal("close", headers["connection"])
    local _, err = s:receive(1)
    assert.equal("closed", err)
    s:close()
  end)

  it("answers a delayed request without holding up another connection", function()
    local slow, fast = connect(srv.port), connect(srv.port)
    local t0 = socket.gettime()
    assert(slow:send("GET /delay HTTP/1.1\r\nHost: h\r\n\r\n"))
    local status = exchange(fast, "GET /quick HTTP/1.1\r\nHost: h\r\n\r\n")
    local fast_elapsed = socket.gettime() - t0
    local _, _, body = exchange(slow, "")
    local slow_elapsed = socket.gettime() - t0
    slow:close(); fast:close()
    assert.equal(200, status)
    assert.equal("late", body)
    assert.is_true(fast_elapsed < 0.25, "fast answer waited for the slow one")
    assert.is_true(slow_elapsed >= 0.29)
  end)

  it("resets, hangs, writes raw bytes and trickles on request", function()
    local s = connect(srv.port)
    assert(s:send("GET /reset HTTP/1.1\r\nHost: h\r\n\r\n"))
    local data, err = s:receive("*a")
    assert.is_true(err == "closed" or err == "connection reset by peer" or data == "")
    s:close()

    s = connect(srv.port)
    s:settimeout(0.2)
    assert(s:send("GET /hang HTTP/1.1\r\nHost: h\r\n\r\n"))
    local _, herr = s:receive("*l")
    assert.equal("timeout", herr)
    s:close()

    s = connect(srv.port)
    assert(s:send("GET /raw HTTP/1.1\r\nHost: h\r\n\r\n"))
    local all = s:receive("*a")
    assert.equal("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", all)
    s:close()

    s = connect(srv.port)
    local _, _, body = exchange(s, "GET /trickle HTTP/1.1\r\nHost: h\r\n\r\n")
    assert.equal("abcd", body)
    s:close()
  end)

  it("refuses a malformed request line with 400", function()
    local s = connect(srv.port)
    local status = exchange(s, "NOT-HTTP\r\n\r\n")
    s:close()
    assert.equal(400, status)
  end)

  it("answers HEAD with the GET's Content-Length and no body", function()
    local s = connect(srv.port)
    local _, get_headers = exchange(s, "GET /same HTTP/1.1\r\nHost: h\r\n\r\n")
    assert(s:send("HEAD /same HTTP/1.1\r\nHost: h\r\n\r\n"))
    local status_line = assert(s:receive("*l"))
    local length
    while true do
      local line = assert(s:receive("*l"))
      if line == "" then break end
      length = length or tonumber(line:match("^[Cc]ontent%-[Ll]ength:%s*(%d+)"))
    end
    assert.matches("^HTTP/1%.1 200", status_line)
    assert.is_true(tonumber(get_headers["content-length"]) > 0)
    -- the echo differs only in the method: HEAD is one byte longer than GET
    assert.equal(tonumber(get_headers["content-length"]) + 1, length)
    -- no body followed: the next response on the connection starts right away
    local status = exchange(s, "GET /again HTTP/1.1\r\nHost: h\r\n\r\n")
    assert.equal(200, status)
    s:close()
  end)

  it("answers bytes that are not HTTP (a TLS ClientHello) with 400 at once, and closes", function()
    local s = connect(srv.port)
    local t0 = socket.gettime()
    assert(s:send("\22\3\1\0\165\1\0\0\161\3\3"))
    local line = s:receive("*l")
    assert.matches("^HTTP/1%.1 400", line)
    repeat local more, err = s:receive("*l") until not more
    assert.is_true(socket.gettime() - t0 < 2)
    s:close()
    -- the server goes on serving others
    local s2 = connect(srv.port)
    assert.equal(200, (exchange(s2, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")))
    s2:close()
  end)

  it("answers an oversized request head with 431", function()
    local s = connect(srv.port)
    local status = exchange(s, "GET / HTTP/1.1\r\nX-Big: " .. string.rep("a", 70000) .. "\r\n\r\n")
    s:close()
    assert.equal(431, status)
  end)
end)

describe("httpd with a short header timeout", function()
  local srv
  setup(function()
    srv = helpers.spawn_server("spec/support/httpd_echo.lua", {}, { env = { "GLS_HEADER_TIMEOUT=0.3" } })
  end)
  teardown(function() srv.stop() end)

  it("drops a request that never finishes arriving with 408, serving others meanwhile", function()
    local slow = connect(srv.port)
    local t0 = socket.gettime()
    assert(slow:send("GET / HTTP/1.1\r\nHost: h\r\n")) -- no blank line: the head never ends
    local other = connect(srv.port)
    assert.equal(200, (exchange(other, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")))
    other:close()
    local line = slow:receive("*l")
    local took = socket.gettime() - t0
    assert.matches("^HTTP/1%.1 408", line)
    assert.is_true(took >= 0.25 and took < 2, "took " .. took)
    slow:close()
  end)
end)

-- Reads one whole response from a socket that the server may close after it: status, headers, body.
local function read_response(s)
  local line, err = s:receive("*l")
  if not line then return nil, err end
  local headers = {}
  while true do
    local l = assert(s:receive("*l"))
    if l == "" then break end
    local k, v = l:match("^([^:]+):%s*(.*)$")
    headers[k:lower()] = v
  end
  local body = s:receive(tonumber(headers["content-length"] or 0))
  return tonumber(line:match("^HTTP/1%.1 (%d+)")), headers, body
end

-- The server still answers a well-formed request on a new connection.
local function still_serving(port)
  local s = connect(port)
  local status = exchange(s, "GET /alive HTTP/1.1\r\nHost: h\r\n\r\n")
  s:close()
  return status == 200
end

describe("httpd against hostile request framing", function()
  local srv
  setup(function()
    srv = helpers.spawn_server("spec/support/httpd_echo.lua", {}, { env = { "GLS_MAX_BODY_BYTES=100000" } })
  end)
  teardown(function() srv.stop() end)

  local function answer(bytes)
    local s = connect(srv.port)
    assert(s:send(bytes))
    local status = read_response(s)
    s:close()
    return status
  end

  local CHUNKED = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

  for _, case in ipairs({
    { "a chunk size that is not hex", "zz\r\n" },
    { "a negative chunk size", "-1\r\nx\r\n0\r\n\r\n" },
    { "a chunk size with junk after it", "3 x\r\nabc\r\n0\r\n\r\n" },
    { "an empty chunk size line", "\r\nabc\r\n0\r\n\r\n" },
    { "chunk data longer than its size", "3\r\nabcdef\r\n0\r\n\r\n" },
    { "a chunk size line ended by a bare LF", "3\nabc\r\n0\r\n\r\n" },
    { "a chunk size line without end", string.rep("1", 5000) },
    { "a trailer line without a name", "3\r\nabc\r\n0\r\nnot a field\r\n\r\n" },
  }) do
    it("answers " .. case[1] .. " with 400 and goes on serving", function()
      assert.equal(400, answer(CHUNKED .. case[2]))
      assert.is_true(still_serving(srv.port))
    end)
  end

  it("accepts chunk extensions, trailers and leading zeros", function()
    local s = connect(srv.port)
    local _, _, body = exchange(s, CHUNKED .. "003;name=value\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n")
    s:close()
    assert.equal("abc", cjson.decode(body).body)
  end)

  it("applies the body limit to chunked bodies (413), however the chunks are cut", function()
    local chunk = string.format("%x\r\n%s\r\n", 60000, string.rep("c", 60000))
    assert.equal(413, answer(CHUNKED .. chunk .. chunk .. "0\r\n\r\n"))
    assert.equal(413, answer(CHUNKED .. "ffffffffffffffffffff\r\n"))
    assert.equal(413, answer("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100001\r\n\r\n"))
    assert.equal(413, answer("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"))
    assert.is_true(still_serving(srv.port))
  end)

  it("refuses ambiguous framing: Content-Length with Transfer-Encoding, conflicting or bad lengths", function()
    assert.equal(400, answer("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"))
    assert.equal(400, answer("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"))
    assert.equal(400, answer("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"))
    assert.equal(400, answer("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n"))
    assert.equal(501, answer("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"))
    -- the same length twice is one length
    local s = connect(srv.port)
    local _, _, body = exchange(s, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")
    s:close()
    assert.equal("ok", cjson.decode(body).body)
  end)

  it("answers a handler that raises with 500 on that connection only", function()
    assert.equal(500, answer("GET /raise HTTP/1.1\r\nHost: h\r\n\r\n"))
    assert.is_true(still_serving(srv.port))
  end)

  it("reads 200 random requests, chunked or not, cut at random points, on one connection", function()
    math.randomseed(9)
    local s = connect(srv.port)
    s:setoption("tcp-nodelay", true)
    for n = 1, 200 do
      local body = {}
      for i = 1, math.random(0, 3000) do body[i] = string.char(math.random(32, 126)) end
      body = table.concat(body)
      local req
      if n % 2 == 0 then
        local parts, pos = {}, 1
        while pos <= #body do
          local k = math.random(1, 700)
          local ext = math.random(1, 4) == 1 and ";x=y" or ""
          parts[#parts + 1] = string.format("%x%s\r\n%s\r\n", #body:sub(pos, pos + k - 1), ext, body:sub(pos, pos + k - 1))
          pos = pos + k
        end
        req = "POST /r HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" .. table.concat(parts) .. "0\r\n\r\n"
      else
        req = "POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
      end
      local pos = 1
      while pos <= #req do
        local k = math.random(1, 600)
        assert(s:send(req:sub(pos, pos + k - 1)))
        pos = pos + k
      end
      local status, _, answer = read_response(s)
      assert.equal(200, status)
      assert.equal(body, cjson.decode(answer).body)
    end
    s:close()
  end)

  it("receives a body sent one byte at a time, chunked, with the head cut anywhere", function()
    local s = connect(srv.port)
    local req = CHUNKED .. "5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n"
    for i = 1, #req do assert(s:send(req:sub(i, i))) end
    local status, _, body = read_response(s)
    s:close()
    assert.equal(200, status)
    assert.equal("hello!", cjson.decode(body).body)
  end)
end)

describe("httpd with slow, idle and too many connections", function()
  local srv
  setup(function()
    srv = helpers.spawn_server("spec/support/httpd_echo.lua", {}, { env = {
      "GLS_HEADER_TIMEOUT=0.5", "GLS_BODY_TIMEOUT=0.5", "GLS_IDLE_TIMEOUT=0.5", "GLS_MAX_CONNECTIONS=30" } })
  end)
  teardown(function() srv.stop() end)

  local function stats()
    local s = connect(srv.port)
    local _, _, body = exchange(s, "GET /stats HTTP/1.1\r\nHost: h\r\n\r\n")
    s:close()
    return cjson.decode(body)
  end

  it("closes a connection that sends nothing after the idle timeout", function()
    local s = connect(srv.port)
    s:settimeout(3)
    local t0 = socket.gettime()
    local data, err = s:receive(1)
    s:close()
    assert.is_nil(data)
    assert.equal("closed", err)
    assert.is_true(socket.gettime() - t0 < 2)
  end)

  it("answers 408 to a body that trickles past its deadline", function()
    local s = connect(srv.port)
    s:settimeout(3)
    assert(s:send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n"))
    local t0 = socket.gettime()
    local status
    for _ = 1, 30 do
      if not s:send("x") then break end
      socket.sleep(0.1)
      s:settimeout(0)
      local line = s:receive("*l")
      s:settimeout(3)
      if line then status = tonumber(line:match("^HTTP/1%.1 (%d+)")) break end
    end
    s:close()
    assert.equal(408, status)
    assert.is_true(socket.gettime() - t0 < 2)
  end)

  it("holds at most its cap of connections and still answers a new one at once", function()
    local before = stats()
    local held = {}
    for i = 1, 80 do held[i] = connect(srv.port) end
    local t0 = socket.gettime()
    assert.is_true(still_serving(srv.port))
    assert.is_true(socket.gettime() - t0 < 1)
    local after = stats()
    assert.is_true(after.open <= 30, "open " .. after.open)
    assert.is_true(after.evicted - before.evicted >= 50, "evicted " .. (after.evicted - before.evicted))
    for _, s in ipairs(held) do s:close() end
  end)

  it("stays up with more connections than select can watch (1,100 from two processes)", function()
    local procs = {}
    for i = 1, 2 do
      procs[i] = helpers.spawn_server("spec/support/idle_clients.lua", { tostring(srv.port), "550" },
        { ready = "^opened (%d+)" })
    end
    local ok, err = pcall(function()
      for _, p in ipairs(procs) do assert.equal("550", p.ready) end
      local t0 = socket.gettime()
      assert.is_true(still_serving(srv.port))
      assert.is_true(socket.gettime() - t0 < 1)
      assert.is_true(stats().open <= 30)
    end)
    for _, p in ipairs(procs) do p.stop() end
    assert(ok, err)
  end)
end)

describe("httpd under a low descriptor limit (ulimit -n: 100 more than it inherits)", function()
  local srv, nofile, inherited
  setup(function()
    -- a child inherits the spec process's open descriptors that are not close-on-exec
    -- (luasocket's and io.open's; libcurl's own are from 8.x on, and the pools' sockets), so
    -- the limit is set above what a child of this process has open
    inherited = tonumber((helpers.run("ls /proc/self/fd | wc -l")):match("%d+")) or 50
    nofile = inherited + 100
    srv = helpers.spawn_server("spec/support/httpd_echo.lua", {}, { nofile = nofile })
  end)
  teardown(function() srv.stop() end)

  it("caps its connections under the limit and goes on serving past it", function()
    local function stats()
      local s = connect(srv.port)
      local _, _, body = exchange(s, "GET /stats HTTP/1.1\r\nHost: h\r\n\r\n")
      s:close()
      return cjson.decode(body)
    end
    local max = stats().max
    assert.is_true(max <= nofile - inherited - 8, "max " .. max .. ", limit " .. nofile)
    local idle = helpers.spawn_server("spec/support/idle_clients.lua", { tostring(srv.port), "200" },
      { ready = "^opened (%d+)" })
    local ok, err = pcall(function()
      assert.equal("200", idle.ready)
      local t0 = socket.gettime()
      assert.is_true(still_serving(srv.port))
      assert.is_true(socket.gettime() - t0 < 1)
      assert.is_true(stats().open <= max)
    end)
    idle.stop()
    assert(ok, err)
  end)
end)
