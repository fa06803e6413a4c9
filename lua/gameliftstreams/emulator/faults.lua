--- Fault injection (POST /_emulator/faults): queued faults, matched FIFO by operation, that
-- answer a request with a throttle, an error, a delay, a reset, garbage, a truncated body
-- or nothing at all, before or after the real work.
local httpd = require("gameliftstreams.emulator.httpd")
local json = require("gameliftstreams.emulator.json")
local limits = require("gameliftstreams.emulator.limits")

local _M = {}

local check_number, has_ctl, LIMITS = limits.check_number, limits.has_ctl, limits.LIMITS

local FAULT_KINDS = { throttle = true, error = true, slow = true, drop = true, garbage = true, hang = true,
                      truncate = true }

--- Queues a fault (a decoded JSON object): the fault, or nil, message.
function _M.add(emu, f)
  if type(f) ~= "table" then return nil, "fault must be a JSON object" end
  if not FAULT_KINDS[f.kind] then
    return nil, "kind must be one of throttle, error, slow, drop, garbage, truncate, hang"
  end
  if f.operation ~= nil and type(f.operation) ~= "string" then return nil, "operation must be a string" end
  local count = f.count == nil and 1 or f.count
  if type(count) ~= "number" or count < 1 or math.floor(count) ~= count then
    return nil, "count must be a positive integer"
  end
  local bad = check_number(count, "count", LIMITS.count[1], LIMITS.count[2], true)
  if bad then return nil, bad end
  if f.kind == "slow" and type(f.seconds) ~= "number" then return nil, "slow needs seconds" end
  if f.seconds ~= nil then
    bad = check_number(f.seconds, "seconds", LIMITS.seconds[1], LIMITS.seconds[2])
    if bad then return nil, bad end
  end
  if f.status ~= nil and (type(f.status) ~= "number" or f.status ~= f.status or f.status < 100 or f.status > 599) then
    return nil, "status must be an HTTP status code"
  end
  for _, name in ipairs({ "code", "message", "body" }) do
    if f[name] ~= nil and type(f[name]) ~= "string" then return nil, name .. " must be a string" end
  end
  if f.code ~= nil and has_ctl(f.code) then return nil, "code must not contain CR, LF or NUL" end
  if f.headers ~= nil then
    if type(f.headers) ~= "table" then return nil, "headers must be an object" end
    for k, v in pairs(f.headers) do
      if type(k) ~= "string" or not k:match("^[!#$%%&'*+%-.^_`|~%w]+$") then
        return nil, "headers: a header name must be a token"
      end
      if (type(v) ~= "string" and type(v) ~= "number") or (type(v) == "string" and has_ctl(v)) then
        return nil, "headers: " .. k .. " must be a string without CR, LF or NUL, or a number"
      end
      if type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge) then
        return nil, "headers: " .. k .. " must be a finite number"
      end
    end
  end
  -- x-amz-retry-after is whole milliseconds; a string goes out verbatim (to test bad hints)
  local ra = f.retry_after
  if ra ~= nil and type(ra) ~= "string"
      and (type(ra) ~= "number" or ra < 0 or math.floor(ra) ~= ra or ra >= 2^53) then
    return nil, "retry_after must be a whole number of milliseconds (or a string, sent verbatim)"
  end
  if type(ra) == "string" and has_ctl(ra) then return nil, "retry_after must not contain CR, LF or NUL" end
  emu.fault_seq = emu.fault_seq + 1
  local fault = {
    id = emu.fault_seq, operation = f.operation or "*", count = math.floor(count), kind = f.kind,
    status = f.status and math.floor(f.status), code = f.code, message = f.message,
    retry_after = ra and (type(ra) == "number" and string.format("%d", ra) or ra), headers = f.headers, seconds = f.seconds, after = f.after == true,
    body = f.body,
  }
  emu.faults[#emu.faults + 1] = fault
  return fault
end
--- The first queued fault for operation `op` (counted down), or nil.
function _M.take(emu, op)
  for i, f in ipairs(emu.faults) do
    if f.operation == "*" or f.operation == op then
      f.count = f.count - 1
      if f.count <= 0 then table.remove(emu.faults, i) end
      return f
    end
  end
  return nil
end

--- Turns a fault into a response; `result` is the real response for "slow" / after-faults.
function _M.response(emu, f, request_id, result)
  local k = f.kind
  if k == "throttle" or k == "error" then
    local extra = {}
    local function text(v) return type(v) == "number" and json.encode_number(v) or tostring(v) end
    if f.retry_after ~= nil then extra["x-amz-retry-after"] = text(f.retry_after) end
    for hk, hv in pairs(f.headers or {}) do extra[hk] = text(hv) end
    if k == "throttle" then
      return emu:error_response(request_id, f.code or "ThrottlingException", f.message or "Rate exceeded",
        f.status or 429, extra)
    end
    local code = f.code or "InternalServerException"
    return emu:error_response(request_id, code, f.message or "Injected fault", f.status or emu.STATUS[code] or 500, extra)
  elseif k == "slow" then
    return httpd.delay(f.seconds, result[1], result[2], result[3])
  elseif k == "drop" then
    return httpd.reset()
  elseif k == "hang" then
    return httpd.hang()
  elseif k == "garbage" then
    local h = emu:base_headers(request_id)
    h["Content-Type"] = "application/json"
    return f.status or 200, h, f.body or "<html><body>502 Bad Gateway</body></html>{\"Arn\":"
  elseif k == "truncate" then
    local body = '{"message":"this body is cut short'
    return httpd.raw(string.format("HTTP/1.1 %d OK\r\nContent-Type: application/json\r\n" ..
      "x-amzn-requestid: %s\r\nContent-Length: %d\r\n\r\n%s", f.status or 200, request_id, #body + 100, body), true)
  end
end

return _M
