--- credential_process: a command that prints credentials as JSON.
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local errors = B.errors
local type, tostring, tonumber, error = type, tostring, tonumber, error
local concat = table.concat

-- The most output a command may print: a credentials document is well under a KB, and a
-- command that prints without end (`yes`) must not be read until memory runs out.
local MAX_OUTPUT = B.text.MAX_FILE_BYTES
local TOO_LONG = "its output is larger than " .. MAX_OUTPUT .. " bytes"
local fail, make_creds, lazy_core, lazy_sched, decode_json, default_clock =
  B.fail, B.make_creds, B.lazy_core, B.lazy_sched, B.decode_json, B.default_clock
local iso8601 = B.text.iso8601

-- credential_process

-- The command's output, with its exit status printed last by the shell (an nginx worker
-- reaps children itself, so waitpid cannot be relied on for it).
local function wrap_command(command)
  return "(" .. command .. "); printf '\\n__gls_exit=%d\\n' $?"
end

-- Reads the command's whole output, yielding between reads. raw output, or nil and an
-- error object (Cancelled) or a message.
local function read_command_polling(core, sched, command)
  local proc, err = core.spawn_shell(wrap_command(command))
  if not proc then return nil, err end
  local parts, delay, total = {}, 0.002, 0
  while true do
    local chunk, state = proc:read()
    if chunk then
      total = total + #chunk
      if total > MAX_OUTPUT then
        proc:close() -- the command (and what it started) is stopped
        return nil, TOO_LONG
      end
      parts[#parts + 1] = chunk
      delay = 0.002
    elseif state == "eof" then
      break
    elseif state == "again" then
      local ok, serr = sched.sleep(delay)
      if not ok then
        proc:close() -- cancelled: the command (and what it started) is stopped
        return nil, serr
      end
      delay = math.min(delay * 2, 0.05)
    else
      proc:close()
      return nil, "reading its output failed: " .. tostring(state)
    end
  end
  proc:close()
  return concat(parts)
end

local function run_command(command)
  local sched, core = lazy_sched(), lazy_core()
  if sched and sched.can_yield and sched.can_yield() and core and core.spawn_shell then
    return read_command_polling(core, sched, command)
  end
  local pipe = io.popen(wrap_command(command), "r")
  if not pipe then return nil, "cannot start the command" end
  local parts, total = {}, 0
  while true do
    local chunk = pipe:read(65536)
    if not chunk then break end
    total = total + #chunk
    if total > MAX_OUTPUT then
      pipe:close() -- the command's next write fails (SIGPIPE)
      return nil, TOO_LONG
    end
    parts[#parts + 1] = chunk
  end
  pipe:close()
  return concat(parts)
end

local function process_fetch(command, name, clock)
  local out, rerr = run_command(command)
  if not out then
    if errors.is(rerr) then return nil, rerr end
    return nil, fail(name, rerr)
  end
  local body, status = out:match("^(.*)\n__gls_exit=(%d+)\n$")
  status = tonumber(status)
  if not status then return nil, fail(name, "command ended without an exit status") end
  if status ~= 0 then return nil, fail(name, "command exited with status " .. status) end
  local doc = decode_json(body)
  if not doc then return nil, fail(name, "command output is not a JSON object") end
  if doc.Version ~= 1 then -- (a number is named; other values are the command's output, not quoted)
    local v = type(doc.Version) == "number" and tostring(doc.Version) or ("(a " .. type(doc.Version) .. ")")
    return nil, fail(name, "unsupported Version " .. v .. " (expected 1)")
  end
  if type(doc.AccessKeyId) ~= "string" or type(doc.SecretAccessKey) ~= "string" then
    return nil, fail(name, "command output lacks AccessKeyId or SecretAccessKey")
  end
  local exp
  if doc.Expiration ~= nil then
    exp = _M.parse_time(doc.Expiration)
    if not exp then return nil, fail(name, "unreadable Expiration") end
    -- Signing with them would only earn the service's ExpiredToken, after the request went out.
    if exp <= clock() then
      return nil, fail(name, "command returned credentials that expired at " .. iso8601(exp))
    end
  end
  return make_creds({ access_key_id = doc.AccessKeyId, secret_access_key = doc.SecretAccessKey,
    session_token = type(doc.SessionToken) == "string" and doc.SessionToken or nil,
    expiration = exp }, name)
end

--- Runs `command` (through /bin/sh) and reads credentials from its JSON output.
function _M.process(command, opts)
  local clock = opts and opts.clock or default_clock
  return _M.refreshing("process", function() return process_fetch(command, "process", clock) end, opts)
end

return _M
