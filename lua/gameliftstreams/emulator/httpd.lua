--- A small HTTP/1.1 server on a luasocket event loop.
-- It serves the emulator and the test stand-ins: many connections at once,
-- keep-alive, Content-Length and chunked request bodies, and responses that
-- can be delayed, written raw, trickled, reset or never sent, without ever
-- blocking the other connections.
local socket = require("socket")

local _M = { _VERSION = "0.1" }
local mt = { __index = _M }

local ACTION = {}
local function action(t) return setmetatable(t, ACTION) end

local REASONS = {
  [200] = "OK", [201] = "Created", [204] = "No Content", [400] = "Bad Request",
  [401] = "Unauthorized", [402] = "Payment Required", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [411] = "Length Required", [413] = "Payload Too Large", [429] = "Too Many Requests",
  [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}

local MAX_HEADER_BYTES = 64 * 1024
local MAX_BODY_BYTES = 64 * 1024 * 1024
local HEADER_TIMEOUT = 30 -- seconds a started request may take to arrive whole

--- Builds the bytes of a response. headers: name -> value or list of values.
-- omit_body (HEAD): the headers announce the body's length, the body is not sent.
function _M.response_bytes(status, headers, body, keep_alive, omit_body)
  body = body or ""
  local out = { string.format("HTTP/1.1 %d %s\r\n", status, REASONS[status] or "Status") }
  local has_length = false
  for name, value in pairs(headers or {}) do
    if name:lower() == "content-length" then has_length = true end
    if type(value) == "table" then
      for _, v in ipairs(value) do out[#out + 1] = name .. ": " .. tostring(v) .. "\r\n" end
    else
      out[#out + 1] = name .. ": " .. tostring(value) .. "\r\n"
    end
  end
  if not has_length then out[#out + 1] = "Content-Length: " .. #body .. "\r\n" end
  if not keep_alive then out[#out + 1] = "Connection: close\r\n" end
  out[#out + 1] = "\r\n"
  if not omit_body then out[#out + 1] = body end
  return table.concat(out)
end

--- Answer after `seconds`, without blocking other connections.
function _M.delay(seconds, status, headers, body)
  return action({ kind = "delay", seconds = seconds, status = status, headers = headers, body = body })
end

--- Write `bytes` verbatim; close the connection afterwards when `close_after`.
function _M.raw(bytes, close_after)
  return action({ kind = "script", steps = { { send = bytes }, close_after and { close = true } or nil } })
end

--- Close abruptly: the peer sees a reset.
function _M.reset()
  return action({ kind = "script", steps = { { reset = true } } })
end

--- Never answer; the connection stays open until the peer gives up.
function _M.hang()
  return action({ kind = "hang" })
end

--- A sequence of steps: { send = bytes } | { wait = seconds } | { close = true } | { reset = true }.
function _M.script(steps)
  return action({ kind = "script", steps = steps })
end

function _M.is_action(v) return getmetatable(v) == ACTION end

--- Creates a listening server. opts: host, port (0: ephemeral), handler(req).
function _M.new(opts)
  assert(type(opts) == "table" and type(opts.handler) == "function", "httpd.new: handler required")
  local srv, err = socket.tcp()
  if not srv then return nil, err end
  srv:setoption("reuseaddr", true)
  local ok
  ok, err = srv:bind(opts.host or "127.0.0.1", opts.port or 0)
  if not ok then srv:close(); return nil, "bind: " .. tostring(err) end
  ok, err = srv:listen(opts.backlog or 256)
  if not ok then srv:close(); return nil, "listen: " .. tostring(err) end
  srv:settimeout(0)
  local _, port = srv:getsockname()
  return setmetatable({
    sock = srv, port = tonumber(port), host = opts.host or "127.0.0.1",
    handler = opts.handler, conns = {}, timers = {}, stopped = false,
    parent_pid = opts.parent_pid, max_seconds = opts.max_seconds,
    log = opts.log, header_timeout = opts.header_timeout or HEADER_TIMEOUT,
  }, mt)
end

local function close_conn(self, c, abortive)
  if c.closed then return end
  c.closed = true
  if abortive then pcall(c.sock.setoption, c.sock, "linger", { on = true, timeout = 0 }) end
  c.sock:close()
  self.conns[c.sock] = nil
end

local function add_timer(self, at, fn)
  self.timers[#self.timers + 1] = { at = at, fn = fn }
end

local function queue(c, bytes)
  c.out[#c.out + 1] = bytes
end

-- Runs a script action step by step; waits become timers.
local function run_script(self, c, steps, i)
  i = i or 1
  while not c.closed do
    local step = steps[i]
    if not step then c.busy = false; return end
    if step.send then
      queue(c, step.send)
    elseif step.wait then
      add_timer(self, socket.gettime() + step.wait, function() run_script(self, c, steps, i + 1) end)
      return
    elseif step.close then
      c.close_after_write = true
      return
    elseif step.reset then
      c.out = {}
      close_conn(self, c, true)
      return
    end
    i = i + 1
  end
end

local function finish(self, c, req, status, headers, body)
  if c.closed then return end
  local keep = req.keep_alive and not c.close_after_write
  queue(c, _M.response_bytes(status, headers, body, keep, req.method == "HEAD"))
  if not keep then c.close_after_write = true end
  c.busy = false
end

local function dispatch(self, c, req)
  c.busy = true
  local ok, status, headers, body = pcall(self.handler, req)
  if not ok then
    io.stderr:write("httpd: handler error: ", tostring(status), "\n")
    return finish(self, c, req, 500, { ["Content-Type"] = "text/plain" }, "internal error\n")
  end
  if _M.is_action(status) then
    local a = status
    if a.kind == "delay" then
      add_timer(self, socket.gettime() + a.seconds, function()
        finish(self, c, req, a.status, a.headers, a.body)
      end)
    elseif a.kind == "hang" then
      c.hung = true
    else
      run_script(self, c, a.steps)
    end
    return
  end
  return finish(self, c, req, status or 200, headers, body)
end

-- Parses one request from c.inbuf if complete. Returns req, or nil (need more), or false, status (bad).
local function parse_request(c)
  local buf = c.inbuf
  local head_end = buf:find("\r\n\r\n", 1, true)
  if not head_end then
    if #buf > MAX_HEADER_BYTES then return false, 431 end
    -- Not HTTP at all (e.g. a TLS ClientHello, first byte 0x16): say so now rather than
    -- wait for a blank line that never comes. A request line starts with a method token.
    local start = buf:sub(1, 17)
    if not start:match("^%u") or (#start == 17 and not start:find(" ", 1, true)) then return false, 400 end
    return nil
  end
  if head_end > MAX_HEADER_BYTES then return false, 431 end
  local head = buf:sub(1, head_end - 1)
  local line_end = head:find("\r\n", 1, true) or (#head + 1)
  local method, target, version = head:sub(1, line_end - 1):match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then return false, 400 end
  local headers = {}
  for name, value in head:sub(line_end + 2):gmatch("([^:\r\n]+):[ \t]*([^\r\n]*)") do
    name = name:lower()
    value = value:gsub("[ \t]+$", "")
    if headers[name] then headers[name] = headers[name] .. ", " .. value else headers[name] = value end
  end
  local body_start = head_end + 4
  local body, consumed
  if headers["transfer-encoding"] and headers["transfer-encoding"]:lower():find("chunked", 1, true) then
    local parts, pos = {}, body_start
    while true do
      local size_end = buf:find("\r\n", pos, true)
      if not size_end then return nil end
      local size = tonumber(buf:sub(pos, size_end - 1):match("^%x+"), 16)
      if not size then return false, 400 end
      if size == 0 then
        local trailer_end = buf:find("\r\n\r\n", size_end - 2, true)
        if not trailer_end then return nil end
        consumed = trailer_end + 3
        break
      end
      if #buf < size_end + 2 + size + 1 then return nil end
      parts[#parts + 1] = buf:sub(size_end + 2, size_end + 1 + size)
      pos = size_end + 2 + size + 2
    end
    body = table.concat(parts)
  else
    local len = tonumber(headers["content-length"] or "0")
    if not len or len < 0 then return false, 400 end
    if len > MAX_BODY_BYTES then return false, 413 end
    if #buf < body_start + len - 1 then return nil end
    body = buf:sub(body_start, body_start + len - 1)
    consumed = body_start + len - 1
  end
  c.inbuf = buf:sub(consumed + 1)
  local path, query = target:match("^([^?]*)%??(.*)$")
  local conn_hdr = (headers["connection"] or ""):lower()
  local keep_alive
  if version == "1.0" then keep_alive = conn_hdr:find("keep-alive", 1, true) ~= nil
  else keep_alive = not conn_hdr:find("close", 1, true) end
  c.requests = c.requests + 1
  return {
    method = method, target = target, path = path, query = query or "", version = version,
    headers = headers, body = body, peer = c.peer, conn = c.data, keep_alive = keep_alive,
    seq = c.requests,
  }
end

local function process_input(self, c)
  while not c.busy and not c.hung and not c.closed and not c.close_after_write and #c.inbuf > 0 do
    local req, bad = parse_request(c)
    if req == nil then return end
    c.partial_since = #c.inbuf > 0 and socket.gettime() or nil
    if req == false then
      queue(c, _M.response_bytes(bad, { ["Content-Type"] = "text/plain" }, "bad request\n", false))
      c.close_after_write = true
      return
    end
    dispatch(self, c, req)
  end
end

local function accept_all(self)
  while true do
    local s = self.sock:accept()
    if not s then return end
    s:settimeout(0)
    s:setoption("tcp-nodelay", true)
    local ip, port = s:getpeername()
    local c = { sock = s, inbuf = "", out = {}, peer = tostring(ip) .. ":" .. tostring(port),
                data = {}, requests = 0 }
    self.conns[s] = c
  end
end

local function read_conn(self, c)
  local data, err, partial = c.sock:receive(65536)
  data = data or partial
  if data and #data > 0 then
    if not c.hung then
      if c.inbuf == "" then c.partial_since = socket.gettime() end
      c.inbuf = c.inbuf .. data
    end
  end
  if err == "closed" then
    close_conn(self, c)
    return
  end
  process_input(self, c)
end

local function write_conn(self, c)
  while #c.out > 0 and not c.closed do
    local chunk = c.out[1]
    local last, err, partial = c.sock:send(chunk)
    local sent = last or partial or 0
    if sent >= #chunk then
      table.remove(c.out, 1)
    else
      c.out[1] = chunk:sub(sent + 1)
      if err == "closed" then close_conn(self, c) end
      return
    end
  end
  if #c.out == 0 and c.close_after_write then
    close_conn(self, c)
  elseif #c.out == 0 then
    process_input(self, c)
  end
end

local function parent_alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if f then f:close(); return true end
  return false
end

--- One loop iteration: waits at most `timeout` seconds for activity.
function _M:step(timeout)
  local now = socket.gettime()
  -- fire due timers (they may add more)
  if #self.timers > 0 then
    local due, later = {}, {}
    for _, t in ipairs(self.timers) do
      if t.at <= now then due[#due + 1] = t else later[#later + 1] = t end
    end
    self.timers = later
    table.sort(due, function(a, b) return a.at < b.at end)
    for _, t in ipairs(due) do t.fn() end
  end
  local wait = timeout or 1
  for _, t in ipairs(self.timers) do
    local d = t.at - now
    if d < wait then wait = d end
  end
  if wait < 0 then wait = 0 end
  local readers, writers = { self.sock }, {}
  for s, c in pairs(self.conns) do
    readers[#readers + 1] = s
    if #c.out > 0 then writers[#writers + 1] = s end
  end
  local r, w = socket.select(readers, writers, wait)
  for _, s in ipairs(w or {}) do
    local c = self.conns[s]
    if c then write_conn(self, c) end
  end
  for _, s in ipairs(r or {}) do
    if s == self.sock then
      accept_all(self)
    else
      local c = self.conns[s]
      if c then read_conn(self, c) end
    end
  end
  -- answers produced this round go out without waiting for the next select
  now = socket.gettime()
  for _, c in pairs(self.conns) do
    if #c.out > 0 then write_conn(self, c) end
    -- a request started but never finished: 408 and close (one slow client holds nothing)
    if not c.closed and not c.busy and not c.hung and not c.close_after_write and #c.inbuf > 0
        and c.partial_since and now - c.partial_since > self.header_timeout then
      c.inbuf = ""
      queue(c, _M.response_bytes(408, { ["Content-Type"] = "text/plain" }, "request timeout\n", false))
      c.close_after_write = true
      write_conn(self, c)
    end
  end
end

--- Serves until stop(), the parent process (GLS_PARENT_PID) exits, or max_seconds pass.
function _M:run()
  local ppid = self.parent_pid or os.getenv("GLS_PARENT_PID")
  local limit = self.max_seconds or tonumber(os.getenv("GLS_SERVER_MAX_SECONDS") or "")
  local started = socket.gettime()
  local last_check = started
  while not self.stopped do
    self:step(0.25)
    local now = socket.gettime()
    if now - last_check >= 1 then
      last_check = now
      if ppid and ppid ~= "" and not parent_alive(ppid) then break end
      if limit and now - started > limit then break end
    end
  end
  self:close()
end

function _M:stop()
  self.stopped = true
end

function _M:close()
  for _, c in pairs(self.conns) do close_conn(self, c) end
  if self.sock then self.sock:close(); self.sock = nil end
end

--- For server scripts: listen, print "listening <port>" (the line spec/helpers.lua waits for), serve.
function _M.main(opts)
  local srv = assert(_M.new(opts))
  io.stdout:write("listening ", srv.port, "\n")
  io.stdout:flush()
  srv:run()
end

return _M
