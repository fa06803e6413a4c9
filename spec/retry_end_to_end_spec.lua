-- The retry strategy as a client uses it, against the emulator's fault injection: the
-- attempts, their ClientToken and retry headers, max_attempts from the environment and the
-- profile, the adaptive rate limiter's wait. (spec/retry_spec.lua: retry.lua on its own.)

describe("retries end to end (client against the emulator)", function()
  local helpers = require("helpers")
  local emu
  setup(function() emu = helpers.start_emulator{} end)
  teardown(function() emu.stop() end)
  before_each(function()
    helpers.control(emu, "DELETE", "faults")
    helpers.control(emu, "DELETE", "requests")
  end)

  -- The client has no option for the jitter source yet: make its strategy's rng tiny so
  -- back-off never sleeps real seconds.
  local function client(extra)
    local c = helpers.client(emu, extra)
    c.retry.rng = function() return 0.001 end
    return c
  end

  local function fault(f)
    local status = helpers.control(emu, "POST", "faults", f)
    assert.equal(200, status)
  end

  local function logged(op)
    local _, body = helpers.control(emu, "GET", "requests?operation=" .. op)
    return body.requests
  end

  local INPUT = { Description = "retry test", StreamClass = "gen5n_win2022" }

  it("in adaptive mode, waits for the rate limiter after a throttle; standard mode does not", function()
    local core = helpers.core()
    local function timed(mode)
      helpers.control(emu, "DELETE", "faults")
      fault{ kind = "throttle", operation = "ListApplications", count = 1 }
      local c = client{ retry_mode = mode }
      local t0 = core.monotime()
      assert(c:list_applications{})
      return core.monotime() - t0, c
    end
    local fast, std = timed("standard")
    assert.is_nil(std.retry:rate_state())
    local slow, c = timed("adaptive")
    -- The throttle came with at most one answer measured (1.6/s, or none if the half-second
    -- bucket had not turned): the bucket refills at 0.7 * 1.6 or the floor of 0.5 token/s
    -- from empty, so the retry waited 0.9 to 2 s for its token (back-off itself is ~0 here).
    local s = c.retry:rate_state()
    assert.is_true(s.enabled)
    assert.is_true(slow >= 0.85, "adaptive retry after " .. slow .. " s")
    assert.is_true(fast < 0.5, "standard retry after " .. fast .. " s")
    assert.equal(2, #logged("ListApplications") - 2) -- 2 attempts each time, 4 in all
  end)

  it("retries a throttled call with the same ClientToken", function()
    fault{ kind = "throttle", operation = "CreateStreamGroup", count = 1 }
    local c = client()
    local out, err = c:create_stream_group(INPUT)
    assert.is_nil(err)
    assert.is_string(out.Arn)
    local log = logged("CreateStreamGroup")
    assert.equal(2, #log)
    assert.is_string(log[1].client_token)
    assert.equal(log[1].client_token, log[2].client_token)
    assert.equal(500, c.retry:available()) -- the retry's 5 tokens came back with the success
  end)

  it("stops after max_attempts and counts the attempts on the error", function()
    fault{ kind = "throttle", operation = "CreateStreamGroup", count = 10 }
    local out, err = client():create_stream_group(INPUT)
    assert.is_nil(out)
    assert.equal("ThrottlingException", err.code)
    assert.equal(429, err.status)
    assert.is_true(err.retryable)
    assert.equal(3, err.attempts)
    assert.is_true(err.backoff > 0 and err.backoff < 0.01)
    local log = logged("CreateStreamGroup")
    assert.equal(3, #log)
    assert.equal(log[1].client_token, log[3].client_token)
    -- the SDKs' retry headers: the attempt on each, one invocation id per call, not signed
    local id = log[1].headers["amz-sdk-invocation-id"]
    assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", id)
    for i = 1, 3 do
      assert.equal("attempt=" .. i .. "; max=3", log[i].headers["amz-sdk-request"])
      assert.equal(id, log[i].headers["amz-sdk-invocation-id"])
      assert.is_nil(log[i].headers.authorization:match("SignedHeaders=[^,]*amz%-sdk"))
    end
    client():list_applications()
    local other = logged("ListApplications")
    assert.are_not.equal(id, other[#other].headers["amz-sdk-invocation-id"])
  end)

  it("does not retry a 400", function()
    fault{ kind = "error", operation = "CreateStreamGroup", code = "ValidationException", status = 400, count = 5 }
    local out, err = client():create_stream_group(INPUT)
    assert.is_nil(out)
    assert.equal("ValidationException", err.code)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    assert.equal(1, #logged("CreateStreamGroup"))
  end)

  it("retries a dropped connection at the timeout cost", function()
    fault{ kind = "drop", operation = "CreateStreamGroup", count = 5 }
    local c = client()
    local out, err = c:create_stream_group(INPUT)
    assert.is_nil(out)
    assert.equal("NetworkError", err.code)
    assert.equal(3, err.attempts)
    assert.equal(480, c.retry:available())
  end)

  it("takes max_attempts from AWS_MAX_ATTEMPTS and from the profile", function()
    fault{ kind = "error", operation = "CreateStreamGroup", code = "InternalServerException", count = 10 }
    local _, err = client{ getenv = function(k) if k == "AWS_MAX_ATTEMPTS" then return "2" end end }
      :create_stream_group(INPUT)
    assert.equal("InternalServerException", err.code)
    assert.equal(2, err.attempts)
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[profile r]\nmax_attempts = 4\n")
    _, err = client{ profile = "r", getenv = function(k) if k == "AWS_CONFIG_FILE" then return cfg end end }
      :create_stream_group(INPUT)
    helpers.rm_rf(dir)
    assert.equal(4, err.attempts)
    assert.equal(6, #logged("CreateStreamGroup"))
  end)

  it("refuses a call when AWS_MAX_ATTEMPTS, AWS_RETRY_MODE or the profile's value is unusable, before sending", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[profile bad]\nretry_mode = eager\n[profile zero]\nmax_attempts = 0\n")
    local cases = {
      { { AWS_MAX_ATTEMPTS = "abc" }, nil, 'AWS_MAX_ATTEMPTS must be a positive integer, got "abc"' },
      { { AWS_MAX_ATTEMPTS = "2.5" }, nil, 'AWS_MAX_ATTEMPTS must be a positive integer, got "2.5"' },
      { { AWS_RETRY_MODE = "fast" }, nil, 'AWS_RETRY_MODE must be standard, adaptive or legacy, got "fast"' },
      { {}, "bad", "the profile's retry_mode must be standard, adaptive or legacy, got \"eager\"" },
      { {}, "zero", 'the profile\'s max_attempts must be a positive integer, got "0"' },
    }
    for _, case in ipairs(cases) do
      local env = case[1]
      env.AWS_CONFIG_FILE = cfg
      local c = client{ profile = case[2], getenv = function(k) return env[k] end }
      for _ = 1, 2 do -- every call, not only the first
        local out, err = c:create_stream_group(INPUT)
        assert.is_nil(out)
        assert.equal("InvalidParameter", err.code)
        assert.equal(case[3], err.message)
        assert.equal(0, err.attempts)
      end
    end
    helpers.rm_rf(dir)
    assert.equal(0, #logged("CreateStreamGroup"))
    -- an empty value is no value; an explicit option is used without reading either
    local _, err = client{ max_attempts = 2, retry_mode = "standard",
      getenv = function(k) return ({ AWS_MAX_ATTEMPTS = "abc", AWS_RETRY_MODE = "fast" })[k] end }
      :list_applications{}
    assert.is_nil(err)
    _, err = client{ getenv = function(k) return ({ AWS_MAX_ATTEMPTS = "", AWS_RETRY_MODE = "" })[k] end }
      :list_applications{}
    assert.is_nil(err)
  end)

  it("honours x-amz-retry-after in the 2026 revision", function()
    fault{ kind = "throttle", operation = "CreateStreamGroup", count = 10, retry_after = 30 }
    local _, err = client{ new_2026_retries = true, max_attempts = 2 }:create_stream_group(INPUT)
    assert.equal(2, err.attempts)
    assert.equal(0.03, err.backoff)
  end)
end)
