-- retry.lua on its own, with injected clocks, random sources and environments: the classifier,
-- the back-off, max_attempts, the quota, the 2026 revision, the adaptive limiter. (A client
-- retrying against the emulator: spec/retry_end_to_end_spec.lua.)
local retry = require("gameliftstreams.retry")
local errors = require("gameliftstreams.errors")

local function fixed(v) return function() return v end end
local function noenv() return nil end

local function env(t) return function(k) return t[k] end end

local function err(t) return errors.new(t) end

local function strategy(opts)
  opts = opts or {}
  if opts.getenv == nil then opts.getenv = noenv end
  if opts.rng == nil then opts.rng = fixed(1) end
  return retry.new(opts)
end

describe("retry classification", function()
  local throttling = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
  }
  for _, code in ipairs(throttling) do
    it("retries the throttling code " .. code, function()
      assert.equal("throttling", retry.classify(err{ code = code, status = 400 }))
    end)
  end

  it("retries HTTP 429 whatever the code", function()
    assert.equal("throttling", retry.classify(err{ code = "Whatever", status = 429 }))
  end)

  for _, code in ipairs{ "RequestTimeout", "RequestTimeoutException", "InternalError" } do
    it("retries the transient code " .. code, function()
      assert.equal("transient", retry.classify(err{ code = code, status = 400 }))
    end)
  end

  for _, status in ipairs{ 500, 502, 503, 504 } do
    it("retries HTTP " .. status, function()
      assert.equal("transient", retry.classify(err{ code = "SomethingBroke", status = status }))
    end)
  end

  for _, code in ipairs{ "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture",
                         "InvalidSignatureException" } do
    it("leaves the clock-skew code " .. code .. " to the client's clock correction", function()
      assert.is_nil(retry.classify(err{ code = code, status = 403 }))
    end)
  end

  it("retries connection failures and timeouts at the timeout cost class", function()
    assert.equal("timeout", retry.classify(err{ code = "NetworkError", reason = "connect" }))
    assert.equal("timeout", retry.classify(err{ code = "Timeout" }))
  end)

  it("retries what the model marks retryable", function()
    assert.equal("transient", retry.classify(err{ code = "StreamSessionAccessNotReadyException",
      status = 400, retryable = true }))
    assert.equal("throttling", retry.classify(err{ code = "X", status = 400, retryable = true,
      throttling = true }))
  end)

  for _, code in ipairs{ "TLSError", "ResponseTooLarge" } do
    it("does not retry " .. code, function()
      assert.is_nil(retry.classify(err{ code = code, retryable = true }))
    end)
  end

  for _, code in ipairs{ "ValidationException", "ConflictException", "AccessDenied",
                         "AccessDeniedException", "ResourceNotFoundException",
                         "InvalidParameter", "CredentialsError", "SerializationError" } do
    it("does not retry " .. code, function()
      assert.is_nil(retry.classify(err{ code = code, status = 400 }))
    end)
  end

  it("does not retry a 501 or a 404", function()
    assert.is_nil(retry.classify(err{ code = "NotImplemented", status = 501 }))
    assert.is_nil(retry.classify(err{ code = "NotFound", status = 404 }))
  end)

  it("next_delay gives up on something that is not an error object", function()
    local r = strategy{}
    assert.is_nil(r:next_delay(r:begin(), "boom"))
  end)

  it("next_delay sets retryable, attempts and backoff on the error", function()
    local r = strategy{ rng = fixed(0.5) }
    local st = r:begin()
    local e1 = err{ code = "ThrottlingException", status = 400 }
    assert.equal(0.5, r:next_delay(st, e1))
    assert.is_true(e1.retryable)
    local e2 = err{ code = "ValidationException", status = 400, retryable = true }
    e2.retryable = false
    assert.is_nil(r:next_delay(st, e2))
    assert.is_false(e2.retryable)
    assert.equal(2, e2.attempts)
    assert.equal(0.5, e2.backoff)
  end)
end)

