-- A test server for httpd_spec: echoes requests and demonstrates each action.
-- GLS_HEADER_TIMEOUT, GLS_BODY_TIMEOUT, GLS_IDLE_TIMEOUT, GLS_MAX_CONNECTIONS and
-- GLS_MAX_BODY_BYTES set the server's limits.
local httpd = require("gameliftstreams.emulator.httpd")
local cjson = require("cjson")

local function env(name) return tonumber(os.getenv(name) or "") end

local srv
srv = assert(httpd.new{
  header_timeout = env("GLS_HEADER_TIMEOUT"), body_timeout = env("GLS_BODY_TIMEOUT"),
  idle_timeout = env("GLS_IDLE_TIMEOUT"), max_connections = env("GLS_MAX_CONNECTIONS"),
  max_body_bytes = env("GLS_MAX_BODY_BYTES"),
  handler = function(req)
  req.conn.count = (req.conn.count or 0) + 1
  if req.path == "/delay" then
    return httpd.delay(0.3, 200, { ["Content-Type"] = "text/plain" }, "late")
  elseif req.path == "/reset" then
    return httpd.reset()
  elseif req.path == "/hang" then
    return httpd.hang()
  elseif req.path == "/raw" then
    return httpd.raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true)
  elseif req.path == "/trickle" then
    return httpd.script{ { send = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab" }, { wait = 0.1 }, { send = "cd" } }
  elseif req.path == "/len" then
    -- the size of a big body, and its ends, without echoing it
    return 200, { ["Content-Type"] = "application/json" }, cjson.encode{
      length = #req.body, head = req.body:sub(1, 8), tail = req.body:sub(-8) }
  elseif req.path == "/stats" then
    local s = { open = srv.nconns, max = srv.max_connections }
    for k, v in pairs(srv.stats) do s[k] = v end
    return 200, { ["Content-Type"] = "application/json" }, cjson.encode(s)
  elseif req.path == "/raise" then
    error("a handler bug")
  end
  return 200, { ["Content-Type"] = "application/json", ["X-Multi"] = { "a", "b" } }, cjson.encode{
    method = req.method, path = req.path, query = req.query, body = req.body,
    headers = req.headers, conn_count = req.conn.count,
  }
end })
io.stdout:write("listening ", srv.port, "\n")
io.stdout:flush()
srv:run()
