--- Request handlers for examples/openresty/nginx.conf.
-- POST /sessions?user=NAME with the WebRTC offer as the body: starts a stream session,
-- waits until it is ACTIVE (ngx.sleep between polls: the worker keeps serving), and
-- answers { arn, status, signal_response } as JSON. Nothing blocks the worker.
local gls = require("gameliftstreams")
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
  local session, err = get_client():start_session_and_wait({
    Identifier = os.getenv("GLS_STREAM_GROUP"),
    ApplicationIdentifier = os.getenv("GLS_APPLICATION"),
    Protocol = "WebRTC",
    UserId = type(args.user) == "string" and args.user or nil,
    SignalRequest = offer,
  }, opts)
  if not session then
    -- the error object's fields never carry the offer/answer (sensitive members)
    local status = err.code == "WaiterTimeout" and 504 or (err.status and err.status < 500 and err.status) or 502
    return reply(status, { error = err.code, message = err.message })
  end
  return reply(200, { arn = session.Arn, status = session.Status, signal_response = session.SignalResponse })
end

function _M.health()
  return reply(200, { ok = true, phase = ngx.get_phase() })
end

return _M
