-- AssumeRoleWithWebIdentity (credentials/web_identity.lua) against the STS stand-in.
local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local C = require("support.credentials")

local STANDINS, env, ctl, log_of = C.STANDINS, C.env, C.ctl, C.log_of
local refute_secret = C.refute_secret

describe("web identity", function()
  local srv, dir
  setup(function() srv = helpers.spawn_server(STANDINS, { "sts", "--web_token", "jwt-1" }) end)
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    ctl(srv, "POST", "reset")
  end)
  after_each(function() helpers.rm_rf(dir) end)

  it("calls AssumeRoleWithWebIdentity unsigned with the token file from the environment", function()
    local tf = helpers.write_file(dir .. "/token", "jwt-1\n")
    local p = credentials.from_config{ sts_endpoint = srv.url, getenv = env{
      AWS_WEB_IDENTITY_TOKEN_FILE = tf, AWS_ROLE_ARN = "arn:aws:iam::1:role/web",
      AWS_ROLE_SESSION_NAME = "pod-1" } }
    local c = assert(p:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    local e = log_of(srv, "sts")[1]
    assert.equal("AssumeRoleWithWebIdentity", e.params.Action)
    assert.equal("jwt-1", e.params.WebIdentityToken)
    assert.equal("pod-1", e.params.RoleSessionName)
    assert.equal("arn:aws:iam::1:role/web", e.params.RoleArn)
    assert.is_nil(e.headers.authorization)
  end)

  it("comes before the profile and reads the token again on refresh", function()
    local tf = helpers.write_file(dir .. "/token", "jwt-1")
    local k = helpers.write_file(dir .. "/credentials", "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = f\n")
    local skew = 0
    local core = helpers.core()
    local p = credentials.from_config{ sts_endpoint = srv.url, clock = function() return core.time() + skew end,
      getenv = env{ AWS_WEB_IDENTITY_TOKEN_FILE = tf, AWS_ROLE_ARN = "arn:aws:iam::1:role/web",
                    AWS_SHARED_CREDENTIALS_FILE = k } }
    assert.matches("^ASIASTANDIN", p:get().access_key_id)
    helpers.write_file(tf, "jwt-2")
    skew = 3600
    local c, err = p:get()
    assert.is_nil(c)
    assert.matches("web identity provider: STS AssumeRoleWithWebIdentity failed: InvalidIdentityToken", err.message)
    refute_secret(err, "jwt-2")
    local log = log_of(srv, "sts")
    assert.equal("jwt-2", log[2].params.WebIdentityToken)
  end)

  it("comes after a profile with role_arn, as in botocore and the JS SDK v3", function()
    ctl(srv, "POST", "config", { secrets = { AKSOURCE = "source-secret" } })
    local tf = helpers.write_file(dir .. "/token", "jwt-1")
    local c = helpers.write_file(dir .. "/config", "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\n"
      .. "source_profile = base\n[profile base]\naws_access_key_id = AKSOURCE\n"
      .. "aws_secret_access_key = source-secret\n")
    local got = assert(credentials.from_config{ sts_endpoint = srv.url, region = "us-west-2",
      getenv = env{ AWS_WEB_IDENTITY_TOKEN_FILE = tf, AWS_ROLE_ARN = "arn:aws:iam::1:role/web",
                    AWS_PROFILE = "dev", AWS_CONFIG_FILE = c } }:get())
    assert.matches("^ASIASTANDIN", got.access_key_id)
    local log = log_of(srv, "sts")
    assert.equal(1, #log)
    assert.same({ "AssumeRole", "arn:aws:iam::1:role/dev" }, { log[1].params.Action, log[1].params.RoleArn })
  end)

  it("reads web_identity_token_file and role_arn from the profile", function()
    local tf = helpers.write_file(dir .. "/token", "jwt-1")
    local c = helpers.write_file(dir .. "/config",
      "[profile w]\nrole_arn = arn:aws:iam::1:role/pw\nweb_identity_token_file = " .. tf .. "\n")
    local got = assert(credentials.from_config{ profile = "w", sts_endpoint = srv.url,
      getenv = env{ AWS_CONFIG_FILE = c } }:get())
    assert.matches("^ASIASTANDIN", got.access_key_id)
    assert.equal("arn:aws:iam::1:role/pw", log_of(srv, "sts")[1].params.RoleArn)
  end)

  it("retries IDPCommunicationError (HTTP 400), as botocore, the Go and Rust SDKs do for STS", function()
    ctl(srv, "POST", "config", { fail = 1, fail_status = 400, fail_code = "IDPCommunicationError" })
    local tf = helpers.write_file(dir .. "/token", "jwt-1")
    local got = assert(credentials.from_config{ sts_endpoint = srv.url, sts_retry_base = 0.001,
      getenv = env{ AWS_WEB_IDENTITY_TOKEN_FILE = tf, AWS_ROLE_ARN = "arn:aws:iam::1:role/web" } }:get())
    assert.matches("^ASIASTANDIN", got.access_key_id)
    assert.equal(2, #log_of(srv, "sts"))
  end)

  it("names the provider when the token file is missing", function()
    local _, err = credentials.from_config{ sts_endpoint = srv.url, getenv = env{
      AWS_WEB_IDENTITY_TOKEN_FILE = dir .. "/missing", AWS_ROLE_ARN = "arn:aws:iam::1:role/web" } }:get()
    assert.matches("web identity provider: cannot read the token file", err.message)
  end)
end)
