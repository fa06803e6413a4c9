-- Hostile clients against the emulator: garbage, bad chunking, slowloris, 1,500 idle
-- connections, big bodies, bad signatures, bad control values. All along, a well-formed
-- signed request is answered within a second, and the emulator's resident memory stays
-- under RSS_BOUND_MB (its peak, VmHWM, is read from /proc at the end).
--
-- The 1,500 connections are held by three helper processes (spec/support/idle_clients.lua,
-- 500 each), so neither the spec's nor the helpers' descriptor limit matters (CI may run
-- with `ulimit -n` 1024, as root or not). The emulator itself needs about 530 descriptors
-- (its cap of 512 connections).
--
-- Heavy parts: eight 60 MB bodies and a 65 MB chunked body run only under plain Lua 5.4
-- (not LuaJIT, not the ASan run: GLS_SANITIZED is set there); the other runs send two
-- 20 MB bodies. The emulator is the same plain Lua 5.4 process in all three runs.
local helpers = require("helpers")
local socket = require("socket")
local cjson = require("cjson")

local core = helpers.core()

local HEAVY = os.getenv("GLS_SANITIZED") == nil and rawget(_G, "jit") == nil
local RSS_BOUND_MB = 400 -- peak resident memory of the emulator, 60 MB bodies included
local IDLE_RSS_BOUND_MB = 160 -- after the big bodies are gone

local emu, pool

