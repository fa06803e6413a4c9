-- The shared config and credentials files (credentials/profile.lua): static keys of a
-- profile, the profile chosen, and the sources of a role profile (credential_source).
local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local C = require("support.credentials")

local STANDINS, env, ctl, log_of = C.STANDINS, C.env, C.ctl, C.log_of

describe("shared-file credentials", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  it("reads static keys of the default profile", function()
    local k = helpers.write_file(dir .. "/credentials",
      "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = file-secret\naws_session_token = t\n")
    local c = assert(credentials.from_config{ getenv = env{ AWS_SHARED_CREDENTIALS_FILE = k } }:get())
    assert.same({ "AKFILE", "file-secret", "t" }, { c.access_key_id, c.secret_access_key, c.session_token })
  end)

  it("loses to the environment", function()
    local k = helpers.write_file(dir .. "/credentials",
      "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = file-secret\n")
    local p = credentials.from_config{ getenv = env{ AWS_SHARED_CREDENTIALS_FILE = k,
      AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = "e" } }
    assert.equal("AKENV", p:get().access_key_id)
  end)

  it("an explicit profile option skips environment keys", function()
    local k = helpers.write_file(dir .. "/credentials",
      "[work]\naws_access_key_id = AKWORK\naws_secret_access_key = w\n")
    local p = credentials.from_config{ profile = "work", getenv = env{ AWS_SHARED_CREDENTIALS_FILE = k,
      AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = "e" } }
    assert.equal("AKWORK", p:get().access_key_id)
  end)

  it("uses AWS_PROFILE, and the credentials file wins over the config file", function()
    local c = helpers.write_file(dir .. "/config",
      "[profile work]\naws_access_key_id = AKCONFIG\naws_secret_access_key = c\n")
    local k = helpers.write_file(dir .. "/credentials",
      "[work]\naws_access_key_id = AKCREDS\naws_secret_access_key = k\n")
    local p = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c, AWS_SHARED_CREDENTIALS_FILE = k,
      AWS_PROFILE = "work" } }
    local got = p:get()
    assert.equal("AKCREDS", got.access_key_id)
    assert.equal("k", got.secret_access_key)
  end)

  it("uses AWS_DEFAULT_PROFILE before AWS_PROFILE, as botocore does", function()
    local k = helpers.write_file(dir .. "/credentials",
      "[a]\naws_access_key_id = AKA\naws_secret_access_key = a\n"
      .. "[b]\naws_access_key_id = AKB\naws_secret_access_key = b\n")
    local function key(vars)
      vars.AWS_SHARED_CREDENTIALS_FILE, vars.AWS_CONFIG_FILE = k, dir .. "/no-config"
      local got, err = credentials.from_config{ getenv = env(vars) }:get()
      return got and got.access_key_id or err.message
    end
    assert.equal("AKA", key{ AWS_DEFAULT_PROFILE = "a", AWS_PROFILE = "b" })
    assert.equal("AKA", key{ AWS_DEFAULT_PROFILE = "a" })
    assert.equal("AKB", key{ AWS_PROFILE = "b" })
    assert.equal("AKB", key{ AWS_DEFAULT_PROFILE = "", AWS_PROFILE = "b" }) -- empty is unset
  end)

  it("fails when the chosen profile does not exist", function()
    local c = helpers.write_file(dir .. "/config", "[default]\nregion = us-west-2\n")
    local p = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c, AWS_PROFILE = "ghost" } }
    local got, err = p:get()
    assert.is_nil(got)
    assert.matches('profile "ghost" not found', err.message)
  end)

  it("lists what was tried when nothing is configured", function()
    local c = helpers.write_file(dir .. "/config", "[default]\nregion = us-west-2\n")
    local got, err = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c } }:get()
    assert.is_nil(got)
    assert.equal("CredentialsError", err.code)
    for _, what in ipairs{ "environment", "web identity", 'profile "default"', "container",
                           "instance metadata (disabled)" } do
      assert.truthy(err.message:find(what, 1, true), what .. " missing from: " .. err.message)
    end
  end)

  it("names the missing [sso-session] section of an SSO profile", function()
    local c = helpers.write_file(dir .. "/config", "[default]\nsso_session = corp\nsso_account_id = 1\n")
    local _, err = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c } }:get()
    assert.equal("CredentialsError", err.code)
    assert.matches('names sso_session "corp", but the config file has no %[sso%-session corp%] section',
      err.message)
  end)

  it("does no I/O when the provider is created", function()
    local reads = 0
    local p = credentials.from_config{ getenv = function(k) reads = reads + 1 return nil end }
    assert.equal(0, reads)
    assert.is_table(p)
  end)
end)

describe("credential_source for role profiles", function()
  local srv, dir
  setup(function() srv = helpers.spawn_server(STANDINS, {}) end) -- STS, IMDS and container in one
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    ctl(srv, "POST", "reset")
  end)
  after_each(function() helpers.rm_rf(dir) end)

  local function role_profile(source, e)
    local c = helpers.write_file(dir .. "/config",
      "[profile r]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = " .. source .. "\n")
    e.AWS_CONFIG_FILE = c
    return credentials.from_config{ profile = "r", sts_endpoint = srv.url, getenv = env(e) }
  end

  it("EcsContainer: the container credentials sign AssumeRole", function()
    local c = assert(role_profile("EcsContainer", { AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds" }):get())
    local log = log_of(srv)
    assert.equal(2, #log)
    assert.equal("container", log[1].service)
    assert.equal("sts", log[2].service)
    assert.equal("ASIASTANDIN00001", log[2].signer)
    assert.is_true(log[2].signature_ok)
    assert.equal("ASIASTANDIN00002", c.access_key_id)
  end)

  it("Ec2InstanceMetadata: the instance credentials sign AssumeRole", function()
    local c = assert(role_profile("Ec2InstanceMetadata", { AWS_EC2_METADATA_DISABLED = "false",
      AWS_EC2_METADATA_SERVICE_ENDPOINT = srv.url }):get())
    local log = log_of(srv)
    assert.equal(4, #log)
    assert.equal("imds", log[1].service)
    assert.equal("sts", log[4].service)
    assert.is_true(log[4].signature_ok)
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.are_not.equal(log[4].signer, c.access_key_id)
  end)

  it("Ec2InstanceMetadata fails, naming the provider, when IMDS is disabled", function()
    local c, err = role_profile("Ec2InstanceMetadata", { AWS_EC2_METADATA_DISABLED = "true" }):get()
    assert.is_nil(c)
    assert.equal("credentials: assume role provider: source credentials: instance metadata provider: "
      .. "disabled by AWS_EC2_METADATA_DISABLED", err.message)
    assert.equal(0, #log_of(srv))
  end)

  it("refuses an unknown credential_source and source_profile together with credential_source", function()
    local _, err = role_profile("Somewhere", {}):get()
    assert.matches("unsupported credential_source Somewhere", err.message)
    local c = helpers.write_file(dir .. "/config", "[default]\nrole_arn = arn:aws:iam::1:role/r\n"
      .. "credential_source = Environment\nsource_profile = x\n")
    _, err = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c } }:get()
    assert.matches("sets both source_profile and credential_source", err.message)
  end)
end)
