-- The inputs of spec/wire_spec.lua: one call of each of the 30 operations, with what the
-- official SDKs put on the wire for it (written from MODEL-NOTES.md, not from model.lua).
-- spec/support/wire_record.lua makes the same calls to record their exact bytes.
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

return CASES
