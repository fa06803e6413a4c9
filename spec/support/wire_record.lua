-- Makes the calls of spec/support/wire_cases.lua with a fixed clock, a fixed UUID and fixed
-- credentials, through the HTTP proxy the environment names (spec/support/capture_server.lua),
-- so spec/wire_spec.lua can compare their exact bytes with spec/support/wire_requests.lua.
-- The endpoint's host name is made up: through a proxy it is never resolved, and the Host
-- header (signed) does not depend on an ephemeral port. Prints "done N" (calls made).
-- With the arguments "credentials DIR": instead, one client per credential provider that
-- talks to AWS (STS AssumeRole and AssumeRoleWithWebIdentity, the container endpoint, IMDS,
-- SSO with an SSO OIDC refresh), its files written in DIR; before each, a GET of
-- http://marker.wire.test/<provider> marks where its requests begin.
local core = require("gameliftstreams.core")
core.time = function() return 1764000000.25 end -- 2025-11-24T16:00:00Z
core.uuid4 = function() return "00000000-0000-4000-8000-000000000000" end

local gls = require("gameliftstreams")
local CASES = require("support.wire_cases")

local CLOCK = function() return 1764000000.25 end

local function scenarios(dir)
  local function write(name, text)
    local f = assert(io.open(dir .. "/" .. name, "wb"))
    f:write(text)
    f:close()
    return dir .. "/" .. name
  end
  local cfg = write("config", "[profile role]\nrole_arn = arn:aws:iam::111122223333:role/wire\n"
    .. "source_profile = base\nexternal_id = wire-external\nduration_seconds = 900\n"
    .. "[profile base]\naws_access_key_id = AKIDWIREBASE\naws_secret_access_key = wire-base-secret\n"
    .. "[profile webid]\nrole_arn = arn:aws:iam::111122223333:role/web\nweb_identity_token_file = "
    .. write("token", "wire-web-identity-token\n") .. "\nrole_session_name = wire-session\n"
    .. "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = wire-role\n"
    .. "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n")
  os.execute("mkdir -p '" .. dir .. "/sso'")
  local cjson = require("cjson")
  write("sso/" .. core.sha1_hex("corp") .. ".json", cjson.encode{
    startUrl = "https://corp.awsapps.com/start", region = "us-east-1", accessToken = "wire-sso-token",
    expiresAt = "2025-11-24T16:01:00Z", clientId = "wire-client", clientSecret = "wire-client-secret",
    registrationExpiresAt = "2026-02-01T00:00:00Z", refreshToken = "wire-refresh-token" })
  local function env(t)
    t.AWS_CONFIG_FILE, t.AWS_SHARED_CREDENTIALS_FILE = cfg, dir .. "/none"
    return function(k) return t[k] end
  end
  return {
    { "assume_role", { profile = "role", getenv = env{} } },
    { "web_identity", { profile = "webid", getenv = env{} } },
    { "container", { getenv = env{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/wire",
                                   AWS_CONTAINER_AUTHORIZATION_TOKEN = "wire-container-token" },
                     container_endpoint = "http://container.wire.test" } },
    { "imds", { getenv = env{}, imds_endpoint = "http://imds.wire.test" } },
    { "sso", { profile = "sso", sso_cache_dir = dir .. "/sso",
               getenv = env{ AWS_ENDPOINT_URL_SSO = "http://sso.wire.test",
                             AWS_ENDPOINT_URL_SSO_OIDC = "http://oidc.wire.test" } } },
  }
end

if arg[1] == "credentials" then
  local pool = core.http_pool{}
  local n = 0
  for _, sc in ipairs(scenarios(assert(arg[2], "usage: wire_record.lua credentials DIR"))) do
    pool:request{ method = "GET", url = "http://marker.wire.test/" .. sc[1], timeout = 10 }
    local o = sc[2]
    o.region, o.endpoint, o.max_attempts = "us-west-2", "http://gameliftstreams.wire.test", 1
    o.clock, o.sts_endpoint = CLOCK, "http://sts.wire.test"
    local c = assert(gls.new(o))
    local _, err = c:get_stream_group{ Identifier = "sg-1" }
    assert(err, sc[1] .. ": no error")
    n = n + 1
  end
  io.write("done ", n, "\n")
  return
end

local client = assert(gls.new{
  region = "us-west-2", endpoint = "http://gameliftstreams.wire.test", max_attempts = 1,
  getenv = function() return nil end,
  credentials = { access_key_id = "AKIDWIRE", secret_access_key = "wire-secret",
                  session_token = "wire-session-token" },
})
local n = 0
for _, c in ipairs(CASES) do
  local _, err = client[c[2]](client, c[3])
  assert(err and err.code == "CapturedException", c[1] .. ": " .. tostring(err))
  n = n + 1
end
io.write("done ", n, "\n")
