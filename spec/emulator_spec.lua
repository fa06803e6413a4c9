-- The emulator over real sockets: signed requests (core.sign + core.http_pool),
-- resource lifecycles, pagination, errors, idempotency, signatures, faults, the log.
local helpers = require("helpers")
local cjson = require("cjson")

local core = helpers.core()

local emu, slow_emu, pool

local function url_encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- A signed call. o: query (raw), body (table|string), creds, time, region, headers, tamper(headers), target.
local function api(method, path, o)
  o = o or {}
  local target = o.target or emu
  local body = o.body
  if type(body) == "table" then body = cjson.encode(body) end
  local headers = {}
  if body then headers["content-type"] = "application/json" end
  for k, v in pairs(o.headers or {}) do headers[k] = v end
  local url = target.url .. path .. (o.query and ("?" .. o.query) or "")
  local signed = assert(core.sign{
    method = method, url = url, headers = headers, body = body or "",
    region = o.region or "us-west-2", service = o.service or "gameliftstreams",
    credentials = o.creds or target.credentials, time = o.time,
  })
  local h = {}
  for k, v in pairs(signed.headers) do h[k] = v end
  if o.tamper then o.tamper(h) end
  local res = (o.pool or pool):request{ method = method, url = url, headers = h, body = o.send_body or body,
                            timeout = o.timeout or 10 }
  if res.body and (res.headers or {})["content-type"] == "application/json" then
    local ok, v = pcall(cjson.decode, res.body)
    if ok then res.json = v end
  end
  return res
end

local function control(method, path, body, target)
  return helpers.control(target or emu, method, path, body)
end

local function sleep(s) core.sleep(s) end

-- Polls fn until it returns a truthy value (or fails after `limit` seconds).
local function eventually(fn, limit)
  local deadline = core.monotime() + (limit or 3)
  while true do
    local v = fn()
    if v then return v end
    assert(core.monotime() < deadline, "condition not reached in time")
    sleep(0.01)
  end
end

local function expect_error(res, status, code)
  assert.are.equal(status, res.status)
  assert.are.equal(code, res.headers["x-amzn-errortype"])
  assert.is_string(res.json and res.json.message)
  assert.is_truthy(res.headers["x-amzn-requestid"]:match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$"))
end

local APP = {
  Description = "demo app", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
  ExecutablePath = "bin/game.exe", ApplicationSourceUri = "s3://bucket/app/",
}

local function with(base, extra)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local function create_app(extra, target)
  local res = api("POST", "/applications", { body = with(APP, extra), target = target })
  assert.are.equal(201, res.status, res.body)
  return res.json
end

local function get_app(id, target)
  return api("GET", "/applications/" .. url_encode(id), { target = target })
end

local function ready_app(extra)
  local a = create_app(extra)
  eventually(function() return get_app(a.Id).json.Status == "READY" end)
  return a
end

-- On the delay-scale-1 emulator: create, then push its clock past READY.
local function ready_app_on(target)
  local a = create_app(nil, target)
  control("POST", "advance", { seconds = 2.1 }, target)
  assert.are.equal("READY", get_app(a.Id, target).json.Status)
  return a
end

local function create_group(body, target)
  local res = api("POST", "/streamgroups", { body = with({ Description = "group", StreamClass = "gen4n_high" }, body),
    target = target })
  assert.are.equal(201, res.status, res.body)
  return res.json
end

local function get_group(id, target)
  return api("GET", "/streamgroups/" .. url_encode(id), { target = target })
end

local function active_group(app, body)
  local g = create_group(with({ DefaultApplicationIdentifier = app.Arn }, body))
  eventually(function() return get_group(g.Id).json.Status == "ACTIVE" end)
  return g
end

local function start_session(g, app, extra, target)
  return api("POST", "/streamgroups/" .. g.Id .. "/streamsessions", { target = target,
    body = with({ Protocol = "WebRTC", SignalRequest = "v=0 offer", ApplicationIdentifier = app.Id }, extra) })
end

local function session_path(g, arn)
  return "/streamgroups/" .. url_encode(g.Arn) .. "/streamsessions/" .. url_encode(arn)
end

setup(function()
  pool = core.http_pool{}
  emu = helpers.start_emulator{ delay_scale = 0.01 }
  slow_emu = helpers.start_emulator{ delay_scale = 1 }
end)

teardown(function()
  if emu then emu.stop() end
  if slow_emu then slow_emu.stop() end
  if pool then pool:close() end
end)

before_each(function()
  assert.are.equal(200, (control("POST", "reset")))
  assert.are.equal(200, (control("POST", "reset", nil, slow_emu)))
end)

describe("the emulator command", function()
  it("explains its options and refuses unknown ones", function()
    local cmd = "env " .. helpers.lua_env() .. " lua5.4 " .. helpers.root .. "/bin/gameliftstreams-emulator"
    -- the exit status is echoed: LuaJIT's popen close does not report it
    local out = helpers.run(cmd .. " --help 2>&1; echo rc=$?")
    assert.matches("%-%-delay%-scale", out)
    assert.matches("rc=0", out)
    out = helpers.run(cmd .. " --bogus 2>&1; echo rc=$?")
    assert.matches("unknown option %-%-bogus", out)
    assert.matches("rc=2", out)
  end)
end)

describe("the emulator protocol", function()
  it("puts a request id and a Date on every response, success or error", function()
    local ok = api("GET", "/applications")
    assert.are.equal(200, ok.status)
    assert.is_truthy(ok.headers["x-amzn-requestid"]:match("^%x+%-%x+%-4%x+%-%x+%-%x+$"))
    assert.is_truthy(ok.headers["date"]:match("GMT$"))
    local bad = api("GET", "/applications/a-doesnotexist")
    expect_error(bad, 404, "ResourceNotFoundException")
    assert.are_not.equal(ok.headers["x-amzn-requestid"], bad.headers["x-amzn-requestid"])
  end)

  it("can append the service namespace to x-amzn-errortype, as the real service may", function()
    control("POST", "config", { errortype_suffix = true })
    local res = api("GET", "/applications/a-doesnotexist")
    assert.are.equal(404, res.status)
    assert.are.equal("ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.gameliftstreams/",
      res.headers["x-amzn-errortype"])
    local _, log = control("GET", "requests?limit=1")
    assert.are.equal("ResourceNotFoundException", log.requests[1].error)
  end)

  it("answers an unknown route with UnknownOperationException", function()
    expect_error(api("GET", "/nothing/here"), 404, "UnknownOperationException")
    expect_error(api("PUT", "/applications"), 405, "UnknownOperationException")
  end)

  it("rejects bad JSON, missing required members and constraint violations with ValidationException", function()
    local res = api("POST", "/applications", { body = "{not json" })
    expect_error(res, 400, "ValidationException")
    res = api("POST", "/applications", { body = { Description = "x" } })
    expect_error(res, 400, "ValidationException")
    assert.matches("RuntimeEnvironment", res.json.message)
    res = api("POST", "/applications", { body = with(APP, { Description = string.rep("d", 81) }) })
    expect_error(res, 400, "ValidationException")
    res = api("POST", "/streamgroups", { body = { Description = "g", StreamClass = "gen99" } })
    expect_error(res, 400, "ValidationException")
    res = api("GET", "/applications/" .. url_encode("bad id!"))
    expect_error(res, 400, "ValidationException")
    -- nothing was created by the rejected calls
    assert.are.equal(0, #api("GET", "/applications").json.Items)
  end)

  it("prints integers as integers, timestamps as epoch seconds, and empty lists as []", function()
    local res = api("POST", "/applications", { body = APP })
    assert.matches('"AssociatedStreamGroups":%[%]', res.body)
    assert.matches('"CreatedAt":%d+%.?%d*[,}]', res.body)
    assert.is_nil(res.body:find("null", 1, true))
    assert.is_nil(res.body:find("e+", 1, true))
    local now = core.time()
    assert.is_true(math.abs(res.json.CreatedAt - now) < 5)
    local g = api("POST", "/streamgroups", { body = { Description = "g", StreamClass = "gen4n_high",
      LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 2, TargetIdleCapacity = 1 } } } })
    assert.matches('"AlwaysOnCapacity":2[,}]', g.body)
    assert.is_nil(g.body:find("%d%.0[,}]"))
    local list = api("GET", "/streamsessions")
    assert.are.equal('{"Items":[]}', list.body)
  end)
end)

