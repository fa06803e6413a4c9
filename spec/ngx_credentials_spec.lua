-- The credential providers inside a real nginx (Debian's nginx with lua-nginx-module, one
-- worker, LuaJIT): each provider against the stand-ins of spec/support/aws_standins.lua, with
-- the worker's system calls watched by strace where it is there, and what happens to a fetch
-- whose request nginx ends half-way.
local helpers = require("helpers")
local cjson = require("cjson")
local support = require("support.credentials")

local have_nginx = helpers.have_nginx()

-- One provider of each kind per worker, kept for the worker's life as a client keeps its own.
local HANDLER = [=[
local credentials = require("gameliftstreams.credentials")
local cjson = require("cjson.safe")
local _M = {}
local providers = {}

local function env(t) return function(k) return t[k] end end

local function provider(a)
  local key = a.p .. " " .. (a.dict or "")
  if providers[key] then return providers[key] end
  local standins, dir = os.getenv("GLS_STANDINS"), os.getenv("GLS_DIR")
  local opts = { getenv = env{ HOME = dir, AWS_EC2_METADATA_DISABLED = "true" },
                 config_file = dir .. "/config", credentials_file = dir .. "/credentials",
                 sts_endpoint = standins, imds_endpoint = standins, container_endpoint = standins,
                 sso_cache_dir = dir .. "/sso", shared_dict = a.dict, fetch_wait = 30, imds_timeout = 5 }
  local e = { HOME = dir, AWS_EC2_METADATA_DISABLED = "true", AWS_ENDPOINT_URL_SSO = standins,
              AWS_ENDPOINT_URL_SSO_OIDC = standins }
  local p
  if a.p == "imds" then
    e.AWS_EC2_METADATA_DISABLED = nil
    opts.getenv = env(e)
    p = credentials.imds(opts)
  elseif a.p == "environment" then
    e.AWS_ACCESS_KEY_ID, e.AWS_SECRET_ACCESS_KEY = "AKIDENV", "env-secret"
    opts.getenv = env(e)
    p = credentials.from_config(opts)
  elseif a.p == "container" then
    e.AWS_CONTAINER_CREDENTIALS_FULL_URI = standins .. "/creds"
    e.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = dir .. "/container-token"
    opts.getenv = env(e)
    p = credentials.from_config(opts)
  elseif a.p == "web-identity" then
    e.AWS_WEB_IDENTITY_TOKEN_FILE, e.AWS_ROLE_ARN = dir .. "/web-token", "arn:aws:iam::123456789012:role/web"
    opts.getenv = env(e)
    p = credentials.from_config(opts)
  else -- a profile of the shared files: static, process, sso
    opts.getenv = env(e)
    opts.profile = a.p
    p = credentials.from_config(opts)
  end
  providers[key] = p
  return p
end

function _M.pid() ngx.say(ngx.worker.pid()) end

function _M.get()
  local a = ngx.req.get_uri_args()
  local p = provider(a)
  local t0 = ngx.now()
  local c, err = p:get()
  ngx.update_time()
  ngx.say(cjson.encode{ key = c and c.access_key_id, code = err and err.code,
                        message = err and err.message, elapsed = ngx.now() - t0 })
end

-- The fetch runs in a light thread of this request, which ngx.exit ends half-way.
function _M.get_then_exit()
  local a = ngx.req.get_uri_args()
  local p = provider(a)
  ngx.thread.spawn(function() return p:get() end)
  ngx.sleep(tonumber(a.after) or 0.2)
  ngx.say("gone")
  ngx.exit(200)
end

return _M
]=]

local CONF = [=[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
daemon off;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log info;
env GLS_STANDINS;
env GLS_DIR;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path @DIR@/tmp;
  proxy_temp_path @DIR@/tmp;
  fastcgi_temp_path @DIR@/tmp;
  uwsgi_temp_path @DIR@/tmp;
  scgi_temp_path @DIR@/tmp;
  lua_package_path "@ROOT@/lua/?.lua;@ROOT@/lua/?/init.lua;@DIR@/?.lua;;";
  lua_package_cpath "@ROOT@/build/jit/?.so;;";
  lua_shared_dict gls_cache 1m;
  lua_socket_log_errors off;
  server {
    listen 127.0.0.1:@PORT@;
    location = /get { content_by_lua_block { require("creds_handler").get() } }
    location = /pid { content_by_lua_block { require("creds_handler").pid() } }
    location = /get-then-exit { content_by_lua_block { require("creds_handler").get_then_exit() } }
  }
}
]=]

local CONFIG = [[
[profile process]
credential_process = printf '{"Version":1,"AccessKeyId":"AKIDPROC","SecretAccessKey":"s"}'
[profile sso]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = standin-sso-role
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
]]

