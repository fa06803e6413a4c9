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

local type, tonumber, tostring, pairs, ipairs = type, tonumber, tostring, pairs, ipairs
local concat = table.concat

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
    return fail("NetworkError", reason == "send" and "send" or "reset", what .. ": connection closed by the peer")
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

-- Reads exactly n bytes before the deadline. A cosocket's read timeout restarts whenever
-- bytes arrive, so a server trickling data would outlast it: read what is there
-- (receiveany) and re-arm the timeout with what remains, until n bytes are in.
local function read_exact(sock, n, left, timeout, what)
  if not sock.receiveany then -- lua-nginx-module < 0.10.14
    local armed, terr = arm(sock, left, timeout)
    if not armed then return nil, terr end
    local data, err = sock:receive(n)
    if not data then return io_fail(err, "partial", what, timeout) end
    return data
  end
  local parts, got = {}, 0
  while got < n do
    local armed, terr = arm(sock, left, timeout)
    if not armed then return nil, terr end
    local data, err = sock:receiveany(math.min(n - got, 65536))
    if not data then return io_fail(err, "partial", what, timeout) end
    parts[#parts + 1] = data
    got = got + #data
  end
  return concat(parts)
end

-- Reads the body; returns body, reusable (the connection can be kept alive).
local function read_body(sock, method, status, headers, max, left, timeout)
  if method == "HEAD" or status == 204 or status == 304 or (status >= 100 and status < 200) then
    return "", true
  end
  local te = headers["transfer-encoding"]
  if te and te:lower():find("chunked", 1, true) then
    local parts, total = {}, 0
    while true do
      local armed, terr = arm(sock, left, timeout)
      if not armed then return nil, terr end
      local line, err = sock:receive("*l")
      if not line then return io_fail(err, "recv", "reading a chunk size", timeout) end
      local size = tonumber(line:match("^%s*(%x+)"), 16)
      if not size then return fail("NetworkError", "protocol", "bad chunk size") end
      if size == 0 then
        repeat -- trailers, up to the empty line
          line, err = sock:receive("*l")
          if not line then return io_fail(err, "recv", "reading trailers", timeout) end
        until line == ""
        return concat(parts), true
      end
      total = total + size
      if total > max then return fail("ResponseTooLarge", "too_large", "response larger than " .. max .. " bytes") end
      local data
      data, err = read_exact(sock, size, left, timeout, "reading a chunk")
      if not data then return nil, err end
      parts[#parts + 1] = data
      local crlf
      crlf, err = sock:receive(2)
      if not crlf then return io_fail(err, "partial", "reading a chunk", timeout) end
    end
  end
  local len = headers["content-length"]
  if len then
    len = tonumber(len)
    if not len or len < 0 then return fail("NetworkError", "protocol", "bad Content-Length") end
    if len > max then return fail("ResponseTooLarge", "too_large", "response larger than " .. max .. " bytes") end
    if len == 0 then return "", true end
    local data, err = read_exact(sock, len, left, timeout, "reading the body")
    if not data then return nil, err end
    return data, true
  end
  -- no length: the body ends when the server closes
  local parts, total = {}, 0
  while true do
    local armed, terr = arm(sock, left, timeout)
    if not armed then return nil, terr end
    local data, err, partial
    if sock.receiveany then data, err = sock:receiveany(65536) else data, err, partial = sock:receive(65536) end
    data = data or partial
    if data and #data > 0 then
      total = total + #data
      if total > max then return fail("ResponseTooLarge", "too_large", "response larger than " .. max .. " bytes") end
      parts[#parts + 1] = data
    end
    if err == "closed" then return concat(parts), false end
    if err then return io_fail(err, "recv", "reading the body", timeout) end
  end
end

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
  -- each step below first takes what remains of the deadline (closing the socket if none)
  local function armed()
    local ok, terr = arm(sock, left, timeout)
    if not ok then sock:close() end
    return ok, terr
  end
  local sent, terr
  sent, terr = armed()
  if not sent then return nil, terr end
  sent, err = sock:send(lines)
  if not sent then
    sock:close()
    return io_fail(err, "send", "sending the request", timeout)
  end

  local line
  line, terr = armed()
  if not line then return nil, terr end
  line, err = sock:receive("*l")
  if not line then
    sock:close()
    if err == "closed" then return fail("NetworkError", "reset", "connection closed before a response") end
    return io_fail(err, "recv", "waiting for the response", timeout)
  end
  local version, status = line:match("^HTTP/(%d%.%d) (%d%d%d)")
  status = tonumber(status)
  if not status then
    sock:close()
    return fail("NetworkError", "protocol", "bad status line")
  end
  local headers = {}
  while true do
    line, terr = armed()
    if not line then return nil, terr end
    line, err = sock:receive("*l")
    if not line then
      sock:close()
      return io_fail(err, "partial", "reading the response headers", timeout)
    end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then
      name = name:lower()
      local prev = headers[name]
      headers[name] = prev and (prev .. ", " .. value) or value
    end
  end

  local data, reusable = read_body(sock, method, status, headers, max, left, timeout)
  if not data then
    sock:close()
    return nil, reusable -- the error object
  end
  local conn = (headers["connection"] or ""):lower()
  if reusable and version == "1.1" and not conn:find("close", 1, true) then
    sock:setkeepalive(KEEPALIVE_MS, POOL_SIZE)
  else
    sock:close()
  end
  return { status = status, headers = headers, body = data }
end

return _M
