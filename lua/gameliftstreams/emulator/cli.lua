--- The command line of bin/gameliftstreams-emulator: options, "listening <port>", serve.
local httpd = require("gameliftstreams.emulator.httpd")
local server = require("gameliftstreams.emulator.server")
local limits = require("gameliftstreams.emulator.limits")
local socket = require("socket")

local _M = {}

local check_number, fmt, LIMITS = limits.check_number, limits.fmt, limits.LIMITS

local USAGE = [[
usage: gameliftstreams-emulator [options]
  --port N              port to listen on (default 8000; 0 = any free port)
  --host ADDR           address to bind (default 127.0.0.1)
  --delay-scale X       multiply every status delay by X (default 1; 0.01 for tests)
  --credentials K:S[:T] accept access key K with secret S (and session token T); repeatable
  --no-default-credentials  do not accept AKIDEMULATOR / emulator-secret
  --no-auth             accept requests without checking signatures
  --account ID          12-digit account id in ARNs (default 123456789012)
  --region R            region of ARNs when a request is not signed (default us-west-2)
  --log-size N          requests kept for GET /_emulator/requests (default 1000)
  --log-bytes N         bytes the request log may hold in all (default 16777216)
  --max-connections N   open connections at most (default 512; beyond, the longest idle is closed)
  --idle-timeout S      close a connection idle for S seconds (default 60)
  --header-timeout S    a request head must arrive within S seconds (default 30)
  --body-timeout S      a request body must arrive within S seconds after its head (default 60)
  --max-body-bytes N    larger request bodies are refused with 413 (default 67108864)
  --help                this text
Prints "listening <port>" on stdout, then serves until killed.
]]

--- Parses command-line arguments into emulator options; nil, message on error.
function _M.parse_args(argv)
  local o = { port = 8000, host = "127.0.0.1", credentials = {} }
  local i = 1
  local function value(name)
    i = i + 1
    local v = argv[i]
    if v == nil then error(name .. " needs a value", 0) end
    return v
  end
  local function number(name, lo, hi, whole)
    local v = tonumber(value(name))
    if check_number(v, name, lo, hi, whole) then
      error(string.format("%s needs %s between %s and %s", name, whole and "a whole number" or "a number",
        fmt(lo), fmt(hi)), 0)
    end
    return v
  end
  local ok, err = pcall(function()
    while i <= #argv do
      local a = argv[i]
      if a == "--port" then o.port = tonumber(value(a)) or error("--port needs a number", 0)
      elseif a == "--host" then o.host = value(a)
      elseif a == "--delay-scale" then
        o.delay_scale = tonumber(value(a))
        if check_number(o.delay_scale, "--delay-scale", LIMITS.delay_scale[1], LIMITS.delay_scale[2]) then
          error("--delay-scale needs a number between 0 and " .. fmt(LIMITS.delay_scale[2]), 0)
        end
      elseif a == "--credentials" then
        local v = value(a)
        local k, s, t = v:match("^([^:]+):([^:]+):?(.*)$")
        if not k then error("--credentials needs KEY:SECRET[:TOKEN]", 0) end
        o.credentials[#o.credentials + 1] = { k, s, t ~= "" and t or nil }
      elseif a == "--no-default-credentials" then o.no_default_credentials = true
      elseif a == "--no-auth" then o.auth = false
      elseif a == "--account" then
        o.account = value(a)
        if not o.account:match("^%d%d%d%d%d%d%d%d%d%d%d%d$") then error("--account needs 12 digits", 0) end
      elseif a == "--region" then o.region = value(a)
      elseif a == "--log-size" then o.log_size = number(a, LIMITS.log_size[1], LIMITS.log_size[2], true)
      elseif a == "--log-bytes" then o.log_bytes = number(a, LIMITS.log_bytes[1], LIMITS.log_bytes[2], true)
      elseif a == "--max-connections" then o.max_connections = number(a, 1, 900, true)
      elseif a == "--idle-timeout" then o.idle_timeout = number(a, 0.01, 86400)
      elseif a == "--header-timeout" then o.header_timeout = number(a, 0.01, 86400)
      elseif a == "--body-timeout" then o.body_timeout = number(a, 0.01, 86400)
      elseif a == "--max-body-bytes" then o.max_body_bytes = number(a, 0, 1024 * 1024 * 1024, true)
      elseif a == "--help" or a == "-h" then o.help = true
      else error("unknown option " .. a, 0) end
      i = i + 1
    end
  end)
  if not ok then return nil, err end
  return o
end

--- Entry point of bin/gameliftstreams-emulator.
function _M.main(argv)
  local o, err = _M.parse_args(argv or {})
  if not o then
    io.stderr:write("gameliftstreams-emulator: ", err, "\n", USAGE)
    return 2
  end
  if o.help then io.stdout:write(USAGE) return 0 end
  local ok_core, core = pcall(require, "gameliftstreams.core")
  if not ok_core or type(core) ~= "table" or not core.sign then
    -- without the C module no request could be verified: say why now, not with a 500 per request
    io.stderr:write("gameliftstreams-emulator: cannot load the C module gameliftstreams.core, which ",
      "verifies signatures (is it built and installed for this Lua, ", _VERSION, "?): ",
      ok_core and "it has no sign function" or tostring(core), "\n")
    return 1
  end
  math.randomseed(math.floor(socket.gettime() * 1000) % 2147483647)
  local emu = server.new(o)
  local srv, serr = httpd.new{ host = o.host, port = o.port, handler = emu:handler(),
    max_connections = o.max_connections, idle_timeout = o.idle_timeout, header_timeout = o.header_timeout,
    body_timeout = o.body_timeout, max_body_bytes = o.max_body_bytes }
  if not srv then
    io.stderr:write("gameliftstreams-emulator: cannot listen on ", o.host, ":", tostring(o.port), ": ", tostring(serr), "\n")
    return 1
  end
  emu.httpd = srv
  io.stdout:write("listening ", srv.port, "\n")
  io.stdout:flush()
  io.stderr:write(string.format("gameliftstreams-emulator on http://%s:%d (access key %s, delay scale %s)\n",
    o.host, srv.port, o.no_default_credentials and "(custom)" or server.DEFAULT_ACCESS_KEY,
    tostring(o.delay_scale or 1)))
  srv:run()
  return 0
end

return _M
