-- Every operation end to end against the emulator, with real state: the
-- `it` blocks run in order and build on each other (application -> stream
-- group -> sessions -> stream URLs -> tags -> clean-up).
local helpers = require("helpers")
local gls = require("gameliftstreams")

local function is_integer(v)
  if math.type then return math.type(v) == "integer" end
  return type(v) == "number" and math.floor(v) == v
end

describe("every operation against the emulator", function()
  local emu, c, once
  local app, app2, group, session, url

  setup(function()
    emu = helpers.start_emulator{ delay_scale = 0.01 }
    local creds = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret" }
    c = assert(gls.new{ region = "us-west-2", endpoint = emu.url, credentials = creds })
    once = assert(gls.new{ region = "us-west-2", endpoint = emu.url, credentials = creds, max_attempts = 1 })
  end)
  teardown(function() if emu then emu.stop() end end)

  -- Polls `fn` until it returns a truthy value (at most 5 s).
  local function eventually(fn) return helpers.eventually(fn, 5) end

  local function app_input(description)
    return { Description = description, RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
             ExecutablePath = "bin/game", ApplicationSourceUri = "s3://bucket/" .. description,
             ApplicationLogPaths = { "logs/" }, Tags = { stage = "test" } }
  end

  it("CreateApplication creates an application (201) and honours a repeated ClientToken", function()
    local token = "00000000-0000-4000-8000-000000000001"
    local input = app_input("game")
    input.ClientToken = token
    local out = assert(c:create_application(input))
    assert.matches("^arn:aws:gameliftstreams:us%-west%-2:%d+:application/", out.Arn)
    assert.equal("game", out.Description)
    assert.equal("PROTON", out.RuntimeEnvironment.Type)
    assert.same({ "logs/" }, out.ApplicationLogPaths)
    assert.is_number(out.CreatedAt)
    local again = assert(c:create_application(input))
    assert.equal(out.Arn, again.Arn)
    app = out
  end)

  it("GetApplication reads it back until READY", function()
    local out = eventually(function()
      local o = assert(c:get_application{ Identifier = app.Arn })
      return o.Status == "READY" and o
    end)
    assert.equal(app.Arn, out.Arn)
    assert.equal(app.Id, out.Id)
    assert.is_true(out.LastUpdatedAt >= out.CreatedAt)
    -- by ID as well as by ARN
    assert.equal(app.Arn, assert(c:get_application{ Identifier = app.Id }).Arn)
  end)

  it("UpdateApplication changes the description", function()
    local out = assert(c:update_application{ Identifier = app.Arn, Description = "game v2" })
    assert.equal("game v2", out.Description)
    assert.equal("game v2", assert(c:get_application{ Identifier = app.Id }).Description)
  end)

  it("ListApplications lists it", function()
    app2 = assert(c:create_application(app_input("second")))
    local out = assert(c:list_applications{ MaxResults = 10 })
    local arns = {}
    for _, item in ipairs(out.Items) do arns[item.Arn] = item end
    assert.is_truthy(arns[app.Arn])
    assert.is_truthy(arns[app2.Arn])
    assert.equal("game v2", arns[app.Arn].Description)
  end)

  it("CreateStreamGroup creates a group (201) that becomes ACTIVE with typed capacities", function()
    local out = assert(c:create_stream_group{ Description = "group", StreamClass = "gen5n_high",
      DefaultApplicationIdentifier = app.Arn,
      LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 1, TargetIdleCapacity = 1,
                                   MaximumCapacity = 3 } } })
    assert.matches(":streamgroup/", out.Arn)
    assert.equal("gen5n_high", out.StreamClass)
    group = out
    local g = eventually(function()
      local o = assert(c:get_stream_group{ Identifier = group.Arn })
      return o.Status == "ACTIVE" and o
    end)
    assert.equal(app.Arn, g.DefaultApplication.Arn)
    local ls = g.LocationStates[1]
    assert.equal("us-west-2", ls.LocationName)
    assert.equal(1, ls.AlwaysOnCapacity)
    assert.is_true(is_integer(ls.AlwaysOnCapacity))
    assert.is_true(is_integer(ls.MaximumCapacity))
  end)

  it("UpdateStreamGroup and ListStreamGroups", function()
    local out = assert(c:update_stream_group{ Identifier = group.Id, Description = "group v2" })
    assert.equal("group v2", out.Description)
    local list = assert(c:list_stream_groups())
    assert.equal(1, #list.Items)
    assert.equal(group.Arn, list.Items[1].Arn)
    assert.equal("group v2", list.Items[1].Description)
  end)

  it("AssociateApplications and DisassociateApplications", function()
    eventually(function() return assert(c:get_application{ Identifier = app2.Arn }).Status == "READY" end)
    local out = assert(c:associate_applications{ Identifier = group.Arn, ApplicationIdentifiers = { app2.Arn } })
    assert.equal(group.Arn, out.Arn)
    local found = false
    for _, a in ipairs(out.ApplicationArns) do if a == app2.Arn then found = true end end
    assert.is_true(found)
    out = assert(c:disassociate_applications{ Identifier = group.Arn, ApplicationIdentifiers = { app2.Arn } })
    assert.equal(group.Arn, out.Arn)
  end)

  it("AddStreamGroupLocations and RemoveStreamGroupLocations (204)", function()
    local out = assert(c:add_stream_group_locations{ Identifier = group.Arn,
      LocationConfigurations = { { LocationName = "us-east-1", AlwaysOnCapacity = 0 } } })
    assert.equal(group.Id, out.Identifier:match("([^/]+)$"))
    local names = {}
    for _, l in ipairs(out.Locations) do names[l.LocationName] = true end
    assert.is_true(names["us-east-1"])
    eventually(function()
      local g = assert(c:get_stream_group{ Identifier = group.Arn })
      for _, l in ipairs(g.LocationStates) do
        if l.LocationName == "us-east-1" then return l.Status == "ACTIVE" end
      end
    end)
    assert.same({}, assert(c:remove_stream_group_locations{ Identifier = group.Arn, Locations = { "us-east-1" } }))
  end)

  it("StartStreamSession starts a session (201); admin shell is not ready while it activates", function()
    helpers.control(emu, "POST", "config", { delay_scale = 10 }) -- hold the session in ACTIVATING
    local out, err = c:start_stream_session{ Identifier = group.Arn, ApplicationIdentifier = app.Arn,
      Protocol = "WebRTC", SignalRequest = "v=0\r\no=- offer", UserId = "player-1",
      ConnectionTimeoutSeconds = 120, SessionLengthSeconds = 3600, AdditionalLaunchArgs = { "-fast" },
      AdditionalEnvironmentVariables = { MODE = "test" }, Locations = { "us-west-2" } }
    local _, shell_err
    if out then
      _, shell_err = once:create_stream_session_admin_shell{ Identifier = group.Arn, StreamSessionIdentifier = out.Arn }
    end
    helpers.control(emu, "POST", "config", { delay_scale = 0.01 })
    helpers.control(emu, "POST", "advance", { seconds = 11 }) -- let the timeline move on
    assert.is_nil(err)
    assert.matches(":streamsession/", out.Arn)
    assert.equal("ACTIVATING", out.Status)
    assert.equal(120, out.ConnectionTimeoutSeconds)
    assert.is_true(is_integer(out.SessionLengthSeconds))
    assert.same({ MODE = "test" }, out.AdditionalEnvironmentVariables)
    assert.equal("StreamSessionAccessNotReadyException", shell_err.code)
    assert.equal(409, shell_err.status)
    assert.is_true(shell_err.retryable)
    session = out
  end)

  it("GetStreamSession reads it until ACTIVE, with the signal response", function()
    local out = eventually(function()
      local o = assert(c:get_stream_session{ Identifier = group.Arn, StreamSessionIdentifier = session.Arn })
      return o.Status == "ACTIVE" and o
    end)
    assert.equal(session.Arn, out.Arn)
    assert.equal("player-1", out.UserId)
    assert.is_string(out.SignalResponse)
    assert.equal("us-west-2", out.Location)
  end)

  it("CreateStreamSessionConnection answers a new offer", function()
    local out = assert(c:create_stream_session_connection{ Identifier = group.Arn,
      StreamSessionIdentifier = session.Arn, SignalRequest = "v=0\r\no=- reconnect" })
    assert.is_string(out.SignalResponse)
  end)

  it("CreateStreamSessionAdminShell opens a shell on the active session", function()
    local out = assert(c:create_stream_session_admin_shell{ Identifier = group.Arn, StreamSessionIdentifier = session.Arn })
    assert.is_string(out.SessionId)
    assert.is_string(out.StreamUrl)
    assert.is_string(out.TokenValue)
  end)

  it("ListStreamSessions and ListStreamSessionsByAccount list it, with filters", function()
    local out = assert(c:list_stream_sessions{ Identifier = group.Arn, Status = "ACTIVE" })
    assert.equal(1, #out.Items)
    assert.equal(session.Arn, out.Items[1].Arn)
    assert.equal(0, #assert(c:list_stream_sessions{ Identifier = group.Arn, Status = "TERMINATED" }).Items)
    local all = assert(c:list_stream_sessions_by_account{})
    assert.equal(session.Arn, all.Items[1].Arn)
  end)

  it("ExportStreamSessionFiles returns an empty output", function()
    assert.same({}, assert(c:export_stream_session_files{ Identifier = group.Arn,
      StreamSessionIdentifier = session.Arn, OutputUri = "s3://bucket/exports/" }))
  end)

  it("TerminateStreamSession (204) ends it", function()
    assert.same({}, assert(c:terminate_stream_session{ Identifier = group.Arn, StreamSessionIdentifier = session.Arn }))
    local out = assert(c:get_stream_session{ Identifier = group.Arn, StreamSessionIdentifier = session.Arn })
    assert.is_truthy(out.Status == "TERMINATING" or out.Status == "TERMINATED")
  end)

  it("CreateStreamUrl, GetStreamUrl, ListStreamUrls and RevokeStreamUrl (204)", function()
    local out = assert(c:create_stream_url{ Identifier = group.Arn, ApplicationIdentifier = app.Arn,
      Protocol = "WebRTC", UrlExpiresAfterMinutes = 60, UsageLimit = 2, Locations = { "us-west-2" },
      Description = "invite" })
    assert.is_string(out.StreamUrl)
    assert.equal(2, out.UsageLimit)
    assert.is_true(is_integer(out.RemainingUses))
    assert.is_number(out.ExpiresAt)
    url = out
    local got = assert(c:get_stream_url{ Identifier = group.Arn, StreamUrlIdentifier = url.Arn })
    assert.equal(url.Arn, got.Arn)
    assert.equal("ACTIVE", got.Status)
    local list = assert(c:list_stream_urls{ StreamGroupIdentifier = group.Arn })
    assert.equal(url.Arn, list.Items[1].Arn)
    assert.same({}, assert(c:revoke_stream_url{ Identifier = group.Arn, StreamUrlIdentifier = url.Arn,
                                                 RevocationMode = "REVOKE_URL" }))
    assert.equal("REVOKED", assert(c:get_stream_url{ Identifier = group.Arn, StreamUrlIdentifier = url.Arn }).Status)
  end)

  it("TagResource, ListTagsForResource and UntagResource", function()
    assert.same({}, assert(c:tag_resource{ ResourceArn = group.Arn, Tags = { env = "prod", ["team name"] = "a b" } }))
    assert.same({ env = "prod", ["team name"] = "a b" }, assert(c:list_tags_for_resource{ ResourceArn = group.Arn }).Tags)
    assert.same({}, assert(c:untag_resource{ ResourceArn = group.Arn, TagKeys = { "team name" } }))
    assert.same({ env = "prod" }, assert(c:list_tags_for_resource{ ResourceArn = group.Arn }).Tags)
  end)

  it("ListApplicationShaderCaches lists the cache of an associated application, with a long size", function()
    local out = assert(c:list_application_shader_caches{ Identifier = app.Arn })
    assert.equal(1, #out.Items)
    local sc = out.Items[1]
    assert.equal(app.Arn, sc.ApplicationArn)
    assert.is_true(is_integer(sc.StorageBytes))
    assert.is_true(sc.StorageBytes > 2 ^ 29)
    assert.same({ group.Arn }, sc.AssociatedStreamGroups)
    assert.same({}, assert(c:list_application_shader_caches{ Identifier = app2.Arn }).Items)
  end)

  it("reports the service's errors with code, status and request id", function()
    local _, err = c:get_stream_group{ Identifier = "sg-000000000" }
    assert.equal("ResourceNotFoundException", err.code)
    assert.equal(404, err.status)
    assert.matches("^[%x-]+$", err.request_id)
    _, err = c:delete_application{ Identifier = app.Arn } -- still associated with the group
    assert.equal("ConflictException", err.code)
    assert.equal(409, err.status)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    _, err = c:list_tags_for_resource{ ResourceArn = "arn:aws:gameliftstreams:us-west-2:012345678901:abcdefghi" }
    assert.equal("ValidationException", err.code)
    assert.equal(400, err.status)
  end)

  it("DeleteStreamGroup and DeleteApplication (204) remove them", function()
    assert.same({}, assert(c:delete_stream_group{ Identifier = group.Arn }))
    eventually(function()
      local _, err = c:get_stream_group{ Identifier = group.Arn }
      return err and err.code == "ResourceNotFoundException"
    end)
    assert.same({}, assert(c:delete_application{ Identifier = app.Arn }))
    assert.same({}, assert(c:delete_application{ Identifier = app2.Arn }))
    eventually(function()
      local _, err = c:get_application{ Identifier = app.Arn }
      return err and err.code == "ResourceNotFoundException"
    end)
  end)
end)
