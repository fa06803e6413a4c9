-- Explicit credentials (credentials/static.lua): a table of keys or a provider object.
local credentials = require("gameliftstreams.credentials")
local C = require("support.credentials")

local env = C.env

describe("explicit credentials", function()
  it("turns a table of keys into a static provider", function()
    local p = assert(credentials.from_config{ credentials = { access_key_id = "AKEXPL",
      secret_access_key = "explicit-secret", session_token = "tok" } })
    local c = assert(p:get())
    assert.equal("AKEXPL", c.access_key_id)
    assert.equal("explicit-secret", c.secret_access_key)
    assert.equal("tok", c.session_token)
    assert.is_nil(tostring(c):find("explicit-secret", 1, true))
  end)

  it("uses a provider object as it is", function()
    local obj = { get = function() return { access_key_id = "AKOBJ", secret_access_key = "s" } end }
    assert.equal(obj, credentials.from_config{ credentials = obj })
  end)

  it("rejects malformed explicit credentials", function()
    local p, err = credentials.from_config{ credentials = { access_key_id = "AK" } }
    assert.is_nil(p)
    assert.equal("InvalidParameter", err.code)
  end)

  it("refuses every shape the pipeline could not sign with, as gls.new does, naming the field", function()
    local gls = require("gameliftstreams")
    local unusable = require("gameliftstreams.pipeline").unusable_credentials
    local cases = {
      { { access_key_id = "AK" }, "need access_key_id and secret_access_key strings" },
      { { access_key_id = "", secret_access_key = "s3cr3t" }, "need access_key_id and secret_access_key strings" },
      { { access_key_id = 1, secret_access_key = "s3cr3t" }, "need access_key_id and secret_access_key strings" },
      { { access_key_id = "AK", secret_access_key = "" }, "need access_key_id and secret_access_key strings" },
      { { access_key_id = "AK", secret_access_key = "s3cr3t", session_token = 5 }, "session_token must be a string" },
      { { access_key_id = "AK", secret_access_key = "s3cr3t", session_token = {} }, "session_token must be a string" },
    }
    for _, case in ipairs(cases) do
      assert.is_string((unusable(case[1])))
      local p, err = credentials.from_config{ credentials = case[1] }
      assert.is_nil(p)
      assert.equal("InvalidParameter", err.code)
      assert.equal("credentials: " .. case[2], err.message)
      p, err = credentials.static(case[1])
      assert.is_nil(p)
      assert.equal("credentials: " .. case[2], err.message)
      local c, gerr = gls.new{ region = "us-west-2", credentials = case[1] }
      assert.is_nil(c)
      assert.equal("InvalidParameter", gerr.code)
      assert.is_nil(gerr.message:find("s3cr3t", 1, true))
    end
    assert.is_nil(unusable{ access_key_id = "AK", secret_access_key = "s" })
    assert.is_nil(unusable{ access_key_id = "AK", secret_access_key = "s", session_token = "t" })
  end)

  it("beats the environment", function()
    local p = credentials.from_config{ credentials = { access_key_id = "AKEXPL", secret_access_key = "s" },
      getenv = env{ AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = "e" } }
    assert.equal("AKEXPL", p:get().access_key_id)
  end)
end)
