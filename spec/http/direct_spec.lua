-- Direct transfers (csrc/http.c): the pool writes the request head itself on a connection
-- libcurl opened and reads the reply with its own reader (csrc/h1.c). The head must be byte for
-- byte the one libcurl writes; a connection is kept only when the reply ended cleanly, and a kept
-- connection the server had closed gets the request again on a new one. Raw listeners in this
-- process count the connections.
local H = require("support.http_pool")
local core = require("gameliftstreams.core")
local socket = require("socket")

local capture, complete, NO_CONTENT = H.capture, H.complete, H.NO_CONTENT

-- A listener answering requests with `replies[i](request_bytes)` (a string, or false: close
-- without answering), on whatever connection they come; counts the connections it accepted.
local function serve(pool, reqs, replies)
  local l = assert(socket.bind("127.0.0.1", 0))
  l:settimeout(0)
  local _, port = l:getsockname()
  local conns, accepted, seen, results = {}, 0, {}, {}
  local i = 0
  local deadline = core.monotime() + 10
  for n, req in ipairs(reqs) do
    req.url = req.url:gsub("PORT", tostring(port))
    local id = assert(pool:add(req))
    while not results[n] and core.monotime() < deadline do
      pool:perform(0.01)
      local c = l:accept()
      if c then
        c:settimeout(0)
        accepted = accepted + 1
        conns[#conns + 1] = { sock = c, data = "" }
      end
      for _, k in ipairs(conns) do
        if k.sock then
          local s, err, partial = k.sock:receive(65536)
          k.data = k.data .. (s or partial or "")
          if complete(k.data) then
            i = i + 1
            seen[i] = k.data
            k.data = ""
            local out = replies[i](seen[i])
            if out then
              k.sock:settimeout(2)
              k.sock:send(out)
              k.sock:settimeout(0)
            else
              k.sock:close()
              k.sock = nil
            end
          elseif err == "closed" then
            k.sock:close()
            k.sock = nil
          end
        end
      end
      results[n] = pool:take(id)
    end
    assert(results[n], "request " .. n .. " did not finish")
  end
  for _, k in ipairs(conns) do if k.sock then k.sock:close() end end
  l:close()
  return results, accepted, seen
end

local function ok(body) return "HTTP/1.1 200 OK\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body end

describe("core.http_pool direct transfers", function()
  local pool
  before_each(function() pool = assert(core.http_pool{}) end)
  after_each(function() pool:close() end)

  it("write the head and body libcurl writes for the same request", function()
    local cases = {
      { method = "GET", url = "http://127.0.0.1:PORT/a/b%2Fc?x=1&y=%20",
        headers = { { "User-Agent", "ua/1" }, { "x-a", "1" }, { "X-Empty", "" }, { "x-m", "a" }, { "x-m", "b" } } },
      { method = "GET", url = "http://127.0.0.1:PORT", headers = {} },
      { method = "GET", url = "http://LocalHost:PORT?q=1", headers = {} },
      { method = "POST", url = "http://127.0.0.1:PORT/p", headers = { { "content-type", "application/json" } },
        body = '{"a":1}' },
      { method = "POST", url = "http://127.0.0.1:PORT/p", headers = {} },
      { method = "PUT", url = "http://127.0.0.1:PORT/p", headers = {} },
      { method = "PATCH", url = "http://127.0.0.1:PORT/p", headers = {}, body = "{}" },
      { method = "DELETE", url = "http://127.0.0.1:PORT/a/./b/../c", headers = {} },
      { method = "DELETE", url = "http://127.0.0.1:PORT/d", headers = {}, body = "x" },
      { method = "GET", url = "http://127.0.0.1:PORT/g", headers = {}, body = "zz" },
      { method = "HEAD", url = "http://127.0.0.1:PORT/h", headers = { { "Accept", "x/y" } } },
      -- the signer hands its Host header over: libcurl writes it in the place of its own
      { method = "GET", url = "http://127.0.0.1:PORT/s", headers = { { "x-amz-date", "20261207T000000Z" },
        { "host", "signed.example:8443" }, { "authorization", "AWS4-HMAC-SHA256 Credential=x" } } },
      { method = "POST", url = "http://127.0.0.1:PORT/s", headers = { { "Host", "127.0.0.1" } }, body = "{}" },
    }
    local curl_pool = assert(core.http_pool{ libcurl_only = true })
    for _, c in ipairs(cases) do
      local function req()
        local hs = {}
        for _, h in ipairs(c.headers) do
          local v = hs[h[1]]
          if v == nil then hs[h[1]] = h[2] elseif type(v) == "table" then v[#v + 1] = h[2]
          else hs[h[1]] = { v, h[2] } end
        end
        return { method = c.method, url = c.url, headers = hs, body = c.body, timeout = 5 }
      end
      local want, res1 = capture(curl_pool, req(), function(d) return complete(d) and NO_CONTENT end)
      local got, res2 = capture(pool, req(), function(d) return complete(d) and NO_CONTENT end)
      assert.equal(204, res1.status)
      assert.equal(204, res2.status)
      -- the port differs between the two listeners
      want = want:gsub("Host: ([^\r]-):%d+\r\n", "Host: %1:PORT\r\n", 1)
      got = got:gsub("Host: ([^\r]-):%d+\r\n", "Host: %1:PORT\r\n", 1)
      assert.equal(want, got, c.method .. " " .. c.url)
    end
    curl_pool:close()
  end)

  it("keep the connection for the next request to the same origin", function()
    local results, accepted, seen = serve(pool, {
      { method = "GET", url = "http://127.0.0.1:PORT/1", timeout = 5 },
      { method = "POST", url = "http://127.0.0.1:PORT/2", body = "two", timeout = 5 },
      { method = "GET", url = "http://127.0.0.1:PORT/3", timeout = 5 },
    }, { function() return ok("one") end, function() return ok("two") end, function() return ok("three") end })
    assert.equal(1, accepted)
    assert.equal("one", results[1].body)
    assert.equal("two", results[2].body)
    assert.equal("three", results[3].body)
    assert.truthy(seen[2]:match("^POST /2 HTTP/1%.1\r\n"))
  end)

  it("keep a connection per origin: calls alternating between two servers open one each", function()
    local ls, accepted, conns = {}, { 0, 0 }, {}
    for i = 1, 2 do
      ls[i] = assert(socket.bind("127.0.0.1", 0))
      ls[i]:settimeout(0)
    end
    local deadline = core.monotime() + 10
    for n = 1, 6 do
      local k = (n - 1) % 2 + 1
      local _, port = ls[k]:getsockname()
      local id = assert(pool:add{ method = "GET", url = "http://127.0.0.1:" .. port .. "/" .. n, timeout = 5 })
      local res
      while not res and core.monotime() < deadline do
        pool:perform(0.01)
        for i = 1, 2 do
          local c = ls[i]:accept()
          if c then
            c:settimeout(0)
            accepted[i] = accepted[i] + 1
            conns[#conns + 1] = { sock = c, data = "", server = i }
          end
        end
        for _, c in ipairs(conns) do
          local d, _, partial = c.sock:receive(65536)
          c.data = c.data .. (d or partial or "")
          if complete(c.data) then
            local path = c.data:match("^GET (%S+)")
            c.data = ""
            c.sock:send(ok(c.server .. path))
          end
        end
        res = pool:take(id)
      end
      assert.equal(k .. "/" .. n, res and res.body)
    end
    for _, c in ipairs(conns) do c.sock:close() end
    for i = 1, 2 do ls[i]:close() end
    assert.same({ 1, 1 }, accepted)
  end)

  it("never read bytes past a reply's end as the next reply: that connection closes", function()
    local results, accepted = serve(pool, {
      { method = "GET", url = "http://127.0.0.1:PORT/1", timeout = 5 },
      { method = "GET", url = "http://127.0.0.1:PORT/2", timeout = 5 },
    }, { function() return ok("one") .. ok("forged") end, function() return ok("two") end })
    assert.equal(2, accepted)
    assert.equal("one", results[1].body)
    assert.equal("two", results[2].body)
  end)

  it("do not keep a connection the reply closes, or one read until close", function()
    local results, accepted = serve(pool, {
      { method = "GET", url = "http://127.0.0.1:PORT/1", timeout = 5 },
      { method = "GET", url = "http://127.0.0.1:PORT/2", timeout = 5 },
      { method = "GET", url = "http://127.0.0.1:PORT/3", timeout = 5 },
    }, { function() return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\none" end,
         function() return "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\ntwo" end,
         function() return ok("three") end })
    assert.equal(3, accepted)
    assert.equal("one", results[1].body)
    assert.equal("two", results[2].body)
    assert.equal("three", results[3].body)
  end)

  it("send the request again, once, on a new connection when a kept one closes unanswered", function()
    local results, accepted, seen = serve(pool, {
      { method = "GET", url = "http://127.0.0.1:PORT/1", timeout = 5 },
      { method = "POST", url = "http://127.0.0.1:PORT/2", body = "payload", timeout = 5 },
    }, { function() return ok("one") end, function() return false end, function() return ok("two") end })
    assert.is_nil(results[2].error and results[2].error.message)
    assert.equal(2, accepted)
    assert.equal("two", results[2].body)
    assert.equal(seen[2], seen[3]) -- the same bytes, body included
  end)

  it("fail a fresh connection that closes unanswered without sending again", function()
    local results, accepted = serve(pool, {
      { method = "GET", url = "http://127.0.0.1:PORT/1", timeout = 5 },
    }, { function() return false end })
    assert.equal(1, accepted)
    assert.equal("NetworkError", results[1].error.code)
    assert.equal("reset", results[1].error.reason)
  end)

  it("read chunked replies with trailers, and 1xx heads before the reply", function()
    local results, accepted = serve(pool, {
      { method = "GET", url = "http://127.0.0.1:PORT/1", timeout = 5 },
      { method = "GET", url = "http://127.0.0.1:PORT/2", timeout = 5 },
    }, { function()
           return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3;ext\r\none\r\n4\r\n two\r\n0\r\nX-T: t\r\n\r\n"
         end,
         function() return "HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 1\r\n\r\nk" end })
    assert.equal(1, accepted)
    assert.equal("one two", results[1].body)
    assert.equal("1", results[1].headers["x-a"])
    assert.is_nil(results[1].headers["x-t"]) -- trailers are dropped
    assert.equal(202, results[2].status)
    assert.equal("k", results[2].body)
    assert.is_nil(results[2].headers["x-early"]) -- the final response's headers only
  end)

  -- (spec/framing_spec.lua reads 80 framings on both transports; these are the reuse's own)
  it("refuse replies whose framing could smuggle another: two lengths, a sign, both framings", function()
    for _, reply in ipairs{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
                            "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" } do
      local results = serve(pool, { { method = "GET", url = "http://127.0.0.1:PORT/1", timeout = 5 } },
        { function() return reply end })
      assert.equal("NetworkError", results[1].error.code, reply)
      assert.equal("protocol", results[1].error.reason, reply)
    end
  end)
end)
