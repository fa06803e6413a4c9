-- core.http_pool over TLS (openssl s_server, a CONNECT proxy) and through the proxy
-- environment variables libcurl reads.
local helpers = require("helpers")
local cjson = require("cjson")
local H = require("support.http_pool")
local core = require("gameliftstreams.core")

local dead_port = H.dead_port

describe("core.http_pool", function()
  local srv = H.server()
  local pool
  before_each(function() pool = assert(core.http_pool{}) end)
  after_each(function() pool:close() end)

  describe("TLS", function()
    -- openssl s_server with a fresh self-signed certificate for 127.0.0.1 (and for the
    -- name gls-proxied.invalid, which only the CONNECT proxy below knows).
    local dir, tls
    setup(function()
      dir = helpers.tmpdir()
      local _, ok = helpers.run(string.format("cd %s && openssl req -x509 -newkey ec -pkeyopt "
        .. "ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -subj /CN=127.0.0.1 "
        .. "-addext subjectAltName=IP:127.0.0.1,DNS:gls-proxied.invalid -days 2 && mkdir cas && cp cert.pem cas/ && openssl rehash cas",
        helpers.shell_quote(dir)))
      assert(ok, "openssl could not make a certificate")
      local pipe = assert(io.popen(string.format(
        "echo $$; exec openssl s_server -www -accept 127.0.0.1:0 -cert %s/cert.pem -key %s/key.pem 2>&1",
        helpers.shell_quote(dir), helpers.shell_quote(dir))))
      tls = { pid = tonumber(pipe:read("*l")), pipe = pipe }
      for _ = 1, 10 do
        local line = pipe:read("*l")
        tls.port = line and tonumber(line:match("^ACCEPT 127%.0%.0%.1:(%d+)"))
        if not line or tls.port then break end
      end
      assert(tls.port, "openssl s_server did not start")
      tls.url = "https://127.0.0.1:" .. tls.port .. "/"
    end)
    teardown(function()
      if tls then
        os.execute("kill " .. tls.pid .. " 2>/dev/null")
        tls.pipe:close()
      end
      helpers.rm_rf(dir)
    end)

    it("verifies the server's certificate by default", function()
      local res = pool:request{ url = tls.url, timeout = 3 }
      assert.is_table(res.error)
      assert.equal("TLSError", res.error.code)
      assert.equal("tls", res.error.reason)
      assert.matches("^TLS failure %(curl 60: .*certificate", res.error.message)
    end)

    it("trusts a CA bundle given as ca_file, and a CA directory given as ca_path", function()
      for _, opts in ipairs{ { ca_file = dir .. "/cert.pem" }, { ca_path = dir .. "/cas" } } do
        local p = core.http_pool(opts)
        local res = p:request{ url = tls.url, timeout = 3 }
        p:close()
        assert.is_nil(res.error, res.error and res.error.message)
        assert.equal(200, res.status)
      end
    end)

    it("takes ca_file/ca_path per request, over the pool's, never reusing a connection across trust", function()
      local p = core.http_pool{}
      local res = p:request{ url = tls.url, timeout = 3, ca_file = dir .. "/cert.pem" }
      assert.is_nil(res.error, res.error and res.error.message)
      assert.equal(200, res.status)
      -- the same pool, the same server, no CA given: the trusted connection is not reused
      res = p:request{ url = tls.url, timeout = 3 }
      assert.equal("TLSError", res.error and res.error.code)
      res = p:request{ url = tls.url, timeout = 3, ca_path = dir .. "/cas" }
      assert.equal(200, res.status)
      -- a request's ca_file wins over the pool's
      local q = core.http_pool{ ca_file = dir .. "/missing.pem" }
      res = q:request{ url = tls.url, timeout = 3, ca_file = dir .. "/cert.pem" }
      assert.equal(200, res.status)
      q:close()
      local _, err = p:add{ url = tls.url, ca_file = 42 }
      assert.equal("InvalidParameter", err.code)
      assert.matches("ca_file and ca_path must be strings", err.message)
      p:close()
    end)

    it("reports a ca_file that cannot be read as a TLS error", function()
      local p = core.http_pool{ ca_file = dir .. "/missing.pem" }
      local res = p:request{ url = tls.url, timeout = 3 }
      p:close()
      assert.equal("TLSError", res.error.code)
      assert.matches("curl 77: ", res.error.message)
    end)

    it("reaches an https URL through https_proxy (CONNECT tunnel), verifying the origin's certificate", function()
      local log = dir .. "/proxy.log"
      local proxy = helpers.spawn_server(helpers.root .. "/spec/support/connect_proxy.lua", { log })
      local function child(ca)
        local script = string.format([[
          local core = require("gameliftstreams.core")
          local res = core.http_pool{ ca_file = %q }:request{ url = %q, timeout = 5 }
          io.write(res.error and ("ERROR " .. res.error.code .. " " .. res.error.message) or (res.status .. " " .. res.body))
        ]], ca, "https://gls-proxied.invalid:" .. tls.port .. "/")
        local cmd = string.format("env -u http_proxy -u HTTP_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY "
          .. "%s https_proxy=%s lua5.4 -e %s", helpers.lua_env(), proxy.url, helpers.shell_quote(script))
        local out = helpers.run(cmd)
        return out
      end
      local out = child(dir .. "/cert.pem")
      local wrong = child("/etc/ssl/certs/ca-certificates.crt")
      proxy.stop()
      assert.matches("^200 ", out)
      assert.matches("s_server", out) -- the page openssl s_server -www serves
      assert.matches("^ERROR TLSError", wrong) -- through the tunnel TLS is still verified end to end
      assert.equal("gls-proxied.invalid:" .. tls.port .. "\n", helpers.read_file(log):sub(1, #("gls-proxied.invalid:" .. tls.port) + 1))
    end)

    it("skips verification only when insecure = true", function()
      local p = core.http_pool{ insecure = true }
      local res = p:request{ url = tls.url, timeout = 3 }
      p:close()
      assert.is_nil(res.error, res.error and res.error.message)
      assert.equal(200, res.status)
      p = core.http_pool{ insecure = false }
      res = p:request{ url = tls.url, timeout = 3 }
      p:close()
      assert.equal("TLSError", res.error.code)
    end)
  end)

  describe("proxy environment", function()
    -- A child process, so the variables reach libcurl exactly as a user would set them.
    local function child(env, url)
      local script = string.format([[
        local core = require("gameliftstreams.core")
        local res = core.http_pool{}:request{ url = %q, timeout = 5 }
        io.write(res.error and ("ERROR " .. res.error.reason) or res.body)
      ]], url)
      local cmd = string.format("env -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy "
        .. "-u NO_PROXY -u HTTP_PROXY %s %s lua5.4 -e %s", helpers.lua_env(), env, helpers.shell_quote(script))
      local out, ok = helpers.run(cmd)
      assert.is_true(ok, out)
      return out
    end

    it("sends through http_proxy in absolute form", function()
      local out = child("http_proxy=" .. srv.url, "http://gls-proxied.invalid/echo")
      local got = cjson.decode(out)
      assert.equal("http://gls-proxied.invalid/echo", got.target)
      assert.equal("gls-proxied.invalid", got.headers.host)
    end)

    it("goes direct for hosts in no_proxy", function()
      local out = child("http_proxy=http://127.0.0.1:" .. dead_port() .. " no_proxy=127.0.0.1", srv.url .. "/echo")
      assert.equal("/echo", cjson.decode(out).target)
    end)
  end)
end)
