-- A test server for httpd_spec: echoes requests and demonstrates each action.
local httpd = require("gameliftstreams.emulator.httpd")
local cjson = require("cjson")

httpd.main{ header_timeout = tonumber(os.getenv("GLS_HEADER_TIMEOUT") or ""), handler = function(req)
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
  end
  return 200, { ["Content-Type"] = "application/json", ["X-Multi"] = { "a", "b" } }, cjson.encode{
    method = req.method, path = req.path, query = req.query, body = req.body,
    headers = req.headers, conn_count = req.conn.count,
  }
end }
