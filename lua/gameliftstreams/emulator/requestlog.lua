--- The request log of the emulator (GET /_emulator/requests): what each request sent and
-- how it was answered. Entries are kept oldest first in list[first .. last], bounded by
-- count (size) and by bytes (bytes, all entries together). A request that fails
-- authentication keeps no headers, query or body: only what says it came and why it was
-- refused.
local json = require("gameliftstreams.emulator.json")

local _M = {}
local mt = { __index = _M }

_M.BYTES = 16 * 1024 * 1024    -- the default bound, all entries together
_M.BODY_BYTES = 1024 * 1024    -- the most of one body an entry keeps

--- An empty log holding at most `size` entries and `bytes` bytes.
function _M.new(size, bytes)
  local self = setmetatable({ size = size or 1000, bytes = bytes or _M.BYTES, seq = 0 }, mt)
  self:clear()
  return self
end


--- A log entry for a request at `time` (epoch seconds; not yet in the log: see commit).
function _M:entry(req, request_id, op, time)
  self.seq = self.seq + 1
  local e = {
    seq = self.seq, time = time, method = req.method, path = req.path,
    operation = op, request_id = request_id, peer = req.peer,
    connection_request = req.seq,
    invocation_id = req.headers["amz-sdk-invocation-id"],
  }
  local sdk = req.headers["amz-sdk-request"]
  if sdk then
    e.attempt = tonumber(sdk:match("attempt=(%d+)"))
    e.max_attempts = tonumber(sdk:match("max=(%d+)"))
  end
  return e
end

-- Secrets never enter the log: the signature (Authorization's Signature=, X-Amz-Signature) and
-- the session token (x-amz-security-token, X-Amz-Security-Token) are kept as this marker; the
-- rest of Authorization (algorithm, Credential scope, SignedHeaders) as it came. Another
-- Authorization scheme (reachable with --no-auth) keeps only its name.
_M.REDACTED = "REDACTED"
local REDACTED = _M.REDACTED
local SECRET_HEADERS = { ["x-amz-security-token"] = true }
local SECRET_PARAMS = { ["x-amz-signature"] = true, ["x-amz-security-token"] = true }

local function redact_authorization(v)
  if v:find("Signature=", 1, true) then return (v:gsub("Signature=[^,%s]*", "Signature=" .. REDACTED)) end
  local scheme = v:match("^%s*(%S+)%s+%S")
  return scheme and (scheme .. " " .. REDACTED) or REDACTED
end

--- A header's value as the log keeps it (name in lower case).
function _M.redact_header(name, v)
  if type(v) ~= "string" then return v end
  if name == "authorization" then return redact_authorization(v) end
  if SECRET_HEADERS[name] then return REDACTED end
  return v
end
local redact_header = _M.redact_header

--- A raw query string as the log keeps it.
function _M.redact_query(q)
  if type(q) ~= "string" or q == "" then return q end
  return (q:gsub("([^&=]+)=([^&]*)", function(k, v)
    local name = k:gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end):lower()
    if SECRET_PARAMS[name] and v ~= "" then return k .. "=" .. REDACTED end
  end))
end
local redact_query = _M.redact_query

--- A canonical request (the one a rejected signature should have had) as the log keeps it: the
-- query line and the canonical headers redacted as the request's own.
function _M.redact_canonical(cr)
  if type(cr) ~= "string" then return cr end
  local out, n, in_headers = {}, 0, true
  for line in (cr .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    if n == 3 then
      line = redact_query(line)
    elseif n > 3 and in_headers then
      if line == "" then
        in_headers = false
      else
        local name, v = line:match("^([^:]*):(.*)$")
        if name then line = name .. ":" .. redact_header(name, v) end
      end
    end
    out[n] = line
  end
  return table.concat(out, "\n")
end

--- Adds what was sent (headers, query, body) to an entry of a request that passed auth.
function _M.add_content(e, req)
  local headers = {}
  for k, v in pairs(req.headers) do headers[k] = redact_header(k, v) end
  e.headers, e.query = headers, redact_query(req.query)
  local body = req.body or ""
  if #body > _M.BODY_BYTES then
    e.body, e.body_truncated, e.body_bytes = body:sub(1, _M.BODY_BYTES), true, #body
  else
    e.body = body
  end
  if body:find("ClientToken", 1, true) and #body <= _M.BODY_BYTES then
    local b = json.decode(body)
    if type(b) == "table" and type(b.ClientToken) == "string" then e.client_token = b.ClientToken end
  end
end

local function entry_cost(e)
  local n = 256 + #e.path + #(e.query or "") + #(e.body or "")
  for k, v in pairs(e.headers or {}) do n = n + #k + #v + 8 end
  if e.auth then n = n + #(e.auth.canonical_request or "") + #(e.auth.string_to_sign or "") end
  return n
end

local function drop_oldest(self)
  local e = self.list[self.first]
  self.list[self.first] = nil
  self.first = self.first + 1
  self.total = self.total - e.cost
end

--- Puts an entry in the log, dropping the oldest beyond the bounds.
function _M:commit(e)
  e.cost = entry_cost(e)
  self.last = self.last + 1
  self.list[self.last] = e
  self.total = self.total + e.cost
  self:set_bounds()
end

--- Changes the bounds (nil: unchanged), dropping the oldest entries beyond them.
function _M:set_bounds(size, bytes)
  self.size = size or self.size
  self.bytes = bytes or self.bytes
  while self.last >= self.first and (self.last - self.first + 1 > self.size or self.total > self.bytes) do
    drop_oldest(self)
  end
end

--- Forgets every entry (numbering goes on).
function _M:clear()
  self.list, self.first, self.last, self.total = {}, 1, 0, 0
end

--- The log entries oldest first (a copy without the bookkeeping).
function _M:entries(want, limit)
  local list = json.array()
  for i = self.first, self.last do
    local e = self.list[i]
    if not want or e.operation == want then list[#list + 1] = e end
  end
  if limit and #list > limit then
    local tail = json.array()
    for i = #list - limit + 1, #list do tail[#tail + 1] = list[i] end
    list = tail
  end
  local out = json.array()
  for i, e in ipairs(list) do
    local copy = {}
    for k, v in pairs(e) do if k ~= "cost" then copy[k] = v end end
    out[i] = copy
  end
  return out
end

return _M
