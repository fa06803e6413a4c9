-- Stream URLs (emulator/resources/stream_urls.lua): used up, revoked, expired.
local E = require("support.emulator")

local url_encode, api, control, eventually = E.url_encode, E.api, E.control, E.eventually
local ready_app, ready_app_on, create_group = E.ready_app, E.ready_app_on, E.create_group
local active_group = E.active_group
local _, slow_emu, pool = E.per_file{ slow = true }

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