describe("retry back-off", function()
  it("is full jitter: rng() times the exponential ceiling", function()
    local values = { 0.25, 0.5, 0.75, 1 }
    local i = 0
    local r = strategy{ max_attempts = 10, rng = function() i = i + 1 return values[(i - 1) % 4 + 1] end }
    local st = r:begin()
    local e = err{ code = "InternalError", status = 500 }
    assert.equal(0.25 * 1, r:next_delay(st, e))
    assert.equal(0.5 * 2, r:next_delay(st, e))
    assert.equal(0.75 * 4, r:next_delay(st, e))
    assert.equal(1 * 8, r:next_delay(st, e))
    assert.equal(5, st.attempts)
    assert.equal(0.25 + 1 + 3 + 8, st.backoff)
  end)

  it("never goes below zero nor above the ceiling", function()
    local r0 = strategy{ max_attempts = 3, rng = fixed(0) }
    local st = r0:begin()
    assert.equal(0, r0:next_delay(st, err{ code = "Throttling" }))
    local r1 = strategy{ max_attempts = 3, rng = fixed(0.999999) }
    st = r1:begin()
    local d = r1:next_delay(st, err{ code = "Throttling" })
    assert.is_true(d < 1 and d > 0.99)
  end)

  it("caps the ceiling at 20 seconds", function()
    local r = strategy{ max_attempts = 20, rng = fixed(1) }
    local st = r:begin()
    local delays = {}
    for k = 1, 8 do delays[k] = r:next_delay(st, err{ code = "Throttling" }) end
    assert.same({ 1, 2, 4, 8, 16, 20, 20, 20 }, delays)
  end)

  it("uses the injected base for tests", function()
    local r = strategy{ max_attempts = 3, base = 0.001, rng = fixed(1) }
    local st = r:begin()
    assert.equal(0.001, r:next_delay(st, err{ code = "Throttling" }))
    assert.equal(0.002, r:next_delay(st, err{ code = "Throttling" }))
  end)
end)

describe("retry.backoff, the SDK's one back-off", function()
  it("is full jitter: rng() * min(base * 2^(attempt-1), cap)", function()
    local function rng_of(v) return function() return v end end
    assert.equal(0.5, retry.backoff(1, 1, 20, rng_of(0.5)))
    assert.equal(2, retry.backoff(3, 1, 20, rng_of(0.5)))
    assert.equal(10, retry.backoff(10, 1, 20, rng_of(0.5))) -- capped at 20
    assert.equal(0, retry.backoff(4, 1, 20, rng_of(0)))
    assert.equal(20, retry.backoff(100000, 1, 20, rng_of(1))) -- 2^99999 is inf: the cap
  end)

  it("starts at a floor when given one (the waiters' min_delay .. max_delay)", function()
    local function rng_of(v) return function() return v end end
    assert.equal(2, retry.backoff(1, 2, 120, rng_of(0.7), 2)) -- min(2, 120) - 2: no room
    assert.equal(2 + 0.5 * 2, retry.backoff(2, 2, 120, rng_of(0.5), 2))
    assert.equal(2 + 0.5 * 118, retry.backoff(20, 2, 120, rng_of(0.5), 2))
    for _ = 1, 200 do
      local d = retry.backoff(5, 2, 10, math.random, 2)
      assert.is_true(d >= 2 and d <= 10, tostring(d))
    end
  end)

  it("is what the standard strategy waits", function()
    local r = retry.new{ max_attempts = 5, mode = "legacy", rng = function() return 0.25 end }
    local st = r:begin()
    local err = { code = "InternalError", status = 500 }
    assert.equal(retry.backoff(1, 1, 20, function() return 0.25 end), r:next_delay(st, err))
    assert.equal(retry.backoff(2, 1, 20, function() return 0.25 end), r:next_delay(st, err))
  end)
end)

describe("retry.is_clock_skew", function()
  it("knows the skew codes, and the signature codes only when their message says so", function()
    assert.is_true(retry.is_clock_skew{ code = "RequestTimeTooSkewed" })
    assert.is_true(retry.is_clock_skew{ code = "RequestExpired" })
    assert.is_true(retry.is_clock_skew{ code = "RequestInTheFuture" })
    assert.is_true(retry.is_clock_skew{ code = "InvalidSignatureException",
                                        message = "Signature expired: 20260101T000000Z is now earlier than ..." })
    assert.is_true(retry.is_clock_skew{ code = "SignatureDoesNotMatch", message = "Signature not yet current" })
    assert.is_false(retry.is_clock_skew{ code = "InvalidSignatureException",
                                         message = "The request signature we calculated does not match" })
    assert.is_false(retry.is_clock_skew{ code = "ThrottlingException" })
    assert.is_false(retry.is_clock_skew("RequestExpired"))
  end)

  it("is not a retry by the classifier (the pipeline corrects the clock and resends once)", function()
    assert.is_nil(retry.classify{ code = "RequestTimeTooSkewed", status = 403 })
  end)
end)

