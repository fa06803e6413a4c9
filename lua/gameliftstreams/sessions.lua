--- Start a stream session and wait until it is ACTIVE, in one call, and never leave a session
-- running that nobody was handed.
--
--     local session, err = client:start_session_and_wait({
--       Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC",
--       SignalRequest = offer }, { max_wait = 300 })
--
-- Returns the GetStreamSession output of the ACTIVE session (SignalResponse included).
-- opts: the waiter's (max_wait, min_delay, max_delay, max_attempts, fail_fast, cancel, rng), and
-- `cleanup = { max_time = 600, min_delay = 1, max_delay = 60, grace = 10 }` (seconds; see below).
-- Every error it returns carries `err.client_token` (the start's ClientToken) and, once known,
-- `err.session_arn`.
--
-- The guarantee. A session this helper started is terminated unless it was returned ACTIVE:
--   * the wait fails, times out, is cancelled, or raises: TerminateStreamSession, then the
--     waiter's error (a raised error is raised again after the termination);
--   * the start itself fails in a way that may have reached the service (no answer or a 5xx
--     or unreadable 2xx answer, its task cancelled, an attempt after a lost one): the session
--     may exist without the caller knowing its ARN. The helper fixes a ClientToken (unless the
--     caller gave one); StartStreamSession is idempotent per token, so replaying the start
--     names the session the lost call created (or starts one), and that session is terminated.
-- Recovery is tried once at once (the replay and the termination, each with the call's own
-- retries). When that does not settle it, a clean-up job goes on in the background, with
-- back-off from cleanup.min_delay to cleanup.max_delay, for cleanup.max_time seconds from the
-- failure: an ngx.timer inside OpenResty (it outlives the request), an SDK task elsewhere
-- (gls.run and gls.step drive it like any task; a plain script calls
-- `client:drain_cleanups()` before it exits). `err.cleanup` is the job's record:
-- { client_token, session_arn, status = "pending"|"terminated"|"failed"|"expired", attempts,
--   last_error }, updated as the job goes on.
--
-- Inside OpenResty a request can also end while its start is under way (its client went away
-- with lua_check_client_abort on and no ngx.on_abort handler, ngx.exit from another light
-- thread): then no code of the request runs again. So there every start is also watched by a
-- per-worker timer: the helper holds a lease it renews before each step (the start, each
-- poll, the termination), sized to how long the step can take (the client's timeout and
-- attempts, plus cleanup.grace). A lease that runs out means the request is gone: the
-- session is cleaned up as above.
local _M = { _VERSION = "0.2" }

local type, error, pairs, pcall, tostring, tonumber = type, error, pairs, pcall, tostring, tonumber
local math_min, math_max, math_random = math.min, math.max, math.random

local waiters, core, errors, sched, validate, retry
local cleanup_delay -- (job) -> seconds; below
local function deps()
  if not waiters then
    waiters = require("gameliftstreams.waiters")
    core = require("gameliftstreams.core")
    errors = require("gameliftstreams.errors")
    sched = require("gameliftstreams.sched")
    validate = require("gameliftstreams.validate")
    retry = require("gameliftstreams.retry")
  end
end

local function seconds(v) return type(v) == "number" and v == v and v >= 0 and v < math.huge end

--- Defaults of the background clean-up (seconds).
_M.CLEANUP = { max_time = 600, min_delay = 1, max_delay = 60, grace = 10 }

local CLEANUP_OPTIONS = {
  max_time = { seconds, "a non-negative number of seconds" },
  min_delay = { seconds, "a non-negative number of seconds" },
  max_delay = { seconds, "a non-negative number of seconds" },
  grace = { seconds, "a non-negative number of seconds" },
}

local EXTRA_OPTIONS = {
  cleanup = { function(v) return type(v) == "table" end,
              "a table { max_time =, min_delay =, max_delay =, grace = } (seconds)" },
}

-- Splits opts into the waiter's and the clean-up's, checking both before anything is sent.
local function split_options(opts)
  local ok, err = waiters.check_options(opts, "start_session_and_wait", EXTRA_OPTIONS)
  if not ok then return nil, nil, err end
  local wopts, copts = opts, _M.CLEANUP
  if opts and opts.cleanup then
    ok, err = validate.options("start_session_and_wait: cleanup", opts.cleanup, CLEANUP_OPTIONS)
    if not ok then return nil, nil, err end
    wopts = {}
    for k, v in pairs(opts) do if k ~= "cleanup" then wopts[k] = v end end
    copts = {}
    for k, v in pairs(_M.CLEANUP) do copts[k] = v end
    for k, v in pairs(opts.cleanup) do copts[k] = v end
    if copts.min_delay > copts.max_delay then
      return nil, nil, errors.invalid("start_session_and_wait: cleanup.min_delay must not exceed cleanup.max_delay")
    end
  end
  return wopts, copts
end

-- May the failed start have reached the service and created the session? Not when nothing was
-- sent, nor when its only attempt was refused with a 4xx; an attempt after another one may
-- follow a lost answer.
local function maybe_started(err)
  local attempts = tonumber(err.attempts)
  if attempts and attempts < 1 then return false end
  if attempts and attempts > 1 then return true end
  local status = err.status
  return status == nil or status >= 500 or status < 300
end

-- Answers that refuse the request's credentials or its signature's time (expired, revoked,
-- rotated, a clock off): the credentials the client gets next, or its corrected clock, fix
-- them, so a clean-up goes on within its bound instead of leaving the session running.
local CREDENTIALS_REFUSED = {
  ExpiredTokenException = true, ExpiredToken = true, UnrecognizedClientException = true,
  InvalidClientTokenId = true, InvalidSignatureException = true, SignatureDoesNotMatch = true,
  RequestExpired = true, RequestTimeTooSkewed = true, RequestInTheFuture = true,
}

-- Errors no retry of a clean-up step can fix.
local function final(err)
  if err.code == "InvalidParameter" or err.code == "EndpointError" then return true end
  if err.throttling or err.retryable or CREDENTIALS_REFUSED[err.code] then return false end
  local s = err.status
  return s == 400 or s == 401 or s == 403 or s == 404
end

-- The longest one call of this client can take while its caller is alive: every attempt
-- (a clock-skew resend is one of them) at the full timeout, and the back-off between them.
local function call_bound(client)
  local r = type(client.retry) == "table" and client.retry or {}
  local attempts = tonumber(r.max_attempts) or 5
  local per = tonumber(client.timeout) or 30
  local cap = tonumber(r.max_backoff) or 20
  local total = attempts * per
  for n = 1, attempts - 1 do total = total + math_min(2 ^ (n - 1), cap) + (r.new_2026 and 5 or 0) end
  return total
end

---------------------------------------------------------------------------
-- Clean-up jobs (per Lua state: per nginx worker, per game server state)
---------------------------------------------------------------------------

local jobs = {} -- job -> true while pending (the record handed out never holds the input)

local function publish(job)
  local rec = job.record
  rec.session_arn = job.arn
  rec.attempts = job.attempts
  rec.last_error = job.last_error
  if job.err and job.arn then job.err.session_arn = job.arn end
end

local function settle(job, status)
  jobs[job] = nil
  job.status = status
  job.record.status = status
  publish(job)
end

-- The session's termination request (a ResourceNotFoundException means it is gone already).
local function terminate_call(client, group, arn)
  local _, terr = client:call("TerminateStreamSession", { Identifier = group, StreamSessionIdentifier = arn })
  if terr and terr.code ~= "ResourceNotFoundException" then return nil, terr end
  return true
end

-- One try: learn the ARN (replay the start with its token) if unknown, then terminate.
-- "terminated", "failed" (an error no retry fixes) or "retry".
local function attempt(job)
  job.attempts = job.attempts + 1
  local client = job.client
  if not job.arn then
    local ok, out, e = pcall(client.call, client, "StartStreamSession", job.input)
    if not ok then
      job.last_error = errors.new{ code = "SerializationError", message = "the start's replay raised: " .. tostring(out) }
      publish(job)
      return "retry"
    end
    if out and type(out.Arn) == "string" then
      job.arn = out.Arn
    else
      e = e or errors.new{ code = "SerializationError", message = "StartStreamSession answered without an Arn" }
      job.last_error = e
      publish(job)
      if final(e) then return "failed" end
      return "retry"
    end
  end
  local ok, done, terr = pcall(terminate_call, client, job.group, job.arn)
  if ok and done then
    job.last_error = nil
    if job.err then job.err.termination_error = nil end
    publish(job)
    return "terminated"
  end
  terr = ok and terr or errors.new{ code = "SerializationError", message = "the termination raised: " .. tostring(done) }
  job.last_error = terr
  if job.err then job.err.termination_error = terr end
  publish(job)
  if final(terr) then return "failed" end
  return "retry"
end

-- Runs a job to its end: attempts with back-off until settled or its deadline passed. Runs
-- inside an ngx.timer or an SDK task (sched.sleep yields there).
local function run_job(job)
  if job.running then return end
  job.running = true
  local ngx = _G.ngx
  while jobs[job] do
    if type(ngx) == "table" and ngx.worker and ngx.worker.exiting and ngx.worker.exiting() then
      job.deadline = math_min(job.deadline, sched.now() + 5) -- nginx is stopping: a few last tries
      job.next_at = math_min(job.next_at, sched.now() + 0.1)
    end
    local wait = job.next_at - sched.now()
    if wait > 0 then sched.sleep(wait) end -- a Cancelled here is ignored: the job is not the task's to drop
    local state = attempt(job)
    if state ~= "retry" then settle(job, state); break end
    local now = sched.now()
    if now >= job.deadline then settle(job, "expired"); break end
    job.next_at = math_min(now + cleanup_delay(job), job.deadline)
  end
  job.running = false
end

local function run_job_protected(job)
  local ok, e = pcall(run_job, job)
  if not ok then
    job.running = false
    job.last_error = errors.new{ code = "Error", message = "clean-up job raised: " .. tostring(e) }
    settle(job, "failed")
  end
end

local function ngx_timers()
  local ngx = _G.ngx
  return type(ngx) == "table" and type(ngx.timer) == "table" and type(ngx.get_phase) == "function"
    and ngx.get_phase() ~= "init"
end

local function ngx_job_timer(_, job)
  run_job_protected(job)
end

-- Hands the job to what runs it in the background: an ngx.timer in OpenResty (it outlives
-- the request), else an SDK task (gls.run/gls.step, client:drain_cleanups run it).
local function schedule(job)
  if job.running or job.scheduled then return end
  if ngx_timers() then
    local ok = _G.ngx.timer.at(0, ngx_job_timer, job)
    if ok then job.scheduled = true end
    return -- no timer (lua_max_pending_timers reached): the next start or drain retries
  end
  job.scheduled = true
  sched.spawn(run_job_protected, job)
end

--- The wait of a clean-up job after its n-th try: the SDK's one back-off (retry.backoff),
-- doubling from cleanup.min_delay up to cleanup.max_delay, never under min_delay.
-- @tparam number n the tries made so far
-- @tparam number min_delay seconds
-- @tparam number max_delay seconds
-- @tparam[opt] function rng a function returning a number in [0, 1) (default math.random)
-- @treturn number seconds
function _M.cleanup_delay(n, min_delay, max_delay, rng)
  deps()
  return retry.backoff(math_max(n, 1), min_delay, max_delay, rng or math_random, min_delay)
end
cleanup_delay = function(job)
  return _M.cleanup_delay(job.attempts, job.min_delay, job.max_delay)
end

local function new_job(client, input, err, copts, arn)
  local now = sched.now()
  local job = {
    client = client, input = input, group = input.Identifier, arn = arn, err = err,
    attempts = 0, min_delay = math_max(copts.min_delay, 0.001), max_delay = math_max(copts.max_delay, 0.001),
    deadline = now + copts.max_time, max_time = copts.max_time, status = "pending",
  }
  job.next_at = now + cleanup_delay(job)
  job.record = { client_token = input.ClientToken, session_arn = arn, status = "pending", attempts = 0 }
  if err then err.cleanup = job.record end
  return job
end

-- Kicks jobs whose timer could not be made.
local function kick()
  for job in pairs(jobs) do
    if not job.scheduled and not job.running then schedule(job) end
  end
end

-- Leaves a job to the background.
local function background(job)
  if job.max_time <= 0 then return settle(job, "expired") end
  jobs[job] = true
  schedule(job)
end

-- Recovers now (one try), else leaves a background job. (The job is registered only after the
-- try: in OpenResty a request killed during it is covered by its lease.)
local function recover(client, input, err, copts, arn)
  local job = new_job(client, input, err, copts, arn)
  local state = attempt(job)
  if state ~= "retry" then return settle(job, state) end
  background(job)
end

---------------------------------------------------------------------------
-- Starts under way whose session is being cleaned up, or is about to be
---------------------------------------------------------------------------

-- start -> true while its helper runs: { client, task, record, cleaning }. A start counts as a
-- pending clean-up once its helper is cleaning up (the replay, the termination at once), and
-- as soon as its task is cancelled, before the task runs again to see it: a script that
-- cancels its tasks and then drains must not be told nothing is pending. sessions.terminate's
-- termination at once is here too, cleaning from its start.
local starts = {}

local function cleaning(st)
  if st.cleaning then return true end
  local t = st.task
  return t ~= nil and t.status == "running" and (t.cancel_requested or t.was_cancelled) and true or false
end

---------------------------------------------------------------------------
-- OpenResty: leases, watched by one timer per worker
---------------------------------------------------------------------------

local leases = {} -- lease -> true while its start is under way in this worker
local watch_at    -- when the armed watchdog timer fires (nil: none armed)

local arm_watchdog

local function watchdog(premature)
  watch_at = nil
  if premature then return end -- the worker is going away: its requests finish on their own
  local now = sched.now()
  local next_at
  for l in pairs(leases) do
    if l.until_ <= now then
      leases[l] = nil
      starts[l.start] = nil
      -- the request holding it is gone: clean up what it started
      local job = new_job(l.client, l.input, nil, l.copts, l.arn)
      job.next_at = now
      background(job)
    elseif not next_at or l.until_ < next_at then
      next_at = l.until_
    end
  end
  kick()
  if next_at then arm_watchdog(next_at) end
end

arm_watchdog = function(at)
  if watch_at and watch_at <= at then return end
  local ok = _G.ngx.timer.at(math_max(at - sched.now(), 0), watchdog)
  if ok then watch_at = at end
end

local function lease(client, input, copts, st)
  if not sched.in_ngx() then return nil end
  local l = { client = client, input = input, copts = copts, until_ = 0, start = st }
  leases[l] = true
  return l
end

local function renew(l, secs)
  if not l then return end
  l.until_ = sched.now() + secs + l.copts.grace
  arm_watchdog(l.until_)
end

local function release(l)
  if l then leases[l] = nil end
end

-- The waiter's client: renews the lease before each poll (a poll, then the waiter's sleep).
local function leased_client(client, l, wopts)
  if not l then return client end
  local bound = call_bound(client) + (tonumber(wopts and wopts.max_delay) or 120)
  return { call = function(_, op, input)
    renew(l, bound)
    return client:call(op, input)
  end }
