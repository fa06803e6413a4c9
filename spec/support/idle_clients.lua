-- Holds many connections open to a server, from a process of its own (so the spec's own
-- descriptor limit does not matter): lua5.4 idle_clients.lua PORT N [MODE]
-- MODE "idle" (default): connect and send nothing. "slowloris": send a request head one
-- byte every half second, never finishing it. Prints "opened K", then holds on until
-- killed (or until its parent, GLS_PARENT_PID, is gone).
local socket = require("socket")

local port, n, mode = tonumber(arg[1]), tonumber(arg[2]), arg[3] or "idle"
local socks, opened = {}, 0
for i = 1, n do
  local s = socket.tcp()
  s:settimeout(5)
  if s:connect("127.0.0.1", port) then
    opened = opened + 1
    socks[#socks + 1] = s
  else
    s:close()
  end
  if i % 100 == 0 then socket.sleep(0.01) end
end
io.stdout:write("opened ", opened, "\n")
io.stdout:flush()

local ppid = os.getenv("GLS_PARENT_PID")
local head = "GET /slow HTTP/1.1\r\nHost: h\r\nX-Never-Ends: "
local pos = 0
for _, s in ipairs(socks) do s:settimeout(0) end
while true do
  socket.sleep(0.5)
  local alive = ppid and io.open("/proc/" .. ppid .. "/stat")
  if ppid and not alive then os.exit(0) end
  if alive then alive:close() end
  if mode == "slowloris" then
    pos = pos + 1
    local byte = pos <= #head and head:sub(pos, pos) or "a"
    for _, s in ipairs(socks) do s:send(byte) end
  end
end
