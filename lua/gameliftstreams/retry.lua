--- The standard retry strategy of the AWS SDKs: which failures are retried,
-- full-jitter exponential back-off, and the per-client retry quota.
-- This module only computes: the client sleeps (through sched) for the
-- delay next_delay returns, so everything here is pure and testable.
--
-- Rules (pre-2026 standard mode, the default):
--   * max_attempts: 3 unless configured (option, AWS_MAX_ATTEMPTS, profile max_attempts).
--   * delay = rng() * min(1 s * 2^(attempt-1), 20 s) where attempt is the failed attempt's number.
--   * quota: 500 tokens per client; a retry costs 5, or 10 after a timeout or connection error;
--     when the bucket cannot pay, the error is returned without retrying. A success refunds the
--     last retry's cost, or 1 token when the call succeeded on its first attempt (capped at 500).
-- The 2026 revision (new_2026 = true, or AWS_NEW_RETRIES_2026=true):
--   * delay = rng() * min(base * 2^(attempt-1), 20 s), base 1 s for throttling, 50 ms otherwise.
--   * x-amz-retry-after (integer milliseconds) replaces that delay, clamped to
--     [delay, delay + 5 s] (the 20 s cap does not apply to the hint).
--   * a throttling retry costs 5 tokens, any other retry 14 (no separate timeout cost).
-- retry_mode "adaptive" is standard mode plus the SDKs' client-side rate limiter: after the
-- first throttling answer every attempt takes a token from a bucket whose fill rate follows
-- CUBIC (cut to 0.7x the measured send rate on throttling, grown back on successes, never
-- above twice the measured rate, never below 0.5/s). send_delay() says how long to wait
-- before an attempt; record() feeds each answer back.
-- "legacy" retries the same errors with the same back-off but without a quota
-- and defaults to 5 attempts.
local _M = { _VERSION = "0.1" }
local mt = { __index = _M }

local type, tonumber, tostring, error = type, tonumber, tostring, error
local math_min, math_random, math_floor = math.min, math.random, math.floor
local os_getenv = os.getenv
local format = string.format

local function set(list)
  local t = {}
  for _, v in ipairs(list) do t[v] = true end
  return t
end

_M.THROTTLING_CODES = set{
  "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException",
  "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
  "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
  "EC2ThrottledException",
}
_M.TRANSIENT_CODES = set{
  "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError",
}
-- Codes that say the request's clock was off, and codes that say so only in their message.
_M.CLOCK_SKEW_CODES = set{ "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture" }
local SKEW_TEXT_CODES = set{ "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure" }
_M.TRANSIENT_STATUS = set{ 500, 502, 503, 504 }
-- The transport's own codes: a connection that failed or timed out may succeed again;
-- a TLS failure or an oversized response will not.
_M.CONNECTION_CODES = set{ "NetworkError", "Timeout" }

local MAX_BACKOFF = 20
-- Adaptive mode (the constants of the SDKs' client rate limiter).
local CUBIC_SCALE, CUBIC_BETA = 0.4, 0.7
local MIN_FILL_RATE, MIN_CAPACITY = 0.5, 1
local RATE_SMOOTHING, RATE_BUCKET = 0.8, 0.5
local QUOTA_SIZE = 500
local NO_RETRY_INCREMENT = 1

--- Classifies a failure. Returns "throttling", "timeout" (connection failure or timeout),
-- "transient", or nil when it must not be retried.
function _M.classify(err)
  if type(err) ~= "table" then return nil end
  local code = err.code
  if code == "TLSError" or code == "ResponseTooLarge" then return nil end
  -- A reply that is not HTTP at all (reason "protocol": garbage, a bad status line) comes again
  -- from the same endpoint: not retried, as the JS SDK v3 does not retry an HTTP parse error.
  if code == "NetworkError" and err.reason == "protocol" then return nil end
  if _M.CONNECTION_CODES[code] then return "timeout" end
  if _M.THROTTLING_CODES[code] or err.status == 429 or err.throttling == true then
    return "throttling"
  end
  if _M.TRANSIENT_CODES[code] or _M.TRANSIENT_STATUS[err.status] then return "transient" end
  -- Clock-skew codes are not retried here: the client corrects its clock from the
  -- response's Date and resends once when the skew is real and attempts are left (as the JS
  -- SDK v3 retries them only when the skew was corrected, within maxAttempts). Retrying them blindly would resend a wrong secret.
  -- The model marks some errors retryable (e.g. StreamSessionAccessNotReadyException).
  if err.retryable == true then return "transient" end
  return nil