describe("retry max_attempts", function()
  it("makes 3 attempts by default", function()
    local r = strategy{}
    local st = r:begin()
    local e = err{ code = "ThrottlingException", status = 400 }
    assert.is_number(r:next_delay(st, e))
    assert.is_number(r:next_delay(st, e))
    assert.is_nil(r:next_delay(st, e))
    assert.equal(3, e.attempts)
    assert.is_true(e.retryable)
  end)

  it("honours max_attempts = 1 (no retry)", function()
    local r = strategy{ max_attempts = 1 }
    local st = r:begin()
    local e = err{ code = "Throttling" }
    assert.is_nil(r:next_delay(st, e))
    assert.equal(1, e.attempts)
    assert.is_true(e.retryable)
  end)

  it("reads AWS_MAX_ATTEMPTS, then the profile, when not given", function()
    local r = strategy{ getenv = env{ AWS_MAX_ATTEMPTS = "5" },
      settings = function() return { max_attempts = "2" } end }
    local st = r:begin()
    for _ = 1, 4 do assert.is_number(r:next_delay(st, err{ code = "Throttling" })) end
    assert.is_nil(r:next_delay(st, err{ code = "Throttling" }))
    r = strategy{ settings = function() return { max_attempts = "2" } end }
    st = r:begin()
    assert.is_number(r:next_delay(st, err{ code = "Throttling" }))
    assert.is_nil(r:next_delay(st, err{ code = "Throttling" }))
  end)

  it("reads retry_mode from AWS_RETRY_MODE before the profile", function()
    local r = strategy{ settings = function() return { retry_mode = "legacy" } end }
    r:begin()
    assert.equal("legacy", r.mode)
    r = strategy{ getenv = env{ AWS_RETRY_MODE = "standard" },
      settings = function() return { retry_mode = "legacy" } end }
    r:begin()
    assert.equal("standard", r.mode)
    assert.equal(3, r.max_attempts)
  end)

  it("the explicit option beats the environment", function()
    local r = strategy{ max_attempts = 2, getenv = env{ AWS_MAX_ATTEMPTS = "9" } }
    assert.equal(2, (r:begin() and r.max_attempts))
  end)

  it("keeps the default for an unusable AWS_MAX_ATTEMPTS or AWS_RETRY_MODE and says why (the client refuses with it)", function()
    local r = strategy{ getenv = env{ AWS_MAX_ATTEMPTS = "zero" } }
    r:begin()
    assert.equal(3, r.max_attempts)
    assert.equal('AWS_MAX_ATTEMPTS must be a positive integer, got "zero"', r.config_error)
    r = strategy{ getenv = env{ AWS_RETRY_MODE = "Eager" } }
    r:begin()
    assert.equal("standard", r.mode)
    assert.equal('AWS_RETRY_MODE must be standard, adaptive or legacy, got "Eager"', r.config_error)
    r = strategy{ getenv = env{ AWS_RETRY_MODE = "Adaptive", AWS_MAX_ATTEMPTS = "" } }
    r:begin()
    assert.equal("adaptive", r.mode)
    assert.equal(3, r.max_attempts)
    assert.is_nil(r.config_error)
  end)

  it("rejects a bad explicit option", function()
    assert.has_error(function() retry.new{ max_attempts = 0 } end)
    assert.has_error(function() retry.new{ mode = "eager" } end)
  end)

  it("maps adaptive to standard behaviour and legacy to 5 attempts without a quota", function()
    local r = strategy{ getenv = env{ AWS_RETRY_MODE = "legacy" }, quota_size = 5 }
    local st = r:begin()
    assert.equal(5, r.max_attempts)
    for _ = 1, 4 do assert.is_number(r:next_delay(st, err{ code = "Throttling" })) end
    assert.equal(5, r:available())
    r = strategy{ mode = "adaptive" }
    r:begin()
    assert.equal(3, r.max_attempts)
  end)
end)

