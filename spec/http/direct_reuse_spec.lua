-- Kept connections of direct transfers (csrc/http.c) over time, as libcurl 7.88 and 8.x treat
-- them: libcurl prunes the connections in its cache it finds dead (unread input counts as dead
-- from 8.x on) at most once a second, when it makes a new one; the multi caps its cache at four
-- times the transfers running; servers close idle connections. Each call must get its own
-- reply, each request go out once, and a connection stay kept as long as the server keeps it.
-- Raw listeners in this process count the connections and the requests. (docs/INTERNALS.md,
-- "Direct transfers", has the libcurl side; `make test CURL_PREFIX=...` runs this against
-- another libcurl.)
local H = require("support.http_pool")
local helpers = require("helpers")
local core = require("gameliftstreams.core")
local socket = require("socket")

local function ok(body) return "HTTP/1.1 200 OK\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body end

-- A listener answering each request with its path as the body. opts.idle_close: a connection
-- idle this long after its last reply is closed (opts.reset: with a RST instead of a FIN).
local function server(opts)
  opts = opts or {}
  local l = assert(socket.bind("127.0.0.1", 0))
  l:settimeout(0)
  local _, port = l:getsockname()
  local s = { url = "http://127.0.0.1:" .. port, accepted = 0, requests = 0, paths = {}, conns = {} }
  function s.step()
    while true do
      local c = l:accept()
      if not c then break end
      c:settimeout(0)
      s.accepted = s.accepted + 1
      s.conns[#s.conns + 1] = { sock = c, data = "", last = core.monotime() }
    end
    for _, k in ipairs(s.conns) do
      if k.sock then
        local d, err, part = k.sock:receive(65536)
        k.data = k.data .. (d or part or "")
        while true do
          local he = k.data:find("\r\n\r\n", 1, true)
          if not he then break end
          local head = k.data:sub(1, he)
          local cl = tonumber(head:match("\n[Cc]ontent%-[Ll]ength: (%d+)") or 0)
          if #k.data < he + 3 + cl then break end
          local path = head:match("^%u+ (%S+)")
          k.data = k.data:sub(he + 4 + cl)
          s.requests = s.requests + 1
          s.paths[path] = (s.paths[path] or 0) + 1
          k.sock:settimeout(2)
          k.sock:send(ok(path))
          k.sock:settimeout(0)
          k.last = core.monotime()
        end
        if err == "closed" then
          k.sock:close(); k.sock = nil
        elseif opts.idle_close and k.data == "" and core.monotime() - k.last > opts.idle_close then
          if opts.reset then k.sock:setoption("linger", { on = true, timeout = 0 }) end
          k.sock:close(); k.sock = nil
        end
      end
    end
  end
  function s.open()
    local n = 0
    for _, k in ipairs(s.conns) do if k.sock then n = n + 1 end end
    return n
  end
  function s.close()
    for _, k in ipairs(s.conns) do if k.sock then k.sock:close() end end
    l:close()
  end
  return s
end

-- Runs the pool and the servers until done() is true (or 10 s passed).
local function run(pool, servers, done)
  local deadline = core.monotime() + 10
  while not done() and core.monotime() < deadline do
    pool:perform(0.002)
    for _, s in ipairs(servers) do s.step() end
  end
  assert(done(), "did not finish in time")
end

-- Steps the servers (not the pool, as an idle caller does) for `secs` seconds.
local function pause(servers, secs)
  local until_t = core.monotime() + secs
  repeat
    for _, s in ipairs(servers) do s.step() end
    socket.sleep(0.02)
  until core.monotime() >= until_t
end

local function call(pool, servers, req)
  req.timeout = req.timeout or 5
  local id = assert(pool:add(req))
  local res
  run(pool, servers, function()
    res = res or pool:take(id)
    return res ~= nil
  end)
  return res
end

local function expect_body(res, body, where)
  assert.is_nil(res.error and res.error.message, where)
  assert.equal(200, res.status, where)
  assert.equal(body, res.body, where)
end

describe("core.http_pool direct transfers, kept connections over time", function()
  local pool
  before_each(function() pool = assert(core.http_pool{}) end)
  after_each(function() pool:close() end)

  it("keep one connection per origin across pauses over a second while new connections open", function()
    -- Each round: a request on A's kept connection whose reply waits unread in the socket
    -- while, a second later (libcurl's prune is due), new connections to another origin open
    -- (direct and libcurl's own HTTP): the prune must not take A's connection for dead.
    local a = server()
    local all = { a }
    for i = 1, 4 do
      local b = server()
      all[#all + 1] = b
      local id = assert(pool:add{ url = a.url .. "/a" .. i, timeout = 5 })
      run(pool, {}, function()
        a.step()
        return a.requests == i
      end)
      socket.sleep(1.1) -- A's reply waits in the socket, unread
      local ids = {
        assert(pool:add{ url = b.url .. "/direct", timeout = 5 }),
        assert(pool:add{ url = b.url .. "/own", headers = { Connection = "keep-alive" }, timeout = 5 }),
      }
      local got = {}
      run(pool, all, function()
        got.a = got.a or pool:take(id)
        got[1] = got[1] or pool:take(ids[1])
        got[2] = got[2] or pool:take(ids[2])
        return got.a and got[1] and got[2] and true
      end)
      expect_body(got.a, "/a" .. i, "round " .. i .. " A")
      expect_body(got[1], "/direct", "round " .. i .. " B direct")
      expect_body(got[2], "/own", "round " .. i .. " B libcurl")
      assert.equal(2, b.accepted, "round " .. i) -- connect-only ones are not libcurl's to reuse
    end
    assert.equal(1, a.accepted)
    assert.equal(4, a.requests)
    for _, s in ipairs(all) do s.close() end
  end)

  it("take a new connection when the server closed the kept one while idle, with a FIN or a RST", function()
    for _, reset in ipairs{ false, true } do
      local a = server{ idle_close = 0.3, reset = reset }
      local other = server()
      local servers = { a, other }
      for i = 1, 3 do
        expect_body(call(pool, servers, { url = a.url .. "/r" .. i }), "/r" .. i, "request " .. i)
        pause(servers, i == 2 and 1.2 or 0.5) -- the server closes the idle connection
        -- a new connection elsewhere meanwhile: libcurl may find the closed one now
        expect_body(call(pool, servers, { url = other.url .. "/o" .. i }), "/o" .. i, "other " .. i)
      end
      assert.equal(3, a.accepted, reset and "RST" or "FIN")
      assert.equal(3, a.requests) -- each went out once: none on the closed connection
      for _, s in ipairs(servers) do s.close() end
    end
  end)

  it("give 64 calls at once to one origin their own replies, and keep the 64 connections", function()
    local a = server()
    local N = 64
    local function round(tag, extra)
      local ids, got, n = {}, {}, 0
      for i = 1, N do ids[assert(pool:add{ url = a.url .. "/" .. tag .. i, timeout = 10 })] = i end
      if extra then ids[assert(pool:add(extra))] = "own" end
      run(pool, { a }, function()
        while true do
          local id, res = pool:next_done()
          if not id then break end
          got[ids[id]] = res
          n = n + 1
        end
        return n == N + (extra and 1 or 0)
      end)
      for i = 1, N do expect_body(got[i], "/" .. tag .. i, tag .. i) end
      if extra then expect_body(got.own, extra.url:match("//[^/]+(/.*)"), "libcurl's own") end
    end
    round("x")
    assert.equal(N, a.accepted)
    round("y")
    assert.equal(N, a.accepted)
    socket.sleep(1.1)
    -- beside them a call on libcurl's own HTTP: the multi's cache holds more connections than
    -- four times the transfers running, and must not close kept ones to make room
    round("z", { url = a.url .. "/own", headers = { Connection = "keep-alive" }, timeout = 10 })
    assert.equal(N + 1, a.accepted)
    a.step()
    assert.is_true(a.open() >= N, "connections open at the server: " .. a.open())
    assert.equal(3 * N + 1, a.requests)
    a.close()
  end)

  describe("and child processes", function()
    local srv = H.server() -- in its own process: this one's sockets are the pool's alone

    -- The TCP sockets (inodes) open in this process, and those a child it starts inherited.
    local function sockets()
      local out = helpers.run("for f in /proc/$PPID/fd/*; do readlink \"$f\"; done; echo ---; "
        .. "for f in /proc/$$/fd/*; do readlink \"$f\"; done; echo ---; "
        .. "cat /proc/$PPID/net/tcp /proc/$PPID/net/tcp6")
      local sets, k = { {}, {}, {} }, 1
      for line in out:gmatch("[^\n]+") do
        if line == "---" then
          k = k + 1
        elseif k < 3 then
          local inode = line:match("^socket:%[(%d+)%]$")
          if inode then sets[k][inode] = true end
        else -- sl local rem st tx:rx tr:when retrnsmt uid timeout inode
          local inode = line:match("^%s*%d+:%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+(%d+)")
          if inode then sets[3][inode] = true end
        end
      end
      local mine, child = {}, {}
      for inode in pairs(sets[1]) do if sets[3][inode] then mine[inode] = true end end
      for inode in pairs(sets[2]) do if sets[3][inode] then child[inode] = true end end
      return mine, child
    end

    it("keep their connections out of a child process, on either transport (close-on-exec)", function()
      -- libcurl 8 asks the pool's open-socket callback for close-on-exec sockets, 7.88 does
      -- not: a child (os.execute, io.popen) inherited the pool's kept connections there, and
      -- held them open after the pool closed them
      local before = sockets()
      local own = assert(core.http_pool{ libcurl_only = true })
      for _, p in ipairs{ pool, own } do
        local r = p:request{ url = srv.url .. "/status/200", timeout = 5 }
        assert.is_nil(r.error and r.error.message)
        assert.equal(200, r.status)
      end
      local mine, child = sockets()
      local new = 0
      for inode in pairs(mine) do
        if not before[inode] then
          new = new + 1
          assert.is_nil(child[inode], "socket " .. inode .. " inherited by a child")
        end
      end
      own:close()
      assert.is_true(new >= 2, "the pools' kept connections: " .. new)
    end)
  end)
end)