local function rss_kb(field)
  local f = assert(io.open("/proc/" .. emu.pid .. "/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match(field .. ":%s*(%d+) kB"))
end

local function signed(method, path, body, creds, extra)
  local url = emu.url .. path
  local headers = { ["content-type"] = "application/json" }
  for k, v in pairs(extra or {}) do headers[k] = v end
  local s = assert(core.sign{ method = method, url = url, headers = headers, body = body or "",
    region = "us-west-2", service = "gameliftstreams", credentials = creds or emu.credentials })
  return url, s.headers
end

local function api(method, path, body, creds, timeout)
  local url, headers = signed(method, path, body, creds)
  return pool:request{ method = method, url = url, headers = headers, body = body, timeout = timeout or 30 }
end

-- A well-formed signed request is answered, and within a second.
local function probe(what)
  local t0 = core.monotime()
  local res = api("GET", "/applications", nil, nil, 5)
  local took = core.monotime() - t0
  assert.are.equal(200, res.status, (what or "") .. ": " .. tostring(res.error and res.error.message))
  assert.is_true(took < 1, string.format("%s: the probe took %.2f s", what or "", took))
  assert.is_true(rss_kb("VmRSS") < RSS_BOUND_MB * 1024, what or "")
end

local function connect()
  local s = assert(socket.tcp())
  s:settimeout(5)
  assert(s:connect("127.0.0.1", emu.port))
  return s
end

-- Sends bytes on a fresh connection; returns the status of the answer (nil if the
-- emulator closed without one).
local function answer_to(bytes)
  local s = connect()
  s:send(bytes)
  local line = s:receive("*l")
  s:close()
  return line and tonumber(line:match("^HTTP/1%.1 (%d+)"))
end

local function health()
  local _, h = helpers.control(emu, "GET", "health")
  return h.connections
end

setup(function()
  pool = core.http_pool{}
  -- LD_PRELOAD is cleared: in the ASan run the emulator would otherwise run on ASan's
  -- allocator (its quarantine alone holds 256 MB), and this suite measures the emulator
  emu = helpers.start_emulator{ args = { "--idle-timeout", "1", "--header-timeout", "1", "--body-timeout", "3" },
    env = { "LD_PRELOAD=" } }
end)

teardown(function()
  if emu then emu.stop() end
  if pool then pool:close() end
end)

describe("the emulator against hostile clients", function()
  it("answers garbage with 4xx or a close, and goes on serving", function()
    math.randomseed(15)
    local socks = {}
    for i = 1, 100 do
      local bytes = {}
      for j = 1, math.random(1, 3000) do bytes[j] = string.char(math.random(0, 255)) end
      local s = connect()
      s:send(table.concat(bytes))
      socks[i] = s
    end
    for _, s in ipairs(socks) do
      s:settimeout(3)
      local line, err = s:receive("*l")
      -- the answer is a 4xx, or the peer is gone (a reset when our bytes were still unread)
      if line then
        assert.matches("^HTTP/1%.1 4%d%d", line)
      else
        assert.is_true(err == "closed" or err == "connection reset by peer", err)
      end
      s:close()
    end
    probe("after random bytes")
    local cases = {
      "\22\3\1\0\165\1\0\0\161\3\3",                                -- a TLS ClientHello
      "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost h\r\n\r\n",                            -- no colon
      "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",                        -- NUL in a value
      "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",                -- obsolete line folding
      "GET /" .. string.rep("a", 70000) .. " HTTP/1.1\r\n\r\n",      -- a 70 kB request line
      "GET / HTTP/1.1\r\n" .. string.rep("X-A: b\r\n", 10000) .. "\r\n", -- 80 kB of headers
      "GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
      "GET / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
    }
    for _, bytes in ipairs(cases) do
      local status = answer_to(bytes)
      assert.is_true(status ~= nil and status >= 400 and status < 600, bytes:sub(1, 40))
    end
    probe("after malformed requests")
  end)

  it("refuses bad chunking with 400 or 413", function()
    local head = "POST /applications HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    for _, tail in ipairs({ "zz\r\n", "-1\r\n", "0x10\r\n", "3\r\nabcd\r\n", "3\r\nabc0\r\n\r\n",
                            "fffffffffffffffffffffff\r\n", "3\nabc\r\n0\r\n\r\n", string.rep("9", 5000) }) do
      local status = answer_to(head .. tail)
      assert.is_true(status == 400 or status == 413, tail:sub(1, 20) .. " -> " .. tostring(status))
      probe("after chunk size " .. tail:sub(1, 20))
    end
  end)

  it("times out slowloris heads (408) while answering others", function()
    local before = health()
    local loris = helpers.spawn_server("spec/support/idle_clients.lua", { tostring(emu.port), "300", "slowloris" },
      { ready = "^opened (%d+)" })
    local ok, err = pcall(function()
      assert.are.equal("300", loris.ready)
      local t_end = core.monotime() + 2.5
      while core.monotime() < t_end do
        probe("during slowloris")
        core.sleep(0.3)
      end
      assert.is_true(health().timed_out - before.timed_out >= 250)
    end)
    loris.stop()
    assert(ok, err)
    -- a body that trickles is cut too
    local s = connect()
    local url, headers = signed("POST", "/applications", string.rep("x", 1000))
    local lines = { "POST /applications HTTP/1.1" }
    for k, v in pairs(headers) do lines[#lines + 1] = k .. ": " .. v end
    assert(s:send(table.concat(lines, "\r\n") .. "\r\nContent-Length: 1000\r\n\r\n"))
    local status
    for _ = 1, 60 do
      if not s:send("x") then break end
      s:settimeout(0.1)
      local line = s:receive("*l")
      if line then status = line:match("^HTTP/1%.1 (%d+)") break end
    end
    s:close()
    assert.are.equal("408", status)
    assert.is_string(url)
  end)

  it("stays up under 1,500 idle connections, closing the longest idle beyond its cap", function()
    local procs = {}
    local before = health()
    local ok, err = pcall(function()
      for i = 1, 3 do
        procs[i] = helpers.spawn_server("spec/support/idle_clients.lua", { tostring(emu.port), "500" },
          { ready = "^opened (%d+)" })
        assert.are.equal("500", procs[i].ready)
        probe("with " .. (500 * i) .. " idle connections opened")
      end
      local c = health()
      assert.is_true(c.open <= c.max, c.open .. " open")
      -- beyond the cap, connections were closed to make room (or had idled past --idle-timeout)
      local closed = (c.evicted - before.evicted) + (c.timed_out - before.timed_out)
      assert.is_true(closed >= 1500 - c.max, closed .. " closed")
      probe("with 1,500 idle connections held")
    end)
    for _, p in ipairs(procs) do p.stop() end
    assert(ok, err)
    -- once idle for --idle-timeout, the rest are closed too
    core.sleep(1.6)
    assert.is_true(health().open <= 3)
  end)

  it("refuses bodies over the limit at once and reads big ones in linear time, within its memory bound", function()
    -- over 64 MB: 413 from the head alone
    assert.are.equal(413, answer_to("POST /applications HTTP/1.1\r\nHost: h\r\nContent-Length: 70000000\r\n\r\n"))
    local mb = HEAVY and 60 or 20
    local n = HEAVY and 8 or 2
    local body = '{"Description":"' .. string.rep("d", mb * 1024 * 1024) .. '"}'
    local t0 = core.monotime()
    for i = 1, n do
      local res = api("POST", "/applications", body, nil, 60)
      assert.are.equal(400, res.status, res.error and res.error.message)
      assert.are.equal("ValidationException", res.headers["x-amzn-errortype"])
      if i <= 2 then
        -- unsigned: refused, and nothing of it kept
        res = pool:request{ method = "POST", url = emu.url .. "/applications", body = body, timeout = 60,
          headers = { ["content-type"] = "application/json" } }
        assert.are.equal(403, res.status)
      end
      probe("after big body " .. i)
    end
    local took = core.monotime() - t0
    -- reading a 60 MB body once took 15-22 s (quadratic); now it is a small part of a second
    assert.is_true(took < n * 10, string.format("%d bodies of %d MB took %.1f s", n + 2, mb, took))
    if HEAVY then
      -- a chunked body past the limit: 413 before the whole of it is read
      local s = connect()
      s:send("POST /applications HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
      local chunk = string.format("%x\r\n%s\r\n", 1024 * 1024, string.rep("c", 1024 * 1024))
      local status
      for _ = 1, 70 do
        if not s:send(chunk) then break end
      end
      s:settimeout(5)
      local line = s:receive("*l")
      status = line and line:match("^HTTP/1%.1 (%d+)")
      s:close()
      assert.are.equal("413", status)
    end
    local _, log = helpers.control(emu, "GET", "requests")
    local kept = 0
    for _, e in ipairs(log.requests) do kept = kept + #(e.body or "") end
    assert.is_true(kept <= 16 * 1024 * 1024, kept .. " body bytes in the log")
    body = nil
    collectgarbage()
    probe("after the big bodies")
    local peak = rss_kb("VmHWM")
    assert.is_true(peak < RSS_BOUND_MB * 1024, "peak RSS " .. peak .. " kB")
    helpers.control(emu, "DELETE", "requests")
    probe("after clearing the log")
    io.stderr:write(string.format("[hostile] emulator peak RSS %d kB, after %d kB\n", peak, rss_kb("VmRSS")))
    assert.is_true(rss_kb("VmRSS") < IDLE_RSS_BOUND_MB * 1024, "RSS " .. rss_kb("VmRSS") .. " kB")
  end)

  it("answers others while a big body is still arriving", function()
    local body = '{"Description":"' .. string.rep("u", 20 * 1024 * 1024) .. '"}'
    local _, headers = signed("POST", "/applications", body)
    local lines = { "POST /applications HTTP/1.1" }
    for k, v in pairs(headers) do lines[#lines + 1] = k .. ": " .. v end
    lines[#lines + 1] = "content-length: " .. #body
    local s = connect()
    assert(s:send(table.concat(lines, "\r\n") .. "\r\n\r\n"))
    local piece = math.floor(#body / 10) + 1
    for i = 1, #body, piece do
      assert(s:send(body, i, math.min(i + piece - 1, #body)))
      probe("while a body arrives")
    end
    s:settimeout(30)
    local line = s:receive("*l")
    s:close()
    assert.matches("^HTTP/1%.1 400", line)
  end)

  it("refuses bad signatures of every kind, keeping none of their content", function()
    helpers.control(emu, "DELETE", "requests")
    local body = cjson.encode({ Description = string.rep("s", 100000) })
    local wrong = { access_key_id = "AKIDEMULATOR", secret_access_key = "wrong" }
    local nobody = { access_key_id = "AKIDNOBODY", secret_access_key = "x" }
    local url = emu.url .. "/applications"
    for i = 1, 50 do
      local res = api("POST", "/applications", body, i % 2 == 0 and wrong or nobody)
      assert.are.equal(403, res.status)
      for _, authz in ipairs({ "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=,SignedHeaders=,Signature=",
                               "Basic dXNlcjpwYXNz", string.rep("A", 30000),
                               "AWS4-HMAC-SHA256 Credential=AKIDEMULATOR/x/y/z/w, SignedHeaders=host, Signature=0" }) do
        res = pool:request{ method = "POST", url = url, body = body, timeout = 10,
          headers = { authorization = authz, ["x-amz-date"] = "20260101T000000Z" } }
        assert.is_true(res.status == 400 or res.status == 403, tostring(res.status))
      end
    end
    probe("after bad signatures")
    local _, log = helpers.control(emu, "GET", "requests")
    local refused = 0
    for _, e in ipairs(log.requests) do
      if e.auth and e.auth.ok == false then
        refused = refused + 1
        assert.is_nil(e.body)
        assert.is_nil(e.headers)
      end
    end
    assert.are.equal(300, refused)
  end)

  it("refuses bad control values with 400, and serves on unchanged", function()
    for _, c in ipairs({
      { "clock", '{"offset":1e300}' }, { "clock", '{"offset":-1e300}' }, { "clock", '{"offset":"soon"}' },
      { "clock", '[1,2,3]' }, { "clock", 'not json' }, { "clock", string.rep("[", 100000) },
      { "advance", '{"seconds":1e300}' }, { "advance", '{"seconds":-1}' },
      { "config", '{"delay_scale":1e300}' }, { "config", '{"log_size":-5}' }, { "config", '{"log_bytes":1e300}' },
      { "config", '{"quotas":{"applications":1e300}}' }, { "config", '{"quotas":[1]}' },
      { "faults", '{"kind":"slow","seconds":1e300}' }, { "faults", '{"kind":"throttle","count":1e300}' },
      { "faults", '{"kind":"error","status":1e300}' }, { "faults", '{"kind":"error","retry_after":"1\\r\\nx: y"}' },
    }) do
      local res = pool:request{ method = "POST", url = emu.url .. "/_emulator/" .. c[1], body = c[2], timeout = 5,
        headers = { ["content-type"] = "application/json" } }
      assert.are.equal(400, res.status, c[1] .. " " .. c[2]:sub(1, 40))
      probe("after " .. c[1] .. " " .. c[2]:sub(1, 40))
    end
    local _, faults = helpers.control(emu, "GET", "faults")
    assert.are.equal(0, #faults.faults)
  end)
end)
