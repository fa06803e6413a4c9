--- HTTP/1.1 over OpenResty cosockets: the transport `sched.http` uses inside nginx.
-- Same request and result shapes as `core.http_pool` (see docs/INTERNALS.md):
--   req = { method=, url=, headers = { name = "v" | { "v1", "v2" } }, body=, timeout=,
--           connect_timeout=, max_response_bytes= (default 16 MiB), insecure= }
--   -> { status=, headers = { ["lower-name"] = "v" (repeats joined with ", ") }, body= }
--   or nil, error object (NetworkError / Timeout / TLSError / ResponseTooLarge, with .reason).
-- Connections are kept alive in the cosocket pool (per scheme, host, port).
-- TLS verifies the peer unless req.insecure: nginx needs `lua_ssl_trusted_certificate`
-- (e.g. /etc/ssl/certs/ca-certificates.crt); host names need a `resolver` directive.
-- Timeouts as libcurl's: `timeout` (seconds) bounds the whole exchange (connect, TLS,
-- send, every read), absent or 0 = no limit; `connect_timeout` bounds the connect and
-- TLS handshake, absent or 0 = 10 s.
local _M = { _VERSION = "0.1" }

local type, tonumber, tostring, pairs, ipairs, setmetatable = type, tonumber, tostring, pairs, ipairs, setmetatable
local concat = table.concat
local byte, find, lower, sub = string.byte, string.find, string.lower, string.sub

local DEFAULT_MAX = 16 * 1024 * 1024
local KEEPALIVE_MS = 60000
local POOL_SIZE = 64

local errors
local function fail(code, reason, message)
  if not errors then errors = require("gameliftstreams.errors") end
  -- retryable as the SDK's one classifier says (retry.lua): a connection failure or a timeout
  local e = errors.new{ code = code, reason = reason, message = message }
  e.retryable = require("gameliftstreams.retry").classify(e) ~= nil
  return nil, e
end

-- "0.3", "30", "1.25": seconds as the C core writes them (%.3g).
local function secs(v) return string.format("%.3g", tonumber(v) or 0) end

-- Maps a cosocket error string to our codes. A timeout says which limit ran out, as the
-- libcurl transport does ("request timed out (timeout 0.3 s)").
local function io_fail(err, reason, what, timeout)
  if err == "timeout" then
    return fail("Timeout", "timeout", what .. ": request timed out (timeout " .. secs(timeout) .. " s)")
  end
  if err == "closed" then
    -- closed in the middle of a reply is "partial" (as the curl transport says), else "reset"
    return fail("NetworkError", (reason == "send" or reason == "partial") and reason or "reset",
      what .. ": connection closed by the peer")
  end
  return fail("NetworkError", reason, what .. ": " .. tostring(err))
end

--- Splits a URL into scheme, host, port, request target. nil, message when bad.
function _M.parse_url(url)
  if type(url) ~= "string" then return nil, "url must be a string" end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "bad url" end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil, "unsupported scheme " .. scheme end
  local authority, target = rest:match("^([^/?#]*)(.*)$")
  target = target:gsub("#.*$", "")
  if target == "" then target = "/" elseif target:sub(1, 1) == "?" then target = "/" .. target end
  local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  if not host or host == "" then return nil, "bad url host" end
  local default = scheme == "https" and 443 or 80
  port = tonumber(port) or default
  local host_header = authority
  if port == default then host_header = authority:gsub(":%d+$", "") end
  return { scheme = scheme, host = host, port = port, target = target, host_header = host_header }
end

local NO_LIMIT_MS = 2147483647 -- what a cosocket accepts as its longest timeout
local DEFAULT_CONNECT = 10

-- A deadline over a whole exchange: `left()` is the milliseconds that remain for the next
-- socket operation (at least 1), or nil once it has passed.
local function new_deadline(ngx, seconds)
  seconds = tonumber(seconds) or 0
  if seconds <= 0 then return function() return NO_LIMIT_MS end end
  ngx.update_time()
  local at = ngx.now() + seconds
  return function()
    local left = at - ngx.now()
    if left <= 0 then return nil end
    return math.max(1, math.floor(left * 1000 + 0.5))
  end
end

local function timed_out(timeout)
  return fail("Timeout", "timeout", "request timed out (timeout " .. secs(timeout) .. " s)")
end

-- Gives the next socket operation what remains of the deadline: true, or nil and a
-- Timeout error once it has passed.
local function arm(sock, left, timeout)
  local ms = left()
  if not ms then return timed_out(timeout) end
  sock:settimeout(ms)
  return true
end

