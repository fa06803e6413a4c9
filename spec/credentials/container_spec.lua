-- The container provider (credentials/container.lua) against its stand-in.
local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local C = require("support.credentials")

local STANDINS, env, ctl, log_of = C.STANDINS, C.env, C.ctl, C.log_of
local refute_secret = C.refute_secret

describe("container credentials", function()
  local srv, dir
  setup(function() srv = helpers.spawn_server(STANDINS, { "container" }) end)
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    ctl(srv, "POST", "reset")
  end)
  after_each(function() helpers.rm_rf(dir) end)

  it("fetches from AWS_CONTAINER_CREDENTIALS_FULL_URI with the authorization token", function()
    ctl(srv, "POST", "config", { auth_token = "container-auth" })
    local p = credentials.from_config{ getenv = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "container-auth" } }
    local c = assert(p:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.matches("^standin%-token", c.session_token)
    local log = log_of(srv, "container")
    assert.equal(1, #log)
    assert.equal("container-auth", log[1].headers.authorization)
  end)

  it("reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE on each fetch, before the plain token", function()
    ctl(srv, "POST", "config", { auth_token = "from-file-1", expires_in = 60 })
    local tf = helpers.write_file(dir .. "/token", "from-file-1\n")
    local p = credentials.from_config{ getenv = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = tf, AWS_CONTAINER_AUTHORIZATION_TOKEN = "ignored" } }
    assert(p:get())
    -- expires in 60 s: inside the refresh window, so the next get fetches again
    helpers.write_file(tf, "from-file-2")
    ctl(srv, "POST", "config", { auth_token = "from-file-2" })
    assert(p:get())
    local log = log_of(srv, "container")
    assert.equal(2, #log)
    assert.equal("from-file-1", log[1].headers.authorization)
    assert.equal("from-file-2", log[2].headers.authorization)
  end)

  it("fails naming the provider when the endpoint refuses", function()
    ctl(srv, "POST", "config", { auth_token = "right" })
    local _, err = credentials.from_config{ getenv = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "wrong-token" } }:get()
    assert.equal("credentials: container provider: endpoint answered HTTP 401", err.message)
    refute_secret(err, "wrong-token")
  end)

  it("joins AWS_CONTAINER_CREDENTIALS_RELATIVE_URI to the container host", function()
    local p = credentials.from_config{ container_endpoint = srv.url,
      getenv = env{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/abc-123" } }
    assert(p:get())
    assert.equal("/v2/credentials/abc-123", log_of(srv, "container")[1].path)
  end)

  it("allows http full URIs only to loopback and the container hosts", function()
    for _, u in ipairs{ "http://127.0.0.1:80/x", "http://127.1.2.3/x", "http://localhost:9/x",
                        "http://[::1]:8/x", "http://169.254.170.2/v2", "http://169.254.170.23/v1",
                        "http://[fd00:ec2::23]/x", "https://creds.example.com/x" } do
      assert.is_true(credentials.allowed_full_uri(u), u)
    end
    for _, u in ipairs{ "http://example.com/x", "http://10.0.0.1/x", "http://127.0.0.1.evil.com/x",
                        "ftp://127.0.0.1/x", "http://localhost.evil/x" } do
      assert.is_false(credentials.allowed_full_uri(u), u)
    end
    local _, err = credentials.from_config{ getenv = env{
      AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://example.com/creds" } }:get()
    assert.matches("container provider: AWS_CONTAINER_CREDENTIALS_FULL_URI must use https", err.message)
  end)
end)
