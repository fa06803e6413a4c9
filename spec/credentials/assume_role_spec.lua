-- STS AssumeRole from a profile (credentials/assume_role.lua, the STS call in sts.lua)
-- against the STS stand-in: signing, chains of profiles, MFA, caching, retries, one refresh.
local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local C = require("support.credentials")

local STANDINS, env, ctl, log_of = C.STANDINS, C.env, C.ctl, C.log_of
local refute_secret = C.refute_secret

describe("STS AssumeRole from a profile", function()
  local srv, dir
  setup(function() srv = helpers.spawn_server(STANDINS, { "sts" }) end)
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    ctl(srv, "POST", "reset")
    ctl(srv, "POST", "config", { secrets = { AKSOURCE = "source-secret" } })
  end)
  after_each(function() helpers.rm_rf(dir) end)

  local function opts_for(config_text, extra_env, extra)
    local c = helpers.write_file(dir .. "/config", config_text)
    local e = { AWS_CONFIG_FILE = c, AWS_SHARED_CREDENTIALS_FILE = dir .. "/none" }
    for k, v in pairs(extra_env or {}) do e[k] = v end
    local o = { getenv = env(e), sts_endpoint = srv.url }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  it("assumes the role with the source profile's keys, signed (verified by the stand-in)", function()
    local p = credentials.from_config(opts_for([[
[profile dev]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = base
role_session_name = my-session
external_id = ext-123
duration_seconds = 900
[profile base]
aws_access_key_id = AKSOURCE
aws_secret_access_key = source-secret
]], nil, { profile = "dev", region = "us-west-2" }))
    local c = assert(p:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.matches("^standin%-secret%-", c.secret_access_key)
    assert.matches("^standin%-token%-", c.session_token)
    assert.is_number(c.expiration)
    local log = log_of(srv, "sts")
    assert.equal(1, #log)
    local e = log[1]
    assert.same({ "AssumeRole", "2011-06-15", "arn:aws:iam::123456789012:role/dev", "my-session", "ext-123", "900" },
      { e.params.Action, e.params.Version, e.params.RoleArn, e.params.RoleSessionName, e.params.ExternalId,
        e.params.DurationSeconds })
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKSOURCE/%d+/us%-west%-2/sts/aws4_request", e.headers.authorization)
    assert.is_true(e.signature_ok)
    assert.equal("application/x-www-form-urlencoded; charset=utf-8", e.headers["content-type"])
  end)

  it("the stand-in rejects a wrong signature, and the error names the provider without secrets", function()
    ctl(srv, "POST", "config", { secrets = { AKSOURCE = "the-real-secret" } })
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = a-wrong-secret\n"))
    local c, err = p:get()
    assert.is_nil(c)
    assert.equal("CredentialsError", err.code)
    assert.matches("assume role provider: STS AssumeRole failed: SignatureDoesNotMatch", err.message)
    assert.equal(403, err.status)
    refute_secret(err, "a-wrong-secret", "the-real-secret")
  end)

  it("reports an STS error with its code and message", function()
    ctl(srv, "POST", "config", { sts_error = { code = "AccessDenied", message = "not allowed", status = 403 } })
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"))
    local _, err = p:get()
    assert.equal("credentials: assume role provider: STS AssumeRole failed: AccessDenied: not allowed (HTTP 403)",
      err.message)
    refute_secret(err, "source-secret")
  end)

  it("chains source profiles: each hop is signed by the previous hop's credentials", function()
    local p = credentials.from_config(opts_for([[
[profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/b
source_profile = c
[profile c]
aws_access_key_id = AKSOURCE
aws_secret_access_key = source-secret
]], nil, { profile = "a" }))
    local c = assert(p:get())
    local log = log_of(srv, "sts")
    assert.equal(2, #log)
    assert.equal("arn:aws:iam::1:role/b", log[1].params.RoleArn)
    assert.equal("AKSOURCE", log[1].signer)
    assert.equal("arn:aws:iam::1:role/a", log[2].params.RoleArn)
    assert.matches("^ASIASTANDIN", log[2].signer)
    assert.is_true(log[2].signature_ok)
    assert.matches("x%-amz%-security%-token", log[2].headers.authorization)
    assert.are_not.equal(log[2].signer, c.access_key_id)
  end)

  it("detects a source_profile cycle", function()
    local p = credentials.from_config(opts_for(
      "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
      .. "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n", nil, { profile = "a" }))
    local c, err = p:get()
    assert.is_nil(c)
    assert.matches("cycle", err.message)
    assert.equal(0, #log_of(srv, "sts"))
  end)

  it("lets a profile with keys be its own source", function()
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = default\n"
      .. "aws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"))
    assert(p:get())
    assert.equal("AKSOURCE", log_of(srv, "sts")[1].signer)
  end)

  it("takes the source from credential_source = Environment", function()
    local p = credentials.from_config(opts_for(
      "[profile envrole]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n",
      { AWS_ACCESS_KEY_ID = "AKSOURCE", AWS_SECRET_ACCESS_KEY = "source-secret", AWS_PROFILE = "envrole" }))
    -- AWS_PROFILE does not skip the environment provider, which answers first: use the option.
    local o = opts_for("[profile envrole]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n",
      { AWS_ACCESS_KEY_ID = "AKSOURCE", AWS_SECRET_ACCESS_KEY = "source-secret" }, { profile = "envrole" })
    assert.equal("AKSOURCE", p:get().access_key_id)
    local c = assert(credentials.from_config(o):get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.equal("AKSOURCE", log_of(srv, "sts")[1].signer)
  end)

  it("refuses role_arn without a source", function()
    local _, err = credentials.from_config(opts_for("[default]\nrole_arn = arn:aws:iam::1:role/x\n")):get()
    assert.matches("role_arn without source_profile", err.message)
  end)

  it("finds the STS endpoint in AWS_ENDPOINT_URL_STS and the profile's endpoint_url", function()
    local base = "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"
    local o = opts_for("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n" .. base,
      { AWS_ENDPOINT_URL_STS = srv.url })
    o.sts_endpoint = nil
    assert(credentials.from_config(o):get())
    o = opts_for("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\nendpoint_url = "
      .. srv.url .. "\n" .. base)
    o.sts_endpoint = nil
    assert(credentials.from_config(o):get())
    assert.equal(2, #log_of(srv, "sts"))
  end)

  it("caches assumed-role credentials and refreshes them 5 minutes before expiry", function()
    ctl(srv, "POST", "config", { expires_in = 900 })
    local core = helpers.core()
    local skew = 0
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n",
      nil, { clock = function() return core.time() + skew end }))
    local c1 = assert(p:get())
    assert.equal(c1, p:get())
    assert.equal(1, #log_of(srv, "sts"))
    skew = 900 - 290 -- inside the refresh window
    local c2 = assert(p:get())
    assert.are_not.equal(c1.access_key_id, c2.access_key_id)
    assert.equal(2, #log_of(srv, "sts"))
  end)

  describe("mfa_serial", function()
    local MFA = "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = base\n"
      .. "mfa_serial = arn:aws:iam::1:mfa/alice\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"

    it("asks mfa_code_provider for a code on every AssumeRole and sends it with the serial", function()
      ctl(srv, "POST", "config", { expires_in = 900 })
      local core = helpers.core()
      local skew, asked, codes = 0, {}, { "123456", "654321" }
      local p = credentials.from_config(opts_for(MFA, nil, { profile = "dev",
        clock = function() return core.time() + skew end,
        mfa_code_provider = function(serial)
          asked[#asked + 1] = serial
          return codes[#asked]
        end }))
      local c1 = assert(p:get())
      assert.equal(c1, p:get()) -- cached: no new code asked
      skew = 900 - 290 -- the refresh needs a fresh code
      local c2 = assert(p:get())
      assert.are_not.equal(c1.access_key_id, c2.access_key_id)
      assert.same({ "arn:aws:iam::1:mfa/alice", "arn:aws:iam::1:mfa/alice" }, asked)
      local log = log_of(srv, "sts")
      assert.equal(2, #log)
      for i, e in ipairs(log) do
        assert.equal("arn:aws:iam::1:mfa/alice", e.params.SerialNumber)
        assert.equal(codes[i], e.params.TokenCode)
        assert.is_true(e.signature_ok)
      end
    end)

    it("refuses the profile without mfa_code_provider, before any request", function()
      local _, err = credentials.from_config(opts_for(MFA, nil, { profile = "dev" })):get()
      assert.equal("CredentialsError", err.code)
      assert.equal('credentials: profile provider: profile "dev" sets mfa_serial: give the client an'
        .. " mfa_code_provider option (a function: serial -> the 6-digit code)", err.message)
      assert.equal(0, #log_of(srv, "sts"))
    end)

    it("checks the code and reports a failing provider, sending nothing", function()
      local cases = {
        { function() return 123456 end, " must return the 6-digit code as a string, got number" },
        { function() return "12345" end, " must return the 6-digit code as a string, got 5 characters" },
        { function() return "12345a" end, " must return the 6-digit code as a string, got 6 characters" },
        { function() return nil end, " must return the 6-digit code as a string, got nil" },
        { function() error("no terminal to ask", 0) end, " failed: no terminal to ask" },
      }
      for _, case in ipairs(cases) do
        local _, err = credentials.from_config(opts_for(MFA, nil, { profile = "dev",
          mfa_code_provider = case[1] })):get()
        assert.equal("CredentialsError", err.code)
        assert.equal("credentials: assume role provider: mfa_code_provider" .. case[2], err.message)
      end
      assert.equal(0, #log_of(srv, "sts"))
    end)
  end)

  it("keeps valid credentials when a refresh fails, and fails once they expired", function()
    ctl(srv, "POST", "config", { expires_in = 900 })
    local core = helpers.core()
    local skew = 0
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n",
      nil, { clock = function() return core.time() + skew end, rng = function() return 0 end }))
    local c1 = assert(p:get())
    ctl(srv, "POST", "config", { sts_error = { code = "InternalFailure", message = "down", status = 500 } })
    skew = 900 - 100
    assert.equal(c1, p:get())
    skew = 1000
    local c, err = p:get()
    assert.is_nil(c)
    assert.matches("InternalFailure", err.message)
  end)

  it("retries STS throttling and 5xx answers, then succeeds", function()
    ctl(srv, "POST", "config", { fail = 2, fail_status = 503 })
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n",
      nil, { rng = function() return 0 end }))
    assert(p:get())
    local log = log_of(srv, "sts")
    assert.equal(3, #log)
    for _, e in ipairs(log) do assert.is_true(e.signature_ok) end
  end)

  it("gives up on STS after 3 attempts and says how many were made", function()
    ctl(srv, "POST", "config", { fail = 10, fail_status = 500 })
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n",
      nil, { rng = function() return 0 end }))
    local c, err = p:get()
    assert.is_nil(c)
    assert.matches("STS AssumeRole failed: InternalFailure", err.message)
    assert.equal(3, err.attempts)
    assert.equal(3, #log_of(srv, "sts"))
  end)

  it("shares one refresh between ten concurrent tasks", function()
    ctl(srv, "POST", "config", { delay = 0.2 })
    local sched = require("gameliftstreams.sched")
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"))
    local tasks = {}
    for i = 1, 10 do tasks[i] = sched.spawn(function() return assert(p:get()).access_key_id end) end
    assert(sched.run())
    local first = tasks[1].result
    assert.matches("^ASIASTANDIN", first)
    for i = 1, 10 do
      assert.equal("done", tasks[i].status)
      assert.equal(first, tasks[i].result)
    end
    assert.equal(1, #log_of(srv, "sts"))
  end)
  it("a waiting task fetches itself when the task it waited for is cancelled", function()
    ctl(srv, "POST", "config", { delay = 0.2 })
    local sched = require("gameliftstreams.sched")
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"))
    local a = sched.spawn(function() return p:get() end)
    local b = sched.spawn(function() return assert(p:get()).access_key_id end)
    sched.step(0.05)
    assert.equal(1, #log_of(srv, "sts"))
    a:cancel()
    sched.run()
    assert.equal("done", b.status)
    assert.matches("^ASIASTANDIN", b.result)
    assert.equal(2, #log_of(srv, "sts"))
  end)
end)