-- libcurl's limits on response headers, kept here too so both transports refuse the same
-- replies: one line over 100 KB (CURL_MAX_HTTP_HEADER), or over 300 KB in all.
local MAX_HEADER_LINE = 102400
local MAX_HEADER_BYTES = 307200

local function too_large(max)
  return fail("ResponseTooLarge", "too_large", "response larger than max_response_bytes (" .. max .. " bytes)")
end

-- Reading a reply. A cosocket's read timeout restarts whenever bytes arrive, so a server
-- trickling data (the body, a header line, a chunk size) would outlast it: every read takes
-- what is there (receiveany) after re-arming the timeout with what remains of the deadline.
-- Bytes read past what a step needs wait in `buf` for the next step.
local Reader = {}
Reader.__index = Reader

local function new_reader(sock, left, timeout)
  return setmetatable({ sock = sock, left = left, timeout = timeout, buf = "", got = 0 }, Reader)
end

-- The next bytes from the socket (what is there, at most 64 KB): data, or nil and an error
-- object (`what` names the step, `reason` the kind of failure when the peer closes).
function Reader:more(what, reason)
  local sock = self.sock
  local ok, terr = arm(sock, self.left, self.timeout)
  if not ok then return nil, terr end
  local data, err, partial
  if sock.receiveany then
    data, err = sock:receiveany(65536)
  else -- lua-nginx-module < 0.10.14: a byte at a time (only headers and unknown lengths)
    data, err, partial = sock:receive(1)
    if not data and partial and partial ~= "" then data = partial end
  end
  if not data then return io_fail(err, reason, what, self.timeout) end
  self.got = self.got + #data
  return data
end

