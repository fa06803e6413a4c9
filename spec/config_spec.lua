local config = require("gameliftstreams.config")
local helpers = require("helpers")

local function env(t) return function(k) return t[k] end end

describe("config file parsing", function()
  it("reads sections, keys (case-insensitive) and values", function()
    local s = config.parse("[default]\nregion = us-west-2\nAWS_Access_Key_ID=AKID\n\n[profile dev]\nregion: eu-west-1\n")
    assert.equal("us-west-2", s.default.region)
    assert.equal("AKID", s.default.aws_access_key_id)
    assert.equal("eu-west-1", s["profile dev"].region)
  end)

  it("skips full-line comments with # and ; (indented too)", function()
    local s = config.parse("# top\n; top\n[default]\n# region = wrong\n  ; also a comment\nregion = ok\n")
    assert.same({ region = "ok" }, s.default)
  end)

  it("strips inline comments only after whitespace", function()
    local s = config.parse("[default]\na = one ; comment\nb = two # comment\nc = th;ree\nd = fo#ur\n"
      .. "e = tab\t;comment\n")
    assert.equal("one", s.default.a)
    assert.equal("two", s.default.b)
    assert.equal("th;ree", s.default.c)
    assert.equal("fo#ur", s.default.d)
    assert.equal("tab", s.default.e)
  end)

  it("keeps '=' inside values and splits on the first delimiter", function()
    local s = config.parse("[default]\ncredential_process = /bin/get --x=1 --url http://h:1/\n")
    assert.equal("/bin/get --x=1 --url http://h:1/", s.default.credential_process)
  end)

  it("turns an empty value followed by indented lines into a nested map", function()
    local s = config.parse("[profile dev]\ns3 =\n  max_concurrent_requests = 20\n  addressing_style=path\n"
      .. "region = us-east-2\n")
    local dev = s["profile dev"]
    assert.same({ max_concurrent_requests = "20", addressing_style = "path" }, dev.s3)
    assert.equal("us-east-2", dev.region)
  end)

  it("joins continuation lines of a non-empty value", function()
    local s = config.parse("[default]\nlist = a\n  b\n\tc\nnext = d\n")
    assert.equal("a\nb\nc", s.default.list)
    assert.equal("d", s.default.next)
  end)

  it("handles CRLF line ends and keys before any section", function()
    local s = config.parse("orphan = 1\r\n[default]\r\nregion = us-west-1\r\n")
    assert.equal("us-west-1", s.default.region)
    assert.is_nil(s.default.orphan)
  end)
end)

