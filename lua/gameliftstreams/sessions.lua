--- Start a stream session and wait until it is ACTIVE, in one call, leaving nothing
-- running when that fails.
--
--     local session, err = client:start_session_and_wait({
--       Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC",
--       SignalRequest = offer }, { max_wait = 300 })
--
-- Returns the GetStreamSession output of the ACTIVE session (SignalResponse included).
-- If the start fails, its error is returned. If the wait fails, times out or is
-- cancelled, the session is terminated (TerminateStreamSession) and the waiter's error
-- is returned, with `err.session_arn`, and `err.termination_error` when the termination
-- failed too. opts are the waiter's (max_wait, min_delay, max_delay, fail_fast, cancel, rng).
local _M = { _VERSION = "0.1" }

local type, error = type, error

local waiters
local function deps()
  if not waiters then waiters = require("gameliftstreams.waiters") end
end

function _M.start_and_wait(client, input, opts)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    error("start_and_wait: client must be an SDK client", 2)
  end
  if type(input) ~= "table" then error("start_and_wait: input must be a table", 2) end
  deps()
  local started, err = client:call("StartStreamSession", input)
  if not started then return nil, err end
  local arn = started.Arn
  local group = input.Identifier
  local out, werr = waiters.wait(client, "stream_session_active",
                                 { Identifier = group, StreamSessionIdentifier = arn }, opts)
  if out then return out end
  werr.session_arn = arn
  -- Clean up. After a task cancellation the next call runs normally (cancellation is
  -- delivered once), so this termination is sent even then.
  local _, terr = client:call("TerminateStreamSession", { Identifier = group, StreamSessionIdentifier = arn })
  if terr and terr.code ~= "ResourceNotFoundException" then werr.termination_error = terr end
  return nil, werr
end

return _M