describe("retry quota", function()
  it("charges 5 per retry and 10 after a timeout or connection failure", function()
    local r = strategy{ max_attempts = 10 }
    local st = r:begin()
    r:next_delay(st, err{ code = "Throttling" })
    assert.equal(495, r:available())
    r:next_delay(st, err{ code = "Timeout" })
    assert.equal(485, r:available())
    r:next_delay(st, err{ code = "NetworkError" })
    assert.equal(475, r:available())
  end)

  it("an outage stops retrying once the bucket is empty, and successes refill it", function()
    local r = strategy{ max_attempts = 3 }
    local e
    local retries, calls = 0, 0
    -- Every attempt fails: each call retries twice (10 tokens) until 500 tokens are spent.
    while true do
      calls = calls + 1
      local st = r:begin()
      e = err{ code = "ServiceUnavailable", status = 503 }
      local d = r:next_delay(st, e)
      if not d then break end
      retries = retries + 1
      if r:next_delay(st, e) then retries = retries + 1 end
      assert.is_true(calls < 1000)
    end
    assert.equal(100, retries)
    assert.equal(0, r:available())
    assert.is_true(e.retryable)
    assert.is_true(e.quota_exhausted)
    assert.equal(1, e.attempts)
    -- A first-attempt success refunds one token: not enough for a retry (cost 5).
    r:succeeded(r:begin())
    assert.equal(1, r:available())
    local st = r:begin()
    assert.is_nil(r:next_delay(st, err{ code = "Throttling" }))
    for _ = 1, 4 do r:succeeded(r:begin()) end
    st = r:begin()
    assert.is_number(r:next_delay(st, err{ code = "Throttling" }))
    assert.equal(0, r:available())
    -- A success after a retry refunds that retry's cost.
    r:succeeded(st)
    assert.equal(5, r:available())
  end)

  it("never refills beyond the bucket size", function()
    local r = strategy{}
    for _ = 1, 10 do r:succeeded(r:begin()) end
    assert.equal(500, r:available())
  end)

  it("is shared by the calls of one strategy but not between strategies", function()
    local a, b = strategy{}, strategy{}
    a:next_delay(a:begin(), err{ code = "Throttling" })
    a:next_delay(a:begin(), err{ code = "Throttling" })
    assert.equal(490, a:available())
    assert.equal(500, b:available())
  end)
end)

describe("retry 2026 revision", function()
  it("is switched on by AWS_NEW_RETRIES_2026=true", function()
    local r = strategy{ getenv = env{ AWS_NEW_RETRIES_2026 = "TRUE" } }
    r:begin()
    assert.is_true(r.new_2026)
    r = strategy{ getenv = env{ AWS_NEW_RETRIES_2026 = "false" } }
    r:begin()
    assert.is_false(r.new_2026)
  end)

  it("uses a 50 ms base for transient errors and 1 s for throttling", function()
    local r = strategy{ new_2026 = true, max_attempts = 10, rng = fixed(1) }
    local st = r:begin()
    assert.equal(0.05, r:next_delay(st, err{ code = "InternalError", status = 500 }))
    assert.equal(0.1, r:next_delay(st, err{ code = "Timeout" }))
    assert.equal(4, r:next_delay(st, err{ code = "ThrottlingException" }))
  end)

  it("still caps at 20 s", function()
    local r = strategy{ new_2026 = true, max_attempts = 20, rng = fixed(1) }
    local st = r:begin()
    local d
    for _ = 1, 10 do d = r:next_delay(st, err{ code = "Throttling" }) end
    assert.equal(20, d)
  end)

  it("costs 5 for throttling and 14 for other retries", function()
    local r = strategy{ new_2026 = true, max_attempts = 10 }
    local st = r:begin()
    r:next_delay(st, err{ code = "Throttling" })
    assert.equal(495, r:available())
    r:next_delay(st, err{ code = "Timeout" })
    assert.equal(481, r:available())
    r:next_delay(st, err{ code = "InternalError", status = 500 })
    assert.equal(467, r:available())
    r:succeeded(st)
    assert.equal(481, r:available())
  end)

  it("honours x-amz-retry-after within [backoff, backoff + 5 s]", function()
    local r = strategy{ new_2026 = true, max_attempts = 10, rng = fixed(0.5) }
    local st = r:begin()
    -- backoff 0.5 s (throttling, first retry); hint 2 s is within bounds.
    assert.equal(2, r:next_delay(st, err{ code = "Throttling" }, { ["x-amz-retry-after"] = "2000" }))
    -- backoff 1 s; a hint of 10 ms is raised to the back-off.
    assert.equal(1, r:next_delay(st, err{ code = "Throttling" }, { ["x-amz-retry-after"] = "10" }))
    -- backoff 2 s; a hint of 60 s is cut to back-off + 5 s.
    assert.equal(7, r:next_delay(st, err{ code = "Throttling" }, { ["x-amz-retry-after"] = "60000" }))
    -- garbage is ignored
    assert.equal(4, r:next_delay(st, err{ code = "Throttling" }, { ["x-amz-retry-after"] = "soon" }))
    assert.equal(2 + 1 + 7 + 4, st.backoff)
    -- a decimal number of milliseconds is read too
    assert.equal(8.5, r:next_delay(st, err{ code = "Throttling" }, { ["x-amz-retry-after"] = "8500.0" }))
  end)

  it("ignores x-amz-retry-after outside the 2026 revision", function()
    local r = strategy{ rng = fixed(0.5) }
    local st = r:begin()
    assert.equal(0.5, r:next_delay(st, err{ code = "Throttling" }, { ["x-amz-retry-after"] = "3000" }))
  end)
end)

