--- The one request pipeline. Every request the SDK sends goes through `pipeline.send`: the 30
-- operations (client.lua), STS, SSO, SSO OIDC, the container endpoint and IMDS (credentials),
-- and through the operations the waiters' polls and the paginators' pages.
--
-- One exchange, attempt after attempt:
--
--   credentials   svc.provider:get() on every attempt (or req.credentials, fixed)
--   sign          SigV4 (signer.lua) when svc.service is set, at the local clock plus the
--                 clock-skew offset (svc:_skew()); unsigned otherwise
--   SDK headers   amz-sdk-invocation-id / amz-sdk-request (svc.sdk_headers), unsigned
--   rate limit    svc.retry:send_delay() (adaptive mode), waited through sched.sleep
--   send          svc.http or sched.http (the scheduler seam: curl multi, or cosockets)
--   decode        svc.decode(svc, req, resp) -> output | nil, failure | nil, err, true (final)
--   classify      svc.retry:next_delay (retry.lua: the one classifier and the one back-off)
--   clock skew    one resend per call, at once, when the failure says the clock was off and
--                 the answer's Date moves the offset (svc:_set_skew, when svc has it), and the
--                 call has attempts left (max_attempts); the offset is corrected either way
--   back-off      sched.sleep(delay), then the next attempt
--
-- svc (made once per client or per credential fetch, never per call): retry (a retry.lua
-- strategy), decode, and optional provider, region, service (signing name), sdk_headers,
-- _skew/_set_skew, http, timeout, connect_timeout, max_response_bytes, ca_file, ca_path, hooks.
-- req (per call): method, url, headers (the signer's input), body, and optional credentials,
-- operation, sdk_service (the SDK's own calls: "sts", "sso", "sso-oidc", "container", "imds"),
-- secrets (strings no hook may see: sensitive members, tokens it carries), reader
-- ({ core.json_plan decoder, shape name }: the transport may decode a 2xx's body with it where
-- the transfer holds it, and answer the output, nil and the status: the call's output, which
-- svc.decode does not see).
-- req is the transport's table too (no table per attempt): the call's own, as a transport may
-- read it after it yields. svc's transfer settings (timeout, connect_timeout and, when svc has
-- them, max_response_bytes, ca_file, ca_path) are put on it, reader is taken off it when there
-- are hooks, and its headers are each attempt's while the transport has it, req's own again
-- after.
--
-- Hooks (hooks.lua; svc.hooks, a list of hook tables, nil when there is none) sit between the
-- steps: before_send once the attempt is signed and its SDK headers set, after_receive once its
-- answer is classified and the retry decided (before the back-off), call_end on every return.
-- Without hooks each point costs one test of a local.
--
-- Returns the output of decode, or nil, the error object (attempts and backoff set) and the
-- last attempt's response when it had one. A cancelled wait or transfer ends the call at once
-- with its Cancelled error.
local _M = { _VERSION = "0.1" }

local core = require("gameliftstreams.core")
local sign_headers = require("gameliftstreams.signer").sign_headers
local errors = require("gameliftstreams.errors")
local retry = require("gameliftstreams.retry")
local text = require("gameliftstreams.text")
local hooks = require("gameliftstreams.hooks")

local require, tostring, floor, abs = require, tostring, math.floor, math.abs
local loaded = package.loaded
local is_error, new_error = errors.is, errors.new
local is_clock_skew, parse_http_date, header = retry.is_clock_skew, text.parse_http_date, text.header

-- The one check of the credentials' shape: what cannot sign, described (the field and its type,
-- never its value) with the field's name (nil for a non-table), or nil when it can sign. Used
-- for every attempt's credentials (a caller's provider object is called as it is), the
-- credentials option (options.lua) and the static provider (credentials/static.lua).
local CREDS_SHAPE = "{ access_key_id = string, secret_access_key = string, session_token = string or nil }"
local function a_type(v) return "a " .. type(v) end
local function unusable_credentials(creds)
  if type(creds) ~= "table" then return a_type(creds) end
  local id, secret, token = creds.access_key_id, creds.secret_access_key, creds.session_token
  if type(id) == "string" and id ~= "" and type(secret) == "string" and secret ~= ""
      and (token == nil or type(token) == "string") then
    return nil
  end
  if id == nil then return "no access_key_id", "access_key_id" end
  if type(id) ~= "string" then return "access_key_id as " .. a_type(id), "access_key_id" end
  if id == "" then return "access_key_id as an empty string", "access_key_id" end
  if secret == nil then return "no secret_access_key", "secret_access_key" end
  if type(secret) ~= "string" then return "secret_access_key as " .. a_type(secret), "secret_access_key" end
  if secret == "" then return "secret_access_key as an empty string", "secret_access_key" end
  return "session_token as " .. a_type(token), "session_token"