describe("applications", function()
  it("go INITIALIZED -> PROCESSING -> READY over time", function()
    local res = api("POST", "/applications", { body = APP, target = slow_emu })
    assert.are.equal(201, res.status)
    local a = res.json
    assert.matches("^a%-%w%w%w%w%w%w%w%w%w$", a.Id)
    assert.are.equal("arn:aws:gameliftstreams:us-west-2:123456789012:application/" .. a.Id, a.Arn)
    assert.are.equal("INITIALIZED", a.Status)
    control("POST", "advance", { seconds = 0.6 }, slow_emu)
    assert.are.equal("PROCESSING", get_app(a.Id, slow_emu).json.Status)
    control("POST", "advance", { seconds = 1.5 }, slow_emu)
    local got = get_app(a.Arn, slow_emu).json
    assert.are.equal("READY", got.Status)
    assert.is_true(got.LastUpdatedAt > got.CreatedAt)
    assert.are.equal("COMPLETED", got.ReplicationStatuses[1].Status)
  end)

  it("speed up transitions already under way when the delay scale changes", function()
    local a = create_app(nil, slow_emu)
    local _, cfg = control("POST", "config", { delay_scale = 0.01 }, slow_emu)
    assert.are.equal(0.01, cfg.delay_scale)
    eventually(function() return get_app(a.Id, slow_emu).json.Status == "READY" end, 1)
    control("POST", "reset", nil, slow_emu)
    local _, back = control("GET", "config", nil, slow_emu)
    assert.are.equal(1, back.delay_scale)
  end)

  it("go to ERROR when the Description contains fail-me", function()
    local a = create_app({ Description = "please fail-me" })
    local got = eventually(function()
      local g = get_app(a.Id).json
      return g.Status == "ERROR" and g
    end)
    assert.are.equal("internalError", got.StatusReason)
  end)

  it("take the region of the signing scope in their ARN", function()
    local res = api("POST", "/applications", { body = APP, region = "eu-central-1" })
    assert.matches("^arn:aws:gameliftstreams:eu%-central%-1:", res.json.Arn)
  end)

  it("update their description and LastUpdatedAt", function()
    local a = ready_app()
    sleep(0.01)
    local res = api("PATCH", "/applications/" .. a.Id, { body = { Description = "renamed" } })
    assert.are.equal(200, res.status)
    assert.are.equal("renamed", res.json.Description)
    assert.is_true(res.json.LastUpdatedAt > a.CreatedAt)
  end)

  it("are DELETING, then gone with ResourceNotFoundException", function()
    local a = create_app(nil, slow_emu)
    local del = api("DELETE", "/applications/" .. url_encode(a.Arn), { target = slow_emu })
    assert.are.equal(204, del.status)
    assert.are.equal("", del.body)
    assert.are.equal("0", del.headers["content-length"])
    assert.is_nil(del.headers["content-type"])
    assert.are.equal("DELETING", get_app(a.Id, slow_emu).json.Status)
    control("POST", "advance", { seconds = 1.1 }, slow_emu)
    expect_error(get_app(a.Id, slow_emu), 404, "ResourceNotFoundException")
    assert.are.equal(0, #api("GET", "/applications", { target = slow_emu }).json.Items)
  end)

  it("cannot be deleted while associated with a stream group", function()
    local a = ready_app()
    local g = create_group({ DefaultApplicationIdentifier = a.Id })
    expect_error(api("DELETE", "/applications/" .. a.Id), 409, "ConflictException")
    assert.are.equal(204, api("DELETE", "/streamgroups/" .. g.Id).status)
    eventually(function() return get_group(g.Id).status == 404 end)
    assert.are.equal(204, api("DELETE", "/applications/" .. a.Id).status)
  end)

  it("list their shader caches once READY and associated", function()
    local a = ready_app()
    local path = "/applications/" .. a.Id .. "/shadercaches"
    assert.are.equal('{"Items":[]}', api("GET", path).body)
    local g = create_group({ DefaultApplicationIdentifier = a.Id })
    local items = api("GET", path).json.Items
    assert.are.equal(1, #items)
    assert.are.equal(a.Arn, items[1].ApplicationArn)
    assert.are.same({ g.Arn }, items[1].AssociatedStreamGroups)
    assert.matches('"StorageBytes":%d+[,}]', api("GET", path).body)
  end)
end)

describe("stream groups", function()
  it("go ACTIVATING -> ACTIVE with their locations and capacity numbers", function()
    local a = ready_app()
    local g = create_group({ DefaultApplicationIdentifier = a.Arn,
      LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 2 },
                                 { LocationName = "eu-west-1", TargetIdleCapacity = 1, MaximumCapacity = 4 } } })
    assert.matches("^sg%-%w+$", g.Id)
    assert.are.equal("ACTIVATING", g.Status)
    assert.are.equal(2, #g.LocationStates)
    assert.are.equal("ACTIVATING", g.LocationStates[1].Status)
    assert.are.same({ a.Arn }, g.AssociatedApplications)
    assert.are.same({ Id = a.Id, Arn = a.Arn }, g.DefaultApplication)
    local got = eventually(function()
      local x = get_group(g.Arn).json
      return x.Status == "ACTIVE" and x
    end)
    local west = got.LocationStates[1]
    assert.are.equal("ACTIVE", west.Status)
    assert.are.equal(2, west.AlwaysOnCapacity)
    assert.are.equal(2, west.AllocatedCapacity)
    assert.are.equal(2, west.IdleCapacity)
    assert.are.equal(1, got.LocationStates[2].RequestedCapacity)
    local app = get_app(a.Id).json
    assert.are.same({ g.Arn }, app.AssociatedStreamGroups)
  end)

  it("add and remove locations (UPDATING_LOCATIONS, then ACTIVE)", function()
    local a = ready_app()
    local g = active_group(a)
    local res = api("POST", "/streamgroups/" .. g.Id .. "/locations",
      { body = { LocationConfigurations = { { LocationName = "ap-northeast-1", AlwaysOnCapacity = 1 },
                                            { LocationName = "eu-central-1" } } } })
    assert.are.equal(200, res.status)
    assert.are.equal(g.Arn, res.json.Identifier)
    assert.are.equal(2, #res.json.Locations)
    assert.are.equal("ACTIVATING", res.json.Locations[1].Status)
    assert.are.equal("UPDATING_LOCATIONS", get_group(g.Id).json.Status)
    eventually(function() return get_group(g.Id).json.Status == "ACTIVE" end)
    local del = api("DELETE", "/streamgroups/" .. g.Id .. "/locations",
      { query = "locations=ap-northeast-1&locations=eu-central-1" })
    assert.are.equal(204, del.status)
    local x = get_group(g.Id).json
    assert.are.equal("REMOVING", x.LocationStates[2].Status)
    eventually(function() return #get_group(g.Id).json.LocationStates == 1 end)
    expect_error(api("DELETE", "/streamgroups/" .. g.Id .. "/locations", { query = "locations=us-west-2" }),
      400, "ValidationException")
    expect_error(api("DELETE", "/streamgroups/" .. g.Id .. "/locations"), 400, "ValidationException")
  end)

  it("end ACTIVE_WITH_ERRORS when a fail-me location fails, ERROR when the Description says fail-me", function()
    local g1 = create_group({ LocationConfigurations = { { LocationName = "fail-me-1" } } })
    local g2 = create_group({ Description = "fail-me group" })
    eventually(function() return get_group(g1.Id).json.Status == "ACTIVE_WITH_ERRORS" end)
    local x = eventually(function() local v = get_group(g2.Id).json return v.Status == "ERROR" and v end)
    assert.are.equal("noAvailableInstances", x.StatusReason)
  end)

  it("associate and disassociate applications, seen from both sides", function()
    local a1, a2 = ready_app(), ready_app({ Description = "second" })
    local g = active_group(a1)
    local res = api("POST", "/streamgroups/" .. g.Id .. "/associations",
      { body = { ApplicationIdentifiers = { a2.Arn } } })
    assert.are.equal(200, res.status)
    assert.are.same({ Arn = g.Arn, ApplicationArns = { a2.Arn } }, res.json)
    assert.are.same({ a1.Arn, a2.Arn }, get_group(g.Id).json.AssociatedApplications)
    assert.are.same({ g.Arn }, get_app(a2.Id).json.AssociatedStreamGroups)
    res = api("POST", "/streamgroups/" .. g.Id .. "/disassociations", { body = { ApplicationIdentifiers = { a2.Id } } })
    assert.are.equal(200, res.status)
    assert.are.same({ a2.Arn }, res.json.ApplicationArns)
    assert.matches('"AssociatedStreamGroups":%[%]', get_app(a2.Id).body)
    -- the default application stays
    expect_error(api("POST", "/streamgroups/" .. g.Id .. "/disassociations",
      { body = { ApplicationIdentifiers = { a1.Id } } }), 400, "ValidationException")
    expect_error(api("POST", "/streamgroups/" .. g.Id .. "/associations",
      { body = { ApplicationIdentifiers = { "a-notthere1" } } }), 404, "ResourceNotFoundException")
    -- an application that is not READY cannot be associated
    local sa = ready_app_on(slow_emu)
    local sg = create_group({ DefaultApplicationIdentifier = sa.Id }, slow_emu)
    control("POST", "advance", { seconds = 2.1 }, slow_emu)
    local fresh = create_app(nil, slow_emu)
    expect_error(api("POST", "/streamgroups/" .. sg.Id .. "/associations",
      { body = { ApplicationIdentifiers = { fresh.Id } }, target = slow_emu }), 400, "ValidationException")
  end)

  it("update capacity and description, and are DELETING then gone", function()
    local a = ready_app()
    local g = active_group(a)
    local res = api("PATCH", "/streamgroups/" .. g.Id, { body = { Description = "bigger",
      LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 3 } } } })
    assert.are.equal(200, res.status)
    assert.are.equal("bigger", res.json.Description)
    assert.are.equal(3, res.json.LocationStates[1].AlwaysOnCapacity)
    expect_error(api("PATCH", "/streamgroups/" .. g.Id, { body = {
      LocationConfigurations = { { LocationName = "sa-east-1" } } } }), 400, "ValidationException")
    -- DELETING lasts 1 s rather than 10 ms, so that a loaded machine still sees it
    control("POST", "config", { delay_scale = 1 })
    assert.are.equal(204, api("DELETE", "/streamgroups/" .. g.Arn:gsub("[:/]", function(c)
      return string.format("%%%02X", c:byte()) end)).status)
    assert.are.equal("DELETING", get_group(g.Id).json.Status)
    eventually(function() return get_group(g.Id).status == 404 end)
    expect_error(get_group(g.Id), 404, "ResourceNotFoundException")
  end)
end)

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
    local s = start_session(group, app).json
    local res = api("PUT", session_path(group, s.Arn) .. "/exportfiles", { body = { OutputUri = "s3://b/out/" } })
    assert.are.equal(200, res.status)
    assert.are.equal("{}", res.body)
    local md = api("GET", session_path(group, s.Arn)).json.ExportFilesMetadata
    assert.are.same({ Status = "PENDING", OutputUri = "s3://b/out/" }, md)
    eventually(function()
      return api("GET", session_path(group, s.Arn)).json.ExportFilesMetadata.Status == "SUCCEEDED"
    end)
    local list = api("GET", "/streamgroups/" .. group.Id .. "/streamsessions", { query = "ExportFilesStatus=SUCCEEDED" })
    assert.are.equal(1, #list.json.Items)
    list = api("GET", "/streamgroups/" .. group.Id .. "/streamsessions", { query = "ExportFilesStatus=FAILED" })
    assert.are.equal(0, #list.json.Items)
    local s2 = start_session(group, app).json
    api("PUT", session_path(group, s2.Arn) .. "/exportfiles", { body = { OutputUri = "s3://b/fail-me.zip" } })
    local failed = eventually(function()
      local m = api("GET", session_path(group, s2.Arn)).json.ExportFilesMetadata
      return m.Status == "FAILED" and m
    end)
    assert.is_string(failed.StatusReason)
    list = api("GET", "/streamsessions", { query = "ExportFilesStatus=FAILED" })
    assert.are.equal(s2.Arn, list.json.Items[1].Arn)
    expect_error(api("PUT", session_path(group, s.Arn) .. "/exportfiles", { body = { OutputUri = "http://x" } }),
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

describe("stream URLs", function()
  it("are created, listed, used up, and revoked", function()
    local a = ready_app()
    local g = active_group(a)
    local res = api("POST", "/streamgroups/" .. g.Id .. "/streamurls", { body = {
      ApplicationIdentifier = a.Arn, Protocol = "WebRTC", UrlExpiresAfterMinutes = 10, UsageLimit = 1,
      Locations = { "us-west-2" }, Description = "demo url" } })
    assert.are.equal(201, res.status, res.body)
    local u = res.json
    assert.are.equal("ACTIVE", u.Status)
    assert.are.equal(1, u.RemainingUses)
    assert.matches('"ExpiresAt":%d+[,}]', res.body)
    local list = api("GET", "/streamurls", { query = "StreamGroupIdentifier=" .. url_encode(g.Arn) }).json
    assert.are.equal(1, #list.Items)
    assert.are.equal(u.Arn, list.Items[1].Arn)
    -- a browser opens it: one use, one session
    local play = pool:request{ method = "GET", url = u.StreamUrl, timeout = 5 }
    assert.are.equal(200, play.status, play.body)
    local got = api("GET", "/streamgroups/" .. g.Id .. "/streamurls/" .. u.StreamUrlId).json
    assert.are.equal("LIMIT_REACHED", got.Status)
    assert.are.equal(0, got.RemainingUses)
    assert.are.equal(1, #got.StreamSessions)
    local rev = api("POST", "/streamgroups/" .. g.Id .. "/streamurls/" .. url_encode(u.Arn) .. "/revoke",
      { body = { RevocationMode = "REVOKE_AND_TERMINATE_SESSIONS" } })
    assert.are.equal(204, rev.status)
    got = api("GET", "/streamgroups/" .. g.Id .. "/streamurls/" .. u.StreamUrlId).json
    assert.are.equal("REVOKED", got.Status)
    assert.are.equal("revokedAndTerminatingSessions", got.StatusReason)
    assert.are.equal(1, #api("GET", "/streamurls", { query = "Status=REVOKED" }).json.Items)
    assert.are.equal(0, #api("GET", "/streamurls", { query = "Status=ACTIVE" }).json.Items)
    eventually(function()
      return api("GET", "/streamsessions", { query = "Status=TERMINATED" }).json.Items[1] ~= nil
    end)
  end)
end)

describe("stream URL expiry", function()
  it("expires after UrlExpiresAfterMinutes on the emulator's clock (advance does not break signatures)", function()
    local a = ready_app_on(slow_emu)
    local g = create_group({ DefaultApplicationIdentifier = a.Id }, slow_emu)
    control("POST", "advance", { seconds = 2.1 }, slow_emu)
    local u = api("POST", "/streamgroups/" .. g.Id .. "/streamurls", { target = slow_emu, body = {
      ApplicationIdentifier = a.Id, Protocol = "WebRTC", UrlExpiresAfterMinutes = 1, Locations = { "us-west-2" } } })
    assert.are.equal(201, u.status, u.body)
    assert.is_true(math.abs(u.json.ExpiresAt - (u.json.CreatedAt + 60)) < 1)
    control("POST", "advance", { seconds = 61 }, slow_emu)
    local got = api("GET", "/streamgroups/" .. g.Id .. "/streamurls/" .. u.json.StreamUrlId, { target = slow_emu })
    assert.are.equal(200, got.status)
    assert.are.equal("EXPIRED", got.json.Status)
  end)
end)

describe("tags", function()
  it("are set at create, added, listed and removed on ARNs", function()
    local a = create_app({ Tags = { env = "dev" } })
    local path = "/tags/" .. url_encode(a.Arn)
    assert.are.same({ Tags = { env = "dev" } }, api("GET", path).json)
    local res = api("POST", path, { body = { Tags = { team = "blue", ["team name"] = "x" } } })
    assert.are.equal(200, res.status)
    assert.are.equal("{}", res.body)
    assert.are.same({ env = "dev", team = "blue", ["team name"] = "x" }, api("GET", path).json.Tags)
    res = api("DELETE", path, { query = "tagKeys=env&tagKeys=team%20name" })
    assert.are.equal(200, res.status)
    assert.are.same({ team = "blue" }, api("GET", path).json.Tags)
    expect_error(api("GET", "/tags/" .. url_encode("arn:aws:gameliftstreams:us-west-2:012345678901:abcdefghi")),
      400, "ValidationException")
    expect_error(api("GET", "/tags/" .. url_encode(a.Arn:gsub("a%-%w+$", "a-000000000"))), 404,
      "ResourceNotFoundException")
    expect_error(api("DELETE", path), 400, "ValidationException")
  end)
end)

describe("pagination", function()
  it("pages with MaxResults and opaque NextToken, ending without a token", function()
    for i = 1, 7 do create_app({ Description = "app " .. i }) end
    local seen, token, pages = {}, nil, 0
    repeat
      local q = "MaxResults=3" .. (token and ("&NextToken=" .. url_encode(token)) or "")
      local res = api("GET", "/applications", { query = q })
      assert.are.equal(200, res.status)
      pages = pages + 1
      assert.is_true(#res.json.Items <= 3)
      for _, it in ipairs(res.json.Items) do seen[#seen + 1] = it.Description end
      token = res.json.NextToken
    until not token
    assert.are.equal(3, pages)
    assert.are.same({ "app 1", "app 2", "app 3", "app 4", "app 5", "app 6", "app 7" }, seen)
  end)

  it("rejects MaxResults out of range and invalid tokens with ValidationException", function()
    for _, q in ipairs({ "MaxResults=0", "MaxResults=101", "MaxResults=abc", "NextToken=garbage" }) do
      expect_error(api("GET", "/applications", { query = q }), 400, "ValidationException")
    end
    for i = 1, 3 do create_group({ Description = "g" .. i }) end
    local t = api("GET", "/streamgroups", { query = "MaxResults=1" }).json.NextToken
    assert.is_string(t)
    -- a token of another operation is not accepted
    expect_error(api("GET", "/applications", { query = "NextToken=" .. url_encode(t) }), 400, "ValidationException")
    assert.are.equal(200, api("GET", "/streamgroups", { query = "NextToken=" .. url_encode(t) }).status)
  end)
end)

describe("idempotency", function()
  it("returns the same resource for a repeated ClientToken", function()
    local token = "11111111-2222-4333-8444-555555555555"
    local r1 = api("POST", "/applications", { body = with(APP, { ClientToken = token }) })
    local r2 = api("POST", "/applications", { body = with(APP, { ClientToken = token }) })
    assert.are.equal(201, r1.status)
    assert.are.equal(201, r2.status)
    assert.are.equal(r1.json.Id, r2.json.Id)
    assert.are.equal(1, #api("GET", "/applications").json.Items)
    local r3 = api("POST", "/applications", { body = with(APP, { ClientToken = token, Description = "different" }) })
    expect_error(r3, 409, "ConflictException")
  end)

  it("does not start a second session for a retried StartStreamSession", function()
    local a = ready_app()
    local g = active_group(a)
    local token = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    local s1 = start_session(g, a, { ClientToken = token }).json
    local s2 = start_session(g, a, { ClientToken = token }).json
    assert.are.equal(s1.Arn, s2.Arn)
    assert.are.equal(1, #api("GET", "/streamsessions").json.Items)
  end)
end)

describe("signature verification", function()
  it("rejects a wrong secret with InvalidSignatureException", function()
    local res = api("GET", "/applications",
      { creds = { access_key_id = "AKIDEMULATOR", secret_access_key = "wrong" } })
    expect_error(res, 403, "InvalidSignatureException")
    assert.matches("signature we calculated does not match", res.json.message)
  end)

  it("rejects a tampered body", function()
    local res = api("POST", "/applications", { body = APP, send_body = cjson.encode(with(APP, { Description = "evil" })) })
    expect_error(res, 403, "InvalidSignatureException")
    assert.are.equal(0, #api("GET", "/applications").json.Items)
  end)

  it("rejects an unknown access key with UnrecognizedClientException", function()
    expect_error(api("GET", "/applications", { creds = { access_key_id = "AKIDNOBODY", secret_access_key = "x" } }),
      403, "UnrecognizedClientException")
  end)

  it("rejects a request without Authorization", function()
    local res = pool:request{ method = "GET", url = emu.url .. "/applications", timeout = 5 }
    assert.are.equal(403, res.status)
    assert.are.equal("MissingAuthenticationTokenException", res.headers["x-amzn-errortype"])
  end)

  it("rejects a request signed more than 5 minutes away, with the emulator's Date", function()
    local res = api("GET", "/applications", { time = math.floor(core.time()) - 600 })
    expect_error(res, 403, "InvalidSignatureException")
    assert.matches("Signature expired", res.json.message)
    assert.is_string(res.headers["date"])
    assert.are.equal(200, api("GET", "/applications", { time = math.floor(core.time()) - 200 }).status)
  end)

  it("follows the emulator clock offset (clock-skew tests)", function()
    control("POST", "clock", { offset = 1000 })
    local res = api("GET", "/applications")
    expect_error(res, 403, "InvalidSignatureException")
    local skewed = api("GET", "/applications", { time = math.floor(core.time()) + 1000 })
    assert.are.equal(200, skewed.status)
    local _, clock = control("GET", "clock")
    assert.are.equal(1000, clock.offset)
  end)

  it("accepts credentials added by the control API, session token included", function()
    local creds = { access_key_id = "AKIDTEMP", secret_access_key = "temp-secret", session_token = "tok123" }
    control("POST", "credentials", creds)
    assert.are.equal(200, api("GET", "/applications", { creds = creds }).status)
    expect_error(api("GET", "/applications", { creds = { access_key_id = "AKIDTEMP",
      secret_access_key = "temp-secret", session_token = "other" } }), 403, "UnrecognizedClientException")
  end)

  it("verifies percent-encoded ARN labels and repeated query keys", function()
    local a = create_app({ Tags = { a = "1", b = "2" } })
    local res = api("DELETE", "/tags/" .. url_encode(a.Arn), { query = "tagKeys=b&tagKeys=a" })
    assert.are.equal(200, res.status, res.body)
  end)

  it("verifies a signed header sent several times", function()
    local res = api("GET", "/applications", { headers = { ["x-amz-meta-list"] = { "one", "two" } } })
    assert.are.equal(200, res.status, res.body)
    local _, log = control("GET", "requests?limit=1")
    assert.are.equal("one, two", log.requests[1].headers["x-amz-meta-list"])
  end)

  it("accepts presigned (query string) requests until they expire", function()
    local function presigned(time, expires)
      return core.sign{ method = "GET", url = emu.url .. "/applications?MaxResults=5", headers = {}, body = "",
        region = "us-west-2", service = "gameliftstreams", credentials = emu.credentials,
        time = time, presign = expires }.url
    end
    local now = math.floor(core.time())
    local ok = pool:request{ method = "GET", url = presigned(now, 60), timeout = 5 }
    assert.are.equal(200, ok.status, ok.body)
    local old = pool:request{ method = "GET", url = presigned(now - 120, 60), timeout = 5 }
    assert.are.equal(403, old.status)
    assert.are.equal("AccessDeniedException", old.headers["x-amzn-errortype"])
    local tampered = presigned(now, 60):gsub("MaxResults=5", "MaxResults=6")
    local bad = pool:request{ method = "GET", url = tampered, timeout = 5 }
    assert.are.equal(403, bad.status)
    assert.are.equal("InvalidSignatureException", bad.headers["x-amzn-errortype"])
  end)

  it("accepts --credentials given on the command line", function()
    local other = helpers.start_emulator{ args = { "--credentials", "AKIDCLI:cli-secret", "--no-default-credentials" } }
    local ok, err = pcall(function()
      assert.are.equal(200, api("GET", "/applications", { target = other,
        creds = { access_key_id = "AKIDCLI", secret_access_key = "cli-secret" } }).status)
      expect_error(api("GET", "/applications", { target = other }), 403, "UnrecognizedClientException")
    end)
    other.stop()
    assert(ok, err)
  end)
end)

describe("fault injection", function()
  it("throttles the matching operation count times, FIFO, then serves normally", function()
    control("POST", "faults", { operation = "ListApplications", count = 2, kind = "throttle", retry_after = 1500 })
    control("POST", "faults", { operation = "*", kind = "error", status = 503, code = "ServiceUnavailable" })
    expect_error(api("GET", "/streamgroups"), 503, "ServiceUnavailable")
    local r1 = api("GET", "/applications")
    expect_error(r1, 429, "ThrottlingException")
    assert.are.equal("1500", r1.headers["x-amz-retry-after"])
    expect_error(api("GET", "/applications"), 429, "ThrottlingException")
    assert.are.equal(200, api("GET", "/applications").status)
    local _, left = control("GET", "faults")
    assert.are.equal(0, #left.faults)
    -- x-amz-retry-after is whole milliseconds: a fraction is refused, a string goes verbatim
    local st = control("POST", "faults", { kind = "throttle", retry_after = 1.5 })
    assert.are.equal(400, st)
    control("POST", "faults", { operation = "ListApplications", kind = "throttle", retry_after = "soon" })
    assert.are.equal("soon", api("GET", "/applications").headers["x-amz-retry-after"])
  end)

  it("returns any error status and code", function()
    control("POST", "faults", { operation = "GetApplication", kind = "error", status = 500,
      code = "InternalServerException", message = "boom" })
    local res = api("GET", "/applications/a-123456789")
    expect_error(res, 500, "InternalServerException")
    assert.are.equal("boom", res.json.message)
  end)

  it("delays a slow answer without blocking other connections", function()
    control("POST", "faults", { operation = "ListStreamGroups", kind = "slow", seconds = 0.4 })
    local url = emu.url .. "/streamgroups"
    local signed = core.sign{ method = "GET", url = url, headers = {}, body = "", region = "us-west-2",
      service = "gameliftstreams", credentials = emu.credentials }
    local t0 = core.monotime()
    local id = pool:add{ method = "GET", url = url, headers = signed.headers, timeout = 5 }
    pool:perform(0.01)
    local quick = api("GET", "/applications")
    assert.are.equal(200, quick.status)
    assert.is_true(core.monotime() - t0 < 0.3)
    local r
    repeat pool:perform(0.05); r = pool:take(id) until r
    assert.are.equal(200, r.status)
    assert.is_true(core.monotime() - t0 >= 0.4)
  end)

  it("drops, garbles, truncates, or hangs", function()
    -- libcurl silently resends a request whose reused connection is reset before any
    -- byte of the answer, so the drop goes to a pool without idle connections
    control("POST", "faults", { { operation = "ListApplications", kind = "drop" },
      { operation = "ListApplications", kind = "garbage" },
      { operation = "ListApplications", kind = "truncate" },
      { operation = "ListApplications", kind = "hang" } })
    control("DELETE", "requests")
    local fresh = core.http_pool{}
    local r = api("GET", "/applications", { pool = fresh })
    fresh:close()
    assert.is_table(r.error)
    assert.are.equal("NetworkError", r.error.code)
    local _, log = control("GET", "requests")
    assert.are.equal(1, #log.requests)
    assert.are.equal("drop", log.requests[1].fault)
    r = api("GET", "/applications")
    assert.are.equal(200, r.status)
    assert.is_false(pcall(cjson.decode, r.body))
    r = api("GET", "/applications")
    assert.is_table(r.error)
    r = api("GET", "/applications", { timeout = 0.3 })
    assert.is_table(r.error)
    assert.are.equal("Timeout", r.error.code)
    assert.are.equal(200, api("GET", "/applications").status)
  end)

  it("can fail after doing the work (lost response)", function()
    control("POST", "faults", { operation = "CreateApplication", kind = "error", status = 500,
      code = "InternalServerException", after = true })
    local token = "99999999-2222-4333-8444-555555555555"
    expect_error(api("POST", "/applications", { body = with(APP, { ClientToken = token }) }), 500,
      "InternalServerException")
    local created = api("GET", "/applications").json.Items
    assert.are.equal(1, #created)
    local retry = api("POST", "/applications", { body = with(APP, { ClientToken = token }) })
    assert.are.equal(201, retry.status)
    assert.are.equal(1, #api("GET", "/applications").json.Items)
  end)

  it("answers ServiceQuotaExceededException (402) once a quota set by the control API is reached", function()
    assert.are.equal(200, (control("POST", "config", { quotas = { applications = 1 } })))
    create_app()
    expect_error(api("POST", "/applications", { body = APP }), 402, "ServiceQuotaExceededException")
    control("POST", "config", { quotas = { applications = false } })
    create_app()
  end)

  it("rejects malformed fault definitions", function()
    assert.are.equal(400, (control("POST", "faults", { kind = "explode" })))
    assert.are.equal(400, (control("POST", "faults", { kind = "throttle", count = 0 })))
  end)
end)

describe("the request log", function()
  it("records what was sent: method, raw path, query, headers, body, operation, attempt", function()
    control("DELETE", "requests")
    local a = create_app({ ClientToken = "12345678-1234-4234-8234-123456789012" })
    api("GET", "/tags/" .. url_encode(a.Arn), { headers = { ["amz-sdk-request"] = "attempt=2; max=3",
      ["amz-sdk-invocation-id"] = "inv-1" } })
    api("DELETE", "/streamgroups/sg-123456789/locations", { query = "locations=a&locations=b" })
    local _, log = control("GET", "requests")
    assert.are.equal(3, #log.requests)
    local c, t, d = log.requests[1], log.requests[2], log.requests[3]
    assert.are.equal("CreateApplication", c.operation)
    assert.are.equal("POST", c.method)
    assert.are.equal("12345678-1234-4234-8234-123456789012", c.client_token)
    assert.are.equal("demo app", cjson.decode(c.body).Description)
    assert.are.equal(201, c.status)
    assert.are.equal("ListTagsForResource", t.operation)
    assert.are.equal("/tags/" .. url_encode(a.Arn), t.path)
    assert.are.equal(2, t.attempt)
    assert.are.equal(3, t.max_attempts)
    assert.are.equal("inv-1", t.invocation_id)
    assert.is_string(t.headers["authorization"])
    assert.are.equal("RemoveStreamGroupLocations", d.operation)
    assert.are.equal("locations=a&locations=b", d.query)
    assert.are.equal("ResourceNotFoundException", d.error)
    local _, only = control("GET", "requests?operation=CreateApplication")
    assert.are.equal(1, #only.requests)
    control("DELETE", "requests")
    local _, empty = control("GET", "requests")
    assert.are.equal(0, #empty.requests)
  end)

  it("keeps the expected canonical request of a rejected signature", function()
    api("GET", "/applications", { creds = { access_key_id = "AKIDEMULATOR", secret_access_key = "wrong" } })
    local _, log = control("GET", "requests?limit=1")
    assert.are.equal(1, #log.requests)
    assert.is_false(log.requests[1].auth.ok)
    assert.matches("^GET\n/applications\n", log.requests[1].auth.canonical_request)
  end)
end)

describe("the request log's bounds", function()
  it("holds at most log_bytes in all, dropping the oldest entries", function()
    assert.are.equal(200, (control("POST", "config", { log_bytes = 100000 })))
    control("DELETE", "requests")
    for i = 1, 6 do
      api("POST", "/applications", { body = with(APP, { Description = "n" .. i, ApplicationLogPaths = { string.rep("p", 100) } }),
        headers = { ["x-pad"] = string.rep(tostring(i), 30000) } })
    end
    local _, log = control("GET", "requests")
    assert.is_true(#log.requests >= 2 and #log.requests <= 3, #log.requests .. " entries")
    assert.are.equal(string.rep("6", 30000), log.requests[#log.requests].headers["x-pad"])
    local _, cfg = control("GET", "config")
    assert.are.equal(100000, cfg.log_bytes)
  end)

  it("keeps at most 1 MiB of a body, and says how long it was", function()
    local body = cjson.encode(with(APP, { Description = string.rep("d", 2 * 1024 * 1024) }))
    local res = api("POST", "/applications", { body = body })
    expect_error(res, 400, "ValidationException")
    local _, log = control("GET", "requests?limit=1")
    local e = log.requests[1]
    assert.are.equal(1024 * 1024, #e.body)
    assert.is_true(e.body_truncated)
    assert.are.equal(#body, e.body_bytes)
  end)

  it("keeps no headers, query or body of a request that fails authentication", function()
    control("DELETE", "requests")
    local res = api("POST", "/applications", { body = APP, query = "x=1",
      creds = { access_key_id = "AKIDEMULATOR", secret_access_key = "wrong" } })
    expect_error(res, 403, "InvalidSignatureException")
    api("GET", "/applications", { creds = { access_key_id = "AKIDNOBODY", secret_access_key = "x" } })
    local _, log = control("GET", "requests")
    assert.are.equal(2, #log.requests)
    for _, e in ipairs(log.requests) do
      assert.is_nil(e.headers)
      assert.is_nil(e.body)
      assert.is_nil(e.query)
      assert.is_false(e.auth.ok)
      assert.are.equal(403, e.status)
    end
    assert.are.equal("UnrecognizedClientException", log.requests[2].auth.code)
  end)
end)

describe("control values out of range", function()
  local function raw_control(method, path, raw)
    local res = pool:request{ method = method, url = emu.url .. "/_emulator/" .. path,
      headers = { ["content-type"] = "application/json" }, body = raw, timeout = 5 }
    return res.status, res.body and cjson.decode(res.body)
  end

  it("are refused with 400 naming the field and its range, and change nothing", function()
    local cases = {
      { "clock", '{"offset":1e300}', "offset" }, { "clock", '{"offset":-1e10}', "offset" },
      { "clock", '{"offset":1e400}', "offset" }, { "advance", '{"seconds":1e300}', "seconds" },
      { "config", '{"delay_scale":1e300}', "delay_scale" }, { "config", '{"log_size":1e300}', "log_size" },
      { "config", '{"log_bytes":-1}', "log_bytes" }, { "config", '{"quotas":{"applications":1e300}}', "applications" },
      { "config", '{"auth":"no"}', "auth" }, { "faults", '{"kind":"throttle","count":1e300}', "count" },
      { "faults", '{"kind":"slow","seconds":1e300}', "seconds" },
      { "faults", '{"kind":"error","headers":{"x-a":"1\\r\\nx-b: 2"}}', "x%-a" },
      { "faults", '{"kind":"error","code":"A\\r\\nB"}', "code" },
    }
    for _, c in ipairs(cases) do
      local status, body = raw_control("POST", c[1], c[2])
      assert.are.equal(400, status, c[2])
      assert.matches(c[3], body.message, 1)
      if c[3] ~= "auth" and c[3] ~= "code" and not c[2]:find("headers") then
        assert.matches("between", body.message, 1, true)
      end
    end
    local status, body = raw_control("GET", "requests?limit=abc")
    assert.are.equal(400, status)
    assert.matches("limit", body.message)
    -- nothing changed: signed requests are answered as before
    assert.are.equal(200, api("GET", "/applications").status)
    local _, clock = control("GET", "clock")
    assert.are.equal(0, clock.offset)
    local _, cfg = control("GET", "config")
    assert.are.equal(0.01, cfg.delay_scale)
    assert.is_true(cfg.auth)
    local _, faults = control("GET", "faults")
    assert.are.equal(0, #faults.faults)
  end)

  it("still accept offsets of years either way", function()
    assert.are.equal(200, (control("POST", "clock", { offset = 3600 * 24 * 365 * 20 })))
    expect_error(api("GET", "/applications"), 403, "InvalidSignatureException")
    assert.are.equal(200, (control("POST", "clock", { offset = -3600 * 24 * 365 * 20 })))
    expect_error(api("GET", "/applications"), 403, "InvalidSignatureException")
  end)
end)
