-- Stream groups (emulator/resources/stream_groups.lua): lifecycle, locations, capacity,
-- associations.
local E = require("support.emulator")

local api, control, eventually, expect_error = E.api, E.control, E.eventually, E.expect_error
local create_app, get_app, ready_app = E.create_app, E.get_app, E.ready_app
local ready_app_on, create_group, get_group = E.ready_app_on, E.create_group, E.get_group
local active_group = E.active_group
local _, slow_emu = E.per_file{ slow = true }

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
