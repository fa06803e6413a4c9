-- How core.http_pool reports what goes wrong (refused, unresolved, timed out, too large, reset,
-- cut short, not HTTP, bad input), and that a client does not retry a header too large.
local helpers = require("helpers")
local socket = require("socket")
local H = require("support.http_pool")
local core = require("gameliftstreams.core")

local dead_port, wait_for = H.dead_port, H.wait_for

describe("core.http_pool", function()
  local srv = H.server()
  local pool
  before_each(function() pool = assert(core.http_pool{}) end)
  after_each(function() pool:close() end)

  describe("failures", function()
    local function fails(req, code, reason)
      req.timeout = req.timeout or 3
      local t0 = core.monotime()
      local res = pool:request(req)
      assert.is_table(res.error, "expected a failure, got status " .. tostring(res.status))
      assert.equal(code, res.error.code)
      assert.equal(reason, res.error.reason)
      assert.is_string(res.error.message)
      assert.is_nil(res.status)
      return res.error, core.monotime() - t0
    end

    it("reports a refused connection", function()
      local err = fails({ url = "http://127.0.0.1:" .. dead_port() .. "/" }, "NetworkError", "connect")
      assert.matches("could not connect %(curl 7: .*127%.0%.0%.1", err.message)
    end)

    it("reports a name that does not resolve", function()
      local err = fails({ url = "http://no-such-host.invalid/" }, "NetworkError", "resolve")
      assert.matches("no%-such%-host%.invalid", err.message)
    end)

    it("times out a slow response after `timeout` seconds", function()
      local err, took = fails({ url = srv.url .. "/slow?s=3", timeout = 0.3 }, "Timeout", "timeout")
      assert.matches("^request timed out %(timeout 0.3 s%)", err.message)
      assert.is_true(took >= 0.29 and took < 1.5, "took " .. took)
    end)

    it("times out a connection that is never accepted after `connect_timeout` seconds", function()
      -- A listener whose accept queue is full: Linux drops further SYNs, so connect hangs.
      local l = assert(socket.tcp())
      assert(l:bind("127.0.0.1", 0))
      assert(l:listen(0))
      local _, port = l:getsockname()
      local fillers = {}
      for i = 1, 4 do
        fillers[i] = socket.tcp()
        fillers[i]:settimeout(0)
        fillers[i]:connect("127.0.0.1", port)
      end
      local err, took = fails({ url = "http://127.0.0.1:" .. port .. "/", connect_timeout = 0.3, timeout = 5 },
                              "Timeout", "timeout")
      for _, f in ipairs(fillers) do f:close() end
      l:close()
      assert.matches("^connect timed out %(connect_timeout 0.3 s%)", err.message)
      assert.is_true(took >= 0.29 and took < 1.5, "took " .. took)
    end)

    it("aborts a response larger than max_response_bytes (length announced)", function()
      local err = fails({ url = srv.url .. "/big?n=100000", max_response_bytes = 1000 },
                        "ResponseTooLarge", "too_large")
      assert.matches("max_response_bytes %(1000 bytes%)", err.message)
    end)

    it("aborts a response larger than max_response_bytes (chunked, length unknown)", function()
      fails({ url = srv.url .. "/big-chunked?n=100000", max_response_bytes = 1000 }, "ResponseTooLarge", "too_large")
    end)

    it("accepts a response of exactly max_response_bytes", function()
      for _, path in ipairs{ "/big?n=1000", "/big-chunked?n=1000" } do
        local res = pool:request{ url = srv.url .. path, max_response_bytes = 1000, timeout = 3 }
        assert.is_nil(res.error)
        assert.equal(1000, #res.body)
      end
    end)

    it("caps responses at 16 MiB by default", function()
      fails({ url = srv.url .. "/big?n=" .. (16 * 1024 * 1024 + 1) }, "ResponseTooLarge", "too_large")
    end)

    it("reports response headers too large for libcurl as ResponseTooLarge, not a network error", function()
      -- One line over libcurl's 100 KB, and 20,000 short lines (400 KB) over its 300 KB in all.
      for _, case in ipairs({ { "/big-header?n=1048576", "a response header line is larger than libcurl accepts %(102400 bytes%)" },
                              { "/big-header?n=102401", "a response header line is larger than libcurl accepts %(102400 bytes%)" },
                              { "/big-header?n=150000", "a response header line is larger than libcurl accepts %(102400 bytes%)" },
                              { "/repeat-header?n=20000", "the response headers are larger than libcurl accepts in all" } }) do
        local err = fails({ url = srv.url .. case[1] }, "ResponseTooLarge", "header_too_large")
        assert.matches("^" .. case[2], err.message)
        assert.is_nil(err.message:find("Out of memory", 1, true))
      end
      local res = pool:request{ url = srv.url .. "/big-header?n=100000", timeout = 3 }
      assert.equal(100000, #res.headers["x-big"])
    end)

    it("reports a connection reset before the response", function()
      local err = fails({ url = srv.url .. "/reset" }, "NetworkError", "reset")
      assert.matches("curl %d+: ", err.message)
    end)

    it("reports a connection closed without a response", function()
      fails({ url = srv.url .. "/empty" }, "NetworkError", "reset")
    end)

    it("reports a connection reset in the middle of the body", function()
      local err = fails({ url = srv.url .. "/reset-mid" }, "NetworkError", "reset")
      assert.matches("reset", err.message)
    end)

    it("reports a body cut short of its Content-Length", function()
      local err = fails({ url = srv.url .. "/truncate" }, "NetworkError", "partial")
      assert.matches("curl 18: ", err.message)
    end)

    it("reports a reply that is not HTTP", function()
      local err = fails({ url = srv.url .. "/garbage" }, "NetworkError", "protocol")
      -- libcurl 7.88 calls it HTTP/0.9 (CURLE_UNSUPPORTED_PROTOCOL), others CURLE_WEIRD_SERVER_REPLY
      assert.matches("^the reply is not valid HTTP %(curl %d+: ", err.message)
    end)

    it("keeps working on the same pool after failures", function()
      fails({ url = srv.url .. "/reset" }, "NetworkError", "reset")
      fails({ url = srv.url .. "/big?n=5000", max_response_bytes = 10 }, "ResponseTooLarge", "too_large")
      local res = pool:request{ url = srv.url .. "/big?n=5000", timeout = 3 }
      assert.equal(5000, #res.body)
    end)

    it("refuses bad input with an InvalidParameter table, without starting a transfer", function()
      local bad = {
        {}, { url = 42 }, { url = "ftp://127.0.0.1/x" }, { url = "not a url" }, { url = "http://" },
        { url = srv.url, method = "GET /x" }, { url = srv.url, method = 7 },
        { url = srv.url, headers = { ["X-Bad"] = "a\r\nInjected: yes" } },
        { url = srv.url, headers = { ["Bad Name"] = "v" } }, { url = srv.url, headers = { "positional" } },
        { url = srv.url, headers = { ["X-Bool"] = true } }, { url = srv.url, headers = "x" },
        { url = srv.url, timeout = -1 }, { url = srv.url, connect_timeout = "5" },
        { url = srv.url, max_response_bytes = 0 }, { url = srv.url, body = {} },
      }
      for i, req in ipairs(bad) do
        local id, err = pool:add(req)
        assert.is_nil(id, "case " .. i)
        assert.equal("InvalidParameter", err.code, "case " .. i)
        assert.is_string(err.message)
        local res = pool:request(req)
        assert.equal("InvalidParameter", res.error.code, "case " .. i)
      end
      assert.equal(0, pool:perform(0))
      assert.has_error(function() pool:add("http://x/") end)
    end)

    it("refuses a bad URL that starts like the good one before it", function()
      -- the pool skips parsing the scheme://authority it has just parsed: a URL that only
      -- starts the same way is still parsed, and refused
      assert.equal(200, pool:request{ url = srv.url .. "/echo", timeout = 5 }.status)
      for _, url in ipairs{ srv.url .. "0000000/x", srv.url .. "@/x", srv.url .. ":5/x", srv.url .. "[/x" } do
        local id, err = pool:add{ url = url }
        assert.is_nil(id, url)
        assert.equal("InvalidParameter", err.code)
        assert.matches("^invalid url: ", err.message)
      end
      local id = assert(pool:add{ url = srv.url .. "/echo?a=1#f", timeout = 5 })
      assert.equal(200, wait_for(pool, id).status)
    end)
  end)
end)

describe("a client over core.http_pool", function()
  local srv = H.server()

  it("does not retry a response whose header is too large: the same reply would fail again", function()
    local c = helpers.client(srv, { max_attempts = 3,
      credentials = { access_key_id = "AKIDTEST", secret_access_key = "test-secret" } })
    local res, err = c:get_stream_group{ Identifier = "big-header" }
    assert.is_nil(res)
    assert.equal("ResponseTooLarge", err.code)
    assert.equal("header_too_large", err.reason)
    assert.equal(1, err.attempts)
  end)
end)