end

--- True when the failure says the request's clock was off (the pipeline then corrects its
-- offset from the answer's Date and resends once, within max_attempts, instead of retrying).
function _M.is_clock_skew(err)
  if type(err) ~= "table" then return false end
  local code = err.code
  if _M.CLOCK_SKEW_CODES[code] then return true end
  if SKEW_TEXT_CODES[code] then
    local msg = tostring(err.message or ""):lower()
    return msg:find("expired", 1, true) ~= nil or msg:find("in the future", 1, true) ~= nil
      or msg:find("skew", 1, true) ~= nil or msg:find("not yet current", 1, true) ~= nil
  end
  return false
end

--- The one back-off: a random delay in [floor, min(base * 2^(attempt-1), cap)], attempt >= 1
-- the number of the attempt that failed. The retry strategy uses floor 0 (full jitter); the
-- waiters use their min_delay as base and floor and their max_delay as cap.
function _M.backoff(attempt, base, cap, rng, floor)
  floor = floor or 0
  local top = base * 2 ^ (attempt - 1)
  if top > cap or top ~= top then top = cap end
  return floor + rng() * (top - floor)
end
local backoff = _M.backoff

local function positive_int(v, what)
  if v == nil then return nil end
  local n = tonumber(v)
  if not n or n < 1 or n ~= math_floor(n) then
    return nil, what .. " must be a positive integer, got " .. tostring(v)
  end
  return n
end

local function truthy(s)
  return type(s) == "string" and s:lower() == "true"
end

