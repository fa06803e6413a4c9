-- What the specs of spec/http/ share: the test server (spec/support/http_test_server.lua) in a
-- child process, and raw luasocket listeners in this process where the exact bytes matter.
local helpers = require("helpers")
local socket = require("socket")
local busted = require("busted")

local core = helpers.core()

local M = {}

M.SERVER = helpers.root .. "/spec/support/http_test_server.lua"

--- For the calling describe block: the test server, started in its setup and stopped in its
-- teardown. Returns the table helpers.spawn_server fills (url, port...) once setup ran.
function M.server()
  local srv = {}
  busted.setup(function()
    for k, v in pairs(helpers.spawn_server(M.SERVER)) do srv[k] = v end
  end)
  busted.teardown(function() srv.stop() end)
  return srv
end

-- A port nothing listens on: bind, read the port, close.
function M.dead_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- Drives `pool` until transfer `id` finishes (bounded), returns its result.
function M.wait_for(pool, id, limit)
  local deadline = core.monotime() + (limit or 5)
  repeat
    local res = pool:take(id)
    if res then return res end
    pool:perform(0.05)
  until core.monotime() > deadline
  error("transfer " .. tostring(id) .. " did not finish")
end
local wait_for = M.wait_for

-- Sends `req` (url containing PORT) to a raw listener in this process and returns the
-- exact bytes the server received, and the result. `reply(data)` returns the bytes to
-- answer with once `data` is a complete request (nil: keep reading).
function M.capture(pool, req, reply)
  local l = assert(socket.bind("127.0.0.1", 0))
  l:settimeout(0)
  local _, port = l:getsockname()
  req.url = req.url:gsub("PORT", tostring(port))
  local id = assert(pool:add(req))
  local conn, data, answered = nil, "", false
  local deadline = core.monotime() + 5
  while not answered and core.monotime() < deadline do
    pool:perform(0.01)
    if not conn then
      conn = l:accept()
      if conn then conn:settimeout(0) end
    end
    if conn then
      local s, _, partial = conn:receive(65536)
      data = data .. (s or partial or "")
      local out = reply(data)
      if out then
        conn:settimeout(2)
        conn:send(out)
        answered = true
      end
    end
  end
  local res = wait_for(pool, id)
  if conn then conn:close() end
  l:close()
  return data, res
end

-- A complete request: head received and Content-Length bytes of body.
function M.complete(data)
  local head_end = data:find("\r\n\r\n", 1, true)
  if not head_end then return false end
  local len = tonumber(data:sub(1, head_end):lower():match("\ncontent%-length: *(%d+)")) or 0
  return #data >= head_end + 3 + len
end

M.NO_CONTENT = "HTTP/1.1 204 No Content\r\n\r\n"

return M
