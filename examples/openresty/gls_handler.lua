--- Request handlers for examples/openresty/nginx.conf.
-- POST /sessions?user=NAME with the WebRTC offer as the body: starts a stream session,
-- waits until it is ACTIVE (ngx.sleep between polls: the worker keeps serving), and
-- answers { arn, status, signal_response } as JSON. Nothing blocks the worker.
--
-- A player who hangs up before the answer must not leave a session running for nobody.
-- nginx only notices with `lua_check_client_abort on` (nginx.conf), and then calls the
-- ngx.on_abort callback: it cancels the task, and start_session_and_wait terminates the
-- session it started. A session that became ACTIVE just as the player left is terminated
-- here, before answering nobody.
local gls = require("gameliftstreams")
local sessions = require("gameliftstreams.sessions")
local cjson = require("cjson.safe")

local _M = {}

local client -- one per worker, made on the first request (gls.new does no I/O)
local function get_client()
  if not client then
    client = assert(gls.new{
      region = os.getenv("AWS_REGION") or "us-west-2",
      endpoint = os.getenv("GLS_ENDPOINT"),
    })
  end
  return client
end

local function reply(status, t)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
  return ngx.exit(status)
end

function _M.start_session()
  if ngx.req.get_method() ~= "POST" then return reply(405, { error = "use POST" }) end
  ngx.req.read_body()
  local offer = ngx.req.get_body_data()
  if not offer or offer == "" then return reply(400, { error = "the body must be a WebRTC offer" }) end
  local args = ngx.req.get_uri_args()
  local poll = tonumber(os.getenv("GLS_POLL_SECONDS") or "")
  local opts = { max_wait = tonumber(args.max_wait) or 120 }
  if poll then opts.min_delay, opts.max_delay = poll, poll * 4 end
  local c = get_client()
  local input = {
    Identifier = os.getenv("GLS_STREAM_GROUP"),
    ApplicationIdentifier = os.getenv("GLS_APPLICATION"),
    Protocol = "WebRTC",
    UserId = type(args.user) == "string" and args.user or nil,
    SignalRequest = offer,
  }

  -- The start runs as a task so that the abort callback can cancel it.
  local task
  local gone = false
  local ok, aerr = ngx.on_abort(function()
    gone = true
    if task then task:cancel() end -- the wait stops, the session is terminated
  end)
  if not ok then ngx.log(ngx.WARN, "gls_handler: no client-abort detection: ", aerr) end
  task = gls.spawn(c.start_session_and_wait, c, input, opts)
  -- true, session | true, nil, err | false, err (cancelled: the helper's own error)
  local done, session, err = task:join()
  if not done then session, err = nil, session end
  -- nginx notices a hang-up on a pass of its event loop: let one pass run before answering, so
  -- a player who left while the session started is not answered (ngx.sleep(0) would warn on
  -- an nginx without OpenResty's patches). See the README for what nginx cannot notice.
  if session and not gone then ngx.sleep(0.001) end
  if gone then
    if session then
      -- ACTIVE just as the player left: nobody will use it. sessions.terminate goes on in
      -- the background (an ngx.timer) if this termination fails.
      sessions.terminate(c, input.Identifier, session.Arn)
    end
    return ngx.exit(499) -- nginx's "client closed the request"
  end
  if not session then
    if type(err) ~= "table" then -- raised: a bug, logged by nginx
      ngx.log(ngx.ERR, "gls_handler: ", tostring(err))
      return reply(500, { error = "internal error" })
    end
    -- the error object's fields never carry the offer/answer (sensitive members)
    -- the service's 4xx as it came; anything else (a 5xx, no answer, an unreadable 2xx) is 502
    local status = err.code == "WaiterTimeout" and 504
      or (err.status and err.status >= 400 and err.status < 500 and err.status) or 502
    return reply(status, { error = err.code, message = err.message })
  end
  return reply(200, { arn = session.Arn, status = session.Status, signal_response = session.SignalResponse })
end

function _M.health()
  return reply(200, { ok = true, phase = ngx.get_phase() })
end

return _M
