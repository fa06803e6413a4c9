-- The errors of a client's calls against the emulator: the service's, retried or not (keeping
-- the ClientToken), a skewed clock corrected, the transport's failures, and no secret shown.
local helpers = require("helpers")
local core = require("gameliftstreams.core")
local C = require("support.client")

local new_app_input = C.new_app_input

describe("client calls against the emulator", function()
  local emu, client, requests, fault = C.against_emulator()

  it("returns the service's error with status, request id and retryable", function()
    local c = client{ endpoint = emu.url }
    local out, err = c:get_application{ Identifier = "a-doesnotexist" }
    assert.is_nil(out)
    assert.equal("ResourceNotFoundException", err.code)
    assert.equal(404, err.status)
    assert.equal(requests()[1].request_id, err.request_id)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    assert.equal(0, err.backoff)
    assert.matches("^ResourceNotFoundException: .+ %(HTTP 404, request id [%x-]+%)$", tostring(err))
  end)

  it("returns a signature error for wrong keys", function()
    local c = client{ endpoint = emu.url, credentials = { access_key_id = "AKIDEMULATOR", secret_access_key = "wrong" } }
    local _, err = c:list_applications()
    assert.equal("InvalidSignatureException", err.code)
    assert.equal(403, err.status)
    assert.is_nil(tostring(err):find("wrong", 1, true))
  end)

  it("retries a 500 and keeps the ClientToken across attempts", function()
    local c = client{ endpoint = emu.url }
    fault{ kind = "error", code = "InternalServerException", operation = "CreateApplication", count = 1 }
    local out, err = c:create_application(new_app_input())
    assert.is_nil(err)
    assert.matches("^arn:aws:gameliftstreams:", out.Arn)
    local reqs = requests("CreateApplication")
    assert.equal(2, #reqs)
    assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", reqs[1].client_token)
    assert.equal(reqs[1].client_token, reqs[2].client_token)
  end)

  it("does not create twice when a response is lost after the work was done", function()
    local c = client{ endpoint = emu.url }
    fault{ kind = "error", code = "InternalServerException", operation = "CreateApplication", count = 1, after = true }
    local out = assert(c:create_application(new_app_input("once")))
    local list = assert(c:list_applications())
    assert.equal(1, #list.Items)
    assert.equal(out.Arn, list.Items[1].Arn)
  end)

  it("gives up after max_attempts with attempts and backoff on the error", function()
    local c = client{ endpoint = emu.url, max_attempts = 3 }
    fault{ kind = "throttle", operation = "ListStreamGroups", count = 5 }
    local out, err = c:list_stream_groups()
    assert.is_nil(out)
    assert.equal("ThrottlingException", err.code)
    assert.equal(429, err.status)
    assert.is_true(err.retryable)
    assert.equal(3, err.attempts)
    assert.is_true(err.backoff > 0)
    assert.is_true(math.abs(err.backoff - 0.03) < 1e-9) -- 0.01 * 1 s + 0.01 * 2 s
    assert.equal(3, #requests("ListStreamGroups"))
  end)

  it("tells the two 409 errors apart: ConflictException is final, StreamSessionAccessNotReady is retried", function()
    local c = client{ endpoint = emu.url }
    fault{ kind = "error", code = "ConflictException", operation = "ListApplications", count = 3 }
    local _, err = c:list_applications()
    assert.equal("ConflictException", err.code)
    assert.equal(409, err.status)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    helpers.control(emu, "DELETE", "faults")
    fault{ kind = "error", code = "StreamSessionAccessNotReadyException", operation = "ListApplications", count = 1 }
    local out, err2 = c:list_applications()
    assert.is_nil(err2)
    assert.is_table(out)
  end)

  it("does not retry with max_attempts = 1", function()
    local c = client{ endpoint = emu.url, max_attempts = 1 }
    fault{ kind = "throttle", operation = "ListApplications", count = 1 }
    local _, err = c:list_applications()
    assert.equal("ThrottlingException", err.code)
    assert.equal(1, err.attempts)
    assert.equal(1, #requests())
  end)

  it("corrects a skewed clock from the Date header and resends once, at once", function()
    helpers.control(emu, "POST", "clock", { offset = 3600 })
    local c = client{ endpoint = emu.url, max_attempts = 2 }
    local t0 = os.time()
    local out, err = c:list_applications()
    assert.is_nil(err)
    assert.is_table(out)
    assert.equal(2, #requests())
    assert.is_true(os.time() - t0 < 2) -- no back-off before the resend
    assert.is_true(math.abs(c.skew - 3600) < 5)
    -- the next call is signed with the corrected clock at once
    assert(c:list_applications())
    assert.equal(3, #requests())
    -- a skew in the other direction
    helpers.control(emu, "POST", "clock", { offset = -3600 })
    assert(c:list_applications())
    assert.is_true(math.abs(c.skew + 3600) < 5)
  end)

  it("sends no skew resend beyond max_attempts = 1, and still corrects the clock for the next call", function()
    helpers.control(emu, "POST", "clock", { offset = 3600 })
    local c = client{ endpoint = emu.url, max_attempts = 1 }
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal(403, err.status)
    assert.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.equal(1, #requests())
    assert.is_true(math.abs(c.skew - 3600) < 5)
    assert(c:list_applications())
    assert.equal(2, #requests())
  end)

  it("resends each concurrent call signed with the old clock, once another corrected it", function()
    helpers.control(emu, "POST", "clock", { offset = 3600 })
    local c = client{ endpoint = emu.url, max_attempts = 2 }
    local sched = require("gameliftstreams.sched")
    local tasks = {}
    for i = 1, 4 do tasks[i] = sched.spawn(function() return c:list_applications() end) end
    assert(sched.run())
    for i = 1, 4 do
      local r = tasks[i].results
      assert.is_table(r[1], tostring(r[2]))
    end
    assert.equal(8, #requests()) -- all four signed before the first answer came back
  end)

  it("cuts the session token and the secret out of a service message that quotes the request, and sensitive members", function()
    -- AWS's InvalidSignatureException (and the emulator's) quotes the canonical request it
    -- expected, x-amz-security-token and all
    local token = "IQoJb3JpZ2luX2VjEXAMPLE-SESSION-TOKEN-" .. string.rep("t", 40)
    local emu2 = helpers.start_emulator{ args = { "--credentials", "AKIDTOKEN:right-secret-abc:" .. token } }
    local ok, e = pcall(function()
      local c = client{ endpoint = emu2.url, credentials = { access_key_id = "AKIDTOKEN",
        secret_access_key = "wrong-secret-key-xyz", session_token = token } }
      local out, err = c:list_applications()
      assert.is_nil(out)
      assert.equal("InvalidSignatureException", err.code)
      assert.truthy(err.message:find("x-amz-security-token:REDACTED\n", 1, true), err.message)
      for _, s in ipairs{ err.message, tostring(err) } do
        assert.is_nil(s:find(token, 1, true))
        assert.is_nil(s:find("wrong-secret-key-xyz", 1, true))
      end
      -- a service message quoting the token and a sensitive member's value
      local secret = "v=0 o=- SECRET-OFFER-4242"
      assert.equal(200, (helpers.control(emu2, "POST", "faults", { kind = "error", code = "ValidationException",
        status = 400, operation = "StartStreamSession", message = "got " .. token .. " and '" .. secret .. "'" })))
      c = client{ endpoint = emu2.url, credentials = { access_key_id = "AKIDTOKEN",
        secret_access_key = "right-secret-abc", session_token = token } }
      _, err = c:start_stream_session{ Identifier = "sg-nothere", ApplicationIdentifier = "a-nothere",
        Protocol = "WebRTC", SignalRequest = secret }
      assert.equal("ValidationException", err.code)
      assert.equal("got REDACTED and 'REDACTED'", err.message)
    end)
    emu2.stop()
    assert(ok, e)
  end)

  it("does not retry a wrong secret (InvalidSignatureException with a correct clock)", function()
    local c = client{ endpoint = emu.url,
                      credentials = { access_key_id = emu.access_key_id, secret_access_key = "wrong" } }
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal("InvalidSignatureException", err.code)
    assert.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.equal(1, #requests())
  end)

  it("parses RFC 1123 dates itself", function()
    local client_mod = require("gameliftstreams.client")
    assert.equal(784111777, client_mod.parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"))
    assert.equal(784111777, client_mod.parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"))
    assert.equal(784111777, client_mod.parse_http_date("Sun Nov  6 08:49:37 1994"))
    assert.equal(1767225600, client_mod.parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT"))
    assert.is_nil(client_mod.parse_http_date("yesterday"))
  end)

  it("returns a NetworkError for a dropped connection, after retrying it", function()
    local c = client{ endpoint = emu.url, max_attempts = 2 }
    -- libcurl itself re-sends once when a kept-alive connection turns out dead: drop plenty
    fault{ kind = "drop", operation = "ListApplications", count = 10 }
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal("NetworkError", err.code)
    assert.equal(2, err.attempts)
  end)

  it("returns a Timeout when the service does not answer in time", function()
    local c = client{ endpoint = emu.url, max_attempts = 1, timeout = 0.3 }
    fault{ kind = "hang", operation = "ListApplications", count = 1 }
    local t0 = core.monotime()
    local _, err = c:list_applications()
    assert.equal("Timeout", err.code)
    assert.is_true(core.monotime() - t0 < 2)
  end)

  it("returns a NetworkError when nothing listens", function()
    local c = client{ endpoint = "http://127.0.0.1:1", max_attempts = 1 }
    local _, err = c:list_applications()
    assert.equal("NetworkError", err.code)
    assert.equal(1, err.attempts)
  end)

  it("turns a non-JSON error page into HTTP<status> and a non-JSON success into SerializationError", function()
    local c = client{ endpoint = emu.url, max_attempts = 1 }
    fault{ kind = "garbage", status = 502, operation = "ListApplications", count = 1,
           body = "<html><body>502 Bad Gateway</body></html>" }
    local _, err = c:list_applications()
    assert.equal("HTTP502", err.code)
    assert.equal(502, err.status)
    assert.is_true(err.retryable)
    fault{ kind = "garbage", operation = "ListApplications", count = 1 }
    local _, err2 = c:list_applications()
    assert.equal("SerializationError", err2.code)
  end)

  it("never shows sensitive input in errors", function()
    local c = client{ endpoint = emu.url }
    local secret = "v=0 o=- SECRET-OFFER-4242"
    local _, err = c:start_stream_session{ Identifier = "sg-nothere", ApplicationIdentifier = "a-nothere",
      Protocol = "WebRTC", SignalRequest = secret, RoleArn = "arn:aws:iam::111122223333:role/SECRETROLE" }
    assert.equal("ResourceNotFoundException", err.code)
    assert.is_nil(tostring(err):find("SECRET", 1, true))
    assert.is_nil(tostring(err.message):find("SECRET", 1, true))
  end)

end)
