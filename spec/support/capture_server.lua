-- Records the exact bytes of every request it receives, for spec/wire_spec.lua.
--   GET /_capture   the requests recorded since the last GET /_capture, as a JSON list of
--                   strings (head and body, byte for byte), then forgets them
--   IMDS paths      recorded, answered as instance metadata would (a token, the role
--                   "wire-role", its credentials), so the whole IMDS exchange is recorded
--   anything else   recorded, answered 400 with an AWS JSON error (x-amzn-errortype
--                   CapturedException), so a client with max_attempts = 1 sends it once
-- Many connections at once (socket.select); keep-alive; Content-Length bodies only (the SDK
-- sends no chunked bodies). Prints "listening <port>".
local socket = require("socket")
local cjson = require("cjson")

local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0)
local _, port = server:getsockname()
io.stdout:write("listening ", port, "\n")
io.stdout:flush()

local recorded = {}
local conns = {} -- socket -> pending input

local ANSWER = '{"message":"captured"}'
local IMDS = {
  ["/latest/api/token"] = "wire-imds-token",
  ["/latest/meta-data/iam/security-credentials/"] = "wire-role",
  ["/latest/meta-data/iam/security-credentials/wire-role"] = '{"Code":"Success","AccessKeyId":"ASIAWIREIMDS",'
    .. '"SecretAccessKey":"wire-imds-secret","Token":"wire-imds-token","Expiration":"2025-11-24T22:00:00Z"}',
}

local function respond(c, status, headers, body)
  local out = { "HTTP/1.1 " .. status .. " X\r\n" }
  for k, v in pairs(headers) do out[#out + 1] = k .. ": " .. v .. "\r\n" end
  out[#out + 1] = "Content-Length: " .. #body .. "\r\n\r\n" .. body
  c:settimeout(5)
  c:send(table.concat(out))
  c:settimeout(0)
end

-- Handles every whole request in buf; returns what is left.
local function serve(c, buf)
  while true do
    local head_end = buf:find("\r\n\r\n", 1, true)
    if not head_end then return buf end
    local head = buf:sub(1, head_end + 3)
    local len = tonumber(head:lower():match("\r\ncontent%-length:%s*(%d+)")) or 0
    if #buf < head_end + 3 + len then return buf end
    local raw = buf:sub(1, head_end + 3 + len)
    buf = buf:sub(head_end + 4 + len)
    if head:match("^GET /_capture ") then
      local list = recorded
      recorded = {}
      respond(c, 200, { ["Content-Type"] = "application/json" }, #list == 0 and "[]" or cjson.encode(list))
    else
      recorded[#recorded + 1] = raw
      local path = head:match("^%u+ [^ ]-//[^/ ]*(/[^ ?]*)") or head:match("^%u+ (/[^ ?]*)")
      if IMDS[path] then
        respond(c, 200, { ["Content-Type"] = "text/plain" }, IMDS[path])
      else
        respond(c, 400, { ["Content-Type"] = "application/json",
                        ["x-amzn-errortype"] = "CapturedException",
                        ["x-amzn-requestid"] = "captured" }, ANSWER)
      end
    end
  end
end

local deadline = socket.gettime() + tonumber(os.getenv("GLS_SERVER_MAX_SECONDS") or "900")
while socket.gettime() < deadline do
  local list = { server }
  for c in pairs(conns) do list[#list + 1] = c end
  local readable = socket.select(list, nil, 1)
  for _, s in ipairs(readable or {}) do
    if s == server then
      local c = server:accept()
      if c then
        c:settimeout(0)
        conns[c] = ""
      end
    else
      local data, err, partial = s:receive(65536)
      data = data or partial
      if data and #data > 0 then conns[s] = serve(s, conns[s] .. data) end
      if err == "closed" then
        s:close()
        conns[s] = nil
      end
    end
  end
end
