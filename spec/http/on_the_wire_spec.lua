-- The exact bytes core.http_pool sends, read by a raw listener in this process, and that a
-- transfer reused for the next request sends the bytes of a fresh pool.
local H = require("support.http_pool")
local core = require("gameliftstreams.core")

local capture, complete, NO_CONTENT = H.capture, H.complete, H.NO_CONTENT

describe("core.http_pool", function()
  local pool
  before_each(function() pool = assert(core.http_pool{}) end)
  after_each(function() pool:close() end)

  describe("on the wire", function()
    it("sends list values as repeated headers in order and invents no Expect, Accept or Content-Type", function()
      local body = string.rep("x", 1500000) -- big enough that libcurl would add Expect: 100-continue
      local data, res = capture(pool, { method = "POST", url = "http://127.0.0.1:PORT/p",
        headers = { ["X-Amz-Meta"] = { "first", "second", "third" }, ["X-Empty"] = "" },
        body = body, timeout = 5 }, function(d) return complete(d) and NO_CONTENT end)
      assert.equal(204, res.status)
      local head = data:sub(1, data:find("\r\n\r\n", 1, true) + 3)
      assert.truthy(head:match("^POST /p HTTP/1%.1\r\n"))
      assert.truthy(head:find("\r\nX-Amz-Meta: first\r\nX-Amz-Meta: second\r\nX-Amz-Meta: third\r\n", 1, true))
      assert.truthy(head:find("\r\nX-Empty:\r\n", 1, true))
      assert.truthy(head:find("\r\nContent-Length: 1500000\r\n", 1, true))
      local lower = head:lower()
      assert.is_nil(lower:find("\nexpect:", 1, true))
      assert.is_nil(lower:find("\naccept:", 1, true))
      assert.is_nil(lower:find("\ncontent-type:", 1, true))
      assert.is_nil(lower:find("\ntransfer-encoding:", 1, true))
      assert.equal(body, data:sub(#head + 1))
    end)

    it("sends the path exactly as given: no dot segment removed (CURLOPT_PATH_AS_IS)", function()
      -- the signer signs the path it is given; libcurl must not send another one (issue 15)
      for _, target in ipairs{ "/streamgroups/sg-1/streamsessions/..", "/a/./b/../c", "/x/%2E%2E/y" } do
        local data, res = capture(pool, { method = "DELETE", url = "http://127.0.0.1:PORT" .. target,
          timeout = 5 }, function(d) return complete(d) and NO_CONTENT end)
        assert.equal(204, res.status)
        assert.equal("DELETE " .. target .. " HTTP/1.1\r\n", data:match("^[^\n]*\n"))
      end
    end)

    it("sends the caller's Accept, Content-Type, Host and Content-Length exactly once", function()
      local data = capture(pool, { method = "PUT", url = "http://127.0.0.1:PORT/p",
        headers = { Accept = "application/json", ["content-type"] = "text/plain", host = "signed.example",
                    ["content-length"] = "1" }, body = "b", timeout = 5 },
        function(d) return complete(d) and NO_CONTENT end)
      for _, name in ipairs{ "accept", "content%-type", "host", "content%-length" } do
        local _, n = data:lower():gsub("\n" .. name .. ":", "")
        assert.equal(1, n, name)
      end
      assert.truthy(data:lower():find("\r\nhost: signed.example\r\n", 1, true))
      assert.truthy(data:find("\r\nAccept: application/json\r\n", 1, true))
      assert.truthy(data:find("\r\ncontent-type: text/plain\r\n", 1, true))
    end)

    it("sends HEAD and does not wait for the body its Content-Length announces", function()
      local data, res = capture(pool, { method = "HEAD", url = "http://127.0.0.1:PORT/h", timeout = 3 },
        function(d) return complete(d) and "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" end)
      assert.truthy(data:match("^HEAD /h HTTP/1%.1\r\n"))
      assert.is_nil(res.error, res.error and res.error.message)
      assert.equal(200, res.status)
      assert.equal("5000", res.headers["content-length"])
      assert.equal("", res.body)
    end)

    it("reports a TLS failure when the server does not speak TLS", function()
      local data, res = capture(pool, { url = "https://127.0.0.1:PORT/", timeout = 3 }, function(d)
        return #d > 0 and "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
      end)
      assert.equal(22, data:byte(1)) -- a TLS handshake record reached the server
      assert.is_table(res.error)
      assert.equal("TLSError", res.error.code)
      assert.equal("tls", res.error.reason)
      assert.matches("TLS failure %(curl 35: .+%)", res.error.message)
    end)
  end)

  describe("a transfer reused for the next request", function()
    -- One pool runs one request at a time here, so every request reuses the same easy handle,
    -- which keeps its options between requests: each must still send exactly the bytes a
    -- fresh pool sends, whatever the request before it set (HEAD, a body, a custom method).
    local SEQ = {
      { method = "HEAD", url = "http://127.0.0.1:PORT/h", headers = { ["x-amz-date"] = "1" } },
      { url = "http://127.0.0.1:PORT/g?a=1", headers = { accept = "application/json" } },
      { method = "POST", url = "http://127.0.0.1:PORT/p", body = '{"a":1}',
        headers = { ["content-type"] = "application/json", expect = "" } },
      { method = "DELETE", url = "http://127.0.0.1:PORT/d" },
      { method = "PUT", url = "http://127.0.0.1:PORT/u" },
      { method = "PATCH", url = "http://127.0.0.1:PORT/pa", body = "xy" },
      { method = "HEAD", url = "http://127.0.0.1:PORT/h2" },
      { method = "POST", url = "http://127.0.0.1:PORT/p2" },
      { url = "http://127.0.0.1:PORT/g2" },
    }
    local function copy(t)
      local c = {}
      for k, v in pairs(t) do c[k] = type(v) == "table" and copy(v) or v end
      c.timeout = 5
      return c
    end
    local function reply(d) return complete(d) and "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" end

    it("sends the bytes a fresh pool sends, in any order of methods", function()
      for round = 1, 2 do -- forwards, then backwards: each request after different ones
        for k = 1, #SEQ do
          local r = SEQ[round == 1 and k or #SEQ + 1 - k]
          local fresh = assert(core.http_pool{})
          local want = capture(fresh, copy(r), reply)
          fresh:close()
          local got, res = capture(pool, copy(r), reply)
          assert.is_nil(res.error, res.error and res.error.message)
          -- the port differs between listeners: compare without the Host line
          assert.equal((want:gsub("\r\nHost: [^\r]*", "")), (got:gsub("\r\nHost: [^\r]*", "")),
            (r.method or "GET") .. " " .. r.url)
          -- and libcurl invents no Expect, Accept or Content-Type, with or without a body
          local lower = got:lower()
          if not (r.headers and r.headers.expect) then assert.is_nil(lower:find("\nexpect:", 1, true)) end
          if not (r.headers and r.headers.accept) then assert.is_nil(lower:find("\naccept:", 1, true)) end
          if not (r.headers and r.headers["content-type"]) then
            assert.is_nil(lower:find("\ncontent-type:", 1, true))
          end
        end
      end
    end)
  end)
end)
