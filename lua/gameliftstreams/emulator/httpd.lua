--- A small HTTP/1.1 server on a luasocket event loop.
-- It serves the emulator and the test stand-ins: many connections at once,
-- keep-alive, Content-Length and chunked request bodies, and responses that
-- can be delayed, written raw, trickled, reset or never sent, without ever
-- blocking the other connections.
--
-- Nothing a client sends can stop the loop: requests are parsed strictly as they
-- arrive (http1.lua: linear time, bounded head, bounded body, chunked bodies too), an
-- error while serving one connection answers 500 on that connection only and is
-- logged, slow or idle connections are closed after a timeout, and the number of
-- connections is capped well under select's FD_SETSIZE (beyond the cap the
-- longest-idle connection makes room; when none is idle the newcomer gets 503).
-- (Just over 500 lines: the loop, the connections' limits and the response actions
-- share each connection's state; the request parser is apart, in http1.lua.)
local socket = require("socket")
local http1 = require("gameliftstreams.emulator.http1")

local _M = { _VERSION = "0.2" }
local mt = { __index = _M }

local ACTION = {}
local function action(t) return setmetatable(t, ACTION) end

_M.MAX_HEADER_BYTES = http1.MAX_HEADER_BYTES -- request line + headers (and, apart, chunked trailers)
_M.MAX_BODY_BYTES = 64 * 1024 * 1024   -- default body limit, Content-Length or chunked
_M.HEADER_TIMEOUT = 30                 -- seconds from a request's first byte to the end of its head
_M.BODY_TIMEOUT = 60                   -- seconds from the end of the head to the end of the body
_M.IDLE_TIMEOUT = 60                   -- seconds a connection may sit without a request
_M.MAX_CONNECTIONS = 512               -- open connections (select handles descriptors < 1024)
_M.LINGER = 2                          -- seconds unread request bytes are drained before closing

local MAX_HEADER_BYTES = _M.MAX_HEADER_BYTES
local RECV = 65536           -- bytes asked of each receive
local FD_LIMIT = 1000        -- descriptors at or above this are refused (FD_SETSIZE is 1024)
local ACCEPTS_PER_STEP = 256 -- the loop serves established connections between accept bursts

_M.response_bytes = http1.response_bytes
local response_bytes = http1.response_bytes

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

--- The soft limit on open descriptors of this process (Linux /proc), or nil.
function _M.fd_limit()
  local f = io.open("/proc/self/limits", "r")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("Max open files%s+(%d+)"))
end

--- How many descriptors this process has open (counted by a child that inherits them:
-- an estimate on the high side), or nil.
function _M.open_fds()
  local p = io.popen("ls /proc/self/fd 2>/dev/null", "r")
  if not p then return nil end
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n > 0 and n or nil
end

local function log_error(self, what, err)
  local msg = "httpd: " .. what .. ": " .. tostring(err) .. "\n"
  if self.log then pcall(self.log, msg) else io.stderr:write(msg) end
end

local function positive(v, default)
  v = tonumber(v)
  if v and v > 0 then return v end
  return default
end

--- Creates a listening server. opts: host, port (0: ephemeral), handler(req), and the limits
-- header_timeout, body_timeout, idle_timeout (seconds), max_connections, max_body_bytes, linger.
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
  local max_conns = math.floor(positive(opts.max_connections, _M.MAX_CONNECTIONS))
  -- the cap stays under select's limit and under the process's descriptor limit (ulimit -n)
  if max_conns > FD_LIMIT - 24 then max_conns = FD_LIMIT - 24 end
  local fds = _M.fd_limit()
  if fds then
    -- descriptors already open (inherited ones too) are not available to connections
    local free = fds - (_M.open_fds() or 24) - 8
    if max_conns > free then max_conns = math.max(free, 1) end
  end
  return setmetatable({
    sock = srv, port = tonumber(port), host = opts.host or "127.0.0.1",
    handler = opts.handler, conns = {}, nconns = 0, timers = {}, stopped = false,
    parent_pid = opts.parent_pid, max_seconds = opts.max_seconds, log = opts.log,
    header_timeout = positive(opts.header_timeout, _M.HEADER_TIMEOUT),
    body_timeout = positive(opts.body_timeout, _M.BODY_TIMEOUT),
    idle_timeout = positive(opts.idle_timeout, _M.IDLE_TIMEOUT),
    max_connections = max_conns,
    max_body_bytes = positive(opts.max_body_bytes, _M.MAX_BODY_BYTES),
    linger = tonumber(opts.linger) or _M.LINGER,
    stats = { accepted = 0, evicted = 0, refused = 0, timed_out = 0, errors = 0 },
  }, mt)