end

---------------------------------------------------------------------------
-- The helper
---------------------------------------------------------------------------

local function start_and_wait(client, input, wopts, copts, st)
  local token = input.ClientToken
  local group = input.Identifier
  kick()

  local l = lease(client, input, copts, st)
  renew(l, call_bound(client))
  local ok, started, err = pcall(client.call, client, "StartStreamSession", input)
  if not ok then
    -- raised (a bug, or a response no parser expected): the session may exist
    st.cleaning = true
    release(l)
    recover(client, input, nil, copts)
    error(started, 0)
  end
  if not started or type(started.Arn) ~= "string" then
    err = err or errors.new{ code = "SerializationError", message = "StartStreamSession answered without an Arn",
                             operation = "StartStreamSession" }
    err.client_token = token
    if maybe_started(err) then
      -- (a cancellation is delivered once: this replay and the termination run normally)
      st.cleaning = true
      renew(l, 2 * call_bound(client))
      recover(client, input, err, copts)
    end
    release(l)
    return nil, err
  end
  local arn = started.Arn
  if l then l.arn = arn end
  st.record.session_arn = arn

  local wok, out, werr = pcall(waiters.wait, leased_client(client, l, wopts), "stream_session_active",
                               { Identifier = group, StreamSessionIdentifier = arn }, wopts)
  if wok and out then
    release(l)
    return out
  end
  -- Clean up, whatever stopped the wait (a raised error included). After a task cancellation
  -- the next call runs normally (a cancellation is delivered once), so this is sent even then.
  st.cleaning = true
  renew(l, call_bound(client))
  local e = wok and werr or errors.new{ code = "Error", message = "the wait raised" }
  e.client_token = token
  e.session_arn = arn
  local tok, done, terr = pcall(terminate_call, client, group, arn)
  if not (tok and done) then
    e.termination_error = tok and terr or nil
    local job = new_job(client, input, e, copts, arn)
    job.attempts, job.last_error = 1, e.termination_error
    publish(job)
    if tok and final(terr) then settle(job, "failed") else background(job) end
  end
  release(l)
  if not wok then error(out, 0) end
  return nil, e
