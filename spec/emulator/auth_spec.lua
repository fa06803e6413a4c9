-- SigV4 verification (emulator/auth.lua): header and presigned requests, clock offset,
-- credentials added at run time.
local helpers = require("helpers")
local cjson = require("cjson")
local E = require("support.emulator")

local core = helpers.core()
local url_encode, api, control, expect_error = E.url_encode, E.api, E.control, E.expect_error
local APP, with, create_app = E.APP, E.with, E.create_app
local emu, _, pool = E.per_file()

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
