-- Shared helpers for the specs: child server processes, temp files, the C module.
local helpers = {}

local LUA = "lua5.4"

-- busted's assert (a failure of the spec, not an error), for the helpers that check
local luassert = require("luassert")

-- The repo root: busted runs from it.
local function repo_root()
  local p = io.popen("pwd")
  local dir = p:read("*l")
  p:close()
  return dir
end

helpers.root = repo_root()

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
helpers.shell_quote = shell_quote

--- The environment prefix that makes a child Lua find the project's modules.
function helpers.lua_env()
  local root = helpers.root
  return string.format("LUA_PATH=%s LUA_CPATH=%s",
    shell_quote(root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;;"),
    shell_quote(root .. "/build/5.4/?.so;;"))
end

--- Starts `lua5.4 script args...` in the background. The script prints
-- "listening <port>" first. Returns { port, url, pid, stop }.
-- opts.env: extra "NAME=value" strings; opts.log: stderr file (default /dev/null);
-- opts.ready: the pattern of that first line instead (its capture becomes proc.ready);
-- opts.nofile: the child's descriptor limit (ulimit -n).
function helpers.spawn_server(script, args, opts)
  opts = opts or {}
  local argv = {}
  for _, a in ipairs(args or {}) do argv[#argv + 1] = shell_quote(a) end
  local env = { helpers.lua_env(), "GLS_PARENT_PID=$PPID", "GLS_SERVER_MAX_SECONDS=900" }
  for _, e in ipairs(opts.env or {}) do env[#env + 1] = e end
  local cmd = string.format("echo $$; %sexec env %s %s %s %s 2>>%s",
    opts.nofile and ("ulimit -n " .. math.floor(opts.nofile) .. " && ") or "", table.concat(env, " "), LUA, shell_quote(script), table.concat(argv, " "),
    shell_quote(opts.log or "/dev/null"))
  local pipe = assert(io.popen(cmd, "r"))
  local pid = pipe:read("*l")
  local line = pipe:read("*l")
  local port = line and line:match(opts.ready or "^listening (%d+)")
  if not port then
    pipe:close()
    error("server " .. script .. " did not start (got: " .. tostring(line) .. ")")
  end
  local proc = { pid = tonumber(pid), port = tonumber(port), ready = port, pipe = pipe }
  proc.url = "http://127.0.0.1:" .. proc.port
  function proc.stop()
    if proc.stopped then return end
    proc.stopped = true
    os.execute("kill " .. proc.pid .. " 2>/dev/null")
    proc.pipe:close()
  end
  return proc
end

--- Starts the project's emulator on an ephemeral port.
-- opts.delay_scale (default 0.01), opts.args (extra CLI arguments), opts.env, opts.log.
function helpers.start_emulator(opts)
  opts = opts or {}
  local args = { "--port", "0", "--delay-scale", tostring(opts.delay_scale or 0.01) }
  for _, a in ipairs(opts.args or {}) do args[#args + 1] = a end
  local emu = helpers.spawn_server(helpers.root .. "/bin/gameliftstreams-emulator", args, opts)
  emu.access_key_id = "AKIDEMULATOR"
  emu.secret_access_key = "emulator-secret"
  emu.credentials = { access_key_id = emu.access_key_id, secret_access_key = emu.secret_access_key }
  return emu
end

--- A client of the SDK pointed at an emulator, with its credentials.
function helpers.client(emu, extra)
  local opts = { region = "us-west-2", endpoint = emu.url, credentials = emu.credentials }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return assert(require("gameliftstreams").new(opts))
end

--- Calls the emulator's control API (/_emulator/...). Returns status, decoded body.
function helpers.control(emu, method, path, body)
  local core = helpers.core()
  local cjson = require("cjson")
  helpers._pool = helpers._pool or core.http_pool{}
  local res = helpers._pool:request{
    method = method, url = emu.url .. "/_emulator/" .. path,
    headers = body and { ["content-type"] = "application/json" } or {},
    body = body and cjson.encode(body) or nil, timeout = 10,
  }
  assert(not res.error, res.error and res.error.message)
  local decoded = nil
  if res.body and #res.body > 0 then
    local ok, v = pcall(cjson.decode, res.body)
    decoded = ok and v or res.body
  end
  return res.status, decoded
end

--- The requests an emulator logged, its control API's own left out.
function helpers.sent_requests(emu)
  local _, log = helpers.control(emu, "GET", "requests")
  local out = {}
  for _, e in ipairs(log.requests) do
    if not e.path:find("^/_emulator/") then out[#out + 1] = e end
  end
  return out
end

function helpers.core()
  return require("gameliftstreams.core")
end

--- The keys of t, sorted.
function helpers.sorted_keys(t)
  local list = {}
  for k in pairs(t) do list[#list + 1] = k end
  table.sort(list)
  return list
end

--- A copy of v with every table in it copied (keys and non-table values shared).
function helpers.deep_copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = helpers.deep_copy(x) end
  return t
end

--- A fresh temporary directory (removed by helpers.rm_rf).
function helpers.tmpdir()
  local p = io.popen("mktemp -d")
  local dir = p:read("*l")
  p:close()
  return dir
end

function helpers.write_file(path, content)
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

function helpers.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function helpers.rm_rf(path)
  if path and path:match("^/tmp/") then os.execute("rm -rf " .. shell_quote(path)) end
end

--- Writes `body` as the executable shell script dir/name (a #!/bin/sh line first); returns its path.
function helpers.shell_script(dir, name, body)
  local path = helpers.write_file(dir .. "/" .. name, "#!/bin/sh\n" .. body)
  os.execute("chmod +x " .. shell_quote(path))
  return path
end

--- Polls fn until it returns a truthy value, which it returns; fails after `limit` seconds
-- (default 3).
function helpers.eventually(fn, limit)
  local core = helpers.core()
  local deadline = core.monotime() + (limit or 3)
  while true do
    local v = fn()
    if v then return v end
    luassert(core.monotime() < deadline, "condition not reached in time")
    core.sleep(0.01)
  end
end

--- Runs a shell command; returns its stdout and whether it succeeded.
function helpers.run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local ok = p:close()
  return out, ok == true or ok == 0
end

---------------------------------------------------------------------------
-- nginx (Debian's, with lua-nginx-module), for the specs of the OpenResty path
---------------------------------------------------------------------------

local NGX_LUA_MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"

--- Whether the nginx specs can run: nginx, its lua module and the LuaJIT build of the core.
function helpers.have_nginx()
  local ok = os.execute("command -v nginx >/dev/null 2>&1")
  return (ok == true or ok == 0) and io.open(NGX_LUA_MODULE) ~= nil
    and io.open(helpers.root .. "/build/jit/gameliftstreams/core.so") ~= nil
end

--- A TCP port of 127.0.0.1 nobody listens on (as the kernel picked it a moment ago).
function helpers.free_port()
  local socket = require("socket")
  local s = socket.bind("127.0.0.1", 0)
  local _, p = s:getsockname()
  s:close()
  return tonumber(p)
end

--- Starts nginx in the background with the configuration text `o.conf`, written to o.dir,
-- which also gets error.log and nginx.out. o.env: variables for nginx (a table), o.prefix: its
-- -p (default o.dir), o.cwd (default the repository root), o.ready: a function true once
-- nginx serves (called every 0.1 s, 10 s at most; else this raises with nginx's logs).
-- Started by root, nginx would run its workers as `nobody`, who cannot read a checkout or a
-- temporary folder under a private (0700) folder such as root's home: then they stay root.
-- Returns a function that stops it, and the master's pid.
function helpers.start_nginx(o)
  local sched = require("gameliftstreams.sched")
  local conf = o.conf
  if helpers.run("id -u"):match("%d+") == "0" then conf = "user root;\n" .. conf end
  helpers.write_file(o.dir .. "/nginx.conf", conf)
  local vars = {}
  for k, v in pairs(o.env or {}) do vars[#vars + 1] = k .. "=" .. shell_quote(v) end
  table.sort(vars)
  local cmd = string.format("cd %s && env -u LD_PRELOAD %s nginx -p %s -e %s -c %s >%s 2>&1 & echo $!",
    shell_quote(o.cwd or helpers.root), table.concat(vars, " "), shell_quote(o.prefix or o.dir),
    shell_quote(o.dir .. "/error.log"), shell_quote(o.dir .. "/nginx.conf"), shell_quote(o.dir .. "/nginx.out"))
  local p = io.popen(cmd)
  local pid = tonumber(p:read("*l"))
  p:close()
  local function stop() if pid then os.execute("kill " .. pid .. " 2>/dev/null") end end
  local t0 = sched.now()
  while sched.now() - t0 < 10 do
    if o.ready() then return stop, pid end
    sched.sleep(0.1)
  end
  stop()
  error("nginx did not start: " .. tostring(helpers.read_file(o.dir .. "/nginx.out")) ..
        tostring(helpers.read_file(o.dir .. "/error.log")))
end

return helpers
