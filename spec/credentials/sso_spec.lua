-- IAM Identity Center (credentials/sso.lua) against the SSO portal and SSO OIDC stand-ins:
-- cached tokens, their refresh, the legacy form, errors.
local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local cjson = require("cjson")
local C = require("support.credentials")

local STANDINS, env, ctl, log_of = C.STANDINS, C.env, C.ctl, C.log_of
local refute_secret = C.refute_secret

describe("IAM Identity Center (SSO)", function()
  local srv, dir, cache
  local core = helpers.core()
  setup(function() srv = helpers.spawn_server(STANDINS, {}) end)
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    cache = dir .. "/home/.aws/sso/cache"
    assert(os.execute("mkdir -p " .. helpers.shell_quote(cache)))
    ctl(srv, "POST", "reset")
  end)
  after_each(function() helpers.rm_rf(dir) end)

  local SESSION_CONFIG = [[
[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = standin-sso-role
region = us-west-2
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
]]

  local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

  -- The token file `aws sso login` leaves, under the CLI's name for it.
  local function write_token(key, doc)
    local path = cache .. "/" .. core.sha1_hex(key) .. ".json"
    helpers.write_file(path, cjson.encode(doc))
    return path
  end

  local function session_token(extra)
    local doc = { startUrl = "https://corp.awsapps.com/start", region = "us-east-1",
                  accessToken = "standin-sso-token", expiresAt = iso(os.time() + 3600),
                  clientId = "standin-client", clientSecret = "standin-secret",
                  registrationExpiresAt = iso(os.time() + 86400 * 90), refreshToken = "standin-refresh" }
    for k, v in pairs(extra or {}) do doc[k] = v end
    return write_token("corp", doc), doc
  end

  local function provider(config_text, profile, extra_env)
    local c = helpers.write_file(dir .. "/config", config_text)
    local e = { AWS_CONFIG_FILE = c, AWS_SHARED_CREDENTIALS_FILE = dir .. "/none", HOME = dir .. "/home",
                AWS_ENDPOINT_URL_SSO = srv.url, AWS_ENDPOINT_URL_SSO_OIDC = srv.url }
    for k, v in pairs(extra_env or {}) do e[k] = v end
    return credentials.from_config{ getenv = env(e), profile = profile, sts_endpoint = srv.url,
                                    rng = function() return 0 end }
  end

  it("trades the cached sso-session token for role credentials", function()
    session_token()
    local c = assert(provider(SESSION_CONFIG, "dev"):get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.matches("^standin%-secret%-", c.secret_access_key)
    assert.matches("^standin%-token%-", c.session_token)
    assert.equal("sso", c.provider)
    assert.is_true(math.abs(c.expiration - (os.time() + 3600)) < 5)
    local log = log_of(srv, "sso")
    assert.equal(1, #log)
    assert.equal("GET", log[1].method)
    assert.equal("standin-sso-token", log[1].headers["x-amz-sso_bearer_token"])
    assert.is_nil(log[1].headers.authorization) -- a bearer token, not a signature
    assert.matches("account_id=111122223333", log[1].query)
    assert.matches("role_name=standin%-sso%-role", log[1].query)
    assert.equal(0, #log_of(srv, "oidc"))
  end)

  it("reads the legacy form's token by its start URL", function()
    write_token("https://legacy.awsapps.com/start", { accessToken = "standin-sso-token",
      expiresAt = iso(os.time() + 3600), startUrl = "https://legacy.awsapps.com/start", region = "eu-west-1" })
    local c = assert(provider([[
[default]
sso_start_url = https://legacy.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = standin-sso-role
]]):get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
  end)

  it("says how to log in when there is no cached token", function()
    local _, err = provider(SESSION_CONFIG, "dev"):get()
    assert.equal("CredentialsError", err.code)
    assert.matches("no cached SSO token", err.message)
    assert.truthy(err.message:find(core.sha1_hex("corp") .. ".json", 1, true))
    assert.matches("aws sso login %-%-sso%-session corp", err.message)
    assert.equal(0, #log_of(srv))
  end)

  it("refreshes a token about to expire and writes the new one back to the cache", function()
    local path = session_token{ expiresAt = iso(os.time() + 60) }
    local c = assert(provider(SESSION_CONFIG, "dev"):get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    local oidc = log_of(srv, "oidc")
    assert.equal(1, #oidc)
    local body = cjson.decode(oidc[1].body)
    assert.same({ clientId = "standin-client", clientSecret = "standin-secret",
                  refreshToken = "standin-refresh", grantType = "refresh_token" }, body)
    -- The portal was asked with the new token (the stand-in accepts only the newest).
    assert.equal("standin-sso-token-1", log_of(srv, "sso")[1].headers["x-amz-sso_bearer_token"])
    local saved = cjson.decode(helpers.read_file(path))
    assert.equal("600\n", (helpers.run("stat -c %a " .. helpers.shell_quote(path)))) -- private to its owner
    assert.equal("standin-sso-token-1", saved.accessToken)
    assert.equal("standin-refresh-1", saved.refreshToken)
    assert.equal("standin-secret", saved.clientSecret) -- the rest of the file is kept
    assert.equal("https://corp.awsapps.com/start", saved.startUrl)
    assert.is_true(credentials.parse_time(saved.expiresAt) > os.time() + 3000)
  end)

  it("keeps using a token that is still valid when its refresh fails", function()
    session_token{ expiresAt = iso(os.time() + 120) }
    ctl(srv, "POST", "config", { oidc_error = { error = "invalid_grant", status = 400 } })
    local c = assert(provider(SESSION_CONFIG, "dev"):get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.equal("standin-sso-token", log_of(srv, "sso")[1].headers["x-amz-sso_bearer_token"])
  end)

  it("fails on an expired token whose refresh fails, without leaking the token or secrets", function()
    session_token{ expiresAt = iso(os.time() - 10) }
    ctl(srv, "POST", "config", { oidc_error = { error = "invalid_grant", status = 400 } })
    local _, err = provider(SESSION_CONFIG, "dev"):get()
    assert.equal("CredentialsError", err.code)
    assert.matches("SSO session token has expired: run: aws sso login %-%-sso%-session corp", err.message)
    assert.matches("InvalidGrantException", err.message)
    assert.matches("HTTP 400", err.message)
    refute_secret(err, "standin-sso-token", "standin-secret", "standin-refresh")
    assert.equal(0, #log_of(srv, "sso"))
  end)

  it("does not refresh a legacy token: it tells the user to log in again", function()
    write_token("https://legacy.awsapps.com/start", { accessToken = "standin-sso-token",
      expiresAt = iso(os.time() - 10) })
    local _, err = provider([[
[profile old]
sso_start_url = https://legacy.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = standin-sso-role
]], "old"):get()
    assert.matches("has expired: run: aws sso login %-%-profile old", err.message)
    assert.equal(0, #log_of(srv))
  end)

  it("reports a token the portal refuses, with the login hint", function()
    session_token{ accessToken = "revoked-token" }
    local _, err = provider(SESSION_CONFIG, "dev"):get()
    assert.equal(401, err.status)
    assert.matches("GetRoleCredentials failed: UnauthorizedException: Session token not found or invalid "
      .. "%(HTTP 401%): run: aws sso login %-%-sso%-session corp", err.message)
    refute_secret(err, "revoked-token")
  end)

  it("retries the portal's 5xx answers", function()
    session_token()
    ctl(srv, "POST", "config", { fail = 2, fail_status = 503 })
    local c = assert(provider(SESSION_CONFIG, "dev"):get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.equal(3, #log_of(srv, "sso"))
  end)

  it("names the setting an SSO profile is missing, and a conflict with its sso-session", function()
    local _, err = provider("[default]\nsso_session = corp\nsso_account_id = 1\n"
      .. "[sso-session corp]\nsso_start_url = https://x/start\nsso_region = us-east-1\n"):get()
    assert.matches('profile "default" is missing sso_role_name', err.message)
    _, err = provider(SESSION_CONFIG:gsub("sso_session = corp", "sso_session = corp\nsso_region = eu-west-1"),
      "dev"):get()
    assert.matches("give different sso_region", err.message)
  end)

  it("is a source profile for a role: AssumeRole is signed with the SSO credentials", function()
    session_token()
    local c = assert(provider(SESSION_CONFIG .. [[
[profile admin]
role_arn = arn:aws:iam::123456789012:role/admin
source_profile = dev
]], "admin"):get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.equal(1, #log_of(srv, "sso"))
    -- The stand-in verified the AssumeRole signature with the secret of the key the portal
    -- issued, and the role's credentials are another key.
    local sts = log_of(srv, "sts")
    assert.equal(1, #sts)
    local signer = sts[1].headers.authorization:match("Credential=(ASIASTANDIN%d+)/")
    assert.truthy(signer)
    assert.are_not.equal(signer, c.access_key_id)
    assert.matches("^standin%-token%-", sts[1].headers["x-amz-security-token"])
  end)
end)
