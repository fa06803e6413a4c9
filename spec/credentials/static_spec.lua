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

  it("beats the environment", function()
    local p = credentials.from_config{ credentials = { access_key_id = "AKEXPL", secret_access_key = "s" },
      getenv = env{ AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = "e" } }
    assert.equal("AKEXPL", p:get().access_key_id)
  end)
end)
