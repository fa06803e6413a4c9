-- The request log (emulator/requestlog.lua): what it records and its bounds.
local cjson = require("cjson")
local E = require("support.emulator")

local url_encode, api, control, expect_error = E.url_encode, E.api, E.control, E.expect_error
local APP, with, create_app = E.APP, E.with, E.create_app
local emu, _, pool = E.per_file()

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

describe("the request log's secrets", function()
  local core = require("helpers").core()
  local TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE+log/token=="
  local CREDS = { access_key_id = "AKIDLOGTOKEN", secret_access_key = "log-secret-key", session_token = TOKEN }

  local function log_text()
    local _, log = control("GET", "requests")
    return log, cjson.encode(log)
  end

  it("keeps the signature and the session token of a header-signed request as REDACTED", function()
    control("POST", "credentials", CREDS)
    control("DELETE", "requests")
    local sent
    local res = api("GET", "/applications", { creds = CREDS, tamper = function(h) sent = h.authorization end })
    assert.are.equal(200, res.status, res.body)
    local signature = sent:match("Signature=(%x+)$")
    assert.are.equal(64, #signature)
    local log, text = log_text()
    local h = log.requests[1].headers
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDLOGTOKEN/%d+/us%-west%-2/gameliftstreams/aws4_request, "
      .. "SignedHeaders=host;x%-amz%-date;x%-amz%-security%-token, Signature=REDACTED$", h.authorization)
    assert.are.equal("REDACTED", h["x-amz-security-token"])
    assert.is_string(h["x-amz-date"])
    assert.is_nil(text:find(TOKEN, 1, true))
    assert.is_nil(text:find("log-secret-key", 1, true))
    assert.is_nil(text:find(signature, 1, true))
  end)

  it("keeps X-Amz-Signature and X-Amz-Security-Token of a presigned request as REDACTED", function()
    control("POST", "credentials", CREDS)
    control("DELETE", "requests")
    local url = core.sign{ method = "GET", url = emu.url .. "/applications?MaxResults=5", headers = {},
      body = "", region = "us-west-2", service = "gameliftstreams", credentials = CREDS, presign = 60 }.url
    local res = pool:request{ method = "GET", url = url, timeout = 5 }
    assert.are.equal(200, res.status, res.body)
    local sig = url:match("X%-Amz%-Signature=(%x+)")
    local log, text = log_text()
    local q = log.requests[1].query
    assert.matches("MaxResults=5", q)
    assert.matches("X%-Amz%-Credential=AKIDLOGTOKEN%%2F%d+%%2Fus%-west%-2%%2Fgameliftstreams%%2Faws4_request", q)
    assert.matches("X%-Amz%-Signature=REDACTED", q)
    assert.matches("X%-Amz%-Security%-Token=REDACTED", q)
    assert.is_nil(text:find(sig, 1, true))
    assert.is_nil(text:find("IQoJb3JpZ2luX2VjEXAMPLE", 1, true)) -- encoded or not
  end)

  it("keeps only the scheme of another Authorization (--no-auth)", function()
    assert.are.equal(200, (control("POST", "config", { auth = false })))
    control("DELETE", "requests")
    for _, authz in ipairs{ "Bearer secret-bearer-value", "secret-bearer-value" } do
      local res = pool:request{ method = "GET", url = emu.url .. "/applications", timeout = 5,
        headers = { authorization = authz, ["x-amz-security-token"] = "secret-bearer-value" } }
      assert.are.equal(200, res.status, res.body)
    end
    local log, text = log_text()
    assert.are.equal("Bearer REDACTED", log.requests[1].headers.authorization)
    assert.are.equal("REDACTED", log.requests[2].headers.authorization)
    assert.is_nil(text:find("secret-bearer-value", 1, true))
  end)

  it("keeps the session token out of a rejected signature's canonical request", function()
    control("POST", "credentials", CREDS)
    control("DELETE", "requests")
    local res = api("GET", "/applications", { creds = { access_key_id = CREDS.access_key_id,
      secret_access_key = "wrong", session_token = TOKEN } })
    assert.are.equal(403, res.status)
    local log, text = log_text()
    local e = log.requests[1]
    assert.is_false(e.auth.ok)
    assert.matches("\nx%-amz%-security%-token:REDACTED\n", e.auth.canonical_request)
    assert.matches("\nhost;x%-amz%-date;x%-amz%-security%-token\n", e.auth.canonical_request)
    assert.is_nil(text:find("IQoJb3JpZ2luX2VjEXAMPLE", 1, true))
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
