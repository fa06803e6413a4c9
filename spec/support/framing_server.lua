-- The server of spec/framing_spec.lua: answers each request with the exact bytes its path
-- names, so both transports (libcurl, cosockets) meet the same framing, byte for byte.
--   /raw/<hex>/...         sends those bytes and keeps the connection open (its next request
--                          is served as any other)
--   /close/<hex>/...       sends those bytes and closes
--   /steps/<hex>/...       a script: the hex of lines "send <hex>", "rep <n> <hex>" (those bytes n
--                          times), "wait <seconds>", "close"
--   /own/<tag>/...         a well-framed 200 whose body is "own <tag> <client address:port>"
-- Prints "listening <port>".
local httpd = require("gameliftstreams.emulator.httpd")

local function unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

httpd.main{ host = "127.0.0.1", port = 0, handler = function(req)
  local case, arg = req.path:match("^/([^/]+)/?([^/]*)")
  if case == "raw" then return httpd.raw(unhex(arg), false) end
  if case == "close" then return httpd.raw(unhex(arg), true) end
  if case == "steps" then
    local steps = {}
    for line in unhex(arg):gmatch("[^\n]+") do
      local op, v = line:match("^(%a+) ?(.*)$")
      if op == "send" then steps[#steps + 1] = { send = unhex(v) }
      elseif op == "rep" then
        local n, h = v:match("^(%d+) (%x*)$")
        steps[#steps + 1] = { send = string.rep(unhex(h), tonumber(n)) }
      elseif op == "wait" then steps[#steps + 1] = { wait = tonumber(v) }
      elseif op == "close" then steps[#steps + 1] = { close = true } end
    end
    return httpd.script(steps)
  end
  if case == "own" then
    return 200, { ["Content-Type"] = "text/plain" }, "own " .. arg .. " " .. req.peer
  end
  return 404, { ["Content-Type"] = "text/plain" }, "no such case"
end }