end

local function close_conn(self, c, abortive)
  if c.closed then return end
  c.closed = true
  if abortive then pcall(c.sock.setoption, c.sock, "linger", { on = true, timeout = 0 }) end
  c.sock:close()
  if self.conns[c.sock] then
    self.conns[c.sock] = nil
    self.nconns = self.nconns - 1
  end
end

local function add_timer(self, at, fn)
  self.timers[#self.timers + 1] = { at = at, fn = fn }
end

local function queue(c, bytes)
  if bytes ~= "" then c.out[#c.out + 1] = bytes end
end

-- Answers a request that cannot be served (bad framing, too big, too slow) and closes.
local function refuse(c, status, text)
  c.inbuf = ""
  c.state = "refused"
  queue(c, response_bytes(status, { ["Content-Type"] = "text/plain" }, text or "bad request\n", false))
  c.close_after_write = true
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
      c.out, c.opos = {}, 1
      close_conn(self, c, true)
      return
    end
    i = i + 1
  end
end

local function valid_status(s)
  return type(s) == "number" and s >= 100 and s <= 599 and math.floor(s) == s
end

local function finish(self, c, req, status, headers, body)
  if c.closed then return end
  local keep = req.keep_alive and not c.close_after_write
  if not valid_status(status) or (headers ~= nil and type(headers) ~= "table")
      or (body ~= nil and type(body) ~= "string") then
    log_error(self, "handler returned no valid response", tostring(status))
    status, headers, body, keep = 500, { ["Content-Type"] = "text/plain" }, "internal error\n", false
  end
  queue(c, response_bytes(status, headers, body, keep, req.method == "HEAD"))
  if not keep then c.close_after_write = true end
  c.busy = false
  c.last_active = socket.gettime()
end

local function dispatch(self, c, req)
  c.busy = true
  local ok, status, headers, body = pcall(self.handler, req)
  if not ok then
    self.stats.errors = self.stats.errors + 1
    log_error(self, "handler error", status)
    return finish(self, c, req, 500, { ["Content-Type"] = "text/plain" }, "internal error\n")
  end
  if _M.is_action(status) then
    local a = status
    if a.kind == "delay" then
      add_timer(self, socket.gettime() + (tonumber(a.seconds) or 0), function()
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

local function process_input(self, c)
  while not c.busy and not c.hung and not c.closed and not c.close_after_write
        and (#c.inbuf > 0) do
    local req, status, text = http1.consume(self, c)
    if req == nil then return end
    if req == false then
      if (c.got or 0) >= http1.BIG_BODY then self.gc_due = true end
      refuse(c, status, text)
      return
    end
    c.last_active = socket.gettime()
    dispatch(self, c, req)
  end
end

-- A connection that may be closed to make room: no request dispatched, nothing to write.
local function evictable(c)
  return not c.busy and not c.hung and #c.out == 0 and not c.closed
end

local function make_room(self)
  local victim, victim_partial
  for _, c in pairs(self.conns) do
    if evictable(c) then
      local partial = c.started ~= nil and not c.lingering
      -- idle connections go first, then the least recently active
      if not victim or (victim_partial and not partial)
          or (victim_partial == partial and c.last_active < victim.last_active) then
        victim, victim_partial = c, partial
      end
    end
  end
  if victim then
    close_conn(self, victim)
    self.stats.evicted = self.stats.evicted + 1
    return true
  end
  return false
end

local function accept_some(self)
  -- a burst closes at most a quarter of the cap to make room, so that a connection accepted
  -- in it is read (next step) before it could be the longest idle
  local n = math.min(ACCEPTS_PER_STEP, math.max(math.floor(self.max_connections / 4), 1))
  for _ = 1, n do
    local s, err = self.sock:accept()
    if not s then
      -- out of descriptors (EMFILE): free one, or the listening socket would spin
      if err and err ~= "timeout" then make_room(self) end
      return
    end
    local fd = s.getfd and s:getfd() or 0
    if fd >= FD_LIMIT then
      s:close()
      self.stats.refused = self.stats.refused + 1
    elseif self.nconns >= self.max_connections and not make_room(self) then
      -- every connection is serving a request: tell the newcomer to come back
      s:settimeout(0)
      s:send(response_bytes(503, { ["Content-Type"] = "text/plain", ["Retry-After"] = "1" },
        "too many connections\n", false))
      s:close()
      self.stats.refused = self.stats.refused + 1
    else
      s:settimeout(0)
      s:setoption("tcp-nodelay", true)
      local ip, port = s:getpeername()
      local c = { sock = s, inbuf = "", out = {}, opos = 1, peer = tostring(ip) .. ":" .. tostring(port),
                  data = {}, requests = 0, last_active = socket.gettime() }
      http1.reset(c)
      self.conns[s] = c
      self.nconns = self.nconns + 1
      self.stats.accepted = self.stats.accepted + 1
    end
  end
end

-- After the last response: stop sending, then drain what the peer still sends for a
-- moment, so that it reads our answer rather than a reset.
local function start_linger(self, c)
  if self.linger <= 0 or c.lingering then return close_conn(self, c) end
  c.lingering = true
  c.linger_until = socket.gettime() + self.linger
  c.sock:shutdown("send")
end

local function read_conn(self, c)
  local data, err, partial = c.sock:receive(RECV)
  data = data or partial
  if data and #data > 0 then
    c.last_active = socket.gettime()
    if not c.hung and not c.lingering and not c.close_after_write then
      c.inbuf = (c.inbuf == "") and data or (c.inbuf .. data)
    end
  end
  if err == "closed" or (err and err ~= "timeout") then
    close_conn(self, c)
    return
  end
  process_input(self, c)
end

local function write_conn(self, c)
  while #c.out > 0 and not c.closed do
    local chunk = c.out[1]
    local last, err, partial = c.sock:send(chunk, c.opos)
    local sent = last or partial or (c.opos - 1)
    if sent >= #chunk then
      table.remove(c.out, 1)
      c.opos = 1
    else
      c.opos = sent + 1
      if err and err ~= "timeout" then close_conn(self, c) end
      return
    end
  end
  if c.closed then return end
  if #c.out == 0 and c.close_after_write then
    start_linger(self, c)
  elseif #c.out == 0 then
    process_input(self, c)
  end
end

-- Runs fn(self, c) for one connection; an error closes that connection only.
local function guarded(self, c, fn)
  local ok, err = pcall(fn, self, c)
  if ok then return end
  self.stats.errors = self.stats.errors + 1
  log_error(self, "error serving " .. tostring(c.peer), err)
  if c.closed then return end
  if not c.busy and not c.hung and #c.out == 0 and not c.close_after_write then
    refuse(c, 500, "internal error\n")
    pcall(write_conn, self, c)
  else
    close_conn(self, c)
  end
end

local function check_timeouts(self, c, now)
  if c.closed then return end
  if c.lingering then
    if now >= c.linger_until then close_conn(self, c) end
    return
  end
  if c.busy or c.hung or c.close_after_write then return end
  if c.started then
    -- a request started but not finished in time: 408 and close (slowloris holds nothing)
    if now > c.deadline then
      self.stats.timed_out = self.stats.timed_out + 1
      refuse(c, 408, "request timeout\n")
      write_conn(self, c)
    end
  elseif #c.out == 0 and #c.inbuf == 0 and now - c.last_active > self.idle_timeout then
    self.stats.timed_out = self.stats.timed_out + 1
    close_conn(self, c)
  end
end

local function wait_select(self, wait)
  local readers, writers = { self.sock }, {}
  for s, c in pairs(self.conns) do
    -- a connection waiting on its handler is read only to notice a close, and only
    -- while little is buffered (back-pressure on a client that pipelines without end)
    if not c.busy or #c.inbuf < MAX_HEADER_BYTES then readers[#readers + 1] = s end
    if #c.out > 0 then writers[#writers + 1] = s end
  end
  local ok, r, w = pcall(socket.select, readers, writers, wait)
  if ok then return r, w end
  -- should not happen (descriptors are kept under FD_LIMIT): drop what select refused
  log_error(self, "select", r)
  for s, c in pairs(self.conns) do
    if not s.getfd or s:getfd() >= FD_LIMIT then close_conn(self, c) end
  end
  return {}, {}
end

--- One loop iteration: waits at most `timeout` seconds for activity.
function _M:step(timeout)
  if self.gc_due then
    -- a big body and its copies are garbage once answered: give the memory back now
    -- rather than when the heap has doubled
    self.gc_due = false
    collectgarbage("collect")
  end
  local now = socket.gettime()
  -- fire due timers (they may add more)
  if #self.timers > 0 then
    local due, later = {}, {}
    for _, t in ipairs(self.timers) do
      if t.at <= now then due[#due + 1] = t else later[#later + 1] = t end
    end
    self.timers = later
    table.sort(due, function(a, b) return a.at < b.at end)
    for _, t in ipairs(due) do
      local ok, err = pcall(t.fn)
      if not ok then
        self.stats.errors = self.stats.errors + 1
        log_error(self, "timer", err)
      end
    end
  end
  local wait = timeout or 1
  for _, t in ipairs(self.timers) do
    local d = t.at - now
    if d < wait then wait = d end
  end
  if wait < 0 then wait = 0 end
  local r, w = wait_select(self, wait)
  for _, s in ipairs(w or {}) do
    local c = self.conns[s]
    if c then guarded(self, c, write_conn) end
  end
  -- established connections are read before new ones are accepted: a request that has
  -- arrived is taken in before its connection could be closed to make room
  local accept = false
  for _, s in ipairs(r or {}) do
    if s == self.sock then
      accept = true
    else
      local c = self.conns[s]
      if c then guarded(self, c, read_conn) end
    end
  end
  if accept then
    local ok, err = pcall(accept_some, self)
    if not ok then log_error(self, "accept", err) end
  end
  -- answers produced this round go out without waiting for the next select
  now = socket.gettime()
  local list = {}
  for _, c in pairs(self.conns) do list[#list + 1] = c end
  for _, c in ipairs(list) do
    if not c.closed and (#c.out > 0 or (c.close_after_write and not c.lingering)) then
      guarded(self, c, write_conn)
    end
    if not c.closed then
      local ok, err = pcall(check_timeouts, self, c, now)
      if not ok then log_error(self, "timeout check", err); close_conn(self, c) end
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
    local ok, err = pcall(self.step, self, 0.25)
    if not ok then
      -- the loop itself must not die: log, breathe, go on
      log_error(self, "event loop", err)
      socket.sleep(0.01)
    end
    local now = socket.gettime()
    if now - last_check >= 1 then
      last_check = now
      if ppid and ppid ~= "" and not _M.process_alive(ppid) then break end
      if limit and now - started > limit then break end
    end
  end
  self:close()
end

function _M.process_alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if f then f:close(); return true end
  return false
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
