--- The small text helpers the SDK's modules share, each written once: dates (HTTP dates, ISO
-- 8601 both ways), percent-encoding, trimming, cutting secrets out, reading a file, a header lookup. Pure functions,
-- no state, nothing at require time beyond building a table.
local _M = { _VERSION = "0.1" }

local type, tonumber, floor = type, tonumber, math.floor
local format, gsub, lower, sub, pairs = string.format, string.gsub, string.lower, string.sub, pairs
local find, concat = string.find, table.concat
local os_date = os.date

local core = require("gameliftstreams.core")

--- Days from 1970-01-01 to the date y-m-d of the proleptic Gregorian calendar (integers, m 1-12;
-- in C, beside the RFC 3339 parser that uses it too).
local days_from_civil = core.days_from_civil
_M.days_from_civil = days_from_civil

-- The English names an HTTP date uses (whatever the C locale), and the months by name.
local DAY_NAMES = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTH_NAMES = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local MONTHS = {}
for i, name in ipairs(MONTH_NAMES) do MONTHS[name] = i end

--- Epoch seconds of an HTTP date (RFC 1123, also RFC 850 and asctime forms), or nil.
function _M.parse_http_date(s)
  if type(s) ~= "string" then return nil end
  local d, mon, y, h, mi, sec = s:match("^%a+,%s+(%d%d?)%s+(%a%a%a)%s+(%d%d%d%d)%s+(%d%d):(%d%d):(%d%d)%s+GMT")
  if not d then
    d, mon, y, h, mi, sec = s:match("^%a+,%s+(%d%d?)%-(%a%a%a)%-(%d%d)%s+(%d%d):(%d%d):(%d%d)%s+GMT")
    if y then y = 1900 + tonumber(y) + (tonumber(y) < 70 and 100 or 0) end
  end
  if not d then
    mon, d, h, mi, sec, y = s:match("^%a+%s+(%a%a%a)%s+(%d%d?)%s+(%d%d):(%d%d):(%d%d)%s+(%d%d%d%d)")
  end
  local m = mon and MONTHS[mon]
  if not m then return nil end
  return days_from_civil(tonumber(y), m, tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

--- Epoch seconds of an RFC 3339 date-time (the AWS SDKs' date-time format: "T" between date
-- and time, an optional fraction, then "Z" or an offset "+HH:MM"), or nil when the text is not
-- one or names a day or time that does not exist (month 13, 31 April, 29 February 2026, hour
-- 24, minute 60; second 60 is a leap second, as RFC 3339 and the JS SDK v3 allow). An integer
-- when whole. The SDK's one date-time parser, in C (csrc/json.c), where the response decoder
-- reads timestamps with it too.
_M.parse_rfc3339 = core.parse_rfc3339

--- Epoch seconds as an ISO 8601 UTC timestamp: "2026-11-22T19:00:00Z", with milliseconds
-- when t has a fraction ("2026-11-22T19:00:00.25Z" is written "...:00.250Z"). Rounded to the
-- millisecond before the second is taken, so 59.9996 s is the next minute, not "...:591.000Z".
function _M.iso8601(t)
  local ms = floor(t * 1000 + 0.5)
  local whole = floor(ms / 1000)
  local frac = ms - whole * 1000
  local s = os_date("!%Y-%m-%dT%H:%M:%S", whole)
  if frac > 0 then s = s .. format(".%03d", frac) end
  return s .. "Z"
end

--- Epoch seconds as an HTTP date (RFC 7231 IMF-fixdate, whole seconds, English names whatever
-- the C locale): "Tue, 14 Nov 2023 22:13:20 GMT".
function _M.http_date(t)
  local d = os_date("!*t", floor(t))
  return format("%s, %02d %s %04d %02d:%02d:%02d GMT", DAY_NAMES[d.wday], d.day, MONTH_NAMES[d.month],
    d.year, d.hour, d.min, d.sec)
end

--- Percent-encodes every byte except the RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~),
-- with upper-case hex, as SigV4 and the AWS protocols want it; with `keep_slash`, '/' too is
-- left as it is. In C (core.pct_encode, the signer's encoder): `s` itself when nothing needs
-- escaping.
-- @tparam string s
-- @tparam[opt] boolean keep_slash
_M.pct_encode = core.pct_encode

--- s with every plain occurrence of each string of `secrets` (a list; the longest should come
-- first, so a secret inside another is not cut out of it first) replaced by "REDACTED". Strings
-- shorter than 6 bytes are not looked for: they would cut words.
function _M.cut(s, secrets)
  if type(s) ~= "string" or not secrets then return s end
  for i = 1, #secrets do
    local x = secrets[i]
    if type(x) == "string" and #x >= 6 then
      local a = find(s, x, 1, true)
      if a then
        local parts, pos = {}, 1
        while a do
          parts[#parts + 1] = sub(s, pos, a - 1)
          parts[#parts + 1] = "REDACTED"
          pos = a + #x
          a = find(s, x, pos, true)
        end
        parts[#parts + 1] = sub(s, pos)
        s = concat(parts)
      end
    end
  end
  return s
end

--- s without leading and trailing white space.
function _M.trim(s)
  return (gsub(gsub(s, "^%s+", ""), "%s+$", ""))
end

--- The most a config, credentials or token file may hold: a config file of some thousand
-- profiles is a few hundred KB, a web identity token a few KB.
_M.MAX_FILE_BYTES = 16 * 1024 * 1024

--- The whole content of a regular file of at most MAX_FILE_BYTES, or nil and why not (it does
-- not exist, cannot be read, is not a regular file, is larger). A FIFO, a device or a
-- directory is never opened for reading, so nothing blocks or reads without end (core.read_file).
function _M.read_file(path)
  return core.read_file(path, _M.MAX_FILE_BYTES)
end

--- A header's value from a table of headers (name -> value or list of values), the name
-- given in lower case and matched in any case; the first value of a list.
function _M.header(headers, name)
  if not headers then return nil end
  local v = headers[name]
  if v == nil then
    for k, hv in pairs(headers) do
      if lower(k) == name then v = hv break end
    end
  end
  if type(v) == "table" then v = v[1] end
  return v
end

-- The headers an AWS answer's request id comes in, in the JS SDK v3's order (deserializeMetadata);
-- botocore's rest-json parser reads the first alone.
local REQUEST_ID_HEADERS = { "x-amzn-requestid", "x-amzn-request-id", "x-amz-request-id", "x-amz-requestid" }

--- The request id of an answer's headers (names matched in any case), or nil.
function _M.request_id(headers)
  if type(headers) ~= "table" then return nil end
  for i = 1, #REQUEST_ID_HEADERS do
    local v = _M.header(headers, REQUEST_ID_HEADERS[i]) -- (the exact name first, then any case)
    if v ~= nil then return v end
  end
  return nil
end

return _M
