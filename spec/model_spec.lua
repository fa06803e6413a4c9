-- The generated model: freshness against the vendored official files (model/), and facts
-- from MODEL-NOTES.
local BOTOCORE = "model/botocore"

local helpers = require("helpers")

local function read(path) return (assert(helpers.read_file(path), "cannot read " .. path)) end

local gen = dofile("tools/genmodel.lua")
local model = require("gameliftstreams.model")

describe("generated model", function()
  it("is up to date with the model files (regenerating gives the committed file)", function()
    local fresh = gen.generate(BOTOCORE, "tools/partitions.lua")
    local committed = read("lua/gameliftstreams/model.lua")
    assert.is_true(fresh == committed,
      "lua/gameliftstreams/model.lua is stale: run `make model` and commit it")
  end)

  it("is deterministic: two generations are byte-identical", function()
    assert.are.equal(gen.generate(BOTOCORE, "tools/partitions.lua"),
                     gen.generate(BOTOCORE, "tools/partitions.lua"))
  end)

  it("the stale check can fail: a changed model renders differently", function()
    local built = gen.build(BOTOCORE, dofile("tools/partitions.lua"))
    local before = gen.render(built)
    built.operations.StartStreamSession.success = 200
    assert.are_not.equal(before, gen.render(built))
  end)

  it("writes integers without a fractional part", function()
    local text = read("lua/gameliftstreams/model.lua")
    assert.is_nil(text:find("%d%.0[,}]"))
    assert.truthy(text:find("success=201", 1, true))
    if math.type then
      assert.are.equal("integer", math.type(model.operations.StartStreamSession.success))
    end
  end)

  it("holds no documentation text", function()
    local text = read("lua/gameliftstreams/model.lua")
    assert.is_nil(text:find("documentation", 1, true))
    assert.is_nil(text:find("<p>", 1, true))
    -- no string literal carrying prose (8+ words)
    for lit in text:gmatch('"([^"\n]*)"') do
      local words = 0
      for _ in lit:gmatch("%a+%s") do words = words + 1 end
      assert.is_true(words < 8, "prose in model: " .. lit)
    end
  end)

  -- The vendored files are the upstream files minus their documentation (tools/vendor-model.lua):
  -- nothing of the prose is left in them, so none can reach model.lua either.
  local VENDORED = { "botocore/service-2.json", "botocore/paginators-1.json", "botocore/waiters-2.json",
                     "botocore/endpoint-rule-set-1.json", "botocore/endpoint-tests-1.json",
                     "gameliftstreams.smithy.json" }

  it("is generated from vendored files that hold no documentation text", function()
    local cjson = require("cjson")
    local strings = 0
    local function walk(v, where)
      if type(v) == "table" then
        for k, x in pairs(v) do
          if type(k) == "string" then
            assert.is_nil(k:lower():find("documentation", 1, true), "documentation member at " .. where .. "." .. k)
          end
          walk(x, where .. "." .. tostring(k))
        end
      elseif type(v) == "string" then
        strings = strings + 1
        assert.is_nil(v:find("<p>", 1, true), "HTML prose at " .. where)
        local words = 0
        for _ in v:gmatch("%a+%s") do words = words + 1 end
        -- deprecation messages are the only sentences the data keeps (a short notice each)
        assert.is_true(words < 8 or where:find("deprecat") ~= nil, "prose at " .. where .. ": " .. v)
      end
    end
    for _, file in ipairs(VENDORED) do walk(cjson.decode(read("model/" .. file)), file) end
    assert.is_true(strings > 1000)
  end)

  it("records origin, version and upstream sha256 of every vendored file in model/SOURCES.md", function()
    local sources = read("model/SOURCES.md")
    for _, file in ipairs(VENDORED) do
      local row = sources:match("\n| `" .. file:gsub("%p", "%%%0") .. "` |([^\n]*)")
      assert.truthy(row, file .. " is not in model/SOURCES.md")
      assert.truthy(row:find("| `%x+` |$"), "no sha256 for " .. file)
      assert.are.equal(64, #row:match("| `(%x+)` |$"))
    end
  end)

  it("the vendor tool removes documentation and keeps everything else, deterministically", function()
    local dir = helpers.tmpdir()
    os.execute("mkdir -p " .. helpers.shell_quote(dir .. "/up/botocore"))
    for _, file in ipairs(VENDORED) do
      local text = read("model/" .. file)
      if file == "botocore/service-2.json" then
        -- put prose back in: the tool must take it out again and give the vendored file
        text = text:gsub('\n    "AddStreamGroupLocations":{\n',
          '\n    "AddStreamGroupLocations":{\n      "documentation":"<p>Some \\"quoted\\" words of prose.</p>",\n'
          .. '      "documentationUrl":"https://example.com/doc",\n', 1)
        assert.truthy(text:find("documentationUrl", 1, true))
      end
      helpers.write_file(dir .. "/up/" .. file, text)
    end
    local out, ok = helpers.run("lua5.4 tools/vendor-model.lua " .. helpers.shell_quote(dir .. "/up") .. " "
                                .. helpers.shell_quote(dir .. "/out") .. " 2>&1")
    assert.is_true(ok, out)
    for _, file in ipairs(VENDORED) do
      assert.is_true(read(dir .. "/out/" .. file) == read("model/" .. file), file .. " differs")
    end
    local sources = read(dir .. "/out/SOURCES.md")
    assert.truthy(sources:find("| `botocore/service%-2%.json` |[^\n]*| 2 |"), sources)
    helpers.rm_rf(dir)
  end)
end)

describe("operations", function()
  local expected = {
    AddStreamGroupLocations = { "POST", "/streamgroups/{Identifier}/locations", 200 },
    AssociateApplications = { "POST", "/streamgroups/{Identifier}/associations", 200 },
    CreateApplication = { "POST", "/applications", 201 },
    CreateStreamGroup = { "POST", "/streamgroups", 201 },
    CreateStreamSessionAdminShell = { "POST", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/access", 200 },
    CreateStreamSessionConnection = { "POST", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/connections", 200 },
    CreateStreamUrl = { "POST", "/streamgroups/{Identifier}/streamurls", 201 },
    DeleteApplication = { "DELETE", "/applications/{Identifier}", 204 },
    DeleteStreamGroup = { "DELETE", "/streamgroups/{Identifier}", 204 },
    DisassociateApplications = { "POST", "/streamgroups/{Identifier}/disassociations", 200 },
    ExportStreamSessionFiles = { "PUT", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/exportfiles", 200 },
    GetApplication = { "GET", "/applications/{Identifier}", 200 },
    GetStreamGroup = { "GET", "/streamgroups/{Identifier}", 200 },
    GetStreamSession = { "GET", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}", 200 },
    GetStreamUrl = { "GET", "/streamgroups/{Identifier}/streamurls/{StreamUrlIdentifier}", 200 },
    ListApplicationShaderCaches = { "GET", "/applications/{Identifier}/shadercaches", 200 },
    ListApplications = { "GET", "/applications", 200 },
    ListStreamGroups = { "GET", "/streamgroups", 200 },
    ListStreamSessions = { "GET", "/streamgroups/{Identifier}/streamsessions", 200 },
    ListStreamSessionsByAccount = { "GET", "/streamsessions", 200 },
    ListStreamUrls = { "GET", "/streamurls", 200 },
    ListTagsForResource = { "GET", "/tags/{ResourceArn}", 200 },
    RemoveStreamGroupLocations = { "DELETE", "/streamgroups/{Identifier}/locations", 204 },
    RevokeStreamUrl = { "POST", "/streamgroups/{Identifier}/streamurls/{StreamUrlIdentifier}/revoke", 204 },
    StartStreamSession = { "POST", "/streamgroups/{Identifier}/streamsessions", 201 },
    TagResource = { "POST", "/tags/{ResourceArn}", 200 },
    TerminateStreamSession = { "DELETE", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}", 204 },
    UntagResource = { "DELETE", "/tags/{ResourceArn}", 200 },
    UpdateApplication = { "PATCH", "/applications/{Identifier}", 200 },
    UpdateStreamGroup = { "PATCH", "/streamgroups/{Identifier}", 200 },
  }

  it("has exactly the 30 operations with their methods, URIs and success codes", function()
    local n = 0
    for name, op in pairs(model.operations) do
      n = n + 1
      local e = expected[name]
      assert.is_not_nil(e, "unexpected operation " .. name)
      assert.are.same(e, { op.method, op.uri, op.success }, name)
    end
    assert.are.equal(30, n)
  end)

  it("gives every operation a unique snake_case name", function()
    local seen = {}
    for name, op in pairs(model.operations) do
      assert.is_string(op.snake, name)
      assert.truthy(op.snake:find("^[a-z][a-z_]*$"), op.snake)
      assert.is_nil(seen[op.snake], "duplicate " .. op.snake)
      seen[op.snake] = name
    end
    assert.are.equal("StartStreamSession", seen.start_stream_session)
    assert.are.equal("ListStreamSessionsByAccount", seen.list_stream_sessions_by_account)
    assert.are.equal("CreateStreamUrl", seen.create_stream_url)
    assert.are.equal("ListTagsForResource", seen.list_tags_for_resource)
  end)

  it("points every operation at existing input/output/error shapes", function()
    for name, op in pairs(model.operations) do
      assert.is_table(model.shapes[op.input], name)
      if op.output then assert.is_table(model.shapes[op.output], name) end
      assert.is_true(#op.errors > 0, name)
      for _, e in ipairs(op.errors) do
        assert.is_table(model.errors[e], name .. " -> " .. e)
      end
    end
    assert.is_nil(model.operations.DeleteApplication.output)
    assert.are.equal("StartStreamSessionOutput", model.operations.StartStreamSession.output)
  end)

  it("carries the idempotent and readonly traits", function()
    local ops = model.operations
    assert.is_true(ops.DeleteApplication.idempotent)
    assert.is_true(ops.CreateStreamGroup.idempotent)
    assert.is_true(ops.UntagResource.idempotent)
    assert.is_nil(ops.StartStreamSession.idempotent)
    assert.is_nil(ops.UpdateApplication.idempotent)
    assert.is_true(ops.GetStreamSession.readonly)
    assert.is_true(ops.ListStreamUrls.readonly)
    assert.is_nil(ops.StartStreamSession.readonly)
    local idem, ro = 0, 0
    for _, op in pairs(ops) do
      if op.idempotent then idem = idem + 1 end
      if op.readonly then ro = ro + 1 end
    end
    assert.are.equal(12, idem)
    assert.are.equal(11, ro)
  end)

  it("lists the errors of an operation in model order", function()
    assert.are.same({ "AccessDeniedException", "ResourceNotFoundException", "ThrottlingException",
                      "InternalServerException", "ValidationException", "StreamSessionAccessNotReadyException" },
                    model.operations.CreateStreamSessionAdminShell.errors)
  end)
end)

describe("shapes", function()
  local S = model.shapes

  it("binds path labels and query strings with their wire names", function()
    local r = S.RemoveStreamGroupLocationsInput
    assert.are.same({ location = "querystring", name = "locations", shape = "LocationsList" }, r.members.Locations)
    assert.are.equal("uri", r.members.Identifier.location)
    assert.is_true(r.required.Locations)
    assert.are.equal("list", S.LocationsList.type)
    local u = S[model.operations.UntagResource.input]
    assert.are.equal("tagKeys", u.members.TagKeys.name)
    assert.are.equal("querystring", u.members.TagKeys.location)
    assert.are.equal("uri", u.members.ResourceArn.location)
    assert.is_nil(S.StartStreamSessionInput.members.Protocol.location)
    assert.are.equal("Protocol", S.StartStreamSessionInput.members.Protocol.name)
  end)

  it("keeps structure members in model order and marks required ones", function()
    local s = S.StartStreamSessionInput
    assert.are.same({ "ClientToken", "Description", "Identifier", "Protocol", "SignalRequest",
                      "ApplicationIdentifier", "UserId", "Locations", "ConnectionTimeoutSeconds",
                      "SessionLengthSeconds", "AdditionalLaunchArgs", "AdditionalEnvironmentVariables",
                      "PerformanceStatsConfiguration", "RoleArn", "DisplayConfiguration" }, s.order)
    assert.are.same({ Identifier = true, Protocol = true, SignalRequest = true, ApplicationIdentifier = true },
                    s.required)
    for _, shape in pairs(S) do
      if shape.type == "structure" then
        local n = 0
        for _ in pairs(shape.members) do n = n + 1 end
        assert.are.equal(n, #shape.order)
        for _, m in ipairs(shape.order) do assert.is_table(shape.members[m]) end
      end
    end
  end)

  it("marks ClientToken as the idempotency token on exactly five operations", function()
    local found = {}
    for name, op in pairs(model.operations) do
      for mname, m in pairs(S[op.input].members) do
        if m.idempotency_token then
          assert.are.equal("ClientToken", mname)
          found[#found + 1] = name
        end
      end
    end
    table.sort(found)
    assert.are.same({ "CreateApplication", "CreateStreamGroup", "CreateStreamSessionConnection",
                      "CreateStreamUrl", "StartStreamSession" }, found)
  end)

  it("marks exactly the sensitive shapes", function()
    local sens = {}
    for name, s in pairs(S) do if s.sensitive then sens[#sens + 1] = name end end
    table.sort(sens)
    assert.are.same({ "IamRoleArn", "SignalRequest", "SignalResponse", "StreamSessionStreamUrl", "TokenValue" }, sens)
  end)

  it("carries constraints and enums", function()
    assert.are.same({ type = "integer", min = 1, max = 100 }, S.MaxResults)
    assert.are.equal(32, S.ClientToken.min)
    assert.are.equal(128, S.ClientToken.max)
    assert.are.equal(4096, S.EnvironmentVariablesValueString.max)
    assert.are.equal("map", S.EnvironmentVariables.type)
    assert.are.equal("EnvironmentVariablesKeyString", S.EnvironmentVariables.key)
    assert.are.equal(50, S.EnvironmentVariables.max)
    assert.are.equal("long", S.Long.type)
    assert.are.equal("timestamp", S.Timestamp.type)
    assert.are.equal("Identifier", S.Identifiers.member)
    assert.are.same({ "REVOKE_URL", "REVOKE_AND_TERMINATE_SESSIONS" }, S.RevocationMode.enum)
    assert.are.equal(17, #S.StreamClass.enum)
    assert.are.equal(320, S.ResolutionWidth.min)
    assert.is_true(S.LocationConfiguration.members.OnDemandCapacity.deprecated)
  end)

  it("keeps the anchored Smithy patterns and usable Lua patterns", function()
    local function ok(shape, v)
      for _, p in ipairs(S[shape].lua_patterns) do
        if v:find(p) then return true end
      end
      return false
    end
    assert.are.equal("^arn:aws:gameliftstreams:([^:\n]*):([0-9]{12}):([^:\n]*)$", S.Arn.pattern)
    assert.is_true(ok("Arn", "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1AB2C3De4"))
    assert.is_false(ok("Arn", "arn:aws:gameliftstreams:us-west-2:11112222333:streamgroup/sg"))
    assert.is_false(ok("Arn", "arn:aws:gameliftstreams:us:west-2:111122223333:x"))
    assert.is_true(ok("ClientToken", "abc~!"))
    assert.is_false(ok("ClientToken", "abc def"))
    assert.is_true(ok("Description", "My stream-group_1.0 +@/"))
    assert.is_false(ok("Description", " leading space"))
    assert.is_false(ok("Description", "bad#char"))
    assert.is_true(ok("Id", "sg-1AB2C3De4"))
    assert.is_false(ok("Id", "sg_1"))
    assert.is_true(ok("UserId", "-_a/=+9"))
    assert.is_true(ok("UserId", ""))
    assert.is_false(ok("UserId", "a b"))
    assert.is_true(ok("OutputUri", "s3://bucket/dir/"))
    assert.is_true(ok("OutputUri", "s3://bucket/f.ZIP"))
    assert.is_false(ok("OutputUri", "s3://bucket/f.tar"))
    assert.is_true(ok("IamRoleArn", "arn:aws:iam::123456789012:role/x"))
    assert.is_false(ok("IamRoleArn", "arn:aws:iam::12345678901:role/x"))
    assert.is_true(ok("EnvironmentVariablesKeyString", "_PATH1"))
    assert.is_false(ok("EnvironmentVariablesKeyString", "1PATH"))
    -- alternations that Lua patterns cannot express are left to hand-written checks
    assert.is_nil(S.Identifier.lua_patterns)
    assert.is_nil(S.Ipv4CidrBlock.lua_patterns)
    assert.is_nil(S.ApplicationLogOutputUri.lua_patterns)
    assert.is_string(S.Identifier.pattern)
  end)
end)

describe("regex_to_lua", function()
  it("expands a group alternation and refuses top-level alternation", function()
    assert.are.same({ "^a%-[%w_]+$", "^b%-[%w_]+$" }, gen.regex_to_lua("^(a|b)\\-\\w+$"))
    assert.is_nil(gen.regex_to_lua("^a$|^b$"))
    assert.is_nil(gen.regex_to_lua("^(ab)+$"))
    assert.are.same({ "^xx?x?$" }, gen.regex_to_lua("^x{1,3}$"))
  end)
end)

describe("errors", function()
  it("has the eight errors with status, fault, retryable and throttling", function()
    local E = model.errors
    assert.are.same({ status = 429, fault = "client", retryable = true, throttling = true }, E.ThrottlingException)
    assert.are.same({ status = 500, fault = "server", retryable = true, throttling = false }, E.InternalServerException)
    assert.are.same({ status = 409, fault = "client", retryable = true, throttling = false },
                    E.StreamSessionAccessNotReadyException)
    assert.are.same({ status = 409, fault = "client", retryable = false, throttling = false }, E.ConflictException)
    assert.are.equal(400, E.ValidationException.status)
    assert.are.equal(402, E.ServiceQuotaExceededException.status)
    assert.are.equal(403, E.AccessDeniedException.status)
    assert.is_false(E.ResourceNotFoundException.retryable)
    local n = 0
    for name in pairs(E) do
      n = n + 1
      assert.are.same(E[name], model.shapes[name].error)
    end
    assert.are.equal(8, n)
  end)
end)

describe("paginators and waiters", function()
  it("has the five paginators", function()
    local names = {}
    for name, p in pairs(model.paginators) do
      names[#names + 1] = name
      assert.are.same({ input_token = "NextToken", output_token = "NextToken",
                        limit_key = "MaxResults", result_key = "Items" }, p)
      assert.is_table(model.operations[name])
    end
    table.sort(names)
    assert.are.same({ "ListApplications", "ListStreamGroups", "ListStreamSessions",
                      "ListStreamSessionsByAccount", "ListStreamUrls" }, names)
  end)

  it("has the five waiters with botocore delays and Smithy min/max delays", function()
    local W = model.waiters
    local want = {
      ApplicationReady = { "GetApplication", 2, 60, 2, 120, "application_ready" },
      ApplicationDeleted = { "GetApplication", 2, 60, 2, 120, "application_deleted" },
      StreamGroupActive = { "GetStreamGroup", 30, 120, 30, 3600, "stream_group_active" },
      StreamGroupDeleted = { "GetStreamGroup", 30, 60, 30, 1800, "stream_group_deleted" },
      StreamSessionActive = { "GetStreamSession", 2, 60, 2, 120, "stream_session_active" },
    }
    local n = 0
    for name, w in pairs(W) do
      n = n + 1
      assert.are.same(want[name], { w.operation, w.delay, w.max_attempts, w.min_delay, w.max_delay, w.snake }, name)
    end
    assert.are.equal(5, n)
    assert.are.same({
      { state = "success", matcher = "path", argument = "Status", expected = "ACTIVE" },
      { state = "failure", matcher = "path", argument = "Status", expected = "ERROR" },
      { state = "failure", matcher = "path", argument = "Status", expected = "ACTIVE_WITH_ERRORS" },
      { state = "failure", matcher = "path", argument = "Status", expected = "DELETING" },
    }, W.StreamGroupActive.acceptors)
    assert.are.same({ { state = "success", matcher = "error", expected = "ResourceNotFoundException" } },
                    W.ApplicationDeleted.acceptors)
  end)
end)

describe("metadata, endpoint rules and partitions", function()
  it("has the service metadata", function()
    assert.are.equal("gameliftstreams", model.metadata.signing_name)
    assert.are.equal("gameliftstreams", model.metadata.endpoint_prefix)
    assert.are.equal("GameLiftStreams", model.metadata.service_id)
    assert.are.equal("2018-05-10", model.metadata.api_version)
    assert.are.equal("rest-json", model.metadata.protocol)
    assert.are.equal("GAMELIFTSTREAMS", model.metadata.env_suffix)
  end)

  it("carries the endpoint rule set without documentation", function()
    local p = model.endpoint_rules.parameters
    assert.are.same({ builtIn = "AWS::UseFIPS", required = true, default = false, type = "boolean" }, p.UseFIPS)
    assert.are.equal(2, #model.endpoint_rules.rules)
    assert.are.equal("tree", model.endpoint_rules.rules[1].type)
  end)

  it("has the eight partitions, aws first, each with Lua region patterns", function()
    local ids = {}
    for i, p in ipairs(model.partitions) do
      ids[i] = p.id
      assert.are.equal(p.id, p.outputs.name)
      assert.is_true(#p.region_patterns > 0)
      for r in pairs(p.regions) do
        if r:find("%d$") then
          local hit = false
          for _, pat in ipairs(p.region_patterns) do hit = hit or r:find(pat) ~= nil end
          assert.is_true(hit, r .. " does not match its partition's patterns")
        end
      end
    end
    assert.are.same({ "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc" }, ids)
    assert.are.equal(9, #model.partitions[1].region_patterns)
    assert.are.equal("api.amazonwebservices.com.cn", model.partitions[2].outputs.dualStackDnsSuffix)
  end)
end)