describe("retry adaptive mode (client-side rate limiting)", function()
  local THROTTLE = { code = "ThrottlingException", status = 400 }
  local function near(a, b) return math.abs(a - b) < 1e-9 end

  local function adaptive()
    local now = 0
    local r = strategy{ mode = "adaptive", clock = function() return now end }
    return r, function(t) now = t end
  end

  it("does not limit anything before the first throttling answer", function()
    local r, at = adaptive()
    for i = 1, 50 do
      at(i * 0.01)
      assert.equal(0, r:send_delay())
      r:record(i % 7 == 0 and err{ code = "InternalError", status = 500 } or nil)
    end
    assert.is_false(r:rate_state().enabled)
  end)

  it("follows the SDKs' numbers: 0.7x the measured rate on throttling, CUBIC back up, capped at 2x measured", function()
    local r, at = adaptive()
    at(0)
    assert.equal(0, r:send_delay())
    -- Five answers in the first half second: the measured rate is 0.8 * 10/s.
    for _, t in ipairs{ 0.1, 0.2, 0.3, 0.4, 0.5 } do
      at(t)
      r:record(nil)
    end
    assert.is_true(near(8, r:rate_state().measured))
    assert.equal(0.5, r:rate_state().fill_rate) -- the floor: CUBIC from zero is still tiny
    at(0.6)
    r:record(err(THROTTLE))
    local s = r:rate_state()
    assert.is_true(s.enabled)
    assert.is_true(near(8 * 0.7, s.fill_rate))
    -- The bucket held 0.25 tokens (0.5/s since 0.1 s): the next send waits for the rest.
    local wait = r:send_delay()
    assert.is_true(near(0.75 / 5.6, wait))
    at(0.6 + wait)
    assert.equal(0, r:send_delay())
    assert.is_true(r:send_delay() > 0) -- that took the token
    -- At CUBIC's zero point the rate is back to where it was throttled (8/s), but the measured
    -- rate fell (2 answers over 1.5 s): twice that caps it.
    local k = (8 * 0.3 / 0.4) ^ (1 / 3)
    at(0.6 + k)
    r:record(nil)
    local measured = (2 / 1.5) * 0.8 + 8 * 0.2
    assert.is_true(near(measured, r:rate_state().measured))
    assert.is_true(near(2 * measured, r:rate_state().fill_rate))
  end)

  it("spaces sends at the fill rate once throttled", function()
    local r, at = adaptive()
    at(0)
    r:record(err(THROTTLE)) -- nothing measured yet: the floor, 0.5/s
    assert.equal(0.5, r:rate_state().fill_rate)
    local t, sent = 0, 0
    while t < 10 do
      local w = r:send_delay()
      if w == 0 then sent = sent + 1 else t = t + w; at(t) end
    end
    assert.is_true(sent >= 4 and sent <= 6, "sent " .. sent .. " in 10 s at 0.5/s")
  end)

  it("never limits in standard or legacy mode", function()
    for _, mode in ipairs{ "standard", "legacy" } do
      local r = strategy{ mode = mode, clock = function() return 0 end }
      r:record(err(THROTTLE))
      assert.equal(0, r:send_delay())
      assert.is_nil(r:rate_state())
    end
  end)

  it("refuses a clock that is not a function", function()
    assert.has_error(function() retry.new{ clock = 5 } end, "retry.new: clock must be a function")
  end)
end)
