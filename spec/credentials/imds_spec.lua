-- EC2 instance metadata (credentials/imds.lua) against its stand-in: tokens, IMDSv1,
-- timeouts and attempts, expired credentials.
local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local C = require("support.credentials")

local STANDINS, env, ctl, log_of = C.STANDINS, C.env, C.ctl, C.log_of

describe("EC2 instance metadata", function()
  local srv
  setup(function() srv = helpers.spawn_server(STANDINS, { "imds" }) end)
  teardown(function() srv.stop() end)
  before_each(function() ctl(srv, "POST", "reset") end)

  local function imds_env(extra)
    local t = { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = srv.url }
    for k, v in pairs(extra or {}) do t[k] = v end
    return env(t)
  end

  it("asks for a token first, then the role and its credentials with the token", function()
    local c = assert(credentials.from_config{ getenv = imds_env() }:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.equal("instance metadata", c.provider)
    local log = log_of(srv, "imds")
    assert.equal(3, #log)
    assert.equal("PUT", log[1].method)
    assert.equal("/latest/api/token", log[1].path)
    assert.equal("21600", log[1].headers["x-aws-ec2-metadata-token-ttl-seconds"])
    assert.equal("/latest/meta-data/iam/security-credentials/", log[2].path)
    assert.equal("/latest/meta-data/iam/security-credentials/standin-role", log[3].path)
    assert.equal("standin-imds-token", log[2].headers["x-aws-ec2-metadata-token"])
    assert.equal("standin-imds-token", log[3].headers["x-aws-ec2-metadata-token"])
  end)

  it("falls back to IMDSv1 when the token call is refused", function()
    ctl(srv, "POST", "config", { imds_v1 = true })
    assert(credentials.from_config{ getenv = imds_env() }:get())
    local log = log_of(srv, "imds")
    assert.equal(3, #log)
    assert.is_nil(log[3].headers["x-aws-ec2-metadata-token"])
  end)

  it("does not fall back to IMDSv1 when AWS_EC2_METADATA_V1_DISABLED=true", function()
    ctl(srv, "POST", "config", { imds_v1 = true })
    local c, err = credentials.from_config{ getenv = imds_env{ AWS_EC2_METADATA_V1_DISABLED = "true" } }:get()
    assert.is_nil(c)
    assert.matches("instance metadata %(token request answered HTTP 403%)", err.message)
    assert.equal(1, #log_of(srv, "imds"))
  end)

  it("sends each request once unless AWS_METADATA_SERVICE_NUM_ATTEMPTS says more", function()
    ctl(srv, "POST", "config", { fail = 1, fail_status = 500 })
    local c, err = credentials.from_config{ getenv = imds_env() }:get()
    assert.is_nil(c)
    assert.matches("instance metadata %(credentials request answered HTTP 500%)", err.message)
    assert.equal(3, #log_of(srv, "imds"))
    ctl(srv, "POST", "reset")
    ctl(srv, "POST", "config", { fail = 1, fail_status = 500 })
    assert(credentials.from_config{ getenv = imds_env{ AWS_METADATA_SERVICE_NUM_ATTEMPTS = "2" } }:get())
    assert.equal(4, #log_of(srv, "imds"))
  end)

  it("falls back to IMDSv1 when the token call gets no answer (a hop limit), unless v1 is off",
     function()
    ctl(srv, "POST", "config", { token_hang = true })
    local c = assert(credentials.from_config{ imds_timeout = 0.1, getenv = imds_env() }:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    local log = log_of(srv, "imds")
    assert.equal(3, #log)
    assert.equal("PUT", log[1].method)
    assert.is_nil(log[2].headers["x-aws-ec2-metadata-token"])
    assert.is_nil(log[3].headers["x-aws-ec2-metadata-token"])
    ctl(srv, "POST", "reset")
    ctl(srv, "POST", "config", { token_hang = true })
    local err
    c, err = credentials.from_config{ imds_timeout = 0.1,
      getenv = imds_env{ AWS_EC2_METADATA_V1_DISABLED = "true" } }:get()
    assert.is_nil(c)
    assert.matches("instance metadata %(no answer to the token request: Timeout%)", err.message)
    assert.equal(1, #log_of(srv, "imds"))
  end)

  it("takes the timeout and attempts from the environment, then the profile", function()
    ctl(srv, "POST", "config", { hang = true })
    local core = helpers.core()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config",
      "[default]\nmetadata_service_timeout = 0.1\nmetadata_service_num_attempts = 2\n")
    local t0 = core.monotime()
    local c = credentials.from_config{ getenv = imds_env{ AWS_CONFIG_FILE = cfg } }:get()
    local took = core.monotime() - t0
    assert.is_nil(c)
    assert.equal(4, #log_of(srv, "imds")) -- the token twice, then the role twice (v1)
    assert.is_true(took >= 0.4 and took < 0.9, "took " .. took)
    ctl(srv, "POST", "reset")
    ctl(srv, "POST", "config", { hang = true })
    t0 = core.monotime()
    c = credentials.from_config{ getenv = imds_env{ AWS_CONFIG_FILE = cfg,
      AWS_METADATA_SERVICE_TIMEOUT = "0.2", AWS_METADATA_SERVICE_NUM_ATTEMPTS = "1" } }:get()
    took = core.monotime() - t0
    assert.is_nil(c)
    assert.equal(2, #log_of(srv, "imds"))
    assert.is_true(took >= 0.4 and took < 0.9, "took " .. took)
    helpers.rm_rf(dir)
  end)

  it("keeps using credentials IMDS hands out expired (an outage) for 5 to 10 minutes", function()
    ctl(srv, "POST", "config", { expires_in = -60 })
    local now = os.time()
    local p = credentials.from_config{ getenv = imds_env(), rng = function() return 0.5 end }
    local c = assert(p:get())
    -- 300 s of refresh window, then 300 to 600 s more (here 450): IMDS is asked again after that
    assert.is_true(c.expiration >= now + 749 and c.expiration <= now + 752, "expiration " .. c.expiration - now)
    assert(p:get())
    assert(p:get())
    assert.equal(3, #log_of(srv, "imds")) -- one fetch, not one per call
    -- credentials with time left are kept as IMDS gives them
    ctl(srv, "POST", "reset")
    now = os.time()
    c = assert(credentials.from_config{ getenv = imds_env() }:get())
    assert.is_true(c.expiration >= now + 3598 and c.expiration <= now + 3601)
  end)

  it("is skipped when AWS_EC2_METADATA_DISABLED=true", function()
    local c, err = credentials.from_config{ getenv = imds_env{ AWS_EC2_METADATA_DISABLED = "TRUE" } }:get()
    assert.is_nil(c)
    assert.matches("instance metadata %(disabled%)", err.message)
    assert.equal(0, #log_of(srv, "imds"))
  end)

  it("takes the endpoint from the profile's ec2_metadata_service_endpoint", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nec2_metadata_service_endpoint = " .. srv.url .. "\n")
    local ok = credentials.from_config{ getenv = env{ AWS_EC2_METADATA_DISABLED = "false",
      AWS_CONFIG_FILE = cfg } }:get()
    helpers.rm_rf(dir)
    assert.truthy(ok)
    assert.equal(3, #log_of(srv, "imds"))
  end)

  it("gives up on a silent IMDS after the token request and the IMDSv1 try time out", function()
    ctl(srv, "POST", "config", { hang = true })
    local core = helpers.core()
    local t0 = core.monotime()
    local c, err = credentials.from_config{ imds_timeout = 0.1, getenv = imds_env() }:get()
    local took = core.monotime() - t0
    assert.is_nil(c)
    assert.matches("instance metadata %(no answer: Timeout%)", err.message)
    assert.equal(2, #log_of(srv, "imds"))
    assert.is_true(took >= 0.2 and took < 1, "took " .. took)
  end)

  it("counts as not configured when nothing answers", function()
    -- a port that was just free: connection refused at once
    local sock = require("socket").bind("127.0.0.1", 0)
    local _, port = sock:getsockname()
    sock:close()
    local c, err = credentials.from_config{ getenv = imds_env{
      AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:" .. port } }:get()
    assert.is_nil(c)
    assert.matches("none found", err.message)
    assert.matches("instance metadata %(no answer", err.message)
  end)
end)
