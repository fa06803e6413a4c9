-- What goes on the wire for every one of the 30 operations, as the emulator
-- received it (GET /_emulator/requests). The expectations below are written
-- from the official SDKs' documented behaviour (the project's model notes), not from
-- model.lua, so a wrong generated model is caught here.
local helpers = require("helpers")
local cjson = require("cjson")

local SG = "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1AB2C3De4"
local E_SG = "arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1AB2C3De4"
local SS = "arn:aws:gameliftstreams:us-west-2:111122223333:streamsession/sg-1AB2C3De4/ABC123def4567"
local E_SS = "arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamsession%2Fsg-1AB2C3De4%2FABC123def4567"
local APP = "arn:aws:gameliftstreams:us-west-2:111122223333:application/a-9ZY8X7Wv6"
local E_APP = "arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Aapplication%2Fa-9ZY8X7Wv6"
local SU = "arn:aws:gameliftstreams:us-west-2:111122223333:streamurl/sg-1AB2C3De4/su-1AB2C3De4"
local E_SU = "arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamurl%2Fsg-1AB2C3De4%2Fsu-1AB2C3De4"
local ROLE = "arn:aws:iam::111122223333:role/streaming"

-- op, method name, input, method, raw path, raw query, body (nil: no body; "<TOKEN>" stands
-- for the generated ClientToken), token (ClientToken expected)
local CASES = {
  { "AddStreamGroupLocations", "add_stream_group_locations",
    { Identifier = SG, LocationConfigurations = {
      { LocationName = "us-east-1", AlwaysOnCapacity = 1, MaximumCapacity = 4 },
      { LocationName = "eu-west-1", TargetIdleCapacity = 0,
        VpcTransitConfiguration = { VpcId = "vpc-1", Ipv4CidrBlocks = { "10.0.0.0/16" } } } } },
    "POST", "/streamgroups/" .. E_SG .. "/locations", "",
    '{"LocationConfigurations":[{"LocationName":"us-east-1","AlwaysOnCapacity":1,"MaximumCapacity":4},'
    .. '{"LocationName":"eu-west-1","TargetIdleCapacity":0,"VpcTransitConfiguration":{"VpcId":"vpc-1",'
    .. '"Ipv4CidrBlocks":["10.0.0.0/16"]}}]}' },
  { "AssociateApplications", "associate_applications",
    { Identifier = SG, ApplicationIdentifiers = { APP, "a-2" } },
    "POST", "/streamgroups/" .. E_SG .. "/associations", "",
    '{"ApplicationIdentifiers":["' .. APP .. '","a-2"]}' },
  { "CreateApplication", "create_application",
    { Description = "My game", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
      ExecutablePath = "game/run.exe", ApplicationSourceUri = "s3://bucket/game",
      ApplicationLogPaths = { "logs/" }, Tags = { env = "test" } },
    "POST", "/applications", "",
    '{"Description":"My game","RuntimeEnvironment":{"Type":"PROTON","Version":"20241007"},'
    .. '"ExecutablePath":"game/run.exe","ApplicationSourceUri":"s3://bucket/game","ApplicationLogPaths":["logs/"],'
    .. '"Tags":{"env":"test"},"ClientToken":"<TOKEN>"}', true },
  { "CreateStreamGroup", "create_stream_group",
    { Description = "Group", StreamClass = "gen5n_high", DefaultApplicationIdentifier = "a-1",
      LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 1 } }, Tags = { team = "x" } },
    "POST", "/streamgroups", "",
    '{"Description":"Group","StreamClass":"gen5n_high","DefaultApplicationIdentifier":"a-1",'
    .. '"LocationConfigurations":[{"LocationName":"us-west-2","AlwaysOnCapacity":1}],"Tags":{"team":"x"},'
    .. '"ClientToken":"<TOKEN>"}', true },
  { "CreateStreamSessionAdminShell", "create_stream_session_admin_shell",
    { Identifier = SG, StreamSessionIdentifier = SS },
    "POST", "/streamgroups/" .. E_SG .. "/streamsessions/" .. E_SS .. "/access", "", nil },
  { "CreateStreamSessionConnection", "create_stream_session_connection",
    { Identifier = SG, StreamSessionIdentifier = SS, SignalRequest = "offer" },
    "POST", "/streamgroups/" .. E_SG .. "/streamsessions/" .. E_SS .. "/connections", "",
    '{"ClientToken":"<TOKEN>","SignalRequest":"offer"}', true },
  { "CreateStreamUrl", "create_stream_url",
    { Identifier = SG, ApplicationIdentifier = "a-1", Protocol = "WebRTC", UrlExpiresAfterMinutes = 60,
      UsageLimit = 5, Locations = { "us-west-2" }, SessionLengthSeconds = 600,
      AdditionalEnvironmentVariables = { A = "1" }, RoleArn = ROLE,
      DisplayConfiguration = { Resolution = { Width = 1280, Height = 720 } } },
    "POST", "/streamgroups/" .. E_SG .. "/streamurls", "",
    '{"ApplicationIdentifier":"a-1","Protocol":"WebRTC","UrlExpiresAfterMinutes":60,"UsageLimit":5,'
    .. '"Locations":["us-west-2"],"SessionLengthSeconds":600,"AdditionalEnvironmentVariables":{"A":"1"},'
    .. '"RoleArn":"' .. ROLE .. '","DisplayConfiguration":{"Resolution":{"Width":1280,"Height":720}},'
    .. '"ClientToken":"<TOKEN>"}', true },
  { "DeleteApplication", "delete_application", { Identifier = APP },
    "DELETE", "/applications/" .. E_APP, "", nil },
  { "DeleteStreamGroup", "delete_stream_group", { Identifier = "sg-1AB2C3De4" },
    "DELETE", "/streamgroups/sg-1AB2C3De4", "", nil },
  { "DisassociateApplications", "disassociate_applications",
    { Identifier = SG, ApplicationIdentifiers = { "a-1" } },
    "POST", "/streamgroups/" .. E_SG .. "/disassociations", "", '{"ApplicationIdentifiers":["a-1"]}' },
  { "ExportStreamSessionFiles", "export_stream_session_files",
    { Identifier = SG, StreamSessionIdentifier = SS, OutputUri = "s3://bucket/out/" },
    "PUT", "/streamgroups/" .. E_SG .. "/streamsessions/" .. E_SS .. "/exportfiles", "",
    '{"OutputUri":"s3://bucket/out/"}' },
  { "GetApplication", "get_application", { Identifier = APP },
    "GET", "/applications/" .. E_APP, "", nil },
  { "GetStreamGroup", "get_stream_group", { Identifier = SG },
    "GET", "/streamgroups/" .. E_SG, "", nil },
  { "GetStreamSession", "get_stream_session", { Identifier = SG, StreamSessionIdentifier = SS },
    "GET", "/streamgroups/" .. E_SG .. "/streamsessions/" .. E_SS, "", nil },
  { "GetStreamUrl", "get_stream_url", { Identifier = SG, StreamUrlIdentifier = SU },
    "GET", "/streamgroups/" .. E_SG .. "/streamurls/" .. E_SU, "", nil },
  { "ListApplicationShaderCaches", "list_application_shader_caches", { Identifier = APP },
    "GET", "/applications/" .. E_APP .. "/shadercaches", "", nil },
  { "ListApplications", "list_applications", { MaxResults = 10, NextToken = "tok/+=" },
    "GET", "/applications", "NextToken=tok%2F%2B%3D&MaxResults=10", nil },
  { "ListStreamGroups", "list_stream_groups", {},
    "GET", "/streamgroups", "", nil },
  { "ListStreamSessions", "list_stream_sessions",
    { Identifier = SG, Status = "ACTIVE", ExportFilesStatus = "SUCCEEDED", MaxResults = 5 },
    "GET", "/streamgroups/" .. E_SG .. "/streamsessions", "Status=ACTIVE&ExportFilesStatus=SUCCEEDED&MaxResults=5", nil },
  { "ListStreamSessionsByAccount", "list_stream_sessions_by_account", { Status = "TERMINATED", NextToken = "n 1" },
    "GET", "/streamsessions", "Status=TERMINATED&NextToken=n%201", nil },
  { "ListStreamUrls", "list_stream_urls", { Status = "ACTIVE", StreamGroupIdentifier = SG },
    "GET", "/streamurls", "Status=ACTIVE&StreamGroupIdentifier=" .. E_SG, nil },
  { "ListTagsForResource", "list_tags_for_resource", { ResourceArn = SG },
    "GET", "/tags/" .. E_SG, "", nil },
  { "RemoveStreamGroupLocations", "remove_stream_group_locations",
    { Identifier = SG, Locations = { "us-east-1", "eu-west-1" } },
    "DELETE", "/streamgroups/" .. E_SG .. "/locations", "locations=us-east-1&locations=eu-west-1", nil },
  { "RevokeStreamUrl", "revoke_stream_url", { Identifier = SG, StreamUrlIdentifier = SU },
    "POST", "/streamgroups/" .. E_SG .. "/streamurls/" .. E_SU .. "/revoke", "", "{}" },
  { "StartStreamSession", "start_stream_session",
    { Identifier = SG, Description = "d", Protocol = "WebRTC", SignalRequest = "sdp", ApplicationIdentifier = APP,
      UserId = "u1", Locations = { "us-west-2" }, ConnectionTimeoutSeconds = 120, SessionLengthSeconds = 3600,
      AdditionalLaunchArgs = { "-x" }, AdditionalEnvironmentVariables = {},
      PerformanceStatsConfiguration = { SharedWithClient = true }, RoleArn = ROLE,
      DisplayConfiguration = { Resolution = { Width = 1920, Height = 1080 } } },
    "POST", "/streamgroups/" .. E_SG .. "/streamsessions", "",
    '{"ClientToken":"<TOKEN>","Description":"d","Protocol":"WebRTC","SignalRequest":"sdp",'
    .. '"ApplicationIdentifier":"' .. APP .. '","UserId":"u1","Locations":["us-west-2"],'
    .. '"ConnectionTimeoutSeconds":120,"SessionLengthSeconds":3600,"AdditionalLaunchArgs":["-x"],'
    .. '"AdditionalEnvironmentVariables":{},"PerformanceStatsConfiguration":{"SharedWithClient":true},'
    .. '"RoleArn":"' .. ROLE .. '","DisplayConfiguration":{"Resolution":{"Width":1920,"Height":1080}}}', true },
  { "TagResource", "tag_resource", { ResourceArn = SG, Tags = { env = "prod", ["team name"] = "a b" } },
    "POST", "/tags/" .. E_SG, "", '{"Tags":{"env":"prod","team name":"a b"}}' },
  { "TerminateStreamSession", "terminate_stream_session", { Identifier = SG, StreamSessionIdentifier = SS },
    "DELETE", "/streamgroups/" .. E_SG .. "/streamsessions/" .. E_SS, "", nil },
  { "UntagResource", "untag_resource", { ResourceArn = SG, TagKeys = { "env", "team name" } },
    "DELETE", "/tags/" .. E_SG, "tagKeys=env&tagKeys=team%20name", nil },
  { "UpdateApplication", "update_application", { Identifier = APP, Description = "new", ApplicationLogPaths = {} },
    "PATCH", "/applications/" .. E_APP, "", '{"Description":"new","ApplicationLogPaths":[]}' },
  { "UpdateStreamGroup", "update_stream_group",
    { Identifier = SG, LocationConfigurations = { { LocationName = "us-west-2", MaximumCapacity = 2 } },
      Description = "g2" },
    "PATCH", "/streamgroups/" .. E_SG, "",
    '{"LocationConfigurations":[{"LocationName":"us-west-2","MaximumCapacity":2}],"Description":"g2"}' },
}

