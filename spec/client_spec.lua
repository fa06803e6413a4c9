-- gls and gls.new: the module's surface, the options a client is made with, and what its first
-- call settles from the environment and the profile (region, endpoint, FIPS, CA bundle).
local helpers = require("helpers")
local gls = require("gameliftstreams")
local model = require("gameliftstreams.model")
local C = require("support.client")

local KEYS, NO_FILES, STOP, env, opts = C.KEYS, C.NO_FILES, C.STOP, C.env, C.opts

describe("gls", function()
  it("exposes new, sign, spawn, run, step, errors and _VERSION", function()
    assert.is_function(gls.new)
    assert.equal(require("gameliftstreams.signer").sign, gls.sign) -- core.sign, or its FFI twin on LuaJIT
    assert.is_function(gls.spawn)
    assert.is_function(gls.run)
    assert.is_function(gls.step)
    assert.equal(require("gameliftstreams.errors"), gls.errors)
    assert.matches("^%d+%.%d+%.%d+$", gls._VERSION)
  end)
end)

describe("gls.new", function()
  it("makes a client without touching credentials, files or the network", function()
    local calls = 0
    local provider = { get = function() calls = calls + 1; return nil, "must not be called" end }
    local c, err = gls.new{ region = "us-west-2", credentials = provider, profile = "nope",
                            config_file = "/nonexistent/x", endpoint = "http://127.0.0.1:1" }
    assert.is_nil(err)
    assert.is_truthy(c)
    assert.equal(0, calls)
    assert.matches("gameliftstreams client", tostring(c))
  end)

  it("rejects an unknown option, naming it", function()
    local c, err = gls.new{ regoin = "us-west-2" }
    assert.is_nil(c)
    assert.equal("InvalidParameter", err.code)
    assert.matches("unknown option 'regoin' %(did you mean 'region'%?%)", err.message)
    local _, err2 = gls.new{ favourite_food = "pizza" }
    assert.matches("unknown option 'favourite_food' %(known: .*region", err2.message)
  end)

  it("rejects options of the wrong type, naming them", function()
    local cases = {
      { { region = 1 }, "option 'region' must be a string" },
      { { use_fips = "yes" }, "option 'use_fips' must be a boolean" },
      { { timeout = "30" }, "option 'timeout' must be a positive number" },
      { { connect_timeout = 0 }, "option 'connect_timeout' must be a positive number" },
      { { max_attempts = 1.5 }, "option 'max_attempts' must be a positive integer" },
      { { max_attempts = 0 }, "option 'max_attempts' must be a positive integer" },
      { { retry_mode = "aggressive" }, "option 'retry_mode' must be" },
      { { credentials = "AKID:secret" }, "option 'credentials' must be" },
      { { credentials = { access_key_id = "AKID" } }, "needs access_key_id and secret_access_key" },
      { { max_response_bytes = -1 }, "option 'max_response_bytes' must be a positive integer" },
      { { max_response_bytes = 2 ^ 60 }, "option 'max_response_bytes' must be a positive integer, at most 2^53" },
      { { mfa_code_provider = "123456" }, "option 'mfa_code_provider' must be a function" },
      { { user_agent_suffix = "x\r\nX-Injected: 1" }, "option 'user_agent_suffix' must be a string without control" },
      { { user_agent_suffix = "x\0y" }, "option 'user_agent_suffix' must be a string without control" },
    }
    for _, case in ipairs(cases) do
      local c, err = gls.new(case[1])
      assert.is_nil(c)
      assert.equal("InvalidParameter", err.code)
      assert.is_truthy(err.message:find(case[2], 1, true), err.message)
    end
    local c, err = gls.new("us-west-2")
    assert.is_nil(c)
    assert.equal("InvalidParameter", err.code)
  end)

  it("never shows a secret given in the options", function()
    local _, err = gls.new{ credentials = { access_key_id = "AKID", secret_access_key = 12345678 } }
    assert.is_nil(tostring(err):find("12345678", 1, true))
  end)

  it("says what is wrong with an endpoint URL, without repeating it", function()
    local function problem(endpoint)
      local c, err = gls.new{ region = "us-west-2", endpoint = endpoint }
      assert.is_nil(c)
      assert.equal("EndpointError", err.code)
      return err.message
    end
    assert.matches("has no scheme: start it with http:// or https://", problem("127.0.0.1:8000"))
    assert.matches("the scheme ftp:// is not supported", problem("ftp://h.example"))
    assert.matches("no host after http://", problem("http://"))
    assert.matches("no query", problem("http://h.example/?a=b"))
    assert.is_nil(problem("user:hunter2@h.example"):find("hunter2", 1, true))
    local _, err = gls.new{ region = "us-west-2", getenv = env{ AWS_ENDPOINT_URL = "localhost:8000",
                                                                AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "false" } }
    assert.matches("has no scheme", err.message)
  end)

  it("tells a dot from a colon: client.get_stream_group{} needs client:", function()
    local c = assert(gls.new{ region = "us-west-2", credentials = KEYS })
    for _, call in ipairs{
      function() return c.get_stream_group{ Identifier = "sg-1" } end,
      function() return c.call("GetStreamGroup", {}) end,
      function() return c.wait("stream_group_active", {}) end,
      function() return c.items("list_stream_groups") end,
      function() return c.start_session_and_wait{} end,
    } do
      local ok, err = pcall(call)
      assert.is_false(ok)
      assert.matches("must be called as a method: client:[%w_]+%(...%), with a colon", err)
    end
    local ok, err = pcall(function() local out = c.get_stream_group{ Identifier = "sg-1" }; return out end)
    assert.matches("client:get_stream_group", err)
    assert.matches("client_spec.lua", err) -- blamed on the caller's line
    -- an object inheriting from a client is a client
    local child = setmetatable({}, { __index = c })
    ok, err = pcall(child.get_stream_group, child, { Identifier = "" })
    assert.is_true(ok)
  end)

  it("tells the module from a client: gls.list_stream_groups{} names the client method to call", function()
    for _, case in ipairs{
      { function() return gls.list_stream_groups{} end, "list_stream_groups", "list_stream_groups" },
      { function() return gls:list_stream_groups{} end, "list_stream_groups", "list_stream_groups" },
      { function() return gls.StartStreamSession{} end, "StartStreamSession", "start_stream_session" },
      { function() return gls.call("ListStreamGroups") end, "call", "call" },
      { function() return gls.wait("stream_group_active", {}) end, "wait", "wait" },
      { function() return gls.items("list_stream_groups") end, "items", "items" },
    } do
      local ok, err = pcall(case[1])
      assert.is_false(ok)
      assert.truthy(err:find("gameliftstreams." .. case[2] .. " is a client method: make a client with gls.new{...}, "
        .. "then call client:" .. case[3] .. "(...)", 1, true), err)
      assert.matches("client_spec.lua", err) -- blamed on the caller's line
    end
    -- other names of the module are as they were
    assert.is_nil(gls.no_such_thing)
    assert.is_nil(gls._private)
    assert.equal("function", type(gls.new))
  end)

  it("reports FIPS with a custom endpoint at once", function()
    local c, err = gls.new{ region = "us-west-2", use_fips = true, endpoint = "http://127.0.0.1:8000" }
    assert.is_nil(c)
    assert.equal("EndpointError", err.code)
    assert.matches("FIPS and custom endpoint", err.message)
  end)

  it("reports FIPS with an endpoint from the environment at once when the environment decides",
     function()
    local c, err = gls.new{ region = "us-west-2", use_fips = true, getenv = env{
      AWS_ENDPOINT_URL = "http://127.0.0.1:8000", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "false" } }
    assert.is_nil(c)
    assert.equal("EndpointError", err.code)
  end)

  it("reports FIPS with an endpoint from the environment on the first call, before sending, "
     .. "when the profile may still turn it off", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nregion = us-west-2\n")
    local c = assert(gls.new{ region = "us-west-2", use_fips = true, credentials = KEYS, config_file = cfg,
                              credentials_file = NO_FILES.credentials_file,
                              getenv = env{ AWS_ENDPOINT_URL = "http://127.0.0.1:8000" } })
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal("EndpointError", err.code)
    assert.matches("FIPS and custom endpoint", err.message)
    assert.equal(0, err.attempts)
    -- with the profile's ignore switch on, the same client settings are fine: the rules decide
    cfg = helpers.write_file(dir .. "/config", "[default]\nignore_configured_endpoint_urls = true\n")
    c = assert(gls.new{ region = "us-west-2", use_fips = true, config_file = cfg,
                        credentials = STOP,
                        credentials_file = NO_FILES.credentials_file,
                        getenv = env{ AWS_ENDPOINT_URL = "http://127.0.0.1:8000" } })
    c:list_applications()
    assert.equal("https://gameliftstreams-fips.us-west-2.api.aws", c.endpoint_url)
    helpers.rm_rf(dir)
  end)

  it("refuses FIPS from the profile with an endpoint option, on every call, before sending", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nuse_fips_endpoint = true\n")
    local c = assert(gls.new{ region = "us-west-2", credentials = KEYS, config_file = cfg,
                              credentials_file = NO_FILES.credentials_file, getenv = env{},
                              endpoint = "http://127.0.0.1:1", max_attempts = 1 })
    for _ = 1, 2 do
      local out, err = c:list_applications()
      assert.is_nil(out)
      assert.equal("EndpointError", err.code)
      assert.matches("FIPS and custom endpoint", err.message)
      assert.equal(0, err.attempts)
    end
    helpers.rm_rf(dir)
  end)

  it("reports a missing region on the first call, after looking at the profile", function()
    local c = assert(gls.new{ credentials = KEYS, getenv = env{}, config_file = NO_FILES.config_file,
                              credentials_file = NO_FILES.credentials_file })
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal("InvalidParameter", err.code)
    assert.matches("region", err.message)
    assert.equal(0, err.attempts)
  end)

  it("refuses, on the first call, a profile named by the option, AWS_DEFAULT_PROFILE or AWS_PROFILE that no file has",
     function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n")
    local cred = helpers.write_file(dir .. "/credentials", "[ci]\naws_access_key_id = AKIDCI\n"
      .. "aws_secret_access_key = ci-secret\n")
    local function first_call(extra)
      local o = { credentials = KEYS, config_file = cfg, credentials_file = cred, getenv = env{},
                  region = "us-west-2", endpoint = "http://127.0.0.1:1", max_attempts = 1,
                  connect_timeout = 1 }
      for k, v in pairs(extra) do o[k] = v end
      local c = assert(gls.new(o))
      local _, err = c:list_applications()
      return err
    end
    local err = first_call{ profile = "dve" }
    assert.equal("InvalidParameter", err.code)
    assert.equal(0, err.attempts)
    assert.matches('profile "dve" %(from the profile option%) is in neither', err.message)
    assert.matches(cfg, err.message, 1, true)
    assert.matches(cred, err.message, 1, true)
    err = first_call{ getenv = env{ AWS_PROFILE = "dve" } }
    assert.matches('profile "dve" %(from AWS_PROFILE%)', err.message)
    -- AWS_DEFAULT_PROFILE comes before AWS_PROFILE (botocore's order), and the message names
    -- the variable the name came from
    err = first_call{ getenv = env{ AWS_DEFAULT_PROFILE = "dve", AWS_PROFILE = "dev" } }
    assert.matches('profile "dve" %(from AWS_DEFAULT_PROFILE%) is in neither', err.message)
    -- set to "", a variable is unset: the next one, or the implicit default, counts
    err = first_call{ getenv = env{ AWS_DEFAULT_PROFILE = "", AWS_PROFILE = "dve" } }
    assert.matches('profile "dve" %(from AWS_PROFILE%) is in neither', err.message)
    -- existing profiles, in either file, and the implicit default (even with no files) pass on
    for _, extra in ipairs{ { profile = "dev" }, { profile = "ci" }, { getenv = env{ AWS_PROFILE = "default" } },
                            { getenv = env{ AWS_DEFAULT_PROFILE = "ci", AWS_PROFILE = "dve" } },
                            { profile = "dev", getenv = env{ AWS_DEFAULT_PROFILE = "dve" } },
                            { getenv = env{ AWS_PROFILE = "" } }, { getenv = env{ AWS_DEFAULT_PROFILE = "" } },
                            { config_file = NO_FILES.config_file } } do
      err = first_call(extra)
      assert.equal("NetworkError", err.code) -- got as far as sending
    end
    helpers.rm_rf(dir)
  end)

  it("takes the region from AWS_REGION, then AWS_DEFAULT_REGION, then the profile", function()
    local c = assert(gls.new{ credentials = KEYS, getenv = env{ AWS_REGION = "eu-central-1", AWS_DEFAULT_REGION = "x" } })
    assert.equal("eu-central-1", c.region)
    c = assert(gls.new{ credentials = KEYS, getenv = env{ AWS_DEFAULT_REGION = "ap-northeast-1" } })
    assert.equal("ap-northeast-1", c.region)
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[profile dev]\nregion = sa-east-1\n")
    c = assert(gls.new{ credentials = KEYS, getenv = env{}, profile = "dev", config_file = cfg,
                        credentials_file = NO_FILES.credentials_file,
                        endpoint = "http://127.0.0.1:1", max_attempts = 1, connect_timeout = 1 })
    assert.is_nil(c.region) -- nothing read yet
    c:list_applications()
    assert.equal("sa-east-1", c.region)
    helpers.rm_rf(dir)
  end)

  it("resolves the endpoint from the model's rules when none is configured (.api.aws)", function()
    local c = assert(gls.new{ region = "us-west-2", getenv = env{},
      credentials = { get = function() return nil, gls.errors.new{ code = "CredentialsError", message = "none" } end } })
    local _, err = c:list_applications()
    assert.equal("CredentialsError", err.code)
    assert.equal("https://gameliftstreams.us-west-2.api.aws", c.endpoint_url)
    c = assert(gls.new{ region = "us-east-1", use_fips = true, getenv = env{},
      credentials = { get = function() return nil, "none" end } })
    _, err = c:list_applications()
    assert.equal("CredentialsError", err.code)
    assert.equal("https://gameliftstreams-fips.us-east-1.api.aws", c.endpoint_url)
  end)

  it("takes FIPS from AWS_USE_FIPS_ENDPOINT, then the profile's use_fips_endpoint; the option wins", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nuse_fips_endpoint = true\n")
    local cases = {
      { { getenv = env{ AWS_USE_FIPS_ENDPOINT = "true" } }, "gameliftstreams-fips" },
      { { getenv = env{ AWS_USE_FIPS_ENDPOINT = "true" }, use_fips = false }, "gameliftstreams" },
      { { getenv = env{}, config_file = cfg }, "gameliftstreams-fips" },
      { { getenv = env{ AWS_USE_FIPS_ENDPOINT = "false" }, config_file = cfg }, "gameliftstreams" },
      { { getenv = env{}, config_file = NO_FILES.config_file }, "gameliftstreams" },
    }
    for i, case in ipairs(cases) do
      local o = { region = "us-east-1", credentials = STOP, credentials_file = NO_FILES.credentials_file }
      for k, v in pairs(case[1]) do o[k] = v end
      local c = assert(gls.new(o))
      c:list_applications()
      assert.equal("https://" .. case[2] .. ".us-east-1.api.aws", c.endpoint_url, "case " .. i)
    end
    -- FIPS from the environment with a custom endpoint: the rules refuse it at gls.new
    local c, err = gls.new{ region = "us-east-1", endpoint = "http://127.0.0.1:1",
                            getenv = env{ AWS_USE_FIPS_ENDPOINT = "true" } }
    assert.is_nil(c)
    assert.equal("EndpointError", err.code)
    helpers.rm_rf(dir)
  end)

  it("takes the CA bundle from ca_file, then AWS_CA_BUNDLE, then the profile's ca_bundle", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nca_bundle = /profile/ca.pem\n")
    local function ca(o)
      local t = { region = "us-east-1", credentials = STOP, credentials_file = NO_FILES.credentials_file,
                  config_file = cfg, getenv = env{} }
      for k, v in pairs(o) do t[k] = v end
      local c = assert(gls.new(t))
      c:list_applications()
      return c.ca_file
    end
    assert.equal("/profile/ca.pem", ca{})
    assert.equal("/env/ca.pem", ca{ getenv = env{ AWS_CA_BUNDLE = "/env/ca.pem" } })
    assert.equal("/opt/ca.pem", ca{ ca_file = "/opt/ca.pem", getenv = env{ AWS_CA_BUNDLE = "/env/ca.pem" } })
    assert.is_nil(ca{ config_file = NO_FILES.config_file })
    helpers.rm_rf(dir)
  end)

  it("has one method per model operation, named in snake_case", function()
    local c = assert(gls.new(opts{ endpoint = "http://127.0.0.1:1" }))
    local n = 0
    for _, def in pairs(model.operations) do
      assert.is_function(c[def.snake], def.snake)
      n = n + 1
    end
    assert.equal(30, n)
    assert.is_nil(c.no_such_operation)
  end)
end)
