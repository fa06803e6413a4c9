-- The emulator's restJson1 (emulator/server.lua, input.lua, schema.lua, json.lua): request ids,
-- error types, validation, how numbers and lists are printed.
local helpers = require("helpers")
local E = require("support.emulator")

local core = helpers.core()
local url_encode, api, control, expect_error = E.url_encode, E.api, E.control, E.expect_error
local APP, with = E.APP, E.with
E.per_file()

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
