-- Endpoint resolution: the official endpoint tests, the environment overrides,
-- the partitions, and the generic parts of the rules evaluator.
local cjson = require("cjson")
local endpoints = require("gameliftstreams.endpoints")
local errors = require("gameliftstreams.errors")

local helpers = require("helpers")

local function read(path) return (assert(helpers.read_file(path), "cannot read " .. path)) end

local function env(t)
  return function(name) return t[name] end
end

describe("endpoints.resolve against endpoint-tests-1.json", function()
  local cases = cjson.decode(read("model/botocore/endpoint-tests-1.json")).testCases

  it("has the nine official cases", function()
    assert.are.equal(9, #cases)
  end)

  -- the vendored cases carry no description: name each by its parameters
  local function describe_params(params)
    local keys, parts = {}, {}
    for k in pairs(params or {}) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(params[k]) end
    return table.concat(parts, " ")
  end

  for i, case in ipairs(cases) do
    it("case " .. i .. ": " .. describe_params(case.params), function()
      local params = {}
      for k, v in pairs(case.params or {}) do params[k] = v end
      local ep, err = endpoints.resolve(params)
      if case.expect.error then
        assert.is_nil(ep)
        assert.is_true(errors.is(err))
        assert.are.equal("EndpointError", err.code)
        assert.are.equal(case.expect.error, err.message)
      else
        assert.is_nil(err)
        assert.are.equal(case.expect.endpoint.url, ep.url)
        assert.are.same(case.expect.endpoint.headers or {}, ep.headers)
        assert.are.same(case.expect.endpoint.properties or {}, ep.properties)
      end
    end)
  end
end)

describe("endpoints.resolve", function()
  it("puts regional endpoints on the partition's dual-stack suffix", function()
    assert.are.equal("https://gameliftstreams.us-west-2.api.aws", endpoints.resolve{ Region = "us-west-2" }.url)
    assert.are.equal("https://gameliftstreams-fips.us-west-2.api.aws",
      endpoints.resolve{ Region = "us-west-2", UseFIPS = true }.url)
  end)

  it("puts an unknown region into the aws partition", function()
    assert.are.equal("https://gameliftstreams.xx-fake-9.api.aws", endpoints.resolve{ Region = "xx-fake-9" }.url)
  end)

  it("resolves the cn, us-gov, iso and eusc partitions, including regions it does not list", function()
    local want = {
      ["cn-north-1"] = "https://gameliftstreams.cn-north-1.api.amazonwebservices.com.cn",
      ["cn-south-9"] = "https://gameliftstreams.cn-south-9.api.amazonwebservices.com.cn",
      ["us-gov-east-1"] = "https://gameliftstreams.us-gov-east-1.api.aws",
      ["us-iso-east-1"] = "https://gameliftstreams.us-iso-east-1.api.aws.ic.gov",
      ["us-isob-east-1"] = "https://gameliftstreams.us-isob-east-1.api.aws.scloud",
      ["eu-isoe-west-1"] = "https://gameliftstreams.eu-isoe-west-1.api.cloud-aws.adc-e.uk",
      ["us-isof-south-1"] = "https://gameliftstreams.us-isof-south-1.api.aws.hci.ic.gov",
      ["us-isof-north-7"] = "https://gameliftstreams.us-isof-north-7.api.aws.hci.ic.gov",
      ["eusc-de-east-1"] = "https://gameliftstreams.eusc-de-east-1.api.amazonwebservices.eu",
      ["eusc-de-west-2"] = "https://gameliftstreams.eusc-de-west-2.api.amazonwebservices.eu",
      ["mx-central-1"] = "https://gameliftstreams.mx-central-1.api.aws",
      ["ap-southeast-99"] = "https://gameliftstreams.ap-southeast-99.api.aws",
    }
    for region, url in pairs(want) do
      assert.are.equal(url, endpoints.resolve{ Region = region }.url, region)
    end
    assert.are.equal("https://gameliftstreams-fips.us-iso-west-1.api.aws.ic.gov",
      endpoints.resolve{ Region = "us-iso-west-1", UseFIPS = true }.url)
  end)

  it("names the partition of a region", function()
    assert.are.equal("aws-us-gov", endpoints.partition("us-gov-west-1").name)
    assert.are.equal("aws-iso-b", endpoints.partition("us-isob-west-1").name)
    assert.are.equal("aws", endpoints.partition("aws-global").name)
    assert.are.equal("aws-cn", endpoints.partition("aws-cn-global").name)
    assert.are.equal("aws", endpoints.partition("nowhere").name)
    assert.are.equal("amazonaws.com", endpoints.partition("us-east-1").dnsSuffix)
  end)

  it("rejects FIPS with a custom endpoint and a missing region", function()
    local ep, err = endpoints.resolve{ Endpoint = "http://127.0.0.1:8000", UseFIPS = true }
    assert.is_nil(ep)
    assert.are.equal("Invalid Configuration: FIPS and custom endpoint are not supported", err.message)
    ep, err = endpoints.resolve{}
    assert.is_nil(ep)
    assert.are.equal("EndpointError", err.code)
    assert.are.equal("Invalid Configuration: Missing Region", err.message)
    assert.are.equal("EndpointError: Invalid Configuration: Missing Region", tostring(err))
  end)

  it("uses a custom endpoint verbatim and ignores the region for it", function()
    assert.are.equal("http://localhost:8000/base",
      endpoints.resolve{ Endpoint = "http://localhost:8000/base", Region = "cn-north-1" }.url)
  end)

  it("returns an EndpointError for a parameter of the wrong type", function()
    local ep, err = endpoints.resolve{ Region = 42 }
    assert.is_nil(ep)
    assert.are.equal("EndpointError", err.code)
    assert.truthy(err.message:find("Region", 1, true))
    ep, err = endpoints.resolve{ Region = "us-east-1", UseFIPS = "yes" }
    assert.is_nil(ep)
    assert.truthy(err.message:find("UseFIPS", 1, true))
  end)
end)

describe("endpoints.for_client, given what the client settled (config.configured_endpoint)", function()
  local config = require("gameliftstreams.config")
  local both = { AWS_ENDPOINT_URL_GAMELIFTSTREAMS = "http://service.local:1", AWS_ENDPOINT_URL = "http://global.local:2" }

  -- what the client does: the option, else config.configured_endpoint (the environment, the
  -- profile, the ignore switches), then the rules
  local function for_client(o, e)
    local endpoint = o.endpoint
    if endpoint == nil or endpoint == "" then
      endpoint = config.configured_endpoint({ getenv = env(e or {}) }, "gameliftstreams", {})
    end
    return endpoints.for_client{ region = o.region, use_fips = o.use_fips, endpoint = endpoint }
  end

  it("prefers an explicit endpoint over both environment variables", function()
    local ep = assert(for_client({ region = "us-west-2", endpoint = "http://explicit:3" }, both))
    assert.are.equal("http://explicit:3", ep.url)
    assert.are.equal("configured", ep.source)
  end)

  it("prefers AWS_ENDPOINT_URL_GAMELIFTSTREAMS over AWS_ENDPOINT_URL", function()
    local ep = assert(for_client({ region = "us-west-2" }, both))
    assert.are.equal("http://service.local:1", ep.url)
    assert.are.equal("configured", ep.source)
  end)

  it("falls back to AWS_ENDPOINT_URL", function()
    local ep = assert(for_client({ region = "us-west-2" },
      { AWS_ENDPOINT_URL = "http://global.local:2", AWS_ENDPOINT_URL_GAMELIFTSTREAMS = "" }))
    assert.are.equal("http://global.local:2", ep.url)
  end)

  it("uses the rules when nothing is configured", function()
    local ep = assert(for_client({ region = "eu-west-1" }))
    assert.are.equal("https://gameliftstreams.eu-west-1.api.aws", ep.url)
    assert.are.equal("rules", ep.source)
    ep = assert(for_client({ region = "eu-west-1", use_fips = true }))
    assert.are.equal("https://gameliftstreams-fips.eu-west-1.api.aws", ep.url)
  end)

  it("ignores the environment when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true", function()
    local e = { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" }
    for k, v in pairs(both) do e[k] = v end
    local ep = assert(for_client({ region = "us-east-1" }, e))
    assert.are.equal("https://gameliftstreams.us-east-1.api.aws", ep.url)
    ep = assert(for_client({ region = "us-east-1", endpoint = "http://explicit:3" }, e))
    assert.are.equal("http://explicit:3", ep.url)
  end)

  it("reads no environment and no file itself: it takes what the caller settled", function()
    local seen = {}
    local real = os.getenv
    os.getenv = function(name) seen[#seen + 1] = name; return real(name) end -- luacheck: ignore
    local io_open = io.open
    io.open = function(...) seen[#seen + 1] = "open"; return io_open(...) end -- luacheck: ignore
    local ok, ep = pcall(endpoints.for_client, { region = "us-east-1" })
    local ok2, ep2 = pcall(endpoints.for_client, { region = "us-east-1", endpoint = "http://settled:4/" })
    os.getenv, io.open = real, io_open -- luacheck: ignore
    assert.is_true(ok and ok2)
    assert.are.equal("https://gameliftstreams.us-east-1.api.aws", ep.url)
    assert.are.equal("rules", ep.source)
    assert.are.equal("http://settled:4", ep2.url)
    assert.same({}, seen)
  end)

  it("applies the FIPS rule to an endpoint from the environment", function()
    local ep, err = for_client({ region = "us-west-2", use_fips = true }, both)
    assert.is_nil(ep)
    assert.are.equal("Invalid Configuration: FIPS and custom endpoint are not supported", err.message)
  end)

  it("reports a missing region, a bad region and a bad endpoint URL, naming where it came from", function()
    local ep, err = for_client({})
    assert.is_nil(ep)
    assert.are.equal("Invalid Configuration: Missing Region", err.message)
    ep, err = for_client({ region = "us-west-2/../evil" })
    assert.is_nil(ep)
    assert.are.equal("EndpointError", err.code)
    assert.are.equal('region "us-west-2/../evil" is not a region name: 1 to 63 letters, digits and hyphens,'
      .. ' starting with a letter or digit (e.g. us-west-2)', err.message)
    ep, err = for_client({ region = "-" .. string.rep("x", 100) })
    assert.is_nil(ep)
    assert.truthy(err.message:find('region "-' .. string.rep("x", 63) .. '..." is not', 1, true), err.message)
    ep, err = for_client({ region = "us-west-2", endpoint = "localhost:8000" })
    assert.is_nil(ep)
    assert.are.equal("EndpointError", err.code)
    ep, err = endpoints.for_client{ region = "us-west-2", endpoint = "ftp://x", source_name = "AWS_ENDPOINT_URL" }
    assert.is_nil(ep)
    assert.truthy(err.message:find("(from AWS_ENDPOINT_URL)", 1, true), err.message)
  end)

  it("drops a trailing slash from a configured endpoint", function()
    local ep = assert(for_client({ region = "us-west-2", endpoint = "http://127.0.0.1:8000/" }))
    assert.are.equal("http://127.0.0.1:8000", ep.url)
  end)
end)

describe("the generic rules evaluator", function()
  local parts = require("gameliftstreams.model").partitions

  local function ruleset(rules, parameters)
    return { version = "1.0", parameters = parameters or {
      Region = { type = "string", required = false },
      Bucket = { type = "string", required = false },
      Flag = { type = "boolean", required = true, default = false },
    }, rules = rules }
  end

  it("evaluates templates with attributes, escaped braces, properties and headers", function()
    local rs = ruleset{
      { type = "endpoint", conditions = {
          { fn = "aws.partition", argv = { { ref = "Region" } }, assign = "P" },
          { fn = "not", argv = { { fn = "booleanEquals", argv = { { ref = "Flag" }, true } } } },
        },
        endpoint = { url = "https://x.{Region}.{P#dnsSuffix}/{{literal}}",
                     properties = { name = "{P#name}", nested = { list = { "{Region}" } } },
                     headers = { ["x-region"] = { "{Region}", "fixed" } } } },
    }
    local ep = assert(endpoints.evaluate(rs, { Region = "cn-north-1" }, parts))
    assert.are.equal("https://x.cn-north-1.amazonaws.com.cn/{literal}", ep.url)
    assert.are.same({ name = "aws-cn", nested = { list = { "cn-north-1" } } }, ep.properties)
    assert.are.same({ ["x-region"] = { "cn-north-1", "fixed" } }, ep.headers)
  end)

  it("supports parseURL, substring, uriEncode, isValidHostLabel, getAttr, stringEquals", function()
    local rs = ruleset{
      { type = "tree", conditions = {
          { fn = "parseURL", argv = { "http://10.0.0.1:8080/a/b" }, assign = "U" },
          { fn = "booleanEquals", argv = { { fn = "getAttr", argv = { { ref = "U" }, "isIp" } }, true } },
          { fn = "substring", argv = { { ref = "Bucket" }, 0, 3, false }, assign = "Head" },
          { fn = "substring", argv = { { ref = "Bucket" }, 0, 2, true }, assign = "Tail" },
          { fn = "uriEncode", argv = { "a b/c" }, assign = "Enc" },
          { fn = "isValidHostLabel", argv = { { ref = "Region" }, false } },
          { fn = "stringEquals", argv = { { fn = "getAttr", argv = { { ref = "U" }, "normalizedPath" } }, "/a/b/" } },
        },
        rules = {
          { type = "endpoint", conditions = {},
            endpoint = { url = "{U#scheme}://{U#authority}/{Head}-{Tail}-{Enc}" } },
        } },
    }
    local ep = assert(endpoints.evaluate(rs, { Region = "us-west-2", Bucket = "mybucket" }, parts))
    assert.are.equal("http://10.0.0.1:8080/myb-et-a%20b%2Fc", ep.url)
  end)

  it("moves on to the next rule when a condition fails, and reports an exhausted tree", function()
    local rs = ruleset{
      { type = "tree", conditions = { { fn = "isSet", argv = { { ref = "Region" } } } },
        rules = { { type = "error", conditions = { { fn = "isSet", argv = { { ref = "Bucket" } } } },
                    error = "bucket {Bucket} in {Region}" } } },
      { type = "endpoint", conditions = {}, endpoint = { url = "https://fallback" } },
    }
    assert.are.equal("https://fallback", endpoints.evaluate(rs, {}, parts).url)
    local ep, err = endpoints.evaluate(rs, { Region = "r", Bucket = "b" }, parts)
    assert.is_nil(ep)
    assert.are.equal("bucket b in r", err.message)
    ep, err = endpoints.evaluate(rs, { Region = "r" }, parts)
    assert.is_nil(ep)
    assert.are.equal("EndpointError", err.code)
  end)

  it("reports a missing required parameter and an unsupported function", function()
    local rs = ruleset({ { type = "endpoint", conditions = {}, endpoint = { url = "https://x" } } },
                       { Need = { type = "string", required = true } })
    local ep, err = endpoints.evaluate(rs, {}, parts)
    assert.is_nil(ep)
    assert.truthy(err.message:find("Need", 1, true))
    rs = ruleset{ { type = "endpoint", conditions = { { fn = "nope", argv = {} } }, endpoint = { url = "https://x" } } }
    ep, err = endpoints.evaluate(rs, {}, parts)
    assert.is_nil(ep)
    assert.truthy(err.message:find("nope", 1, true))
  end)

  it("parses ARNs and checks S3 bucket names", function()
    local arn = endpoints.functions["aws.parseArn"](nil, "arn:aws:gameliftstreams:us-west-2:111122223333:streamsession/sg-1/abc")
    assert.are.same({ partition = "aws", service = "gameliftstreams", region = "us-west-2",
                      accountId = "111122223333", resourceId = { "streamsession", "sg-1", "abc" } }, arn)
    assert.is_nil(endpoints.functions["aws.parseArn"](nil, "not-an-arn"))
    assert.is_true(endpoints.functions["aws.isVirtualHostableS3Bucket"](nil, "my-bucket", false))
    assert.is_false(endpoints.functions["aws.isVirtualHostableS3Bucket"](nil, "My_Bucket", false))
  end)
end)