--- Makes a retry strategy; one per client (the quota is shared by its calls).
-- opts: mode ("standard"|"adaptive"|"legacy"), max_attempts, rng (function -> [0,1)),
-- new_2026 (boolean), base (seconds: overrides every base delay, for tests),
-- quota (table { tokens = n } to share a bucket, optional), quota_size (default 500),
-- getenv (default os.getenv), settings (function -> table of profile settings, called
-- lazily on the first begin() when max_attempts or mode were not given), clock (function ->
-- seconds, monotonic; adaptive mode's rate limiter, default core.monotime).
-- Raises on a bad explicit option (a programming error).
function _M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("retry.new: opts must be a table", 2) end
  local max_attempts, e = positive_int(opts.max_attempts, "max_attempts")
  if e then error("retry.new: " .. e, 2) end
  local mode = opts.mode
  if mode ~= nil and mode ~= "standard" and mode ~= "adaptive" and mode ~= "legacy" then
    error("retry.new: mode must be standard, adaptive or legacy, got " .. tostring(mode), 2)
  end
  if opts.rng ~= nil and type(opts.rng) ~= "function" then
    error("retry.new: rng must be a function", 2)
  end
  if opts.clock ~= nil and type(opts.clock) ~= "function" then
    error("retry.new: clock must be a function", 2)
  end
  local size = opts.quota_size or QUOTA_SIZE
  local self = {
    mode = mode,
    max_attempts = max_attempts,
    rng = opts.rng or math_random,
    new_2026 = opts.new_2026,
    base = opts.base,
    max_backoff = opts.max_backoff or MAX_BACKOFF,
    getenv = opts.getenv or os_getenv,
    settings = opts.settings,
    quota = opts.quota or { tokens = size },
    quota_size = size,
    clock = opts.clock,
  }
  return setmetatable(self, mt)
end

local function default_clock()
  local ok, core = pcall(require, "gameliftstreams.core")
  if ok and core.monotime then return core.monotime end
  return os.clock
end

-- The adaptive limiter's state, made on first use.
local function limiter(self)
  local l = self.limiter
  if l then return l end
  local clock = self.clock or default_clock()
  local now = clock()
  l = {
    clock = clock,
    enabled = false,
    -- token bucket
    fill_rate = MIN_FILL_RATE, capacity = MIN_CAPACITY, tokens = 0, last_refill = nil,
    -- measured send rate (answers per second, smoothed over half-second buckets)
    measured = 0, count = 0, last_bucket = math_floor(now),
    -- CUBIC
    w_max = 0, k = 0, last_throttle = now,
  }
  self.limiter = l
  return l
end

local function refill(l, now)
  if l.last_refill then
    l.tokens = math_min(l.capacity, l.tokens + (now - l.last_refill) * l.fill_rate)
  end
  l.last_refill = now
end

local function set_max_rate(l, rate, now)
  if rate < MIN_FILL_RATE then rate = MIN_FILL_RATE end
  refill(l, now)
  l.fill_rate = rate
  l.capacity = rate > MIN_CAPACITY and rate or MIN_CAPACITY
  if l.tokens > l.capacity then l.tokens = l.capacity end
end

local function cubic_zero(w_max)
  return (w_max * (1 - CUBIC_BETA) / CUBIC_SCALE) ^ (1 / 3)
end

-- Settles mode, max_attempts and the 2026 switch from env and profile (once: callers test
-- self.resolved first, so a call's methods cost one field test; the closure below lives here
-- alone, out of their way: a function returning early past it cannot be JIT-compiled).
local function resolve(self)
  self.resolved = true
  local getenv = self.getenv
  if self.new_2026 == nil then self.new_2026 = truthy(getenv("AWS_NEW_RETRIES_2026")) end
  local profile
  local function setting(name)
    if profile == nil then
      profile = false
      if self.settings then
        local ok, t = pcall(self.settings)
        if ok and type(t) == "table" then profile = t end
      end
    end
    return profile and profile[name] or nil
  end
  -- A value the environment or the profile sets but nobody could use is kept as
  -- self.config_error (the client refuses its calls with it, as botocore and the JS SDK v3 raise
  -- on them); the strategy itself goes on with the default. An empty value is no value.
  local function given(env_name, key)
    local v = getenv(env_name)
    if v ~= nil and v ~= "" then return v, env_name end
    v = setting(key)
    if v ~= nil and v ~= "" then return v, "the profile's " .. key end
  end
  local function unusable(from, rule, v)
    self.config_error = self.config_error or format("%s must be %s, got %q", from, rule, tostring(v):sub(1, 40))
  end
  if self.mode == nil then
    local v, from = given("AWS_RETRY_MODE", "retry_mode")
    local m = type(v) == "string" and v:lower() or nil
    if v ~= nil and m ~= "standard" and m ~= "adaptive" and m ~= "legacy" then
      unusable(from, "standard, adaptive or legacy", v)
      m = nil
    end
    self.mode = m or "standard"
  end
  if self.max_attempts == nil then
    local v, from = given("AWS_MAX_ATTEMPTS", "max_attempts")
    local n = positive_int(v, "")
    if v ~= nil and not n then
      unusable(from, "a positive integer", v)
    end
    self.max_attempts = n or (self.mode == "legacy" and 5 or 3)
  end
  self.adaptive = self.mode == "adaptive"
end

function _M:_resolve()
  if not self.resolved then resolve(self) end
end

--- Before an attempt: 0 when it may go now (it took its token), else the seconds to wait
-- before asking again. Always 0 outside adaptive mode and before the first throttling.
function _M:send_delay()
  if not self.resolved then resolve(self) end
  if self.mode ~= "adaptive" then return 0 end
  local l = limiter(self)
  if not l.enabled then return 0 end
  local now = l.clock()
  refill(l, now)
  -- (a wait of exactly the delay given refills to 1 minus a rounding error: that is a token)
  if l.tokens >= 1 - 1e-9 then
    l.tokens = l.tokens > 1 and l.tokens - 1 or 0
    return 0
  end
  return (1 - l.tokens) / l.fill_rate
end

--- After an answer (err = the failure, nil on success): adapts the send rate in adaptive mode.
function _M:record(err)
  if not self.resolved then resolve(self) end
  if self.mode ~= "adaptive" then return end
  local l = limiter(self)
  local now = l.clock()
  -- The measured rate of answers, in half-second buckets, smoothed.
  local bucket = math_floor(now / RATE_BUCKET) * RATE_BUCKET
  l.count = l.count + 1
  if bucket > l.last_bucket then
    local current = l.count / (bucket - l.last_bucket)
    l.measured = current * RATE_SMOOTHING + l.measured * (1 - RATE_SMOOTHING)
    l.count = 0
    l.last_bucket = bucket
  end
  local new_rate
  if err and _M.classify(err) == "throttling" then
    local rate = l.enabled and math_min(l.measured, l.fill_rate) or l.measured
    l.w_max = rate
    l.k = cubic_zero(rate)
    l.last_throttle = now
    new_rate = rate * CUBIC_BETA
    l.enabled = true
  else
    new_rate = CUBIC_SCALE * (now - l.last_throttle - l.k) ^ 3 + l.w_max
  end
  set_max_rate(l, math_min(new_rate, 2 * l.measured), now)
end

--- The limiter's numbers, for tests and diagnostics: enabled, fill_rate (tokens per second),
-- measured (answers per second). nil outside adaptive mode.
function _M:rate_state()
  self:_resolve()
  if self.mode ~= "adaptive" then return nil end
  local l = limiter(self)
  return { enabled = l.enabled, fill_rate = l.fill_rate, measured = l.measured }
end


--- Starts one call. Returns the per-call state: attempts (sent so far, counting the one
-- about to be sent), backoff (seconds of back-off computed so far). From then on
-- `self.adaptive` says whether send_delay and record do anything (adaptive mode).
function _M:begin()
  if not self.resolved then resolve(self) end
  return { attempts = 1, backoff = 0, retry_cost = nil }
end

--- Tokens left in the retry quota.
function _M:available()
  return self.quota.tokens
end

local function retry_cost(self, kind)
  if self.new_2026 then
    return kind == "throttling" and 5 or 14
  end
  return kind == "timeout" and 10 or 5
end

local function base_delay(self, kind)
  if self.base then return self.base end
  if self.new_2026 and kind ~= "throttling" then return 0.05 end
  return 1
end

-- x-amz-retry-after: milliseconds (an integer; a decimal such as "30.0" is read too);
-- anything else is ignored.
local function retry_after(headers)
  if type(headers) ~= "table" then return nil end
  local v = headers["x-amz-retry-after"]
  if type(v) ~= "string" then return nil end
  v = v:match("^%s*(%d+%.?%d*)%s*$")
  return v and tonumber(v) / 1000 or nil
end

--- After a failed attempt: the delay in seconds before the next one, or nil to give up.
-- Sets err.retryable (whether the failure is retryable at all), err.attempts and err.backoff;
-- err.quota_exhausted when only the quota stopped the retry.
function _M:next_delay(st, err, resp_headers)
  self:_resolve()
  if type(err) ~= "table" then return nil end
  local kind = _M.classify(err)
  err.retryable = kind ~= nil
  err.attempts = st.attempts
  err.backoff = st.backoff
  if not kind or st.attempts >= self.max_attempts then return nil end
  if self.mode ~= "legacy" then
    local cost = retry_cost(self, kind)
    if self.quota.tokens < cost then
      err.quota_exhausted = true
      return nil
    end
    self.quota.tokens = self.quota.tokens - cost
    st.retry_cost = cost
  end
  local delay = backoff(st.attempts, base_delay(self, kind), self.max_backoff, self.rng)
  if self.new_2026 then
    local hint = retry_after(resp_headers)
    if hint then
      if hint < delay then hint = delay elseif hint > delay + 5 then hint = delay + 5 end
      delay = hint
    end
  end
  st.backoff = st.backoff + delay
  st.attempts = st.attempts + 1
  return delay
end

--- After a successful attempt: refunds the quota.
function _M:succeeded(st)
  if self.mode == "legacy" then return end
  local quota = self.quota
  if quota.tokens == self.quota_size then return end -- full, as it stays without failures
  local refund = st and st.retry_cost or NO_RETRY_INCREMENT
  quota.tokens = math_min(quota.tokens + refund, self.quota_size)
end

return _M
