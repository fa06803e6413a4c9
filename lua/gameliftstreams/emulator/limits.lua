--- The ranges of the emulator's control values (control API, faults, command line).
-- Every number has a range: a value outside it is refused with a message that names the
-- field and the range (a clock offset of 1e300 once made every request 500).
local json = require("gameliftstreams.emulator.json")

local _M = {}


local function fmt(x)
  return json.encode_number(x)
end

--- nil when v is a finite number in [lo, hi] (whole when `whole`), else the message.
local function check_number(v, name, lo, hi, whole)
  if type(v) ~= "number" or v ~= v or v < lo or v > hi or (whole and math.floor(v) ~= v) then
    return string.format("%s must be %s between %s and %s", name, whole and "a whole number" or "a number",
      fmt(lo), fmt(hi))
  end
  return nil
end
_M.check_number = check_number

_M.LIMITS = {
  offset = { -1e9, 1e9 },         -- clock offset, seconds (about 31 years either way)
  advance = { 0, 1e9 },           -- one advance, seconds
  advance_total = 1e10,           -- all advances together
  delay_scale = { 0, 1e6 },
  quota = { 0, 1e9 },
  log_size = { 0, 1e6 },
  log_bytes = { 0, 1024 * 1024 * 1024 },
  count = { 1, 1e9 },
  seconds = { 0, 3600 },          -- a slow fault's delay
  limit = { 0, 1e6 },             -- GET /_emulator/requests?limit=
}

--- Whether a string holds CR, LF or NUL (which would break a response header).
local function has_ctl(s) return s:find("[%z\r\n]") ~= nil end
_M.fmt = fmt
_M.has_ctl = has_ctl

return _M
