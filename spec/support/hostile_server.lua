-- A hostile "service" for spec/hostile_servers_spec.lua: everything a server can do to a client.
-- The client is pointed at http://127.0.0.1:PORT/<case>/<arg>, so the first path segments pick
-- the behaviour and the API path follows:
--   /json/<status>/<hex of the body>/...  answers <status> with that body (application/json)
--   /session/<hex of a GetStreamSession body>/...
--                           a stream session service: POST (start) answers 201 with an ARN,
--                           GET answers the given body, DELETE (terminate) 204
--   /truncate/...           Content-Length 100, 10 bytes, close
--   /cut-header/...         the connection closes in the middle of a header line
--   /reset/...              a reset instead of an answer
--   /reset-mid/...          a reset after the headers and part of the body
--   /empty/...              closes without a byte
--   /garbage/...            bytes that are not HTTP
--   /trickle-body/<n>/...   headers at once, then one body byte every 0.2 s (n bytes announced)
--   /trickle-head/...       the status line and headers one byte every 0.2 s
--   /hang/...               never answers
--   /huge-header/<bytes>/...   one response header of that many bytes
--   /many-headers/<count>/...  that many repeats of one header
--   /header-bytes/<bytes>/...  headers of 100 bytes each, that many bytes of them in all
--   /bad-chunk/<size>/...   a chunked body whose chunk size line is <size> (e.g. zz, -1)
--   /chunk-cut/...          a chunked body cut in the middle of a chunk
--   /no-length/<hex>/...    a body without Content-Length, ended by closing the connection
--   /redirect/<status>/...  a redirect to /json/200/<{}>/ (which must not be followed)
--   /_log                   GET: the requests seen, as JSON lines "METHOD path"; DELETE: forget
local httpd = require("gameliftstreams.emulator.httpd")

local log = {}

local function unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function head(status, extra)
  return "HTTP/1.1 " .. status .. " X\r\n" .. (extra or "")
end

local handlers = {}

handlers.json = function(req, status, hex)
  return tonumber(status), { ["Content-Type"] = "application/json", ["x-amzn-RequestId"] = "hostile-1" },
    unhex(hex or "")
end

handlers.session = function(req, hex)
  local arn = "arn:aws:gameliftstreams:us-west-2:111122223333:streamsession/sg-1/s-1"
  if req.method == "POST" then
    return 201, { ["Content-Type"] = "application/json" },
      '{"Arn":"' .. arn .. '","Status":"ACTIVATING","CreatedAt":1767225600}'
  elseif req.method == "DELETE" then
    return 204, {}, ""
  end
  return 200, { ["Content-Type"] = "application/json" }, unhex(hex or "")
end

handlers.truncate = function()
  return httpd.raw(head(200, "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n") ..
    '{"Arn":"x"', true)
end

handlers["cut-header"] = function()
  return httpd.raw("HTTP/1.1 200 OK\r\nContent-Type: applica", true)
end

handlers.reset = function() return httpd.reset() end

handlers["reset-mid"] = function()
  return httpd.script{ { send = head(200, "Content-Length: 100000\r\n\r\n") .. string.rep("r", 1000) },
    { wait = 0.05 }, { reset = true } }
end

handlers.empty = function() return httpd.raw("", true) end

handlers.garbage = function()
  return httpd.raw("SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n\0\1\2\3", true)
end

handlers["trickle-body"] = function(req, n)
  n = tonumber(n) or 100
  local steps = { { send = head(200, "Content-Type: application/json\r\nContent-Length: " .. n .. "\r\n\r\n") } }
  for _ = 1, n do
    steps[#steps + 1] = { wait = 0.2 }
    steps[#steps + 1] = { send = " " }
  end
  return httpd.script(steps)
end

handlers["trickle-head"] = function()
  local bytes = head(200, "Content-Type: application/json\r\nX-Slow: " .. string.rep("s", 200) .. "\r\n\r\n")
  local steps = {}
  for i = 1, #bytes do
    steps[#steps + 1] = { send = bytes:sub(i, i) }
    steps[#steps + 1] = { wait = 0.2 }
  end
  return httpd.script(steps)
end

handlers.hang = function() return httpd.hang() end

handlers["huge-header"] = function(req, n)
  n = tonumber(n) or 1048576
  return httpd.raw(head(200, "X-Huge: " .. string.rep("h", n) .. "\r\nContent-Length: 2\r\n\r\n{}"), true)
end

handlers["many-headers"] = function(req, n)
  n = tonumber(n) or 10000
  local parts = { head(200) }
  for i = 1, n do parts[#parts + 1] = "X-Rep: " .. i .. "\r\n" end
  parts[#parts + 1] = "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
  return httpd.raw(table.concat(parts), true)
end

handlers["header-bytes"] = function(req, n)
  n = tonumber(n) or 1048576
  local parts = { head(200) }
  local line = "X-Fill: " .. string.rep("f", 90) .. "\r\n" -- 100 bytes
  for _ = 1, math.ceil(n / #line) do parts[#parts + 1] = line end
  parts[#parts + 1] = "Content-Length: 2\r\n\r\n{}"
  return httpd.raw(table.concat(parts), true)
end

handlers["bad-chunk"] = function(req, size)
  return httpd.raw(head(200, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n") ..
    size .. "\r\n{}\r\n0\r\n\r\n", true)
end

handlers["chunk-cut"] = function()
  return httpd.raw(head(200, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n") ..
    "64\r\n{\"Arn\":\"x\"", true)
end

handlers["no-length"] = function(req, hex)
  return httpd.raw(head(200, "Content-Type: application/json\r\nConnection: close\r\n\r\n") .. unhex(hex or ""), true)
end

handlers.redirect = function(req, status)
  return tonumber(status) or 302, { Location = "/json/200/7b7d/", ["Content-Type"] = "text/plain" }, "moved"
end

local function handler(req)
  local path = req.path
  if path == "/_log" then
    if req.method == "DELETE" then
      log = {}
      return 204, {}, ""
    end
    return 200, { ["Content-Type"] = "text/plain" }, table.concat(log, "\n")
  end
  log[#log + 1] = req.method .. " " .. path
  local case, a, b = path:match("^/([^/]+)/?([^/]*)/?([^/]*)")
  local h = handlers[case]
  if not h then return 404, { ["Content-Type"] = "text/plain" }, "no such case" end
  return h(req, a, b)
end

httpd.main{ host = "127.0.0.1", port = 0, handler = handler }
