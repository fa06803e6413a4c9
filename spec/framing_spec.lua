-- Response framing and connection reuse against hostile servers. spec/support/framing_server.lua
-- answers with the exact bytes each case names.
local helpers = require("helpers")

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

-- The server's path: bytes sent and the connection kept open.
local function raw(s) return "/raw/" .. hex(s) .. "/" end

local function ok200(extra, body) return "HTTP/1.1 200 OK\r\n" .. extra .. "\r\n" .. (body or "") end

describe("response framing and connection reuse, both transports", function()
  local srv

  setup(function()
    srv = helpers.spawn_server(helpers.root .. "/spec/support/framing_server.lua", {})
  end)

  teardown(function()
    if srv then srv.stop() end
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
