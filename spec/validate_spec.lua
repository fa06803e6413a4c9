local validate = require("gameliftstreams.validate")
local model = require("gameliftstreams.model")
local errors = require("gameliftstreams.errors")
local helpers = require("helpers")

local function check(op, input)
  return validate.input(model, op, input)
end

local function assert_invalid(op, input, expected_message)
  local ok, err = check(op, input)
  assert.is_nil(ok)
  assert.is_true(errors.is(err))
  assert.equal("InvalidParameter", err.code)
  assert.equal(expected_message, err.message)
  return err
end

local START = function(extra)
  local t = { Identifier = "sg-1AB2C3De4", ApplicationIdentifier = "a-9ZY8X7Wv6",
              Protocol = "WebRTC", SignalRequest = "offer-sdp" }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

describe("validate", function()
  describe("path labels (issue 15: a dot segment would retarget the request)", function()
    it("refuses '.' and '..' as a label, naming the member and the rule", function()
      local err = assert_invalid("ListStreamSessions", { Identifier = ".." },
        "ListStreamSessions: input.Identifier: a path label cannot be empty, \".\" or \"..\" "
        .. "(it would change the request's path)")
      assert.equal("input.Identifier", err.path)
      assert_invalid("TerminateStreamSession", { Identifier = "sg-1", StreamSessionIdentifier = "." },
        "TerminateStreamSession: input.StreamSessionIdentifier: a path label cannot be empty, \".\" or "
        .. "\"..\" (it would change the request's path)")
      -- dots inside a value are fine: a plain label is encoded whole, "/" as %2F
      assert.is_true(check("GetApplication", { Identifier = "a..b" }))
      assert.is_true(check("GetApplication", { Identifier = "a/../b" }))
      assert.is_true(check("GetApplication", { Identifier = "..." }))
    end)

    it("reports a label's problem after every other problem, the first label in member order", function()
      assert_invalid("GetStreamSession", { Identifier = "..", StreamSessionIdentifier = 5 },
        "GetStreamSession: input.StreamSessionIdentifier: expected a string, got integer number")
      for _ = 1, 3 do
        local err = assert_invalid("GetStreamSession", { Identifier = "..", StreamSessionIdentifier = "." },
          "GetStreamSession: input.Identifier: a path label cannot be empty, \".\" or \"..\" "
          .. "(it would change the request's path)")
        assert.equal("input.Identifier", err.path)
      end
    end)

    it("checks each model by its own shapes, and shapes that contain themselves", function()
      local function model_of(max)
        return { operations = { Put = { uri = "/t/{Name}", input = "In" } }, shapes = {
          In = { type = "structure", members = { Name = { shape = "S", location = "uri" }, Next = { shape = "In" } },
                 required = { Name = true } },
          S = { type = "string", max = max } } }
      end
      local a, b = model_of(3), model_of(5)
      local deep = { Name = "abcd", Next = { Name = "x", Next = { Name = "." } } }
      local ok, err = validate.input(a, "Put", deep)
      assert.is_nil(ok)
      assert.equal("Put: input.Name: string length 4 is above the maximum of 3", err.message)
      assert.is_true(validate.input(b, "Put", deep)) -- only the input's own labels are labels
      ok, err = validate.input(b, "Put", { Name = "abc", Next = { Next = {} } })
      assert.is_nil(ok)
      assert.equal("Put: input.Next.Name: required member is missing", err.message)
      assert.equal("input.Next.Name", err.path)
    end)

    it("checks every segment of a greedy label", function()
      local m = { operations = { Get = { uri = "/files/{Key+}", input = "In" } }, shapes = {
        In = { type = "structure", members = { Key = { shape = "S", location = "uri", name = "Key" } },
               required = { Key = true } },
        S = { type = "string" } } }
      assert.is_true(validate.input(m, "Get", { Key = "a/b.c/d" }))
      for _, bad in ipairs{ "a/../b", "a/./b", "..", "a/..", "./a", "a//b", "/a", "a/" } do
        local ok, err = validate.input(m, "Get", { Key = bad })
        assert.is_nil(ok, bad)
        assert.equal("InvalidParameter", err.code)
        assert.truthy(err.message:find("greedy path label", 1, true) or err.message:find("path label", 1, true))
      end
      local protocol = require("gameliftstreams.protocol")
      assert.equal("/files/a/b.c/d", protocol.build_request(m, "Get", { Key = "a/b.c/d" }).path)
      local req, err = protocol.build_request(m, "Get", { Key = "a/../b" })
      assert.is_nil(req)
      assert.equal("InvalidParameter", err.code)
    end)
  end)

  describe("required members", function()
    it("accepts a complete input", function()
      assert.is_true(check("StartStreamSession", START()))
    end)

    it("names a missing top-level member", function()
      local input = START()
      input.Protocol = nil
      assert_invalid("StartStreamSession", input,
        "StartStreamSession: input.Protocol: required member is missing")
    end)

    it("names a missing path label member", function()
      assert_invalid("GetStreamSession", { Identifier = "sg-1" },
        "GetStreamSession: input.StreamSessionIdentifier: required member is missing")
    end)

    it("names a missing member deep inside a list of structures (1-based index)", function()
      assert_invalid("CreateStreamGroup", {
        Description = "d", StreamClass = "gen5n_high",
        LocationConfigurations = { { LocationName = "us-east-1" }, { AlwaysOnCapacity = 1 } },
      }, "CreateStreamGroup: input.LocationConfigurations[2].LocationName: required member is missing")
    end)

    it("checks required members of nested structures", function()
      assert_invalid("CreateStreamGroup", {
        Description = "d", StreamClass = "gen5n_high",
        LocationConfigurations = { { LocationName = "us-east-1",
          VpcTransitConfiguration = { VpcId = "vpc-1" } } },
      }, "CreateStreamGroup: input.LocationConfigurations[1].VpcTransitConfiguration"
        .. ".Ipv4CidrBlocks: required member is missing")
    end)

    it("accepts nil input when nothing is required", function()
      assert.is_true(check("ListApplications", nil))
      assert.is_true(check("ListApplications", {}))
    end)

    it("rejects nil input when members are required", function()
      assert_invalid("GetApplication", nil,
        "GetApplication: input.Identifier: required member is missing")
    end)
  end)

  describe("Lua types", function()
    it("rejects a non-table input", function()
      assert_invalid("GetApplication", "a-1", "GetApplication: input: expected a table, got string")
    end)

    it("rejects a number where a string is required", function()
      assert_invalid("GetApplication", { Identifier = 42 },
        "GetApplication: input.Identifier: expected a string, got integer number")
    end)

    it("rejects a non-table for a structure", function()
      assert_invalid("StartStreamSession", START{ PerformanceStatsConfiguration = true },
        "StartStreamSession: input.PerformanceStatsConfiguration: expected a structure (table), got boolean")
    end)

    it("rejects a non-boolean for a boolean member", function()
      assert_invalid("StartStreamSession", START{ PerformanceStatsConfiguration = { SharedWithClient = "yes" } },
        "StartStreamSession: input.PerformanceStatsConfiguration.SharedWithClient: expected a boolean, got string")
      assert.is_true(check("StartStreamSession", START{ PerformanceStatsConfiguration = { SharedWithClient = false } }))
    end)

    it("rejects a fractional number for an integer member, accepts a whole float", function()
      assert_invalid("StartStreamSession", START{ ConnectionTimeoutSeconds = 1.5 },
        "StartStreamSession: input.ConnectionTimeoutSeconds: expected an integer, got fractional number")
      assert.is_true(check("StartStreamSession", START{ ConnectionTimeoutSeconds = 120.0 }))
      assert_invalid("StartStreamSession", START{ ConnectionTimeoutSeconds = "120" },
        "StartStreamSession: input.ConnectionTimeoutSeconds: expected an integer, got string")
    end)

    it("rejects NaN and infinities for integers", function()
      assert_invalid("StartStreamSession", START{ ConnectionTimeoutSeconds = 0 / 0 },
        "StartStreamSession: input.ConnectionTimeoutSeconds: expected an integer, got non-finite number")
      assert_invalid("StartStreamSession", START{ ConnectionTimeoutSeconds = math.huge },
        "StartStreamSession: input.ConnectionTimeoutSeconds: expected an integer, got non-finite number")
    end)

    it("rejects a table with non-sequence keys for a list", function()
      assert_invalid("StartStreamSession", START{ Locations = { a = "us-east-1" } },
        "StartStreamSession: input.Locations: expected a list (a sequence table), found a string key")
      assert_invalid("StartStreamSession", START{ Locations = { [1] = "x", [3] = "y" } },
        "StartStreamSession: input.Locations: expected a list (a sequence table), found holes")
      assert_invalid("StartStreamSession", START{ Locations = { [1.5] = "x" } },
        "StartStreamSession: input.Locations: expected a list (a sequence table), found a non-sequence number key")
    end)

    it("rejects a string where a list is required", function()
      assert_invalid("StartStreamSession", START{ Locations = "us-east-1" },
        "StartStreamSession: input.Locations: expected a list (table), got string")
    end)

    it("checks list element types with the element index", function()
      assert_invalid("StartStreamSession", START{ AdditionalLaunchArgs = { "-a", 2 } },
        "StartStreamSession: input.AdditionalLaunchArgs[2]: expected a string, got integer number")
    end)

    it("rejects non-string map keys and checks map values", function()
      assert_invalid("StartStreamSession", START{ AdditionalEnvironmentVariables = { "x" } },
        "StartStreamSession: input.AdditionalEnvironmentVariables: expected a map with string keys, found a number key")
      assert_invalid("StartStreamSession", START{ AdditionalEnvironmentVariables = { HOME = false } },
        "StartStreamSession: input.AdditionalEnvironmentVariables[\"HOME\"]: expected a string, got boolean")
    end)

    it("checks map keys against the key shape", function()
      assert_invalid("TagResource", { ResourceArn = "arn:aws:gameliftstreams:us-west-2:111122223333:application/a-1",
                                       Tags = { [""] = "v" } },
        "TagResource: input.Tags[\"\"] (key): string length 0 is below the minimum of 1")
    end)

    it("rejects a structure with non-string keys", function()
      assert_invalid("StartStreamSession", START{ DisplayConfiguration = { 1 } },
        "StartStreamSession: input.DisplayConfiguration: expected a structure (a table with member names as keys), found a number key")
    end)
  end)

  describe("unknown members", function()
    it("names the unknown member and suggests the close one", function()
      local input = START()
      input.Identifier = nil
      input.Identifer = "sg-1"
      assert_invalid("StartStreamSession", input,
        "StartStreamSession: input: unknown member 'Identifer' (did you mean 'Identifier'?)")
    end)

    it("names an unknown member deep down without a far-fetched suggestion, listing the members there are", function()
      assert_invalid("StartStreamSession", START{ DisplayConfiguration = { Resolution = {
        Width = 1920, Height = 1080, RefreshRateXyz = 60 } } },
        "StartStreamSession: input.DisplayConfiguration.Resolution: unknown member 'RefreshRateXyz' (known: Height, Width)")
      assert_invalid("GetStreamGroup", { Id = "sg-1" },
        "GetStreamGroup: input: unknown member 'Id' (known: Identifier)")
    end)

    it("is case-sensitive: lower-case member names are unknown", function()
      assert_invalid("GetApplication", { identifier = "a-1" },
        "GetApplication: input: unknown member 'identifier' (did you mean 'Identifier'?)")
    end)
  end)

  describe("lengths and ranges", function()
    it("counts string length in UTF-8 code points", function()
      assert.equal(3, validate.utf8_len("a\195\169\226\130\172"))
      assert.equal(0, validate.utf8_len(""))
      assert.equal(1, validate.utf8_len("\0"))
      assert.equal(2, validate.utf8_len("\237\159\191\244\143\191\191")) -- U+D7FF, U+10FFFF
      -- bytes that are not well-formed UTF-8 have no length (JSON text is UTF-8): a continuation
      -- byte alone, an overlong form, a surrogate, past U+10FFFF, a sequence cut short
      for _, s in ipairs{ "\128", "a\191", "\192\128", "\224\128\128", "\237\160\128",
                         "\244\144\128\128", "\245", "\255", "\226\130", "\240\159\152" } do
        assert.is_nil(validate.utf8_len(s))
      end
      assert.equal(5000 + 2 * 3000, validate.utf8_len(("a"):rep(5000) .. ("\240\159\152\128x"):rep(3000)))
      -- Description: 1..80 characters; 80 two-byte characters are fine, 81 are not.
      assert.is_true(check("UpdateApplication", { Identifier = "a-1", Description = ("\195\169"):rep(80) }))
      assert_invalid("UpdateApplication", { Identifier = "a-1", Description = ("\195\169"):rep(81) },
        "UpdateApplication: input.Description: string length 81 is above the maximum of 80")
    end)

    it("refuses strings that are not UTF-8, whose length the rules cannot count", function()
      -- 81 continuation bytes would count as 0 code points and pass the maximum of 80
      assert_invalid("UpdateApplication", { Identifier = "a-1", Description = ("\128"):rep(81) },
        "UpdateApplication: input.Description: expected a string of UTF-8 text, got bytes that are "
        .. "not well-formed UTF-8")
      assert_invalid("UntagResource", { ResourceArn = "arn", TagKeys = { "env", "\192\128" } },
        "UntagResource: input.TagKeys[2]: expected a string of UTF-8 text, got bytes that are not "
        .. "well-formed UTF-8")
    end)

    it("keeps integers within 32 bits where the model sets no maximum", function()
      local input = { Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC",
                      UrlExpiresAfterMinutes = 60, Locations = { "us-west-2" }, UsageLimit = 2147483647 }
      assert.is_true(check("CreateStreamUrl", input))
      input.UsageLimit = 2147483648
      assert_invalid("CreateStreamUrl", input, "CreateStreamUrl: input.UsageLimit: value is above "
        .. "the maximum of 2147483647 (a 32-bit integer)")
      input.UsageLimit = 1e300
      assert_invalid("CreateStreamUrl", input, "CreateStreamUrl: input.UsageLimit: value is above "
        .. "the maximum of 2147483647 (a 32-bit integer)")
    end)

    it("rejects strings below the minimum length, including empty path labels", function()
      assert_invalid("GetApplication", { Identifier = "" },
        "GetApplication: input.Identifier: string length 0 is below the minimum of 1")
    end)

    it("checks list lengths", function()
      assert_invalid("AddStreamGroupLocations", { Identifier = "sg-1", LocationConfigurations = {} },
        "AddStreamGroupLocations: input.LocationConfigurations: list length 0 is below the minimum of 1")
      local many = {}
      for i = 1, 51 do many[i] = "a-" .. i end
      assert_invalid("AssociateApplications", { Identifier = "sg-1", ApplicationIdentifiers = many },
        "AssociateApplications: input.ApplicationIdentifiers: list length 51 is above the maximum of 50")
      assert.is_true(check("UntagResource", { ResourceArn = "arn:aws:gameliftstreams:us-west-2:1:x", TagKeys = {} }))
    end)

    it("checks map sizes", function()
      assert_invalid("TagResource", { ResourceArn = "arn:aws:gameliftstreams:us-west-2:1:x", Tags = {} },
        "TagResource: input.Tags: map size 0 is below the minimum of 1")
      local tags = {}
      for i = 1, 51 do tags["k" .. i] = "v" end
      assert_invalid("TagResource", { ResourceArn = "arn:aws:gameliftstreams:us-west-2:1:x", Tags = tags },
        "TagResource: input.Tags: map size 51 is above the maximum of 50")
    end)

    it("checks integer ranges", function()
      assert_invalid("StartStreamSession", START{ ConnectionTimeoutSeconds = 0 },
        "StartStreamSession: input.ConnectionTimeoutSeconds: value is below the minimum of 1")
      assert_invalid("StartStreamSession", START{ ConnectionTimeoutSeconds = 3601 },
        "StartStreamSession: input.ConnectionTimeoutSeconds: value is above the maximum of 3600")
      assert.is_true(check("StartStreamSession", START{ ConnectionTimeoutSeconds = 3600 }))
      assert_invalid("ListApplications", { MaxResults = 101 },
        "ListApplications: input.MaxResults: value is above the maximum of 100")
      assert_invalid("StartStreamSession", START{ DisplayConfiguration = { Resolution = { Width = 319, Height = 1080 } } },
        "StartStreamSession: input.DisplayConfiguration.Resolution.Width: value is below the minimum of 320")
    end)

    it("checks a caller-given ClientToken's length", function()
      assert_invalid("StartStreamSession", START{ ClientToken = "short" },
        "StartStreamSession: input.ClientToken: string length 5 is below the minimum of 32")
    end)
  end)

  describe("what is left to the service", function()
    it("does not enforce enum values", function()
      assert.is_true(check("StartStreamSession", START{ Protocol = "FutureProtocol" }))
      assert.is_true(check("ListStreamSessionsByAccount", { Status = "SOMETHING_NEW" }))
    end)

    it("does not enforce patterns", function()
      assert.is_true(check("GetApplication", { Identifier = "not a valid id!" }))
    end)
  end)

  describe("secrets", function()
    it("never puts a sensitive value in the message", function()
      local secret = ("SECRET-SDP-" .. ("x"):rep(20))
      local err = assert_invalid("StartStreamSession", START{ SignalRequest = 7 },
        "StartStreamSession: input.SignalRequest: expected a string, got integer number")
      assert.is_nil(tostring(err):find("7", 1, true))
      local _, e2 = check("StartStreamSession", START{ SignalRequest = "", RoleArn = secret })
      assert.equal("StartStreamSession: input.SignalRequest: string length 0 is below the minimum of 1", e2.message)
      assert.is_nil(e2.message:find(secret, 1, true))
      local _, e4 = check("StartStreamSession", START{ RoleArn = ("r"):rep(2049) })
      assert.equal("StartStreamSession: input.RoleArn: string length 2049 is above the maximum of 2048", e4.message)
      assert.is_nil(tostring(e4):find("rrrr", 1, true))
    end)

    it("never puts any value of the input in a type error", function()
      local _, err = check("CreateStreamSessionConnection", { Identifier = "sg-1", StreamSessionIdentifier = "s",
        SignalRequest = { "my-secret-offer" } })
      assert.equal("CreateStreamSessionConnection: input.SignalRequest: expected a string, got table", err.message)
      assert.is_nil(tostring(err):find("my-secret-offer", 1, true))
    end)
  end)

  describe("the input table", function()
    it("is never modified, valid or not", function()
      local input = START{ Locations = { "us-east-1" }, AdditionalEnvironmentVariables = { A = "1" },
                           DisplayConfiguration = { Resolution = { Width = 1920, Height = 1080 } } }
      local before = helpers.deep_copy(input)
      assert.is_true(check("StartStreamSession", input))
      assert.same(before, input)
      assert.is_nil(input.ClientToken)
      input.Locations[2] = 5
      before = helpers.deep_copy(input)
      assert.is_nil(check("StartStreamSession", input))
      assert.same(before, input)
    end)
  end)

  it("rejects an unknown operation", function()
    local ok, err = check("NoSuchOperation", {})
    assert.is_nil(ok)
    assert.equal("InvalidParameter", err.code)
  end)
end)
