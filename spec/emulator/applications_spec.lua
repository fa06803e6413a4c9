-- Applications (emulator/resources/applications.lua): their lifecycle, ARNs, deletion and
-- shader caches.
local E = require("support.emulator")

local url_encode, api, control, sleep = E.url_encode, E.api, E.control, E.sleep
local eventually, expect_error, APP, create_app = E.eventually, E.expect_error, E.APP, E.create_app
local get_app, ready_app, create_group = E.get_app, E.ready_app, E.create_group
local get_group = E.get_group
local _, slow_emu = E.per_file{ slow = true }

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
