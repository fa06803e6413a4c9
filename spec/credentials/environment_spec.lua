-- The environment provider (credentials/environment.lua).
local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local C = require("support.credentials")

local env, refute_secret = C.env, C.refute_secret

describe("environment credentials", function()
  it("reads the keys and the session token", function()
    local p = credentials.from_config{ getenv = env{ AWS_ACCESS_KEY_ID = "AKENV",
      AWS_SECRET_ACCESS_KEY = "env-secret", AWS_SESSION_TOKEN = "env-token" } }
    local c = assert(p:get())
    assert.same({ "AKENV", "env-secret", "env-token", "environment" },
      { c.access_key_id, c.secret_access_key, c.session_token, c.provider })
  end)

  it("fails, naming the provider, when only the secret is set", function()
    local p = credentials.from_config{ getenv = env{ AWS_SECRET_ACCESS_KEY = "lonely-secret" } }
    local c, err = p:get()
    assert.is_nil(c)
    assert.equal("CredentialsError", err.code)
    assert.matches("environment provider", err.message)
    refute_secret(err, "lonely-secret")
  end)

  it("reads the real process environment by default (subprocess)", function()
    local out = helpers.run("env AWS_ACCESS_KEY_ID=AKREAL AWS_SECRET_ACCESS_KEY=x AWS_EC2_METADATA_DISABLED=true "
      .. helpers.lua_env() .. " lua5.4 -e 'print(assert(require(\"gameliftstreams.credentials\")"
      .. ".from_config{}:get()).access_key_id)'")
    assert.equal("AKREAL\n", out)
  end)
end)