describe("config files on disk", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  local function files(cfg, cred)
    local c, k = dir .. "/config", dir .. "/credentials"
    if cfg then helpers.write_file(c, cfg) end
    if cred then helpers.write_file(k, cred) end
    return c, k
  end

  it("finds ~/.aws/config and ~/.aws/credentials through HOME", function()
    os.execute("mkdir -p " .. helpers.shell_quote(dir .. "/.aws"))
    helpers.write_file(dir .. "/.aws/config", "[default]\nregion = ap-south-1\n")
    helpers.write_file(dir .. "/.aws/credentials", "[default]\naws_access_key_id = AKHOME\n")
    local s, found, name = config.load{ getenv = env{ HOME = dir } }
    assert.is_true(found)
    assert.equal("default", name)
    assert.equal("ap-south-1", s.region)
    assert.equal("AKHOME", s.aws_access_key_id)
  end)

  it("uses AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE", function()
    local c, k = files("[profile work]\nregion = eu-central-1\nmax_attempts = 7\n[default]\nregion = x\n",
      "[work]\naws_access_key_id = AKWORK\n")
    local s, found, name = config.load{ getenv = env{ AWS_CONFIG_FILE = c,
      AWS_SHARED_CREDENTIALS_FILE = k, AWS_PROFILE = "work", HOME = "/nonexistent" } }
    assert.is_true(found)
    assert.equal("work", name)
    assert.equal("eu-central-1", s.region)
    assert.equal("7", s.max_attempts)
    assert.equal("AKWORK", s.aws_access_key_id)
  end)

  it("the profile option beats AWS_PROFILE", function()
    local c = files("[profile a]\nregion = r-a\n[profile b]\nregion = r-b\n")
    local s = config.load{ profile = "b", getenv = env{ AWS_CONFIG_FILE = c, AWS_PROFILE = "a" } }
    assert.equal("r-b", s.region)
  end)

  it("takes the profile name from the option, AWS_DEFAULT_PROFILE, AWS_PROFILE, then default (botocore)",
     function()
    local c = files("[default]\nregion = r-default\n[profile a]\nregion = r-a\n[profile b]\nregion = r-b\n")
    local function pick(o, vars)
      vars.AWS_CONFIG_FILE, vars.HOME = c, "/nonexistent"
      o.getenv = env(vars)
      local s, found, name = config.load(o)
      local _, explicit, source = config.profile_name(o)
      return { name, s.region, found, explicit, source }
    end
    assert.same({ "default", "r-default", true, false, nil }, pick({}, {}))
    assert.same({ "a", "r-a", true, true, "AWS_DEFAULT_PROFILE" }, pick({}, { AWS_DEFAULT_PROFILE = "a" }))
    assert.same({ "b", "r-b", true, true, "AWS_PROFILE" }, pick({}, { AWS_PROFILE = "b" }))
    assert.same({ "a", "r-a", true, true, "AWS_DEFAULT_PROFILE" },
      pick({}, { AWS_DEFAULT_PROFILE = "a", AWS_PROFILE = "b" }))
    assert.same({ "b", "r-b", true, true, "the profile option" },
      pick({ profile = "b" }, { AWS_DEFAULT_PROFILE = "a", AWS_PROFILE = "a" }))
    -- a variable set to "" is unset, as every variable the SDK reads (botocore would name the
    -- profile "")
    assert.same({ "b", "r-b", true, true, "AWS_PROFILE" }, pick({}, { AWS_DEFAULT_PROFILE = "", AWS_PROFILE = "b" }))
    assert.same({ "default", "r-default", true, false, nil }, pick({}, { AWS_PROFILE = "" }))
    assert.same({ "default", "r-default", true, false, nil }, pick({}, { AWS_DEFAULT_PROFILE = "", AWS_PROFILE = "" }))
    assert.same({ "a", "r-a", true, true, "AWS_DEFAULT_PROFILE" },
      pick({}, { AWS_DEFAULT_PROFILE = "a", AWS_PROFILE = "" }))
  end)

  it("ignores [x] without 'profile' in the config file, and 'profile x' in the credentials file", function()
    local c, k = files("[work]\nregion = wrong\n[profile work]\nretry_mode = standard\n",
      "[profile work]\naws_access_key_id = WRONG\n")
    local s = config.load{ profile = "work", config_file = c, credentials_file = k,
      getenv = env{} }
    assert.is_nil(s.region)
    assert.is_nil(s.aws_access_key_id)
    assert.equal("standard", s.retry_mode)
  end)

  it("lets the credentials file win over the config file for the same profile", function()
    local c, k = files("[default]\naws_access_key_id = FROMCONFIG\nregion = us-west-2\n",
      "[default]\naws_access_key_id = FROMCREDS\n")
    local s = config.load{ getenv = env{ AWS_CONFIG_FILE = c, AWS_SHARED_CREDENTIALS_FILE = k } }
    assert.equal("FROMCREDS", s.aws_access_key_id)
    assert.equal("us-west-2", s.region)
  end)

  it("reports a missing profile as not found, with empty settings", function()
    local c = files("[default]\nregion = us-west-2\n")
    local s, found = config.load{ profile = "nope", getenv = env{ AWS_CONFIG_FILE = c } }
    assert.is_false(found)
    assert.same({}, s)
  end)

  it("treats missing files as empty", function()
    local s, found = config.load{ getenv = env{ AWS_CONFIG_FILE = dir .. "/none",
      AWS_SHARED_CREDENTIALS_FILE = dir .. "/none2" } }
    assert.is_false(found)
    assert.same({}, s)
  end)

  it("expands ~ in AWS_CONFIG_FILE", function()
    helpers.write_file(dir .. "/cfg", "[default]\nregion = sa-east-1\n")
    local c = config.paths{ getenv = env{ HOME = dir, AWS_CONFIG_FILE = "~/cfg" } }
    assert.equal(dir .. "/cfg", c)
    assert.equal("sa-east-1", config.load{ getenv = env{ HOME = dir, AWS_CONFIG_FILE = "~/cfg" } }.region)
  end)

  it("keeps nested sub-sections of a profile", function()
    local c = files("[profile dev]\nregion = us-east-1\ns3 =\n  addressing_style = virtual\n")
    local s = config.load{ profile = "dev", getenv = env{ AWS_CONFIG_FILE = c } }
    assert.same({ addressing_style = "virtual" }, s.s3)
  end)
end)