end
_M.unusable_credentials = unusable_credentials

-- Cuts the attempt's secrets (its credentials' secret key and session token, its signature: from
-- creds and its signed headers) out of the service's text in an answer's error (errors.cut_secrets).
local function scrub_answer(err, creds, signed)
  local secrets = {}
  secrets[#secrets + 1] = creds.session_token -- (the longer first: text.cut goes in order)
  secrets[#secrets + 1] = creds.secret_access_key
  local auth = signed and signed.authorization
  secrets[#secrets + 1] = type(auth) == "string" and auth:match("Signature=(%x+)") or nil
  errors.cut_secrets(err, secrets)
end

-- The end of a call that failed: attempts sent, and the back-off of the retry state st (nil:
-- none was needed).
local function done(err, attempts, st, resp, hc)
  err.attempts = attempts
  err.backoff = st and st.backoff or 0
  if hc then hooks.call_end(hc, err) end
  return nil, err, resp
end

-- The amz-sdk-request values, made once per (attempt, max): "attempt=1; max=3".
local SDK_REQUEST = {}
local function sdk_request(attempt, max)
  local by_attempt = SDK_REQUEST[max]
  if not by_attempt then
    by_attempt = {}
    SDK_REQUEST[max] = by_attempt
  end
  local v = by_attempt[attempt]
  if not v then
    v = "attempt=" .. attempt .. "; max=" .. max
    by_attempt[attempt] = v
  end
  return v
end

-- The headers tables of finished attempts, for the next attempts to sign into (sign_headers'
-- fill, which empties them first), so a call leaves none behind: the SDK's transports
-- (sched.http) only read an attempt's headers while they send. Not with hooks, which may keep
-- the table they see, nor with svc.http (a caller's transport may keep it too). A spare table
-- holds the headers of the attempt it was last signed for: the credentials' session token,
-- which the provider holds anyway, and an expired or spent signature.
local spare, nspare = {}, 0
local MAX_SPARE = 64

local function take_spare()
  if nspare == 0 then return nil end
  local t = spare[nspare]
  spare[nspare] = nil
  nspare = nspare - 1
  return t
end

-- Keeps t for a later attempt when there is room.
local function give_back(t)
  if nspare < MAX_SPARE then
    nspare = nspare + 1
    spare[nspare] = t
  end
end

-- Waits `seconds` through the scheduler; nil, or the error (Cancelled) that ended the wait.
local function wait(sched, seconds)
  local ok, err = sched.sleep(seconds)
  if not ok then return err end
  return nil
end

--- Runs one request through every step above. See the module comment.
function _M.send(svc, req)
  -- looked up per call: a spec may load a fresh scheduler, and the client must use it
  local sched = loaded["gameliftstreams.sched"] or require("gameliftstreams.sched")
  local transport = svc.http or sched.http
  local own_transport = not svc.http
  local r = svc.retry
  if not r.resolved then r:_resolve() end -- the mode and max_attempts, settled once
  -- attempts: sent so far, counting the one about to be sent; st: the retry state (r:begin()),
  -- made when a failure is first classified (a call that succeeds at once needs none)
  local attempts, st = 1, nil
  local adaptive = r.adaptive
  local skew_retried = false
  local method, url, body, headers = req.method, req.url, req.body, req.headers
  req.timeout, req.connect_timeout = svc.timeout, svc.connect_timeout
  if svc.max_response_bytes then req.max_response_bytes = svc.max_response_bytes end
  if svc.ca_file then req.ca_file = svc.ca_file end
  if svc.ca_path then req.ca_path = svc.ca_path end
  -- As the AWS SDKs send them: one id per logical call, the attempt number on each attempt.
  local invocation_id = svc.sdk_headers and core.uuid4()
  local hc -- the hooks' view of this call, when there are hooks
  -- The transport may decode a 2xx's body itself with req.reader and hand the output, nil and
  -- the status: not with hooks, which see every answer's headers.
  if svc.hooks then
    req.reader = nil
    hc = hooks.start(svc.hooks, { operation = req.operation, service = req.sdk_service,
      sdk_call = req.sdk_service ~= nil, invocation_id = invocation_id or nil,
      max_attempts = r.max_attempts, secrets = req.secrets })
  end

  while true do
    local send_headers = headers
    local skew = 0
    local creds -- this attempt's, when it is signed
    if svc.service then
      creds = req.credentials
      local provider = svc.provider
      if provider then
        local cerr
        creds, cerr = provider:get()
        if not creds then
          if not is_error(cerr) then
            cerr = new_error{ code = "CredentialsError", message = tostring(cerr or "no credentials") }
          end
          return done(cerr, attempts - 1, st, nil, hc) -- this attempt was never sent
        end
        local unusable = unusable_credentials(creds)
        if unusable then
          return done(new_error{ code = "CredentialsError", retryable = false,
            message = "credentials: the provider's get() returned " .. unusable
              .. ": it must return " .. CREDS_SHAPE .. ", or nil and an error" }, attempts - 1, st, nil, hc)
        end
      end
      if svc._skew then skew = svc:_skew() end -- what this attempt is signed with
      if hc then hooks.add_credentials(hc, creds) end
      -- gls.sign's headers for the attempt, its values passed as they are (no table to read)
      local signed, sign_err = sign_headers(method, url, headers, body or "", svc.region,
        svc.service, creds, floor(core.time() + skew), own_transport and not hc and take_spare() or nil)
      if not signed then
        return done(new_error{ code = "EndpointError",
          message = "cannot sign the request: " .. tostring(sign_err) }, attempts - 1, st, nil, hc)
      end
      send_headers = signed
    end
    if invocation_id then
      -- added after signing (like user-agent), so a proxy that rewrites them breaks nothing
      send_headers["amz-sdk-invocation-id"] = invocation_id
      send_headers["amz-sdk-request"] = sdk_request(attempts, r.max_attempts)
    end

    -- Adaptive mode: wait for the client-side rate limiter's token (r.adaptive: nothing to do
    -- in the other modes, so their calls skip send_delay and record).
    local delay
    if adaptive then
      delay = r:send_delay()
      while delay > 0 do
        local serr = wait(sched, delay)
        if serr then
          return done(serr, attempts - 1, st, nil, hc) -- this attempt was never sent
        end
        delay = r:send_delay()
      end
    end

    if hc then hooks.before_send(hc, attempts, method, url, send_headers) end

    req.headers = send_headers
    local resp, terr, decoded = transport(req)
    req.headers = headers
    -- the signed headers, read by nothing after this attempt but scrub_answer below
    local spent = own_transport and not hc and send_headers ~= headers and send_headers or nil

    local failure
    if resp then
      local out, ferr, final
      if decoded then out = resp else out, ferr, final = svc.decode(svc, req, resp) end
      if out ~= nil then
        if spent then give_back(spent) end
        if adaptive then r:record(nil) end
        r:succeeded(st)
        if hc then
          hooks.after_receive(hc, resp, nil, false)
          hooks.call_end(hc, nil)
        end
        return out
      end
      if creds and ferr then scrub_answer(ferr, creds, send_headers) end
      if spent then give_back(spent) end
      if final then
        if adaptive then r:record(nil) end
        if hc then hooks.after_receive(hc, resp, ferr, false) end
        return done(ferr, attempts, st, resp, hc)
      end
      failure = ferr
    else
      if spent then give_back(spent) end
      failure = terr
      if not is_error(failure) then failure = sched.transport_error(terr) end
      if failure.code == "Cancelled" then
        if hc then hooks.after_receive(hc, nil, failure, false) end
        return done(failure, attempts, st, nil, hc)
      end
    end
    if adaptive then r:record(failure) end

    delay = nil
    if svc._set_skew and not skew_retried and is_clock_skew(failure) then
      local server_time = resp and parse_http_date(header(resp.headers, "date"))
      if server_time then
        local new_skew = server_time - core.time()
        -- Compared with the offset this attempt was signed with: a concurrent call may have
        -- corrected the client's offset meanwhile, and this one still needs its resend.
        if abs(new_skew - skew) >= 1 then
          svc:_set_skew(new_skew) -- for the next call too, even when this one sends no more
          -- the resend is an attempt: only within max_attempts, as the JS SDK v3 retries a
          -- skew-corrected error (otherwise next_delay below ends the call)
          if attempts < r.max_attempts then
            skew_retried = true
            attempts = attempts + 1
            delay = 0
          end
        end
      end
    end
    if not delay then
      st = st or r:begin()
      st.attempts = attempts
      delay = r:next_delay(st, failure, resp and resp.headers)
      attempts = st.attempts
      if hc then hooks.after_receive(hc, resp, failure, delay ~= nil, delay) end
      if not delay then return done(failure, attempts, st, resp, hc) end
      if delay > 0 then
        local serr = wait(sched, delay)
        if serr then return done(serr, attempts, st, nil, hc) end
      end
    elseif hc then
      hooks.after_receive(hc, resp, failure, true, delay) -- the clock-skew resend, at once
    end
  end
end

return _M
