--- A small HTTP/1.1 server on a luasocket event loop.
-- It serves the emulator and the test stand-ins: many connections at once,
-- keep-alive, Content-Length and chunked request bodies, and responses that
-- can be delayed, written raw, trickled, reset or never sent, without ever
-- blocking the other connections.
--
-- Nothing a client sends can stop the loop: requests are parsed strictly as they
-- arrive (linear time, bounded head, bounded body, chunked bodies included), an
-- error while serving one connection answers 500 on that connection only and is
-- logged, slow or idle connections are closed after a timeout, and the number of
-- connections is capped well under select's FD_SETSIZE (beyond the cap the
-- longest-idle connection makes room; when none is idle the newcomer gets 503).
local socket = require("socket")

local _M = { _VERSION = "0.2" }
local mt = { __index = _M }

local ACTION = {}
local function action(t) return setmetatable(t, ACTION) end

local REASONS = {
  [100] = "Continue",
  [200] = "OK", [201] = "Created", [204] = "No Content", [400] = "Bad Request",
  [401] = "Unauthorized", [402] = "Payment Required", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [411] = "Length Required", [413] = "Payload Too Large", [429] = "Too Many Requests",
  [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

_M.MAX_HEADER_BYTES = 64 * 1024        -- request line + headers (and, apart, chunked trailers)
_M.MAX_BODY_BYTES = 64 * 1024 * 1024   -- default body limit, Content-Length or chunked
_M.HEADER_TIMEOUT = 30                 -- seconds from a request's first byte to the end of its head
_M.BODY_TIMEOUT = 60                   -- seconds from the end of the head to the end of the body
_M.IDLE_TIMEOUT = 60                   -- seconds a connection may sit without a request
_M.MAX_CONNECTIONS = 512               -- open connections (select handles descriptors < 1024)
_M.LINGER = 2                          -- seconds unread request bytes are drained before closing

local MAX_HEADER_BYTES = _M.MAX_HEADER_BYTES
local MAX_LINE = 4096        -- a chunk-size line (with its extensions)
local RECV = 65536           -- bytes asked of each receive
local FD_LIMIT = 1000        -- descriptors at or above this are refused (FD_SETSIZE is 1024)
local ACCEPTS_PER_STEP = 256 -- the loop serves established connections between accept bursts

local concat = table.concat

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
  return concat(out)
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
  if max_conns > FD_LIMIT - 24 then max_conns = FD_LIMIT - 24 end
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

-- The next request starts from scratch (leftover bytes stay in c.inbuf).
local function reset_parser(c)
  c.state = "head"
  c.hparts, c.hlen, c.htail = {}, 0, ""
  c.req, c.parts, c.got, c.remaining, c.line = nil, nil, 0, 0, ""
  c.started, c.deadline = nil, nil
end

-- Answers a request that cannot be served (bad framing, too big, too slow) and closes.
local function refuse(c, status, text)
  c.inbuf = ""
  c.state = "refused"
  queue(c, _M.response_bytes(status, { ["Content-Type"] = "text/plain" }, text or "bad request\n", false))
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
  queue(c, _M.response_bytes(status, headers, body, keep, req.method == "HEAD"))
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

-- The head of a request (without its final blank line) -> req, or false, status, text.
local function parse_head(self, c, head)
  local line_end = head:find("\r\n", 1, true) or (#head + 1)
  local method, target, version = head:sub(1, line_end - 1):match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then return false, 400 end
  local headers = {}
  local pos = line_end + 2
  while pos <= #head do
    local e = head:find("\r\n", pos, true) or (#head + 1)
    local line = head:sub(pos, e - 1)
    local name, value = line:match("^([^:%s]+):[ \t]*(.-)[ \t]*$")
    if not name or line:find("[%z\r\n]") then return false, 400, "malformed header line\n" end
    name = name:lower()
    if headers[name] then headers[name] = headers[name] .. ", " .. value else headers[name] = value end
    pos = e + 2
  end
  local te, cl = headers["transfer-encoding"], headers["content-length"]
  local framing, length = "none", 0
  if te then
    if cl then return false, 400, "both Transfer-Encoding and Content-Length\n" end
    if te:lower() ~= "chunked" then return false, 501, "only the chunked transfer coding is supported\n" end
    framing = "chunked"
  elseif cl then
    -- repeated headers arrive joined: every copy must say the same number
    local first
    for v in (cl .. ","):gmatch("[ \t]*([^,]-)[ \t]*,") do
      if not v:match("^%d+$") then return false, 400, "malformed Content-Length\n" end
      if first and v ~= first then return false, 400, "conflicting Content-Length\n" end
      first = v
    end
    local digits = first:gsub("^0+(%d)", "%1")
    if #digits > 15 then return false, 413, "request body too large\n" end
    length = tonumber(digits)
    if length > self.max_body_bytes then return false, 413, "request body too large\n" end
    if length > 0 then framing = "length" end
  end
  local path, query = target:match("^([^?]*)%??(.*)$")
  local conn_hdr = (headers["connection"] or ""):lower()
  local keep_alive
  if version == "1.0" then keep_alive = conn_hdr:find("keep-alive", 1, true) ~= nil
  else keep_alive = not conn_hdr:find("close", 1, true) end
  return {
    method = method, target = target, path = path, query = query or "", version = version,
    headers = headers, peer = c.peer, conn = c.data, keep_alive = keep_alive,
  }, framing, length
end

local BIG_BODY = 1024 * 1024 -- after a body this big, the next loop step collects garbage

local function body_done(self, c)
  local req = c.req
  req.body = c.parts and concat(c.parts) or ""
  if #req.body >= BIG_BODY then
    -- the pieces are garbage now: free them before the handler makes copies of its own
    c.parts = nil
    collectgarbage("collect")
    self.gc_due = true
  end
  c.requests = c.requests + 1
  req.seq = c.requests
  reset_parser(c)
  return req
end

-- Reads one line ending in CRLF from d at i (accumulated in c.line). Returns the line
-- without CRLF and the next position; nil when more bytes are needed; false when bad.
local function take_line(c, d, i, limit)
  local j = d:find("\n", i, true)
  if not j then
    c.line = c.line .. d:sub(i)
    if #c.line > limit then return false end
    return nil
  end
  local line = c.line .. d:sub(i, j)
  c.line = ""
  if #line > limit + 2 or line:sub(-2) ~= "\r\n" then return false end
  return line:sub(1, -3), j + 1
end

-- Consumes c.inbuf according to the parser state. Returns a complete request (the bytes
-- after it stay in c.inbuf), nil when more bytes are needed, or false, status, text.
local function consume(self, c)
  local d = c.inbuf
  c.inbuf = ""
  local i = 1
  local n = #d
  if c.state == "head" and n > 0 then
    if not c.started then
      c.started = socket.gettime()
      c.deadline = c.started + self.header_timeout
    end
    local s = c.htail .. d
    local at = s:find("\r\n\r\n", 1, true)
    if not at then
      c.hparts[#c.hparts + 1] = d
      c.hlen = c.hlen + n
      c.htail = s:sub(-3)
      if c.hlen > MAX_HEADER_BYTES then return false, 431, "request head too large\n" end
      -- Not HTTP at all (e.g. a TLS ClientHello, first byte 0x16): say so now rather than
      -- wait for a blank line that never comes. A request line starts with a method token.
      if c.hlen <= 64 or #c.hparts == 1 then
        local start = concat(c.hparts):sub(1, 17)
        if not start:match("^%u") or (#start == 17 and not start:find(" ", 1, true)) then return false, 400 end
      end
      return nil
    end
    local stop = at + 3 - #c.htail -- the last byte of the blank line, in d
    if c.hlen + stop > MAX_HEADER_BYTES then return false, 431, "request head too large\n" end
    c.hparts[#c.hparts + 1] = d:sub(1, stop)
    local head = concat(c.hparts)
    c.hparts = nil
    local req, framing, length = parse_head(self, c, head:sub(1, -5))
    if not req then return false, framing, length end
    c.req = req
    i = stop + 1
    if framing == "none" then
      c.inbuf = d:sub(i)
      return body_done(self, c)
    end
    c.deadline = socket.gettime() + self.body_timeout
    c.parts, c.got = {}, 0
    if framing == "length" then
      c.state, c.remaining = "body", length
    else
      c.state = "size"
    end
    if (req.headers["expect"] or ""):lower() == "100-continue" and req.version == "1.1" then
      queue(c, "HTTP/1.1 100 Continue\r\n\r\n")
    end
  end
  while i <= n do
    local st = c.state
    if st == "body" or st == "data" then
      local k = c.remaining
      if k > n - i + 1 then k = n - i + 1 end
      c.parts[#c.parts + 1] = (i == 1 and k == n) and d or d:sub(i, i + k - 1)
      c.got = c.got + k
      c.remaining = c.remaining - k
      i = i + k
      if c.remaining == 0 then
        if st == "body" then
          c.inbuf = d:sub(i)
          return body_done(self, c)
        end
        c.state = "data_end"
      end
    elseif st == "data_end" then
      local need = 2 - #c.line
      c.line = c.line .. d:sub(i, i + need - 1)
      i = i + need
      if #c.line == 2 then
        if c.line ~= "\r\n" then return false, 400, "malformed chunked body\n" end
        c.line, c.state = "", "size"
      elseif c.line ~= "\r" then
        return false, 400, "malformed chunked body\n"
      end
    elseif st == "size" then
      local line, nxt = take_line(c, d, i, MAX_LINE)
      if line == false then return false, 400, "malformed chunk size\n" end
      if line == nil then return nil end
      i = nxt
      -- chunk-size = 1*HEXDIG, then nothing or chunk extensions (";name=value", ignored)
      local hex, ext = line:match("^(%x+)(.*)$")
      if not hex or not (ext == "" or ext:match("^[ \t]*;")) then
        return false, 400, "malformed chunk size\n"
      end
      hex = hex:gsub("^0+(%x)", "%1")
      if #hex > 13 then return false, 413, "request body too large\n" end
      local size = tonumber(hex, 16)
      if c.got + size > self.max_body_bytes then return false, 413, "request body too large\n" end
      if size == 0 then
        c.state, c.tlen = "trailer", 0
      else
        c.state, c.remaining = "data", size
      end
    elseif st == "trailer" then
      local line, nxt = take_line(c, d, i, MAX_HEADER_BYTES)
      if line == false then return false, 431, "chunked trailer too large\n" end
      if line == nil then return nil end
      i = nxt
      c.tlen = c.tlen + #line + 2
      if c.tlen > MAX_HEADER_BYTES then return false, 431, "chunked trailer too large\n" end
      if line == "" then
        c.inbuf = d:sub(i)
        return body_done(self, c)
      end
      if not line:match("^[^:%s]+:") then return false, 400, "malformed chunked trailer\n" end
    else
      return nil
    end
  end
  return nil
end

local function process_input(self, c)
  while not c.busy and not c.hung and not c.closed and not c.close_after_write
        and (#c.inbuf > 0) do
    local req, status, text = consume(self, c)
    if req == nil then return end
    if req == false then
      if (c.got or 0) >= BIG_BODY then self.gc_due = true end
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
  for _ = 1, ACCEPTS_PER_STEP do
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
      s:send(_M.response_bytes(503, { ["Content-Type"] = "text/plain", ["Retry-After"] = "1" },
        "too many connections\n", false))
      s:close()
      self.stats.refused = self.stats.refused + 1
    else
      s:settimeout(0)
      s:setoption("tcp-nodelay", true)
      local ip, port = s:getpeername()
      local c = { sock = s, inbuf = "", out = {}, opos = 1, peer = tostring(ip) .. ":" .. tostring(port),
                  data = {}, requests = 0, last_active = socket.gettime() }
      reset_parser(c)
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
  for _, s in ipairs(r or {}) do
    if s == self.sock then
      local ok, err = pcall(accept_some, self)
      if not ok then log_error(self, "accept", err) end
    else
      local c = self.conns[s]
      if c then guarded(self, c, read_conn) end
    end
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