-- The next line (without its line end; a bare LF is taken as one, as libcurl does), at most
-- `limit` bytes: line, or nil and an error object.
function Reader:line(limit, what, reason, limit_fail)
  local buf = self.buf
  local nl = find(buf, "\n", 1, true)
  if not nl then
    local parts, n = { buf }, #buf
    while not nl do
      if n > limit + 1 then return limit_fail() end
      local data, err = self:more(what, reason)
      if not data then return nil, err end
      parts[#parts + 1] = data
      local at = find(data, "\n", 1, true)
      if at then nl = n + at end
      n = n + #data
    end
    buf = concat(parts)
  end
  local stop = nl - 1
  if stop > 0 and byte(buf, stop) == 13 then stop = stop - 1 end
  if stop > limit then return limit_fail() end
  self.buf = sub(buf, nl + 1)
  return sub(buf, 1, stop)
end

-- Exactly n bytes: data, or nil and an error object.
function Reader:exact(n, what)
  local buf = self.buf
  if #buf >= n then
    self.buf = sub(buf, n + 1)
    return sub(buf, 1, n)
  end
  local parts, got = { buf }, #buf
  self.buf = ""
  while got < n do
    local data, err = self:more(what, "partial")
    if not data then return nil, err end
    if got + #data > n then
      self.buf = sub(data, n - got + 1)
      data = sub(data, 1, n - got)
    end
    parts[#parts + 1] = data
    got = got + #data
  end
  return concat(parts)
end

-- Everything up to the peer's close, at most max bytes: data, or nil and an error object.
function Reader:rest(max, what)
  local parts, total = { self.buf }, #self.buf
  self.buf = ""
  while true do
    if total > max then return too_large(max) end
    local ok, terr = arm(self.sock, self.left, self.timeout)
    if not ok then return nil, terr end
    local data, err, partial
    if self.sock.receiveany then data, err = self.sock:receiveany(65536) else data, err, partial = self.sock:receive(65536) end
    data = data or partial
    if data and #data > 0 then
      total = total + #data
      parts[#parts + 1] = data
    end
    if err == "closed" then
      if total > max then return too_large(max) end
      return concat(parts)
    end
    if err then return io_fail(err, "recv", what, self.timeout) end
  end
end

local function header_line_too_large()
  return fail("ResponseTooLarge", "header_too_large",
    "a response header line is larger than the SDK accepts (" .. MAX_HEADER_LINE .. " bytes, as libcurl)")
end

local function protocol(message) return fail("NetworkError", "protocol", message) end

-- Reads a status line and its headers (interim 1xx responses are skipped): status, version,
-- headers ({ ["lower-name"] = "v" }, repeats joined with ", " in linear time), or nil and an
-- error object. Refused as the curl transport refuses them (csrc/http.c on_header, and what
-- libcurl itself refuses): a status line other than "HTTP/1.x NNN" (NNN 100-999), a header
-- line without a colon or with a NUL, a folded line before any header; heads over
-- MAX_HEADER_BYTES in all, interim ones included. A folded line (obs-fold) continues the
-- header before it, joined by a space (RFC 9112 5.2).
local function read_head(r)
  local total = 0
  while true do
    local line, err = r:line(MAX_HEADER_LINE, "waiting for the response", "reset", header_line_too_large)
    if not line then
      if err.reason == "reset" then err.message = "connection closed before a response" end
      return nil, err
    end
    local version, status, after = line:match("^HTTP/(1%.[01]) (%d%d%d)(.?)")
    status = tonumber(status)
    if not status or status < 100 or (after ~= "" and after ~= " ") then return protocol("bad status line") end
    local headers, repeats, last = {}, nil, nil
    total = total + #line
    while true do
      line, err = r:line(MAX_HEADER_LINE, "reading the response headers", "partial", header_line_too_large)
      if not line then return nil, err end
      if line == "" then break end
      total = total + #line + 2
      if total > MAX_HEADER_BYTES then
        return fail("ResponseTooLarge", "header_too_large",
          "the response headers are larger than the SDK accepts in all (" .. MAX_HEADER_BYTES .. " bytes, as libcurl)")
      end
      if find(line, "\0", 1, true) then return protocol("a NUL in a response header") end
      local b = byte(line, 1)
      if b == 32 or b == 9 then -- obs-fold: continues the header before
        if not last then return protocol("a folded line before any response header") end
        local more = line:match("^%s*(.-)%s*$")
        if more ~= "" then
          local list = repeats and repeats[last]
          if list then list[#list] = list[#list] .. " " .. more
          else headers[last] = headers[last] .. " " .. more end
        end
      else
        local name, value = line:match("^([^:]*):%s*(.-)%s*$")
        if not name then return protocol("a response header line without a colon") end
        name = lower((name:gsub("[ \t]+$", "")))
        if name ~= "" then
          last = name
          local prev = headers[name]
          if prev == nil then
            headers[name] = value
          else
            repeats = repeats or {}
            local list = repeats[name]
            if not list then
              list = { prev }
              repeats[name] = list
            end
            list[#list + 1] = value
          end
        end
      end
    end
    if repeats then
      for name, list in pairs(repeats) do headers[name] = concat(list, ", ") end
    end
    if status >= 200 or status == 101 then return status, version, headers end
  end
end

-- libcurl's limit on one trailer line (its chunked parser's, 64 KB): over it, a framing error
local MAX_TRAILER_LINE = 65535

-- The body's framing from the headers: true and "chunked", a length or nil (until the close);
-- or nil and an error object. As RFC 9112 6.3 and the curl transport: a Transfer-Encoding
-- other than chunked, or beside a Content-Length, is refused; so is a Content-Length that is
-- not digits, or a list of them that differ ("5, 5" is 5).
local function framing(headers)
  local te, cl = headers["transfer-encoding"], headers["content-length"]
  if te then
    if lower(te) ~= "chunked" then return protocol("unsupported Transfer-Encoding") end
    if cl then return protocol("both Transfer-Encoding and Content-Length") end
    return true, "chunked"
  end
  if not cl then return true, nil end
  local len
  for v in (cl .. ","):gmatch("%s*(.-)%s*,") do
    if not v:match("^%d+$") or (len and tonumber(v) ~= len) then return protocol("bad Content-Length") end
    len = tonumber(v)
  end
  return true, len
end

-- Reads the body; returns body, reusable (the connection can be kept alive).
local function read_body(r, method, status, headers, max)
  local ok, frame = framing(headers)
  if not ok then return nil, frame end
  if method == "HEAD" or status == 204 or status == 304 or (status >= 100 and status < 200 and status ~= 101) then
    return "", true
  end
  if status == 101 then frame = nil end -- not HTTP past its head: read as libcurl reads it
  if frame == "chunked" then
    local parts, total = {}, 0
    local function bad_size() return protocol("bad chunk size") end
    while true do
      -- as libcurl: the size in hex (at most 16 digits, under 2^63), anything else up to the line end
      local line, err = r:line(MAX_HEADER_LINE, "reading a chunk size", "partial", bad_size)
      if not line then return nil, err end
      local hex = line:match("^%x+")
      if not hex or #hex > 16 or (#hex == 16 and byte(hex, 1) > 55) then return bad_size() end
      local size = tonumber(hex, 16)
      if size == 0 then
        repeat -- trailers, up to the empty line: read and dropped, counted in max
          line, err = r:line(MAX_TRAILER_LINE, "reading trailers", "partial",
            function() return protocol("a trailer line is longer than libcurl accepts") end)
          if not line then return nil, err end
          total = total + #line + 2
          if total > max then return too_large(max) end
          if line ~= "" and (find(line, "\0", 1, true) or not find(line, ":", 1, true)) then
            return protocol("a bad trailer line")
          end
        until line == ""
        return concat(parts), true
      end
      if size > max - total then
        -- refused once more than max arrived, as libcurl (a cut before that is "partial")
        local _, cerr = r:exact(max - total + 1, "reading a chunk")
        if cerr then return nil, cerr end
        return too_large(max)
      end
      total = total + size
      local data
      data, err = r:exact(size, "reading a chunk")
      if not data then return nil, err end
      parts[#parts + 1] = data
      local crlf
      crlf, err = r:line(64, "reading a chunk", "partial",
        function() return protocol("a chunk is longer than its size") end)
      if not crlf then return nil, err end
      if find(crlf, "[^\r]") then return protocol("a chunk is longer than its size") end
    end
  end
  if frame then
    if frame > max then return too_large(max) end
    if frame == 0 then return "", true end
    local data, err = r:exact(frame, "reading the body")
    if not data then return nil, err end
    return data, true
  end
  -- no length (or a 101, whose connection is not HTTP any more): the body ends when the
  -- server closes, as libcurl reads it; the connection is not kept
  local data, err = r:rest(max, "reading the body")
  if not data then return nil, err end
  return data, false
end

-- What the curl transport refuses before sending (csrc/http.c), refused here the same way and
-- with the same words: a method or header name that is not an HTTP token, a header value with
-- CR, LF or NUL (header injection), a URL with a space or a control character.
local NOT_TOKEN = "[^A-Za-z0-9!#$%%&'*+%-.^_`|~]"

local function shown(name) -- a header name as an error message may show it
  return (sub(name, 1, 64):gsub("[%c\128-\255]", "?"))
end

local function invalid(message)
  return fail("InvalidParameter", "other", message)
end

local function check_request(req)
  local url = req.url
  if type(url) == "string" and find(url, "[%s%c]") then
    return invalid("invalid url: contains a space or control character")
  end
  local method = req.method or "GET"
  if type(method) ~= "string" or method == "" or find(method, NOT_TOKEN) then return invalid("invalid method") end
  local headers = req.headers
  if headers == nil then return true end
  if type(headers) ~= "table" then return invalid("headers must be a table") end
  for name, value in pairs(headers) do
    if type(name) ~= "string" or name == "" or find(name, NOT_TOKEN) then
      return invalid("invalid header name \"" .. shown(tostring(name)) .. "\"")
    end
    local values = type(value) == "table" and value or { value }
    for i = 1, #values do
      local v = values[i]
      if type(v) ~= "string" and type(v) ~= "number" then
        return invalid("invalid value for header \"" .. shown(name) .. "\": not a string")
      end
      if find(tostring(v), "[\r\n%z]") then
        return invalid("invalid value for header \"" .. shown(name) .. "\": contains CR, LF or NUL")
      end
    end
  end
  return true
end
_M.check_request = check_request

local exchange

--- Sends one request. See the module comment for shapes.
-- A failed exchange is logged at `warn` (nginx's `error` level is for what an operator must
-- act on; the caller retries or handles it): "gameliftstreams: GET host:port: <message>".
-- The cosockets' own error lines are turned off with `lua_socket_log_errors off`.
function _M.request(req)
  local res, err = exchange(req)
  if not res and type(err) == "table" and err.code ~= "InvalidParameter" then
    local ngx = _G.ngx
    local u = type(req) == "table" and _M.parse_url(req.url)
    ngx.log(ngx.WARN, "gameliftstreams: ", type(req) == "table" and tostring(req.method or "GET") or "?", " ",
            u and (u.host .. ":" .. u.port) or "?", ": ", err.code, ": ", err.message)
  end
  return res, err
end

exchange = function(req)
  local ngx = _G.ngx
  if type(req) ~= "table" then return fail("NetworkError", "other", "request must be a table") end
  local valid, verr = check_request(req)
  if not valid then return nil, verr end
  local u, perr = _M.parse_url(req.url)
  if not u then return fail("NetworkError", "other", perr) end
  local method = (req.method or "GET"):upper()
  local body = req.body
  local max = tonumber(req.max_response_bytes) or DEFAULT_MAX

  local timeout = req.timeout
  local left = new_deadline(ngx, timeout)
  local connect_s = tonumber(req.connect_timeout) or 0
  if connect_s <= 0 then connect_s = DEFAULT_CONNECT end
  local connect_left = new_deadline(ngx, connect_s)
  -- connect and TLS: the shorter of the two limits
  local function setup_ms()
    local a, b = left(), connect_left()
    if not a or not b then return nil end
    return math.min(a, b)
  end
  -- which limit bounds connect + TLS, for a timeout's message
  local t_total = tonumber(timeout) or 0
  local setup_limit = (t_total > 0 and t_total < connect_s) and ("timeout " .. secs(t_total) .. " s")
    or ("connect_timeout " .. secs(connect_s) .. " s")
  local lines = { method, " ", u.target, " HTTP/1.1\r\n" }
  local has = {}
  for name, value in pairs(req.headers or {}) do
    local lname = name:lower()
    has[lname] = true
    if type(value) == "table" then
      for _, v in ipairs(value) do lines[#lines + 1] = name .. ": " .. tostring(v) .. "\r\n" end
    else
      lines[#lines + 1] = name .. ": " .. tostring(value) .. "\r\n"
    end
  end
  if not has["host"] then lines[#lines + 1] = "Host: " .. u.host_header .. "\r\n" end
  if not has["content-length"] and (body or method == "POST" or method == "PUT" or method == "PATCH") then
    lines[#lines + 1] = "Content-Length: " .. #(body or "") .. "\r\n"
  end
  if not has["user-agent"] then lines[#lines + 1] = "User-Agent: gameliftstreams-lua\r\n" end
  lines[#lines + 1] = "\r\n"
  if body and #body > 0 then lines[#lines + 1] = body end

  -- One exchange on one connection: the response, or nil, an error object and whether it may be
  -- sent again (a kept-alive connection the server had closed: nothing of a reply came).
  local function attempt()
    local sock = ngx.socket.tcp()
    sock:settimeout(setup_ms())
    local pool = u.scheme .. ":" .. u.host .. ":" .. u.port .. (req.insecure and ":insecure" or "")
    local ok, err = sock:connect(u.host, u.port, { pool = pool })
    if not ok then
      if err == "timeout" then
        return fail("Timeout", "connect", "connect to " .. u.host .. " timed out (" .. setup_limit .. ")")
      end
      local reason = tostring(err):find("resolve", 1, true) and "resolve" or "connect"
      return fail("NetworkError", reason, "cannot connect to " .. u.host .. ":" .. u.port .. ": " .. tostring(err))
    end
    if u.scheme == "https" and (sock:getreusedtimes() or 0) == 0 then
      local t = setup_ms()
      if not t then
        sock:close()
        return fail("Timeout", "tls", "TLS handshake timed out (" .. setup_limit .. ")")
      end
      sock:settimeout(t)
      ok, err = sock:sslhandshake(nil, u.host, not req.insecure)
      if not ok then
        sock:close()
        if err == "timeout" then return fail("Timeout", "tls", "TLS handshake timed out (" .. setup_limit .. ")") end
        return fail("TLSError", "tls", "TLS handshake with " .. u.host .. " failed: " .. tostring(err))
      end
    end

    -- each step below first takes what remains of the deadline (closing the socket if none)
    local function armed()
      local ok, terr = arm(sock, left, timeout)
      if not ok then sock:close() end
      return ok, terr
    end
    local reused = (sock:getreusedtimes() or 0) > 0
    local sent, terr
    sent, terr = armed()
    if not sent then return nil, terr end
    sent, err = sock:send(lines)
    if not sent then
      sock:close()
      local _, e = io_fail(err, "send", "sending the request", timeout)
      return nil, e, reused and err ~= "timeout"
    end

    local r = new_reader(sock, left, timeout)
    local status, version, headers = read_head(r)
    if not status then
      sock:close()
      -- version: the error object
      return nil, version, reused and r.got == 0 and version.reason == "reset"
    end
    local data, reusable = read_body(r, method, status, headers, max)
    if not data then
      sock:close()
      return nil, reusable -- the error object
    end
    if r.buf ~= "" then reusable = false end -- bytes past the reply: the connection is not reused
    local conn = (headers["connection"] or ""):lower()
    if reusable and version == "1.1" and not conn:find("close", 1, true) then
      sock:setkeepalive(KEEPALIVE_MS, POOL_SIZE)
    else
      sock:close()
    end
    return { status = status, headers = headers, body = data }
  end
  local res, err, again = attempt()
  -- as libcurl: a request that met a kept-alive connection the server had closed (sending it
  -- failed, or the connection closed before any byte of a reply) goes once more, on another
  if again then res, err = attempt() end
  return res, err
end

return _M
