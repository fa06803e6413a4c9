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
--
-- The start itself may be cut off after it reached the service (its task cancelled, the
-- connection lost, retries exhausted on timeouts): the session may then exist without
-- the caller knowing its ARN. So the helper fixes a ClientToken (unless the caller gave
-- one), and after such a failure replays the start once with it: StartStreamSession is
-- idempotent per token, so the replay returns the session the cut-off call created (or
-- starts one), and that session is terminated. The start's own error is returned.
local _M = { _VERSION = "0.1" }

local type, error, pairs = type, error, pairs

local waiters, core
local function deps()
  if not waiters then waiters = require("gameliftstreams.waiters") end
  if not core then core = require("gameliftstreams.core") end
end

-- Failures after which the start may have reached the service: no answer was read.
local function maybe_started(err)
  if err.status ~= nil then return false end
  return err.code == "Cancelled" or err.code == "NetworkError" or err.code == "Timeout"
end

local function terminate(client, group, arn, err)
  err.session_arn = arn
  local _, terr = client:call("TerminateStreamSession", { Identifier = group, StreamSessionIdentifier = arn })
  if terr and terr.code ~= "ResourceNotFoundException" then err.termination_error = terr end
end

function _M.start_and_wait(client, input, opts)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    error("start_and_wait: client must be an SDK client", 2)
  end
  if type(input) ~= "table" then error("start_and_wait: input must be a table", 2) end
  deps()
  if input.ClientToken == nil then
    local copy = {}
    for k, v in pairs(input) do copy[k] = v end
    copy.ClientToken = core.uuid4()
    input = copy
  end
  local group = input.Identifier
  local started, err = client:call("StartStreamSession", input)
  if not started then
    if maybe_started(err) then
      -- (a cancellation is delivered once: this replay and the termination run normally)
      local again = client:call("StartStreamSession", input)
      if again and again.Arn then terminate(client, group, again.Arn, err) end
    end
    return nil, err
  end
  local arn = started.Arn
  local out, werr = waiters.wait(client, "stream_session_active",
                                 { Identifier = group, StreamSessionIdentifier = arn }, opts)
  if out then return out end
  -- Clean up. After a task cancellation the next call runs normally (cancellation is
  -- delivered once), so this termination is sent even then.
  terminate(client, group, arn, werr)
  return nil, werr
end

return _M