local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

describe("the wire format of every operation", function()
  local emu, client

  setup(function()
    emu = helpers.start_emulator{ delay_scale = 0.01 }
    local gls = require("gameliftstreams")
    client = assert(gls.new{ region = "us-west-2", endpoint = emu.url, max_attempts = 1,
      credentials = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret" } })
  end)
  teardown(function() if emu then emu.stop() end end)

  local function last_request()
    local status, log = helpers.control(emu, "GET", "requests?limit=1")
    assert.equal(200, status)
    assert.equal(1, #log.requests)
    return log.requests[1]
  end

  it("covers all 30 operations of the model, once each", function()
    local model = require("gameliftstreams.model")
    local seen, n = {}, 0
    for _, c in ipairs(CASES) do
      assert.is_nil(seen[c[1]], c[1])
      seen[c[1]] = true
      n = n + 1
      assert.is_truthy(model.operations[c[1]], c[1])
    end
    assert.equal(30, n)
    for name in pairs(model.operations) do assert.is_true(seen[name], name) end
  end)

  for _, c in ipairs(CASES) do
    local op, method_name, input, method, path, query, body, token = c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    it(op .. " sends " .. method .. " " .. path:gsub("arn%%3A[^/]*", "<arn>"), function()
      helpers.control(emu, "DELETE", "requests")
      local _, err = client[method_name](client, input)
      -- The emulator knows none of these made-up resources; only the signature must pass.
      if err then
        assert.is_nil(err.code:match("Signature") or err.code:match("Unrecognized")
          or err.code:match("MissingAuthentication"), tostring(err))
        assert.is_truthy(err.status, tostring(err))
      end
      local r = last_request()
      assert.equal(op, r.operation)
      assert.equal(method, r.method)
      assert.equal(path, r.path)
      assert.equal(query, r.query)
      assert.is_true(r.auth and r.auth.ok, "the emulator rejected the signature")
      local h = r.headers
      local signed = h.authorization:match("SignedHeaders=([^,]+)")
      assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDEMULATOR/%d+/us%-west%-2/gameliftstreams/aws4_request, "
        .. "SignedHeaders=[^,]+, Signature=%x+$", h.authorization)
      assert.equal(64, #h.authorization:match("Signature=(%x+)"))
      assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", h["x-amz-date"])
      assert.matches("^gameliftstreams%-lua/%S+ ", h["user-agent"])
      assert.is_nil(signed:find("user-agent", 1, true))
      if body == nil then
        assert.equal("", r.body)
        assert.is_nil(h["content-type"])
        assert.equal("host;x-amz-date", signed)
        if method == "POST" then assert.equal("0", h["content-length"]) end
      else
        assert.equal("application/json", h["content-type"])
        assert.equal("content-type;host;x-amz-date", signed)
        local sent = r.body
        if token then
          local decoded = cjson.decode(sent)
          assert.matches(UUID4, decoded.ClientToken)
          sent = sent:gsub(decoded.ClientToken:gsub("%-", "%%-"), "<TOKEN>", 1)
        else
          assert.is_nil(sent:find("ClientToken", 1, true))
        end
        assert.equal(body, sent)
        assert.equal(tostring(#r.body), h["content-length"])
      end
    end)
  end

  it("keeps a ClientToken the caller gives", function()
    helpers.control(emu, "DELETE", "requests")
    local token = "my-own-token-0123456789abcdef-0123456789"
    local input = { Identifier = "sg-1", StreamSessionIdentifier = "s-1", SignalRequest = "offer", ClientToken = token }
    client:create_stream_session_connection(input)
    assert.equal(token, cjson.decode(last_request().body).ClientToken)
  end)

  it("makes a fresh ClientToken per call and leaves the input table alone", function()
    local input = { Identifier = "sg-1", StreamSessionIdentifier = "s-1", SignalRequest = "offer" }
    helpers.control(emu, "DELETE", "requests")
    client:create_stream_session_connection(input)
    local t1 = cjson.decode(last_request().body).ClientToken
    client:create_stream_session_connection(input)
    local t2 = cjson.decode(last_request().body).ClientToken
    assert.matches(UUID4, t1)
    assert.matches(UUID4, t2)
    assert.are_not.equal(t1, t2)
    assert.is_nil(input.ClientToken)
  end)

  it("sends the body members of RevokeStreamUrl when given", function()
    helpers.control(emu, "DELETE", "requests")
    client:revoke_stream_url{ Identifier = "sg-1", StreamUrlIdentifier = "su-1", RevocationMode = "REVOKE_URL" }
    assert.equal('{"RevocationMode":"REVOKE_URL"}', last_request().body)
  end)

  it("escapes JSON strings and keeps UTF-8 as is on the wire", function()
    helpers.control(emu, "DELETE", "requests")
    client:start_stream_session{ Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC",
      SignalRequest = "v=0\r\no=- 1 \"q\" \\ \t\1 caf\195\169 \240\159\142\174" }
    local body = last_request().body
    assert.truthy(body:find('"SignalRequest":"v=0\\r\\no=- 1 \\"q\\" \\\\ \\t\\u0001 caf\195\169 \240\159\142\174"', 1, true))
  end)

  it("sends nothing when validation fails", function()
    helpers.control(emu, "DELETE", "requests")
    local out, err = client:get_application{ Identifer = "a-1" }
    assert.is_nil(out)
    assert.equal("InvalidParameter", err.code)
    assert.equal(0, err.attempts)
    local _, log = helpers.control(emu, "GET", "requests")
    assert.equal(0, #log.requests)
  end)
end)
