-- Direct transfers (csrc/http.c) against servers that misbehave and callers that cancel: each
-- call gets its own reply or the error the libcurl path gives, connections stay bounded, and a
-- cancelled transfer leaves nothing the next request could read. Raw listeners in this process.
local helpers = require("helpers")
local core = require("gameliftstreams.core")
local socket = require("socket")

local function listener()
  local l = assert(socket.bind("127.0.0.1", 0))
  l:settimeout(0)
  local _, port = l:getsockname()
  return l, "http://127.0.0.1:" .. port
end

-- A listener that accepts nothing: its backlog is full, so a connect waits.
local function full_listener()
  local l = assert(socket.tcp())
  assert(l:bind("127.0.0.1", 0))
  assert(l:listen(0))
  local _, port = l:getsockname()
  local fill = {}
  for i = 1, 4 do
    fill[i] = socket.tcp()
    fill[i]:settimeout(0)
    fill[i]:connect("127.0.0.1", port)
  end
  socket.sleep(0.05)
  return { url = "http://127.0.0.1:" .. port, close = function()
    for _, f in ipairs(fill) do f:close() end
    l:close()
  end }
end

-- Request heads and bodies received so far on connection k; returns the complete ones.
local function requests(k)
  local out = {}
  while true do
    local he = k.data:find("\r\n\r\n", 1, true)
    if not he then break end
    local head = k.data:sub(1, he)
    local cl = tonumber(head:match("\n[Cc]ontent%-[Ll]ength: (%d+)") or 0)
    if #k.data < he + 3 + cl then break end
    out[#out + 1] = { path = head:match("^%u+ (%S+)"), body = k.data:sub(he + 4, he + 3 + cl) }
    k.data = k.data:sub(he + 4 + cl)
  end
  return out
end

local function reply(body, extra)
  return "HTTP/1.1 200 OK\r\nContent-Length: " .. #body .. "\r\n" .. (extra or "") .. "\r\n" .. body
end

describe("core.http_pool direct transfers, hostile", function()
  local pool
  before_each(function() pool = assert(core.http_pool{}) end)
  after_each(function() pool:close() end)

  it("read a reply that comes before the whole body went, and the close after it", function()
    -- 5 MB does not fit the socket buffers: the server answers 413 after the head and closes
    -- with the body unread (a reset), so the send fails after the reply came
    for _, lco in ipairs{ false, true } do
      local p = lco and assert(core.http_pool{ libcurl_only = true }) or pool
      local l, url = listener()
      local id = assert(p:add{ method = "POST", url = url .. "/p", body = string.rep("q", 5 * 1024 * 1024), timeout = 5 })
      local c, data, res = nil, "", nil
      local deadline = core.monotime() + 5
      while not res and core.monotime() < deadline do
        p:perform(0.005)
        c = c or l:accept()
        if c and data then
          c:settimeout(0)
          local s, _, part = c:receive(2048)
          data = data .. (s or part or "")
          if data:find("\r\n\r\n", 1, true) then
            c:settimeout(1)
            c:send("HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig")
            c:close()
            data = nil
          end
        end
        res = p:take(id)
      end
      l:close()
      if lco then p:close() end
      assert.is_table(res)
      assert.is_nil(res.error and res.error.message)
      assert.equal(413, res.status)
      assert.equal("big", res.body)
    end
  end)

  it("give every one of 200 calls in flight to 3 origins its own reply, connections bounded", function()
    local N, TOTAL = 200, 600
    local servers, ids, done, errors = {}, {}, 0, 0
    for s = 1, 3 do
      local l, url = listener()
      servers[s] = { l = l, url = url, conns = {}, open = 0, max_open = 0 }
    end
    local added = 0
    local function add()
      added = added + 1
      local s = servers[added % 3 + 1]
      local post = added % 2 == 1
      ids[assert(pool:add{ method = post and "POST" or "GET", body = post and ("b" .. added) or nil,
                           url = s.url .. "/r" .. added, timeout = 10 })] = added
    end
    for _ = 1, N do add() end
    local n, deadline = 0, core.monotime() + 20
    while done < TOTAL and core.monotime() < deadline do
      pool:perform(0.002)
      for si, s in ipairs(servers) do
        while true do
          local c = s.l:accept()
          if not c then break end
          c:settimeout(0)
          s.open = s.open + 1
          if s.open > s.max_open then s.max_open = s.open end
          s.conns[#s.conns + 1] = { sock = c, data = "" }
        end
        for _, k in ipairs(s.conns) do
          if k.sock then
            local d, err, part = k.sock:receive(65536)
            k.data = k.data .. (d or part or "")
            for _, r in ipairs(requests(k)) do
              if k.sock then
                n = n + 1
                local mode = n % 7
                if mode == 3 and si == 2 then -- a reset instead of a reply
                  k.sock:setoption("linger", { on = true, timeout = 0 })
                  k.sock:close(); k.sock = nil; s.open = s.open - 1
                else
                  k.sock:settimeout(2)
                  k.sock:send(reply(r.path .. "|" .. r.body, mode == 1 and "Connection: close\r\n" or nil))
                  k.sock:settimeout(0)
                  if mode == 1 or (mode == 5 and si == 3) then -- closed after the reply
                    k.sock:close(); k.sock = nil; s.open = s.open - 1
                  end
                end
              end
            end
            if k.sock and err == "closed" then k.sock:close(); k.sock = nil; s.open = s.open - 1 end
          end
        end
      end
      while true do
        local id, res = pool:next_done()
        if not id then break end
        local i = ids[id]
        done = done + 1
        if res.error then
          assert.equal("reset", res.error.reason, res.error.message)
          errors = errors + 1
        else
          assert.equal("/r" .. i .. "|" .. (i % 2 == 1 and ("b" .. i) or ""), res.body)
        end
        if added < TOTAL then add() end
      end
    end
    for _, s in ipairs(servers) do
      for _, k in ipairs(s.conns) do if k.sock then k.sock:close() end end
      s.l:close()
      assert.is_true(s.max_open <= N, "open connections " .. s.max_open)
    end
    assert.equal(TOTAL, done)
    assert.is_true(errors < TOTAL / 10, "resets said as errors: " .. errors)
  end)

  it("leave nothing to the next request after a cancel while connecting, sending or receiving", function()
    local l, url = listener()
    local conns = {}
    local function pump(t)
      local deadline = core.monotime() + t
      repeat
        pool:perform(0.005)
        local c = l:accept()
        if c then c:settimeout(0); conns[#conns + 1] = { sock = c, data = "" } end
        for _, k in ipairs(conns) do
          if k.sock then
            local s, err, part = k.sock:receive(65536)
            k.data = k.data .. (s or part or "")
            if err == "closed" then k.sock:close(); k.sock = nil end
          end
        end
      until core.monotime() > deadline
    end
    local function answer(path, body) -- on the connection that has the request for path
      for _, k in ipairs(conns) do
        if k.sock and k.data:find(path, 1, true) then k.sock:send(reply(body)) end
      end
    end
    local id = assert(pool:add{ url = url .. "/kept", timeout = 5 })
    pump(0.05); answer("/kept", "kept"); pump(0.05)
    assert.equal("kept", pool:take(id).body)
    -- receiving, on the kept connection; the server answers after the cancel
    id = assert(pool:add{ url = url .. "/recv", timeout = 5 })
    pump(0.05)
    assert.is_true(pool:cancel(id))
    answer("/recv", "stale")
    id = assert(pool:add{ url = url .. "/after-recv", timeout = 5 })
    pump(0.05); answer("/after-recv", "fresh1"); pump(0.05)
    assert.equal("fresh1", pool:take(id).body)
    -- sending: 5 MB the server does not read
    id = assert(pool:add{ method = "POST", url = url .. "/send", body = string.rep("y", 5 * 1024 * 1024), timeout = 5 })
    pump(0.1)
    assert.is_true(pool:cancel(id))
    id = assert(pool:add{ url = url .. "/after-send", timeout = 5 })
    pump(0.05); answer("/after-send", "fresh2"); pump(0.05)
    assert.equal("fresh2", pool:take(id).body)
    -- connecting
    local full = full_listener()
    id = assert(pool:add{ url = full.url .. "/c", timeout = 5 })
    pump(0.05)
    assert.is_true(pool:cancel(id))
    id = assert(pool:add{ url = url .. "/after-connect", timeout = 5 })
    pump(0.05); answer("/after-connect", "fresh3"); pump(0.05)
    assert.equal("fresh3", pool:take(id).body)
    full.close()
    for _, k in ipairs(conns) do if k.sock then k.sock:close() end end
    l:close()
    assert.is_nil(conns[1].sock) -- the kept connection the cancel in receive closed
  end)

  it("time out in each phase with the code and reason of the libcurl path", function()
    local function run(lco, case)
      local p = assert(core.http_pool{ libcurl_only = lco })
      local l, url = listener()
      local full
      local req = { url = url .. "/t", timeout = 0.3 }
      if case == "connect" or case == "connect_timeout" then
        full = full_listener()
        req.url = full.url .. "/t"
        if case == "connect_timeout" then req.connect_timeout = 0.2 end
      end
      local id = assert(p:add(req))
      local c, data, res = nil, "", nil
      local deadline = core.monotime() + 3
      while not res and core.monotime() < deadline do
        local t0 = core.monotime()
        p:perform(0)
        assert.is_true(core.monotime() - t0 < 0.05, "perform(0) waited")
        socket.sleep(0.002)
        if not full then c = c or l:accept() end
        if c and data then
          c:settimeout(0)
          local s, _, part = c:receive(65536)
          data = data .. (s or part or "")
          if case == "body" and data:find("\r\n\r\n", 1, true) then
            c:send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
            data = nil
          end
        end
        res = p:take(id)
      end
      p:close(); l:close()
      if c then c:close() end
      if full then full.close() end
      assert.is_table(res and res.error, case)
      return res.error
    end
    for _, case in ipairs{ "connect", "connect_timeout", "head", "body" } do
      local want, got = run(true, case), run(false, case)
      assert.equal("Timeout", got.code, case)
      assert.equal(want.code, got.code, case)
      assert.equal(want.reason, got.reason, case)
      assert.equal(want.message:match("^[^(]*"), got.message:match("^[^(]*"), case)
      if case == "head" or case == "body" then -- libcurl's own words, its byte counts included
        assert.equal((want.message:gsub("after %d+ milli", "after N milli")), (got.message:gsub("after %d+ milli", "after N milli")), case)
      end
    end
  end)
  -- openssl s_server without -www relays: what the pool sends goes to its output, what this
  -- spec writes to its input (a fifo) goes to the pool; it serves one connection at a time and
  -- prints "CIPHER is" once per handshake. "q" on its input ends the connection (close_notify).
  describe("over TLS", function()
    local dir, srv
    setup(function()
      dir = helpers.tmpdir()
      local q = helpers.shell_quote(dir)
      local _, ok = helpers.run(string.format("cd %s && openssl req -x509 -newkey ec -pkeyopt "
        .. "ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -subj /CN=127.0.0.1 "
        .. "-addext subjectAltName=IP:127.0.0.1 -days 2 && mkfifo in", q))
      assert(ok, "openssl could not make a certificate")
      local pipe = assert(io.popen(string.format("cd %s && (openssl s_server -accept 127.0.0.1:0 -cert cert.pem "
        .. "-key key.pem < in > out 2>&1 & echo $!)", q)))
      srv = { pid = tonumber(pipe:read("*l")) }
      pipe:close()
      srv.input = assert(io.open(dir .. "/in", "w")) -- s_server's shell opens its end once this does
      srv.output = function() return helpers.read_file(dir .. "/out") or "" end
      local deadline = core.monotime() + 5
      repeat
        srv.port = srv.output():match("ACCEPT 127%.0%.0%.1:(%d+)")
        if not srv.port then socket.sleep(0.02) end
      until srv.port or core.monotime() > deadline
      assert(srv.port, "openssl s_server did not start")
      srv.url = "https://127.0.0.1:" .. srv.port
    end)
    teardown(function()
      if srv then
        os.execute("kill " .. srv.pid .. " 2>/dev/null")
        srv.input:close()
      end
      helpers.rm_rf(dir)
    end)

    local function handshakes()
      local n = 0
      for _ in srv.output():gmatch("CIPHER is") do n = n + 1 end
      return n
    end
    -- one request, answered with body once s_server printed it
    local function call(p, path, body)
      local id = assert(p:add{ url = srv.url .. path, timeout = 3 })
      local answered, res = false, nil
      local deadline = core.monotime() + 4
      while not res and core.monotime() < deadline do
        p:perform(0.01)
        if not answered and srv.output():find("GET " .. path .. " HTTP/1.1", 1, true) then
          srv.input:write(reply(body))
          srv.input:flush()
          answered = true
        end
        res = p:take(id)
      end
      return assert(res, "no result for " .. path)
    end

    it("keep the connection across pauses over a second while other connections open", function()
      -- libcurl prunes the connections it finds dead when it makes a new one, at most once a
      -- second (from 8.x on, input pending counts as dead); a kept TLS connection, idle or with
      -- its reply unread, is not one of them. Rounds: a call, then one whose reply waits unread
      -- a second while a plain connection opens.
      local p = assert(core.http_pool{ ca_file = dir .. "/cert.pem" })
      local before = handshakes()
      local l, url = listener()
      for i = 1, 3 do
        local res = call(p, "/p" .. i, "pause" .. i)
        assert.is_nil(res.error and res.error.message)
        assert.equal("pause" .. i, res.body)
        socket.sleep(1.1)
        local tls_id = assert(p:add{ url = srv.url .. "/u" .. i, timeout = 5 })
        local deadline = core.monotime() + 4
        while not srv.output():find("GET /u" .. i .. " HTTP/1.1", 1, true) and core.monotime() < deadline do
          p:perform(0.01)
        end
        srv.input:write(reply("unread" .. i))
        srv.input:flush()
        socket.sleep(1.1) -- the reply waits in the socket, unread, and libcurl's prune is due
        local id = assert(p:add{ url = url .. "/plain" .. i, timeout = 3 })
        local c, got, tls
        deadline = core.monotime() + 4
        while not (got and tls) and core.monotime() < deadline do
          p:perform(0.01)
          c = c or l:accept()
          if c then
            c:settimeout(0.5)
            local line = c:receive("*l")
            if line then
              repeat local h = c:receive("*l") until not h or h == ""
              c:send(reply("plain"))
            end
            c:close()
            c = nil
          end
          got = got or p:take(id)
          tls = tls or p:take(tls_id)
        end
        assert.equal("plain", got and got.body)
        assert.is_nil(tls and tls.error and tls.error.message)
        assert.equal("unread" .. i, tls and tls.body)
      end
      l:close()
      assert.equal(before + 1, handshakes())
      p:close()
    end)

    it("keep the connection, and take a new one after a close_notify while idle", function()
      local p = assert(core.http_pool{ ca_file = dir .. "/cert.pem" })
      local before = handshakes()
      for i = 1, 3 do
        local res = call(p, "/r" .. i, "reply" .. i)
        assert.is_nil(res.error and res.error.message)
        assert.equal("reply" .. i, res.body)
      end
      assert.equal(before + 1, handshakes())
      srv.input:write("q\n") -- s_server ends that connection: close_notify, then the close
      srv.input:flush()
      socket.sleep(0.2)
      local res = call(p, "/after", "after")
      assert.is_nil(res.error and res.error.message)
      assert.equal("after", res.body)
      assert.equal(before + 2, handshakes())
      p:close()
      -- a pool that does not trust the certificate: a TLS error, as before
      local untrusting = assert(core.http_pool{})
      res = untrusting:request{ url = srv.url .. "/untrusted", timeout = 3 }
      untrusting:close()
      assert.equal("TLSError", res.error and res.error.code)
      assert.equal("tls", res.error.reason)
    end)
  end)
end)
