local helpers = require("helpers")
local cjson = require("cjson")
local gls = require("gameliftstreams")
local core = require("gameliftstreams.core")
local model = require("gameliftstreams.model")

local KEYS = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret" }
local NO_FILES = { config_file = "/nonexistent/gls-config", credentials_file = "/nonexistent/gls-credentials" }
-- A credentials provider that fails: a call settles region and endpoint, then stops before sending.
local STOP = { get = function() return nil, "stop here" end }

-- getenv stand-in: only the given variables exist.
local function env(vars)
  return function(name) return vars[name] end
end

local function opts(extra)
  local t = { region = "us-west-2", credentials = KEYS, getenv = env{} }
  for k, v in pairs(NO_FILES) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local function new_app_input(name)
  return { Description = name or "game", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
           ExecutablePath = "bin/game", ApplicationSourceUri = "s3://bucket/game" }
end

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

  it("refuses, on the first call, a profile named by the option or AWS_PROFILE that no file has",
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
    -- existing profiles, in either file, and the implicit default (even with no files) pass on
    for _, extra in ipairs{ { profile = "dev" }, { profile = "ci" }, { getenv = env{ AWS_PROFILE = "default" } },
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

describe("client calls against the emulator", function()
  local emu

  setup(function() emu = helpers.start_emulator{ delay_scale = 0.01 } end)
  teardown(function() if emu then emu.stop() end end)
  before_each(function()
    helpers.control(emu, "POST", "reset")
    helpers.control(emu, "DELETE", "faults")
    helpers.control(emu, "POST", "clock", { offset = 0 })
    helpers.control(emu, "DELETE", "requests")
  end)

  local function client(extra)
    local c = assert(gls.new(opts(extra and extra or {})))
    if c.retry then c.retry.rng = function() return 0.01 end end
    return c
  end

  local function requests(op)
    local _, log = helpers.control(emu, "GET", "requests" .. (op and ("?operation=" .. op) or ""))
    return log.requests
  end

  local function fault(f)
    local status = helpers.control(emu, "POST", "faults", f)
    assert.equal(200, status)
  end

  it("accepts PascalCase and snake_case names in call", function()
    local c = client{ endpoint = emu.url }
    local a = assert(c:call("ListApplications", {}))
    local b = assert(c:call("list_applications"))
    assert.same(a, b)
    local out, err = c:call("NoSuchOperation", {})
    assert.is_nil(out)
    assert.equal("InvalidParameter", err.code)
    assert.matches("NoSuchOperation", err.message)
  end)

  it("uses AWS_ENDPOINT_URL_GAMELIFTSTREAMS, then AWS_ENDPOINT_URL; the option wins over both", function()
    local c = client{ getenv = env{ AWS_ENDPOINT_URL_GAMELIFTSTREAMS = emu.url, AWS_ENDPOINT_URL = "http://127.0.0.1:1" } }
    assert(c:list_applications())
    c = client{ getenv = env{ AWS_ENDPOINT_URL = emu.url } }
    assert(c:list_applications())
    c = client{ endpoint = emu.url, getenv = env{ AWS_ENDPOINT_URL_GAMELIFTSTREAMS = "http://127.0.0.1:1" } }
    assert(c:list_applications())
    assert.equal(3, #requests("ListApplications"))
  end)

  it("takes endpoint_url from the profile when nothing else configures one", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nendpoint_url = " .. emu.url .. "\n")
    local c = client{ config_file = cfg }
    assert(c:list_applications())
    assert.equal(emu.url, c.endpoint_url)
    -- AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns it off: the rules' endpoint is used
    c = client{ config_file = cfg, getenv = env{ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" },
                credentials = STOP }
    c:list_applications()
    assert.equal("https://gameliftstreams.us-west-2.api.aws", c.endpoint_url)
    helpers.rm_rf(dir)
  end)

  it("lets the profile's ignore_configured_endpoint_urls turn the environment's endpoint off", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nignore_configured_endpoint_urls = true\n")
    -- the profile says ignore: AWS_ENDPOINT_URL* are not used, the rules' endpoint is
    local c = client{ config_file = cfg, credentials = STOP,
                      getenv = env{ AWS_ENDPOINT_URL_GAMELIFTSTREAMS = emu.url, AWS_ENDPOINT_URL = emu.url } }
    c:list_applications()
    assert.equal("https://gameliftstreams.us-west-2.api.aws", c.endpoint_url)
    -- AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false wins over the profile
    c = client{ config_file = cfg, getenv = env{ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "false",
                                                 AWS_ENDPOINT_URL = emu.url } }
    assert(c:list_applications())
    assert.equal(emu.url, c.endpoint_url)
    -- an explicit endpoint is used whatever the switches say
    c = client{ config_file = cfg, endpoint = emu.url,
                getenv = env{ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" } }
    assert(c:list_applications())
    assert.equal(2, #requests("ListApplications"))
    helpers.rm_rf(dir)
  end)

  it("takes the endpoint from the profile's services section", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nservices = local-emu\n"
      .. "endpoint_url = http://127.0.0.1:1\n\n[services local-emu]\ngameliftstreams =\n  endpoint_url = "
      .. emu.url .. "\n")
    local c = client{ config_file = cfg }
    assert(c:list_applications())
    assert.equal(emu.url, c.endpoint_url) -- the services section wins over the profile's endpoint_url
    helpers.rm_rf(dir)
  end)

  it("returns ResponseTooLarge past max_response_bytes, without retrying", function()
    assert(client{ endpoint = emu.url }:create_application(new_app_input("big")))
    helpers.control(emu, "DELETE", "requests")
    local c = client{ endpoint = emu.url, max_response_bytes = 10 }
    local _, err = c:list_applications()
    assert.equal("ResponseTooLarge", err.code)
    assert.equal(1, err.attempts)
    assert.equal(1, #requests())
  end)

  it("signs with the client's region and sends the user agent with its suffix", function()
    local c = client{ endpoint = emu.url, region = "eu-central-1", user_agent_suffix = "mygame/1.2" }
    assert(c:list_stream_groups())
    local r = requests()[1]
    assert.matches("/eu%-central%-1/gameliftstreams/aws4_request", r.headers.authorization)
    assert.matches("^gameliftstreams%-lua/[%d.]+ lua[%a]*/[%d.]+ mygame/1%.2$", r.headers["user-agent"])
  end)

  it("sends the application id as app/<id>: the option, AWS_SDK_UA_APP_ID, then the profile's",
     function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nsdk_ua_app_id = from profile\n")
    local function ua(extra)
      helpers.control(emu, "DELETE", "requests")
      extra.endpoint = emu.url
      assert(client(extra):list_stream_groups())
      return requests()[1].headers["user-agent"]
    end
    assert.matches("^gameliftstreams%-lua/[%d.]+ lua[%a]*/[%d.]+ app/my%-game%.v2 mygame/1%.2$",
      ua{ app_id = "my-game.v2", user_agent_suffix = "mygame/1.2", config_file = cfg,
          getenv = env{ AWS_SDK_UA_APP_ID = "from-env" } })
    -- from the environment: characters a token cannot hold become "-"
    assert.matches(" app/from%-env%-x%-y$",
      ua{ config_file = cfg, getenv = env{ AWS_SDK_UA_APP_ID = "from env/x\ty" } })
    assert.matches(" app/from%-profile$", ua{ config_file = cfg })
    assert.matches("lua[%a]*/[%d.]+$", ua{}) -- none anywhere: no app/ part
    helpers.rm_rf(dir)
  end)

  it("refuses an app_id option that is empty, too long or not a token", function()
    for _, bad in ipairs{ "", string.rep("a", 51), "my app", "a/b", "caf\195\169", 7 } do
      local c, err = gls.new(opts{ app_id = bad })
      assert.is_nil(c)
      assert.equal("InvalidParameter", err.code)
      assert.matches("app_id", err.message)
      assert.matches("1 to 50", err.message)
    end
    assert(gls.new(opts{ app_id = string.rep("a", 50) }))
  end)

  it("asks a credentials provider on each call and signs with what it returns", function()
    local calls = 0
    local provider = { get = function() calls = calls + 1; return KEYS end }
    local c = client{ endpoint = emu.url, credentials = provider }
    assert(c:list_applications())
    assert(c:list_applications())
    assert.equal(2, calls)
  end)

  it("takes credentials from the environment through the default chain", function()
    local c = client{ endpoint = emu.url, credentials = nil,
      getenv = env{ AWS_ACCESS_KEY_ID = "AKIDEMULATOR", AWS_SECRET_ACCESS_KEY = "emulator-secret" } }
    c.opts.credentials = nil
    assert(c:list_applications())
  end)

  it("returns a CredentialsError, without sending, when the provider fails", function()
    local c = client{ endpoint = emu.url, credentials = { get = function() return nil, "no keys here" end } }
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal("CredentialsError", err.code)
    assert.equal(0, err.attempts)
    assert.equal(0, #requests())
  end)

  it("sends and signs a session token", function()
    helpers.control(emu, "POST", "credentials",
      { access_key_id = "AKIDTEMP", secret_access_key = "temp-secret", session_token = "TOKEN/with+chars=" })
    local c = client{ endpoint = emu.url, credentials = { access_key_id = "AKIDTEMP",
      secret_access_key = "temp-secret", session_token = "TOKEN/with+chars=" } }
    assert(c:list_applications())
    local r = requests()[1]
    assert.equal("TOKEN/with+chars=", r.headers["x-amz-security-token"])
    assert.matches("SignedHeaders=host;x%-amz%-date;x%-amz%-security%-token,", r.headers.authorization)
    local bad = client{ endpoint = emu.url, credentials = { access_key_id = "AKIDTEMP",
      secret_access_key = "temp-secret", session_token = "WRONG-TOKEN" } }
    local _, err = bad:list_applications()
    assert.equal("UnrecognizedClientException", err.code)
    assert.is_nil(tostring(err):find("WRONG-TOKEN", 1, true))
    assert.is_nil(tostring(err):find("temp-secret", 1, true))
  end)

  it("returns the service's error with status, request id and retryable", function()
    local c = client{ endpoint = emu.url }
    local out, err = c:get_application{ Identifier = "a-doesnotexist" }
    assert.is_nil(out)
    assert.equal("ResourceNotFoundException", err.code)
    assert.equal(404, err.status)
    assert.equal(requests()[1].request_id, err.request_id)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    assert.equal(0, err.backoff)
    assert.matches("^ResourceNotFoundException: .+ %(HTTP 404, request id [%x-]+%)$", tostring(err))
  end)

  it("returns a signature error for wrong keys", function()
    local c = client{ endpoint = emu.url, credentials = { access_key_id = "AKIDEMULATOR", secret_access_key = "wrong" } }
    local _, err = c:list_applications()
    assert.equal("InvalidSignatureException", err.code)
    assert.equal(403, err.status)
    assert.is_nil(tostring(err):find("wrong", 1, true))
  end)

  it("retries a 500 and keeps the ClientToken across attempts", function()
    local c = client{ endpoint = emu.url }
    fault{ kind = "error", code = "InternalServerException", operation = "CreateApplication", count = 1 }
    local out, err = c:create_application(new_app_input())
    assert.is_nil(err)
    assert.matches("^arn:aws:gameliftstreams:", out.Arn)
    local reqs = requests("CreateApplication")
    assert.equal(2, #reqs)
    assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", reqs[1].client_token)
    assert.equal(reqs[1].client_token, reqs[2].client_token)
  end)

  it("does not create twice when a response is lost after the work was done", function()
    local c = client{ endpoint = emu.url }
    fault{ kind = "error", code = "InternalServerException", operation = "CreateApplication", count = 1, after = true }
    local out = assert(c:create_application(new_app_input("once")))
    local list = assert(c:list_applications())
    assert.equal(1, #list.Items)
    assert.equal(out.Arn, list.Items[1].Arn)
  end)

  it("gives up after max_attempts with attempts and backoff on the error", function()
    local c = client{ endpoint = emu.url, max_attempts = 3 }
    fault{ kind = "throttle", operation = "ListStreamGroups", count = 5 }
    local out, err = c:list_stream_groups()
    assert.is_nil(out)
    assert.equal("ThrottlingException", err.code)
    assert.equal(429, err.status)
    assert.is_true(err.retryable)
    assert.equal(3, err.attempts)
    assert.is_true(err.backoff > 0)
    assert.is_true(math.abs(err.backoff - 0.03) < 1e-9) -- 0.01 * 1 s + 0.01 * 2 s
    assert.equal(3, #requests("ListStreamGroups"))
  end)

  it("tells the two 409 errors apart: ConflictException is final, StreamSessionAccessNotReady is retried", function()
    local c = client{ endpoint = emu.url }
    fault{ kind = "error", code = "ConflictException", operation = "ListApplications", count = 3 }
    local _, err = c:list_applications()
    assert.equal("ConflictException", err.code)
    assert.equal(409, err.status)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    helpers.control(emu, "DELETE", "faults")
    fault{ kind = "error", code = "StreamSessionAccessNotReadyException", operation = "ListApplications", count = 1 }
    local out, err2 = c:list_applications()
    assert.is_nil(err2)
    assert.is_table(out)
  end)

  it("does not retry with max_attempts = 1", function()
    local c = client{ endpoint = emu.url, max_attempts = 1 }
    fault{ kind = "throttle", operation = "ListApplications", count = 1 }
    local _, err = c:list_applications()
    assert.equal("ThrottlingException", err.code)
    assert.equal(1, err.attempts)
    assert.equal(1, #requests())
  end)

  it("corrects a skewed clock from the Date header and retries once, even without retries", function()
    helpers.control(emu, "POST", "clock", { offset = 3600 })
    local c = client{ endpoint = emu.url, max_attempts = 1 }
    local out, err = c:list_applications()
    assert.is_nil(err)
    assert.is_table(out)
    assert.equal(2, #requests())
    assert.is_true(math.abs(c.skew - 3600) < 5)
    -- the next call is signed with the corrected clock at once
    assert(c:list_applications())
    assert.equal(3, #requests())
    -- a skew in the other direction
    helpers.control(emu, "POST", "clock", { offset = -3600 })
    assert(c:list_applications())
    assert.is_true(math.abs(c.skew + 3600) < 5)
  end)

  it("resends each concurrent call signed with the old clock, once another corrected it", function()
    helpers.control(emu, "POST", "clock", { offset = 3600 })
    local c = client{ endpoint = emu.url, max_attempts = 1 }
    local sched = require("gameliftstreams.sched")
    local tasks = {}
    for i = 1, 4 do tasks[i] = sched.spawn(function() return c:list_applications() end) end
    assert(sched.run())
    for i = 1, 4 do
      local r = tasks[i].results
      assert.is_table(r[1], tostring(r[2]))
    end
    assert.equal(8, #requests()) -- all four signed before the first answer came back
  end)

  it("does not retry a wrong secret (InvalidSignatureException with a correct clock)", function()
    local c = client{ endpoint = emu.url,
                      credentials = { access_key_id = emu.access_key_id, secret_access_key = "wrong" } }
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal("InvalidSignatureException", err.code)
    assert.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.equal(1, #requests())
  end)

  it("parses RFC 1123 dates itself", function()
    local client_mod = require("gameliftstreams.client")
    assert.equal(784111777, client_mod.parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"))
    assert.equal(784111777, client_mod.parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"))
    assert.equal(784111777, client_mod.parse_http_date("Sun Nov  6 08:49:37 1994"))
    assert.equal(1767225600, client_mod.parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT"))
    assert.is_nil(client_mod.parse_http_date("yesterday"))
  end)

  it("returns a NetworkError for a dropped connection, after retrying it", function()
    local c = client{ endpoint = emu.url, max_attempts = 2 }
    -- libcurl itself re-sends once when a kept-alive connection turns out dead: drop plenty
    fault{ kind = "drop", operation = "ListApplications", count = 10 }
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal("NetworkError", err.code)
    assert.equal(2, err.attempts)
  end)

  it("returns a Timeout when the service does not answer in time", function()
    local c = client{ endpoint = emu.url, max_attempts = 1, timeout = 0.3 }
    fault{ kind = "hang", operation = "ListApplications", count = 1 }
    local t0 = core.monotime()
    local _, err = c:list_applications()
    assert.equal("Timeout", err.code)
    assert.is_true(core.monotime() - t0 < 2)
  end)

  it("returns a NetworkError when nothing listens", function()
    local c = client{ endpoint = "http://127.0.0.1:1", max_attempts = 1 }
    local _, err = c:list_applications()
    assert.equal("NetworkError", err.code)
    assert.equal(1, err.attempts)
  end)

  it("turns a non-JSON error page into HTTP<status> and a non-JSON success into SerializationError", function()
    local c = client{ endpoint = emu.url, max_attempts = 1 }
    fault{ kind = "garbage", status = 502, operation = "ListApplications", count = 1,
           body = "<html><body>502 Bad Gateway</body></html>" }
    local _, err = c:list_applications()
    assert.equal("HTTP502", err.code)
    assert.equal(502, err.status)
    assert.is_true(err.retryable)
    fault{ kind = "garbage", operation = "ListApplications", count = 1 }
    local _, err2 = c:list_applications()
    assert.equal("SerializationError", err2.code)
  end)

  it("never shows sensitive input in errors", function()
    local c = client{ endpoint = emu.url }
    local secret = "v=0 o=- SECRET-OFFER-4242"
    local _, err = c:start_stream_session{ Identifier = "sg-nothere", ApplicationIdentifier = "a-nothere",
      Protocol = "WebRTC", SignalRequest = secret, RoleArn = "arn:aws:iam::111122223333:role/SECRETROLE" }
    assert.equal("ResourceNotFoundException", err.code)
    assert.is_nil(tostring(err):find("SECRET", 1, true))
    assert.is_nil(tostring(err.message):find("SECRET", 1, true))
  end)

  it("runs calls concurrently as scheduler tasks", function()
    local c = client{ endpoint = emu.url }
    local results = {}
    for i = 1, 3 do
      gls.spawn(function()
        local out, err = c:create_application(new_app_input("task" .. i))
        results[i] = out and out.Arn or tostring(err)
      end)
    end
    assert.is_true(gls.run())
    for i = 1, 3 do assert.matches("^arn:aws:gameliftstreams:", results[i]) end
    assert.equal(3, #assert(c:list_applications()).Items)
  end)

  it("delegates pages, items and wait", function()
    local c = client{ endpoint = emu.url }
    for i = 1, 3 do assert(c:create_application(new_app_input("p" .. i))) end
    local n = 0
    for _ in c:items("list_applications", {}, { page_size = 2 }) do n = n + 1 end
    assert.equal(3, n)
    local pages = 0
    for _ in c:pages("ListApplications", {}, { page_size = 2 }) do pages = pages + 1 end
    assert.equal(2, pages)
    local app = assert(c:create_application(new_app_input("w")))
    local out, err = c:wait("application_ready", { Identifier = app.Arn },
      { max_wait = 30, min_delay = 0.02, max_delay = 0.05 })
    assert.is_nil(err)
    assert.equal("READY", out.Status)
  end)

  it("accepts a whole-number float for an integer and sends it without .0", function()
    local c = client{ endpoint = emu.url }
    assert(c:list_applications{ MaxResults = 10.0 })
    assert.equal("MaxResults=10", requests()[1].query)
  end)

  it("leaves the caller's input table unchanged", function()
    local c = client{ endpoint = emu.url }
    local input = new_app_input("same")
    local copy = cjson.decode(cjson.encode(input))
    assert(c:create_application(input))
    assert.same(copy, input)
  end)
end)
