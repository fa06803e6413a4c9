-- Stream sessions (emulator/resources/stream_sessions.lua): lifecycle, capacity, forced
-- statuses, the admin shell, connections, exports, termination, concurrency.
local helpers = require("helpers")
local cjson = require("cjson")
local E = require("support.emulator")

local core = helpers.core()
local api, control, eventually, expect_error = E.api, E.control, E.eventually, E.expect_error
local ready_app, ready_app_on, create_group = E.ready_app, E.ready_app_on, E.create_group
local get_group, active_group, start_session = E.get_group, E.active_group, E.start_session
local session_path, with = E.session_path, E.with
local emu, slow_emu, pool = E.per_file{ slow = true }

describe("stream sessions", function()
  local app, group
  before_each(function()
    app = ready_app()
    group = active_group(app)
  end)

  it("start ACTIVATING, then become ACTIVE with a SignalResponse", function()
    local res = start_session(group, app, { UserId = "player-1", Description = "s1",
      ConnectionTimeoutSeconds = 60, AdditionalEnvironmentVariables = { A_B = "x" } })
    assert.are.equal(201, res.status)
    local s = res.json
    assert.are.equal("ACTIVATING", s.Status)
    assert.is_nil(s.SignalResponse)
    assert.are.equal(60, s.ConnectionTimeoutSeconds)
    assert.matches('"ConnectionTimeoutSeconds":60,', res.body)
    local id = s.Arn:match("^arn:aws:gameliftstreams:us%-west%-2:123456789012:streamsession/" ..
      group.Id:gsub("%-", "%%-") .. "/(%w+)$")
    assert.is_string(id)
    assert.are.equal(group.Id, s.StreamGroupId)
    assert.are.equal(app.Arn, s.ApplicationArn)
    assert.are.equal("us-west-2", s.Location)
    local got = eventually(function()
      local x = api("GET", session_path(group, s.Arn)).json
      return x.Status == "ACTIVE" and x
    end)
    assert.is_string(got.SignalResponse)
    assert.matches("^v=0", got.SignalResponse)
    -- by plain ids too
    assert.are.equal(200, api("GET", "/streamgroups/" .. group.Id .. "/streamsessions/" .. id).status)
  end)

  it("refuse an application that is not associated, and a group that is not ACTIVE", function()
    local other = ready_app({ Description = "other" })
    expect_error(start_session(group, other), 400, "ValidationException")
    local sa = ready_app_on(slow_emu)
    local sg = create_group({ DefaultApplicationIdentifier = sa.Id }, slow_emu)
    expect_error(start_session(sg, sa, nil, slow_emu), 409, "ConflictException")
    control("POST", "advance", { seconds = 2.1 }, slow_emu)
    assert.are.equal(201, start_session(sg, sa, nil, slow_emu).status)
  end)

  it("end after an explicit SessionLengthSeconds (real seconds) with maxSessionLengthTimeout", function()
    local sa = ready_app_on(slow_emu)
    local sg = create_group({ DefaultApplicationIdentifier = sa.Id }, slow_emu)
    control("POST", "advance", { seconds = 2.1 }, slow_emu)
    local s = start_session(sg, sa, { SessionLengthSeconds = 5 }, slow_emu).json
    local function status()
      return api("GET", session_path(sg, s.Arn), { target = slow_emu }).json
    end
    control("POST", "advance", { seconds = 1.1 }, slow_emu)
    assert.are.equal("ACTIVE", status().Status)
    control("POST", "config", { delay_scale = 0.001 }, slow_emu) -- does not shorten real seconds
    control("POST", "advance", { seconds = 4 }, slow_emu)
    assert.are.equal("ACTIVE", status().Status)
    control("POST", "advance", { seconds = 1.1 }, slow_emu)
    local x = status()
    assert.are.equal("TERMINATED", x.Status)
    assert.are.equal("maxSessionLengthTimeout", x.StatusReason)
  end)

  it("are terminated with their stream group", function()
    local s = start_session(group, app).json
    assert.are.equal(204, api("DELETE", "/streamgroups/" .. group.Id).status)
    local x = api("GET", session_path(group, s.Arn)).json
    assert.is_truthy(x.Status == "TERMINATING" or x.Status == "TERMINATED")
    eventually(function() return api("GET", session_path(group, s.Arn)).status == 404 end)
  end)

  it("fail with placementTimeout beyond a location's MaximumCapacity, and count capacity", function()
    local g = active_group(app, { LocationConfigurations = { { LocationName = "us-west-2", MaximumCapacity = 1 } } })
    local s1 = start_session(g, app).json
    local s2 = start_session(g, app).json
    eventually(function() return api("GET", session_path(g, s1.Arn)).json.Status == "ACTIVE" end)
    local x = eventually(function()
      local v = api("GET", session_path(g, s2.Arn)).json
      return v.Status == "ERROR" and v
    end)
    assert.are.equal("placementTimeout", x.StatusReason)
    local loc = get_group(g.Id).json.LocationStates[1]
    assert.are.equal(1, loc.AllocatedCapacity)
    assert.are.equal(0, loc.IdleCapacity)
  end)

  it("take a status forced through the control API", function()
    local s = start_session(group, app).json
    local code, out = control("POST", "status", { resource = s.Arn, status = "CONNECTED" })
    assert.are.equal(200, code)
    assert.are.equal(s.Arn, out.resource)
    assert.are.equal("CONNECTED", api("GET", session_path(group, s.Arn)).json.Status)
    control("POST", "status", { resource = group.Id, status = "ERROR", status_reason = "internalError" })
    local g = get_group(group.Id).json
    assert.are.equal("ERROR", g.Status)
    assert.are.equal("internalError", g.StatusReason)
    assert.are.equal(404, (control("POST", "status", { resource = "sg-nothere00", status = "ACTIVE" })))
  end)

  it("go to ERROR when UserId is fail-me, or the RoleArn cannot be assumed", function()
    local s = start_session(group, app, { UserId = "fail-me" }).json
    eventually(function() return api("GET", session_path(group, s.Arn)).json.Status == "ERROR" end)
    assert.are.equal("internalError", api("GET", session_path(group, s.Arn)).json.StatusReason)
    local r = start_session(group, app, { RoleArn = "arn:aws:iam::123456789012:role/fail-me" }).json
    local x = eventually(function()
      local v = api("GET", session_path(group, r.Arn)).json
      return v.Status == "ERROR" and v
    end)
    assert.are.equal("assumeRoleFailed", x.StatusReason)
  end)

  it("answer the admin shell with StreamSessionAccessNotReadyException until ACTIVE", function()
    local sa = ready_app_on(slow_emu)
    local sg = create_group({ DefaultApplicationIdentifier = sa.Id }, slow_emu)
    control("POST", "advance", { seconds = 2.1 }, slow_emu)
    local s = start_session(sg, sa, nil, slow_emu).json
    local path = session_path(sg, s.Arn) .. "/access"
    expect_error(api("POST", path, { target = slow_emu }), 409, "StreamSessionAccessNotReadyException")
    expect_error(api("POST", session_path(sg, s.Arn) .. "/connections", { target = slow_emu,
      body = { SignalRequest = "v=0 early" } }), 409, "ConflictException")
    control("POST", "advance", { seconds = 1.1 }, slow_emu)
    local ok = api("POST", path, { target = slow_emu })
    assert.are.equal(200, ok.status)
    assert.is_string(ok.json.SessionId)
    assert.is_string(ok.json.TokenValue)
    assert.matches("^wss://", ok.json.StreamUrl)
  end)

  it("create connections once ACTIVE", function()
    local s = start_session(group, app).json
    eventually(function() return api("GET", session_path(group, s.Arn)).json.Status == "ACTIVE" end)
    local res = api("POST", session_path(group, s.Arn) .. "/connections", { body = { SignalRequest = "v=0 again" } })
    assert.are.equal(200, res.status)
    assert.matches("^v=0", res.json.SignalResponse)
    expect_error(api("POST", session_path(group, s.Arn) .. "/connections", { body = {} }), 400, "ValidationException")
    local token = "cccccccc-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    local c1 = api("POST", session_path(group, s.Arn) .. "/connections",
      { body = { SignalRequest = "v=0 retry", ClientToken = token } }).json
    local c2 = api("POST", session_path(group, s.Arn) .. "/connections",
      { body = { SignalRequest = "v=0 retry", ClientToken = token } }).json
    assert.are.equal(c1.SignalResponse, c2.SignalResponse)
  end)

  it("export files: PENDING, then SUCCEEDED; filter by ExportFilesStatus", function()
    -- on the delay-scale-1 emulator, whose export takes a second of its clock, which only this
    -- spec moves: PENDING cannot be over before it is read, however slow the machine
    local on = { target = slow_emu }
    local function at(extra) return with(on, extra) end
    local sa = ready_app_on(slow_emu)
    local sg = create_group({ DefaultApplicationIdentifier = sa.Id }, slow_emu)
    control("POST", "advance", { seconds = 2.1 }, slow_emu)
    local s = start_session(sg, sa, nil, slow_emu).json
    local res = api("PUT", session_path(sg, s.Arn) .. "/exportfiles", at{ body = { OutputUri = "s3://b/out/" } })
    assert.are.equal(200, res.status)
    assert.are.equal("{}", res.body)
    local md = api("GET", session_path(sg, s.Arn), on).json.ExportFilesMetadata
    assert.are.same({ Status = "PENDING", OutputUri = "s3://b/out/" }, md)
    control("POST", "advance", { seconds = 1.1 }, slow_emu)
    assert.are.equal("SUCCEEDED", api("GET", session_path(sg, s.Arn), on).json.ExportFilesMetadata.Status)
    local list = api("GET", "/streamgroups/" .. sg.Id .. "/streamsessions", at{ query = "ExportFilesStatus=SUCCEEDED" })
    assert.are.equal(1, #list.json.Items)
    list = api("GET", "/streamgroups/" .. sg.Id .. "/streamsessions", at{ query = "ExportFilesStatus=FAILED" })
    assert.are.equal(0, #list.json.Items)
    local s2 = start_session(sg, sa, nil, slow_emu).json
    api("PUT", session_path(sg, s2.Arn) .. "/exportfiles", at{ body = { OutputUri = "s3://b/fail-me.zip" } })
    control("POST", "advance", { seconds = 1.1 }, slow_emu)
    local failed = api("GET", session_path(sg, s2.Arn), on).json.ExportFilesMetadata
    assert.are.equal("FAILED", failed.Status)
    assert.is_string(failed.StatusReason)
    list = api("GET", "/streamsessions", at{ query = "ExportFilesStatus=FAILED" })
    assert.are.equal(s2.Arn, list.json.Items[1].Arn)
    expect_error(api("PUT", session_path(sg, s.Arn) .. "/exportfiles", at{ body = { OutputUri = "http://x" } }),
      400, "ValidationException")
  end)

  it("terminate: TERMINATING, then TERMINATED; listed with a Status filter", function()
    local s1 = start_session(group, app).json
    local s2 = start_session(group, app).json
    local del = api("DELETE", session_path(group, s1.Arn))
    assert.are.equal(204, del.status)
    local x = api("GET", session_path(group, s1.Arn)).json
    assert.is_truthy(x.Status == "TERMINATING" or x.Status == "TERMINATED")
    eventually(function() return api("GET", session_path(group, s1.Arn)).json.Status == "TERMINATED" end)
    assert.are.equal("apiTerminated", api("GET", session_path(group, s1.Arn)).json.StatusReason)
    local t = api("GET", "/streamgroups/" .. group.Id .. "/streamsessions", { query = "Status=TERMINATED" }).json
    assert.are.equal(1, #t.Items)
    assert.are.equal(s1.Arn, t.Items[1].Arn)
    local all = api("GET", "/streamsessions").json.Items
    assert.are.equal(2, #all)
    assert.are.equal(s2.Arn, all[2].Arn)
    expect_error(api("GET", "/streamsessions", { query = "Status=SLEEPING" }), 400, "ValidationException")
    -- a session of another group is not found under this one
    local g2 = active_group(app)
    expect_error(api("GET", session_path(g2, s2.Arn)), 404, "ResourceNotFoundException")
  end)

  it("serve 50 sessions started and polled concurrently", function()
    local ids = {}
    for i = 1, 50 do
      local body = cjson.encode({ Protocol = "WebRTC", SignalRequest = "offer " .. i, ApplicationIdentifier = app.Id })
      local url = emu.url .. "/streamgroups/" .. group.Id .. "/streamsessions"
      local signed = core.sign{ method = "POST", url = url, headers = { ["content-type"] = "application/json" },
        body = body, region = "us-west-2", service = "gameliftstreams", credentials = emu.credentials }
      ids[i] = assert(pool:add{ method = "POST", url = url, headers = signed.headers, body = body, timeout = 10 })
    end
    local arns = {}
    local left = 50
    while left > 0 do
      pool:perform(0.05)
      for i = 1, 50 do
        if ids[i] and not arns[i] then
          local r = pool:take(ids[i])
          if r then
            assert.are.equal(201, r.status, r.body or (r.error and r.error.message))
            arns[i] = cjson.decode(r.body).Arn
            left = left - 1
          end
        end
      end
    end
    local seen = {}
    for _, a in ipairs(arns) do seen[a] = true end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.are.equal(50, n)
    eventually(function()
      local page = api("GET", "/streamgroups/" .. group.Id .. "/streamsessions",
        { query = "Status=ACTIVE&MaxResults=100" }).json
      return #page.Items == 50
    end)
  end)
end)
