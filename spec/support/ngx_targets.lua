-- What the probes of spec/ngx_spec.lua (spec/support/ngx_probes.conf) fetch: chunked and
-- close-delimited answers, a big body, a hang, a reset, an echo. Prints "listening <port>".
local httpd = require("gameliftstreams.emulator.httpd")
httpd.main{ handler = function(req)
  if req.path == "/chunked" then
    return httpd.raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-A: 2\r\n\r\n" ..
      "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n")
  elseif req.path == "/close" then
    return httpd.raw("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", true)
  elseif req.path == "/big" then
    return 200, {}, string.rep("x", 5000)
  elseif req.path == "/hang" then
    return httpd.hang()
  elseif req.path == "/reset" then
    return httpd.reset()
  end
  return 200, { ["Content-Type"] = "text/plain" }, req.method .. " " .. req.peer .. " " .. (req.body or "")
end }