end

--- See the module comment.
-- @return the ACTIVE session's GetStreamSession output, or nil and an error object
function _M.start_and_wait(client, input, opts)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    error("start_and_wait: client must be an SDK client", 2)
  end
  if type(input) ~= "table" then error("start_and_wait: input must be a table", 2) end
  deps()
  local wopts, copts, oerr = split_options(opts)
  if oerr then return nil, oerr end
  if input.ClientToken == nil then
    local copy = {}
    for k, v in pairs(input) do copy[k] = v end
    copy.ClientToken = core.uuid4()
    input = copy
  end
  local st = { client = client, task = sched.current(), cleaning = false,
               record = { client_token = input.ClientToken, status = "pending", attempts = 0 } }
  starts[st] = true
  local ok, out, err = pcall(start_and_wait, client, input, wopts, copts, st)
  starts[st] = nil
  if not ok then error(out, 0) end
  return out, err
end

--- Terminates a session with the helper's guarantee: at once (with the call's own retries),
-- then, when that fails with an error a retry may fix, in the background as a clean-up job.
-- For a session the caller took over but cannot hand on (its player went away).
-- @param client the client the session was started with
-- @param group the stream group's id or ARN (TerminateStreamSession's Identifier)
-- @param arn the session's ARN
-- @param cleanup optional { max_time, min_delay, max_delay } (seconds)
-- @return true, or nil and the termination's error (err.cleanup: the job's record)
function _M.terminate(client, group, arn, cleanup)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    error("sessions.terminate: client must be an SDK client", 2)
  end
  if type(group) ~= "string" or type(arn) ~= "string" then
    error("sessions.terminate: the stream group and the session ARN must be strings", 2)
  end
  deps()
  local ok, oerr = validate.options("sessions.terminate", cleanup, CLEANUP_OPTIONS)
  if not ok then return nil, oerr end
  local copts = {}
  for k, v in pairs(_M.CLEANUP) do copts[k] = v end
  for k, v in pairs(cleanup or {}) do copts[k] = v end
  -- pending while the termination is under way (a task that drains meanwhile waits for it)
  local st = { client = client, cleaning = true, record = { session_arn = arn, status = "pending", attempts = 0 } }
  if not sched.in_ngx() then starts[st] = true end -- (nginx may end the request half-way)
  local tok, done, terr = pcall(terminate_call, client, group, arn)
  starts[st] = nil
  if tok and done then return true end
  local err = tok and terr or errors.new{ code = "Error", message = "the termination raised: " .. tostring(done) }
  err.session_arn = arn
  local job = new_job(client, { Identifier = group }, err, copts, arn)
  job.err = nil -- err is the termination's own error: the record (err.cleanup) tells the rest
  job.attempts, job.last_error = 1, err
  publish(job)
  if tok and final(terr) then settle(job, "failed") else background(job) end
  return nil, err
