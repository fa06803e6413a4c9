-- Calls of a client against the emulator: by name through call, signed with what the credentials
-- provider gives each time, concurrent as scheduler tasks, paged and waited on, and what they
-- do with their input.
local helpers = require("helpers")
local cjson = require("cjson")
local gls = require("gameliftstreams")
local C = require("support.client")

local KEYS, env, new_app_input = C.KEYS, C.env, C.new_app_input

describe("client calls against the emulator", function()
  local emu, client, requests = C.against_emulator()

  it("accepts PascalCase and snake_case names in call", function()
    local c = client{ endpoint = emu.url }
    local a = assert(c:call("ListApplications", {}))
    local b = assert(c:call("list_applications"))
    assert.same(a, b)
    local out, err = c:call("NoSuchOperation", {})
    assert.is_nil(out)
    assert.equal("InvalidParameter", err.code)
    assert.matches("NoSuchOperation", err.message)
  end)

  it("names the operation a misspelt name in call was meant to be, in the caller's spelling", function()
    local c = client{ endpoint = emu.url }
    local _, err = c:call("StartStreamSesion", {})
    assert.equal("InvalidParameter", err.code)
    assert.equal("unknown operation 'StartStreamSesion' (did you mean 'StartStreamSession'?)", err.message)
    _, err = c:call("list_stream_group", {})
    assert.equal("unknown operation 'list_stream_group' (did you mean 'list_stream_groups'?)", err.message)
    _, err = c:call("Frobnicate", {})
    assert.equal("unknown operation 'Frobnicate'", err.message)
    -- the input given where the name goes
    _, err = c:call{ Identifier = "sg-1" }
    assert.equal("InvalidParameter", err.code)
    assert.equal('call: the operation name must be a string ("StartStreamSession" or "start_stream_session"), got table',
      err.message)
    assert.equal(0, #requests())
  end)

  it("asks a credentials provider on each call and signs with what it returns", function()
    local calls = 0
    local provider = { get = function() calls = calls + 1; return KEYS end }
    local c = client{ endpoint = emu.url, credentials = provider }
    assert(c:list_applications())
    assert(c:list_applications())
    assert.equal(2, calls)
  end)

  it("takes credentials from the environment through the default chain", function()
    local c = client{ endpoint = emu.url, credentials = nil,
      getenv = env{ AWS_ACCESS_KEY_ID = "AKIDEMULATOR", AWS_SECRET_ACCESS_KEY = "emulator-secret" } }
    c.opts.credentials = nil
    assert(c:list_applications())
  end)

  it("returns a CredentialsError, without sending, when the provider fails", function()
    local c = client{ endpoint = emu.url, credentials = { get = function() return nil, "no keys here" end } }
    local out, err = c:list_applications()
    assert.is_nil(out)
    assert.equal("CredentialsError", err.code)
    assert.equal(0, err.attempts)
    assert.equal(0, #requests())
  end)

  it("returns a CredentialsError naming the field, without sending, when the provider returns no usable keys", function()
    local bad = {
      { { access_key_id = 1, secret_access_key = "s3cr3t-value" }, "access_key_id as a number" },
      { { access_key_id = "AKIDEMULATOR" }, "no secret_access_key" },
      { { access_key_id = "AKIDEMULATOR", secret_access_key = "" }, "secret_access_key as an empty string" },
      { { access_key_id = "AKIDEMULATOR", secret_access_key = "s3cr3t-value", session_token = 5 },
        "session_token as a number" },
      { "AKIDEMULATOR:s3cr3t-value", "a string" },
      { true, "a boolean" },
    }
    for _, case in ipairs(bad) do
      local c = client{ endpoint = emu.url, credentials = { get = function() return case[1] end } }
      local ok, out, err = pcall(c.list_applications, c)
      assert.is_true(ok, tostring(out))
      assert.is_nil(out)
      assert.equal("CredentialsError", err.code, tostring(err))
      assert.equal(0, err.attempts)
      assert.is_false(err.retryable)
      assert.truthy(err.message:find("get() returned " .. case[2], 1, true), err.message)
      assert.truthy(err.message:find("access_key_id = string, secret_access_key = string", 1, true), err.message)
      assert.is_nil(err.message:find("s3cr3t", 1, true))
    end
    assert.equal(0, #requests())
  end)

  it("sends and signs a session token", function()
    helpers.control(emu, "POST", "credentials",
      { access_key_id = "AKIDTEMP", secret_access_key = "temp-secret", session_token = "TOKEN/with+chars=" })
    local c = client{ endpoint = emu.url, credentials = { access_key_id = "AKIDTEMP",
      secret_access_key = "temp-secret", session_token = "TOKEN/with+chars=" } }
    assert(c:list_applications())
    local r = requests()[1]
    -- the emulator accepted it, so the token came as it is (its log keeps it as REDACTED)
    assert.is_true(r.auth.ok)
    assert.equal("REDACTED", r.headers["x-amz-security-token"])
    assert.matches("SignedHeaders=host;x%-amz%-date;x%-amz%-security%-token,", r.headers.authorization)
    local bad = client{ endpoint = emu.url, credentials = { access_key_id = "AKIDTEMP",
      secret_access_key = "temp-secret", session_token = "WRONG-TOKEN" } }
    local _, err = bad:list_applications()
    assert.equal("UnrecognizedClientException", err.code)
    assert.is_nil(tostring(err):find("WRONG-TOKEN", 1, true))
    assert.is_nil(tostring(err):find("temp-secret", 1, true))
  end)

  it("runs calls concurrently as scheduler tasks", function()
    local c = client{ endpoint = emu.url }
    local results = {}
    for i = 1, 3 do
      gls.spawn(function()
        local out, err = c:create_application(new_app_input("task" .. i))
        results[i] = out and out.Arn or tostring(err)
      end)
    end
    assert.is_true(gls.run())
    for i = 1, 3 do assert.matches("^arn:aws:gameliftstreams:", results[i]) end
    assert.equal(3, #assert(c:list_applications()).Items)
  end)

  it("delegates pages, items and wait", function()
    local c = client{ endpoint = emu.url }
    for i = 1, 3 do assert(c:create_application(new_app_input("p" .. i))) end
    local n = 0
    for _ in c:items("list_applications", {}, { page_size = 2 }) do n = n + 1 end
    assert.equal(3, n)
    local pages = 0
    for _ in c:pages("ListApplications", {}, { page_size = 2 }) do pages = pages + 1 end
    assert.equal(2, pages)
    local app = assert(c:create_application(new_app_input("w")))
    local out, err = c:wait("application_ready", { Identifier = app.Arn },
      { max_wait = 30, min_delay = 0.02, max_delay = 0.05 })
    assert.is_nil(err)
    assert.equal("READY", out.Status)
  end)

  it("accepts a whole-number float for an integer and sends it without .0", function()
    local c = client{ endpoint = emu.url }
    assert(c:list_applications{ MaxResults = 10.0 })
    assert.equal("MaxResults=10", requests()[1].query)
  end)

  it("leaves the caller's input table unchanged", function()
    local c = client{ endpoint = emu.url }
    local input = new_app_input("same")
    local copy = cjson.decode(cjson.encode(input))
    assert(c:create_application(input))
    assert.same(copy, input)
  end)
end)