describe("config.configured_endpoint", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  local CFG = "[default]\nendpoint_url = http://global.profile\nservices = local\n"
    .. "[services local]\nsts =\n  endpoint_url = http://sts.services\n"
    .. "gameliftstreams =\n  endpoint_url = http://gls.services\n"
    .. "[profile plain]\nendpoint_url = http://plain.profile\n"

  it("orders service env, global env, services section, profile endpoint_url", function()
    local c = helpers.write_file(dir .. "/config", CFG)
    local e = { AWS_CONFIG_FILE = c, AWS_ENDPOINT_URL_STS = "http://sts.env", AWS_ENDPOINT_URL = "http://global.env" }
    assert.equal("http://sts.env", config.configured_endpoint({ getenv = env(e) }, "sts"))
    assert.equal("http://global.env", config.configured_endpoint({ getenv = env(e) }, "gameliftstreams"))
    e.AWS_ENDPOINT_URL = nil
    assert.equal("http://gls.services", config.configured_endpoint({ getenv = env(e) }, "gameliftstreams"))
    e.AWS_ENDPOINT_URL_STS = nil
    assert.equal("http://sts.services", config.configured_endpoint({ getenv = env(e) }, "sts"))
    assert.equal("http://global.profile", config.configured_endpoint({ getenv = env(e) }, "s3"))
    assert.equal("http://plain.profile", config.configured_endpoint({ profile = "plain", getenv = env(e) }, "sts"))
  end)

  it("is turned off by AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile setting", function()
    local c = helpers.write_file(dir .. "/config", CFG .. "[profile ign]\nendpoint_url = http://x\n"
      .. "ignore_configured_endpoint_urls = true\n")
    assert.is_nil(config.configured_endpoint({ getenv = env{ AWS_CONFIG_FILE = c,
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true", AWS_ENDPOINT_URL = "http://e" } }, "sts"))
    assert.is_nil(config.configured_endpoint({ profile = "ign", getenv = env{ AWS_CONFIG_FILE = c } }, "sts"))
    assert.equal("http://x", config.configured_endpoint({ profile = "ign", getenv = env{ AWS_CONFIG_FILE = c,
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "false" } }, "sts"))
  end)
end)

describe("config.resolve_region", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  it("prefers the option, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile", function()
    local c = helpers.write_file(dir .. "/config", "[default]\nregion = from-profile\n")
    local e = { AWS_CONFIG_FILE = c, AWS_REGION = "from-region", AWS_DEFAULT_REGION = "from-default" }
    assert.equal("opt", config.resolve_region{ region = "opt", getenv = env(e) })
    assert.equal("from-region", config.resolve_region{ getenv = env(e) })
    e.AWS_REGION = nil
    assert.equal("from-default", config.resolve_region{ getenv = env(e) })
    e.AWS_DEFAULT_REGION = ""
    assert.equal("from-profile", config.resolve_region{ getenv = env(e) })
  end)

  it("reads the region of the chosen profile", function()
    local c = helpers.write_file(dir .. "/config",
      "[default]\nregion = us-east-1\n[profile eu]\nregion = eu-west-3 # Paris\n")
    assert.equal("eu-west-3", config.resolve_region{ profile = "eu", getenv = env{ AWS_CONFIG_FILE = c } })
    assert.equal("eu-west-3", config.resolve_region{ getenv = env{ AWS_CONFIG_FILE = c, AWS_PROFILE = "eu" } })
  end)

  it("returns an InvalidParameter error when no region is set anywhere", function()
    local r, err = config.resolve_region{ getenv = env{ AWS_CONFIG_FILE = dir .. "/none",
      HOME = dir } }
    assert.is_nil(r)
    assert.equal("InvalidParameter", err.code)
    assert.matches("AWS_REGION", err.message)
  end)

  it("reads the real environment by default (subprocess)", function()
    local out = helpers.run("env -u AWS_REGION AWS_DEFAULT_REGION=from-env " .. helpers.lua_env()
      .. " lua5.4 -e 'print(require(\"gameliftstreams.config\").resolve_region{})'")
    assert.equal("from-env\n", out)
  end)
end)

describe("a client's settings", function()
  local srv, dir
  setup(function()
    srv = helpers.spawn_server(helpers.root .. "/spec/support/aws_standins.lua", { "sts" })
  end)
  teardown(function() if srv then srv.stop() end end)
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  it("are read from each shared file at most once on the first call, whose region, endpoint, "
    .. "retries and credentials (an assumed role) come from the profile", function()
    local cfg = helpers.write_file(dir .. "/config", "[profile dev]\nregion = eu-west-3\nmax_attempts = 1\n"
      .. "retry_mode = standard\nrole_arn = arn:aws:iam::111122223333:role/r\nsource_profile = base\n"
      .. "services = local\n[services local]\ngameliftstreams =\n  endpoint_url = " .. srv.url .. "\n"
      .. "sts =\n  endpoint_url = " .. srv.url .. "\n")
    local cred = helpers.write_file(dir .. "/credentials",
      "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n")
    local opens = {}
    local read_file = config.read_file
    config.read_file = function(path)
      opens[path] = (opens[path] or 0) + 1
      return read_file(path)
    end
    local ok, err = pcall(function()
      local c = assert(require("gameliftstreams").new{ profile = "dev",
        getenv = env{ AWS_CONFIG_FILE = cfg, AWS_SHARED_CREDENTIALS_FILE = cred } })
      local _, cerr = c:list_stream_groups{}
      -- the stand-in knows no GameLift Streams: what matters is what was read to get there
      assert.is_truthy(cerr)
      assert.equal("eu-west-3", c.region)
      assert.equal(srv.url, c.endpoint_url)
      assert.equal(1, c.retry.max_attempts)
      local _, serr = c:list_stream_groups{}
      assert.is_truthy(serr)
    end)
    config.read_file = read_file
    assert(ok, err)
    local pool = helpers.core().http_pool{}
    local log = require("cjson").decode(pool:request{ method = "GET", url = srv.url .. "/_ctl/log",
                                                      timeout = 5 }.body)
    pool:close()
    local sts = 0
    for _, e in ipairs(log) do if e.service == "sts" then sts = sts + 1 end end
    assert.equal(1, sts) -- the role was assumed once, and its credentials kept
    assert.equal(1, opens[cfg])
    assert.equal(1, opens[cred])
  end)

  it("are one read-only record: each field is settled once, a second write raises", function()
    local rec = config.record()
    rec.region = "us-west-2"
    assert.equal("us-west-2", rec.region)
    assert.has_error(function() rec.region = "eu-west-1" end,
      "the settings record is read-only: region is settled once")
    rec.nothing = false
    assert.has_error(function() rec.nothing = true end)
    local c = assert(require("gameliftstreams").new{ region = "us-west-2", endpoint = srv.url,
      credentials = { access_key_id = "AKID", secret_access_key = "s" }, getenv = env{} })
    c:list_stream_groups{}
    local settled = c.opts._settings
    assert.equal("us-west-2", settled.region)
    assert.is_true(settled.settled)
    assert.has_error(function() settled.region = "eu-west-1" end)
    assert.has_error(function() settled.endpoint = "http://elsewhere" end)
  end)

  it("read each environment variable once, at gls.new or on the first call, and none after", function()
    local cfg = helpers.write_file(dir .. "/config", "[profile dev]\nregion = eu-west-3\nmax_attempts = 2\n")
    local reads, E = {}, { AWS_CONFIG_FILE = cfg, AWS_SHARED_CREDENTIALS_FILE = dir .. "/none",
      AWS_PROFILE = "dev", AWS_ENDPOINT_URL = srv.url, HOME = "/nonexistent-home" }
    local c = assert(require("gameliftstreams").new{ getenv = function(k)
      reads[#reads + 1] = k
      return E[k]
    end, credentials = { access_key_id = "AKID", secret_access_key = "s" } })
    c:list_stream_groups{}
    assert.equal("eu-west-3", c.region)
    assert.equal(srv.url, c.endpoint_url)
    assert.equal(2, c.retry.max_attempts)
    local count = {}
    for _, k in ipairs(reads) do count[k] = (count[k] or 0) + 1 end
    for k, n in pairs(count) do assert.equal(1, n, k .. " was read " .. n .. " times") end
    for _, k in ipairs{ "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_REGION", "AWS_ENDPOINT_URL_GAMELIFTSTREAMS",
                        "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_USE_FIPS_ENDPOINT" } do
      assert.equal(1, count[k], k)
    end
    local before = #reads
    c:list_stream_groups{}
    c:list_stream_groups{}
    assert.equal(before, #reads, "later calls read " .. table.concat(reads, " ", before + 1))
  end)
end)
