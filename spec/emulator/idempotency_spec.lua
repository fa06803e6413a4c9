-- ClientToken: a repeated create returns what the first made.
local E = require("support.emulator")

local api, expect_error, APP, with, ready_app = E.api, E.expect_error, E.APP, E.with, E.ready_app
local active_group, start_session = E.active_group, E.start_session
E.per_file()

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
