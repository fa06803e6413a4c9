-- A forward proxy that only speaks CONNECT, as HTTPS goes through proxies: it answers
-- "200 Connection established" and relays bytes both ways. Every host name is taken to
-- mean 127.0.0.1 (the port is kept), so tests can use a name that does not resolve.
-- Each CONNECT target is appended, one per line, to the file named by arg[1].
-- Prints "listening PORT" once ready (spec/helpers.lua spawn_server).
local socket = require("socket")

local log_path = assert(arg[1], "usage: connect_proxy.lua LOGFILE")
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
io.write("listening ", port, "\n")
io.flush()

local function log(line)
  local f = assert(io.open(log_path, "a"))
  f:write(line, "\n")
  f:close()
end

-- Relays until either side closes.
local function relay(a, b)
  a:settimeout(0)
  b:settimeout(0)
  local peer = { [a] = b, [b] = a }
  while true do
    local readable = socket.select({ a, b }, nil, 30)
    if #readable == 0 then return end
    for _, s in ipairs(readable) do
      local data, err, partial = s:receive(65536)
      data = data or partial
      if data and #data > 0 then
        local out = peer[s]
        out:settimeout(5)
        local ok = out:send(data)
        out:settimeout(0)
        if not ok then return end
      end
      if err == "closed" then return end
    end
  end
end

while true do
  local client = server:accept()
  if client then
    client:settimeout(5)
    local line = client:receive("*l") or ""
    repeat
      local h = client:receive("*l")
    until not h or h == ""
    local host, target_port = line:match("^CONNECT ([^%s:]+):(%d+) HTTP/1%.%d$")
    if not host then
      client:send("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    else
      log(host .. ":" .. target_port)
      local upstream = socket.connect("127.0.0.1", tonumber(target_port))
      if not upstream then
        client:send("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      else
        client:send("HTTP/1.1 200 Connection established\r\n\r\n")
        relay(client, upstream)
        upstream:close()
      end
    end
    client:close()
  end
end