;(have_nginx and describe or pending)("credential providers inside nginx", function()
  local standins, dir, port, stop_nginx, sched

  local function get(path)
    local res, err = sched.http{ method = "GET", url = "http://127.0.0.1:" .. port .. path, timeout = 60 }
    assert(res, err and err.message)
    assert.equal(200, res.status, res.body)
    local ok, body = pcall(cjson.decode, res.body)
    return ok and body or res.body
  end

  setup(function()
    sched = require("gameliftstreams.sched")
    dir = helpers.tmpdir()
    os.execute("mkdir -p " .. helpers.shell_quote(dir .. "/tmp") .. " " .. helpers.shell_quote(dir .. "/sso"))
    standins = helpers.spawn_server(helpers.root .. "/" .. support.STANDINS, {})
    helpers.write_file(dir .. "/creds_handler.lua", HANDLER)
    helpers.write_file(dir .. "/config", CONFIG)
    helpers.write_file(dir .. "/credentials", "[static]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = s\n")
    helpers.write_file(dir .. "/web-token", "web-identity-token\n")
    helpers.write_file(dir .. "/container-token", "container-token\n")
    local core = helpers.core()
    helpers.write_file(dir .. "/sso/" .. core.sha1_hex("corp") .. ".json", cjson.encode{
      startUrl = "https://corp.awsapps.com/start", region = "us-east-1", accessToken = "standin-sso-token",
      expiresAt = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 3600) })
    port = helpers.free_port()
    local conf = CONF:gsub("@DIR@", dir):gsub("@ROOT@", helpers.root):gsub("@PORT@", tostring(port))
    stop_nginx = helpers.start_nginx{ conf = conf, dir = dir,
      env = { GLS_STANDINS = standins.url, GLS_DIR = dir },
      ready = function()
        return sched.http{ method = "GET", url = "http://127.0.0.1:" .. port .. "/none", timeout = 1 } ~= nil
      end }
  end)

  teardown(function()
    if stop_nginx then stop_nginx() end
    if standins then standins.stop() end
    helpers.rm_rf(dir)
  end)

  -- strace on the worker, where strace is there and may attach: the lines of the worker itself
  -- (not of the children credential_process starts) while fn runs, or nil.
  local function traced(pid, fn)
    local ok = os.execute("command -v strace >/dev/null 2>&1")
    if not (ok == true or ok == 0) then fn(); return nil end
    local trace = dir .. "/strace.out"
    local sh = io.popen("strace -f -qq -o " .. helpers.shell_quote(trace) .. " -e trace=%file,%network,%process," ..
      "poll,ppoll,select,pselect6,epoll_wait,nanosleep,clock_nanosleep,read,wait4 -p " .. pid ..
      " >/dev/null 2>&1 & echo $!")
    local spid = tonumber(sh:read("*l"))
    sh:close()
    helpers.eventually(function() get("/pid"); return (helpers.read_file(trace) or "") ~= "" end, 5)
    fn()
    os.execute("kill -INT " .. spid)
    sched.sleep(0.3)
    local mine = {}
    for line in (helpers.read_file(trace) or ""):gmatch("[^\n]+") do
      if line:match("^(%d+)") == pid then mine[#mine + 1] = line end
    end
    return #mine > 0 and mine or nil
  end

  it("every provider answers inside nginx, and the worker waits only in epoll_wait meanwhile", function()
    local pid = string.format("%d", assert(tonumber(get("/pid")))) -- cjson under Lua 5.4 reads 123.0
    local names = { "environment", "static", "process", "web-identity", "container", "imds", "sso" }
    local lines = traced(pid, function()
      for _, name in ipairs(names) do
        local r = get("/get?p=" .. name)
        assert.is_string(r.key, name .. ": " .. cjson.encode(r))
      end
    end)
    if not lines then return end -- no strace here: the answers were checked
    local files = {}
    for _, line in ipairs(lines) do
      -- libcurl's blocking path would poll(); a blocking sleep, nanosleep; reaping, wait4 without WNOHANG
      assert.is_nil(line:match("^%d+%s+p?poll%(") or line:match("^%d+%s+p?select6?%(")
        or line:match("nanosleep%(") or line:match("libcurl"), line)
      if line:match("^%d+%s+wait4%(") then assert.truthy(line:find("WNOHANG", 1, true), line) end
      if line:match("^%d+%s+connect%(") then assert.truthy(line:find("EINPROGRESS", 1, true), line) end
      local path = line:match('^%d+%s+openat%(AT_FDCWD, "([^"]+)"')
      if path and not line:find("ENOENT", 1, true) and not path:match("%.lua$") then files[path:sub(#dir + 2)] = true end
    end
    -- the only files read: the shared files, the token files, the SSO cache (small, regular files)
    local sso_cache = "sso/" .. helpers.core().sha1_hex("corp") .. ".json"
    assert.same({ config = true, credentials = true, ["web-token"] = true, ["container-token"] = true,
                  [sso_cache] = true }, files)
  end)

  it("a fetch whose request nginx ended half-way does not hold up the next request's", function()
    for _, dict in ipairs{ "", "&dict=gls_cache" } do
      support.ctl(standins, "POST", "config", { delay = 1 })
      assert.equal("gone\n", get("/get-then-exit?p=imds&after=0.3" .. dict))
      support.ctl(standins, "POST", "config", { delay = 0 })
      local r = get("/get?p=imds" .. dict)
      assert.is_string(r.key, cjson.encode(r))
      assert.is_true(r.elapsed < 3, dict .. ": waited " .. r.elapsed .. " s")
    end
  end)
end)