end

--- The clean-up jobs of `client` still pending in this Lua state (nginx worker), its
-- terminations under way, and its starts under way that are cleaning up or whose task was
-- cancelled: a list of records
-- { client_token, session_arn, status, attempts, last_error }.
function _M.pending(client)
  local list = {}
  for job in pairs(jobs) do
    if job.client == client then list[#list + 1] = job.record end
  end
  for st in pairs(starts) do
    if st.client == client and cleaning(st) then list[#list + 1] = st.record end
  end
  return list
end

--- Waits until the clean-up jobs of `client` are settled, for at most `max_seconds` (default:
-- until the last one's bound). Outside a task it drives the scheduler (sched.step), which runs
-- the jobs (and any other task); inside a task or OpenResty it sleeps while they run.
-- @return true when none is pending, or false and the list of pending records
function _M.drain(client, max_seconds)
  deps()
  if max_seconds ~= nil and not seconds(max_seconds) then
    error("drain_cleanups: max_seconds must be a non-negative number", 2)
  end
  local stop = max_seconds and sched.now() + max_seconds
  while true do
    kick()
    local pending = _M.pending(client)
    if #pending == 0 then return true end
    local now = sched.now()
    if stop and now >= stop then return false, pending end
    local slice = stop and math_min(stop - now, 0.5) or 0.5
    if sched.can_yield() then
      sched.sleep(math_min(slice, 0.05))
    else
      sched.step(slice)
    end
  end
end

return _M
