-- Fault injection (emulator/faults.lua) and quotas set by the control API.
local helpers = require("helpers")
local cjson = require("cjson")
local E = require("support.emulator")

local core = helpers.core()
local api, control, expect_error, APP, with = E.api, E.control, E.expect_error, E.APP, E.with
local create_app = E.create_app
local emu, _, pool = E.per_file()

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
