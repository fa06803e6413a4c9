-- A misbehaving HTTP server for the specs of spec/http/. The path picks the behaviour:
--   /echo                 the request as JSON (method, target, path, query, body, headers,
--                         conn = which connection, conn_requests = requests on it so far)
--   /status/NNN           answers with status NNN
--   /headers              repeated and mixed-case response headers
--   /continue             an interim 100 response before the real one
--   /fold                 a header continued on a folded line (obsolete syntax)
--   /slow?s=SECONDS       answers after SECONDS (0.5 by default)
--   /hang                 never answers
--   /reset                resets the connection instead of answering
--   /reset-mid            resets after the headers and part of the body
--   /truncate             promises 100 bytes, sends 10, closes
--   /empty                closes without sending anything
--   /garbage              bytes that are not HTTP
--   /big?n=N              a body of N bytes with Content-Length
--   /big-chunked?n=N      a chunked body of N bytes (no length known up front)
--   /big-header?n=N       one response header line with a value of N bytes (1 MB; also as
--                         /streamgroups/big-header, where GetStreamGroup sends it)
--   /repeat-header?n=N    the header "X-Rep: value-<i>" N times
-- A request in absolute form (sent to a proxy) is routed by its path too.
local httpd = require("gameliftstreams.emulator.httpd")
local cjson = require("cjson")

local connections = 0

local function param(query, name, default)
  return tonumber(query:match("[?&]?" .. name .. "=([%d.]+)")) or default
end

local function chunked(n)
  local out, left = {}, n
  while left > 0 do
    local k = left > 8192 and 8192 or left
    out[#out + 1] = string.format("%x\r\n%s\r\n", k, string.rep("c", k))
    left = left - k
  end
  out[#out + 1] = "0\r\n\r\n"
  return table.concat(out)
end

local function handler(req)
  local conn = req.conn
  if not conn.id then
    connections = connections + 1
    conn.id = connections
  end
  conn.requests = (conn.requests or 0) + 1
  local path = req.path:gsub("^[hH][tT][tT][pP][sS]?://[^/]*", "")
  local q = req.query

  if path == "/echo" or path:match("^/echo/") then
    return 200, { ["Content-Type"] = "application/json" }, cjson.encode{
      method = req.method, target = req.target, path = path, query = q, body = req.body,
      headers = req.headers, conn = conn.id, conn_requests = conn.requests,
    }
  elseif path:match("^/status/%d%d%d$") then
    local status = tonumber(path:match("%d+$"))
    return status, { ["Content-Type"] = "text/plain" }, "status " .. status
  elseif path == "/headers" then
    return 200, { ["X-Mixed-Case"] = "Value Kept", ["Set-Cookie"] = { "a=1", "b=2" },
                  ["X-Empty"] = "", ["X-Spaces"] = "  padded  " }, "ok"
  elseif path == "/continue" then
    return httpd.raw("HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n" ..
                     "HTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 4\r\n\r\ndone", false)
  elseif path == "/fold" then
    return httpd.raw("HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\n\r\nok", false)
  elseif path == "/slow" then
    return httpd.delay(param(q, "s", 0.5), 200, { ["Content-Type"] = "text/plain" }, "slow " .. q)
  elseif path == "/hang" then
    return httpd.hang()
  elseif path == "/reset" then
    return httpd.reset()
  elseif path == "/reset-mid" then
    return httpd.script{
      { send = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" .. string.rep("r", 1000) },
      { wait = 0.05 }, { reset = true } }
  elseif path == "/truncate" then
    return httpd.raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", true)
  elseif path == "/empty" then
    return httpd.raw("", true)
  elseif path == "/garbage" then
    return httpd.raw("SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n\0\1\2\3", true)
  elseif path == "/big" then
    return 200, { ["Content-Type"] = "application/octet-stream" }, string.rep("b", param(q, "n", 1024))
  elseif path == "/big-header" or path == "/streamgroups/big-header" then
    return httpd.raw("HTTP/1.1 200 OK\r\nX-Big: " .. string.rep("h", param(q, "n", 1048576))
                     .. "\r\nContent-Length: 2\r\n\r\nok", false)
  elseif path == "/repeat-header" then
    local lines = {}
    for i = 1, param(q, "n", 10) do lines[i] = "X-Rep: value-" .. i .. "\r\n" end
    return httpd.raw("HTTP/1.1 200 OK\r\n" .. table.concat(lines) .. "Content-Length: 2\r\n\r\nok", false)
  elseif path == "/big-chunked" then
    return httpd.raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" .. chunked(param(q, "n", 1024)), false)
  end
  return 404, { ["Content-Type"] = "text/plain" }, "no such test path: " .. path
end

httpd.main{ host = "127.0.0.1", port = 0, handler = handler }
