-- A client's settings on the wire, against the emulator: the endpoint from the environment and
-- the profile, max_response_bytes, the region it signs for, its user agent and application id.
local helpers = require("helpers")
local gls = require("gameliftstreams")
local C = require("support.client")

local STOP, env, opts, new_app_input = C.STOP, C.env, C.opts, C.new_app_input

describe("client calls against the emulator", function()
  local emu, client, requests = C.against_emulator()

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
end)
