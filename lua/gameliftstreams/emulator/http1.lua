--- HTTP/1.1 message framing for httpd: the bytes of a response, and a request parser that
-- works on each connection's bytes as they arrive, strictly and in linear time. The head
-- is gathered in pieces and searched only where new bytes landed; a body, Content-Length
-- or chunked, is collected as pieces and joined once; chunk sizes, extensions, the CRLF
-- after each chunk and trailers are checked, and every limit is enforced as bytes come.
local socket = require("socket")

local _M = {}

_M.MAX_HEADER_BYTES = 64 * 1024        -- request line + headers (and, apart, chunked trailers)
local MAX_HEADER_BYTES = _M.MAX_HEADER_BYTES
local MAX_LINE = 4096        -- a chunk-size line (with its extensions)

local concat = table.concat

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

-- The next request starts from scratch (leftover bytes stay in c.inbuf).
function _M.reset(c)
  c.state = "head"
  c.hparts, c.hlen, c.htail = {}, 0, ""
  c.req, c.parts, c.got, c.remaining, c.line = nil, nil, 0, 0, ""
  c.started, c.deadline = nil, nil
end

-- The head of a request (without its final blank line) -> req, or false, status, text.
local function parse_head(srv, c, head)
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
    if length > srv.max_body_bytes then return false, 413, "request body too large\n" end
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

_M.BIG_BODY = 1024 * 1024 -- after a body this big, garbage is collected at once (and after answering)
local BIG_BODY = _M.BIG_BODY

local function body_done(srv, c)
  local req = c.req
  req.body = c.parts and concat(c.parts) or ""
  if #req.body >= BIG_BODY then
    -- the pieces are garbage now: free them before the handler makes copies of its own
    c.parts = nil
    collectgarbage("collect")
    srv.gc_due = true
  end
  c.requests = c.requests + 1
  req.seq = c.requests
  _M.reset(c)
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

--- Consumes c.inbuf according to the parser state of connection c. srv holds the limits
-- (header_timeout, body_timeout, max_body_bytes). Returns a complete request (the bytes
-- after it stay in c.inbuf), nil when more bytes are needed, or false, status, text.
function _M.consume(srv, c)
  local d = c.inbuf
  c.inbuf = ""
  local i = 1
  local n = #d
  if c.state == "head" and n > 0 then
    if not c.started then
      c.started = socket.gettime()
      c.deadline = c.started + srv.header_timeout
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
    local req, framing, length = parse_head(srv, c, head:sub(1, -5))
    if not req then return false, framing, length end
    c.req = req
    i = stop + 1
    if framing == "none" then
      c.inbuf = d:sub(i)
      return body_done(srv, c)
    end
    c.deadline = socket.gettime() + srv.body_timeout
    c.parts, c.got = {}, 0
    if framing == "length" then
      c.state, c.remaining = "body", length
    else
      c.state = "size"
    end
    if (req.headers["expect"] or ""):lower() == "100-continue" and req.version == "1.1" then
      c.out[#c.out + 1] = "HTTP/1.1 100 Continue\r\n\r\n"
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
          return body_done(srv, c)
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
      if c.got + size > srv.max_body_bytes then return false, 413, "request body too large\n" end
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
        return body_done(srv, c)
      end
      if not line:match("^[^:%s]+:") then return false, 400, "malformed chunked trailer\n" end
    else
      return nil
    end
  end
  return nil
end

return _M
