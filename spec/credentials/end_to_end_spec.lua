-- A client against the emulator, signing with credentials from a provider (or failing
-- with its error).
local helpers = require("helpers")
local cjson = require("cjson")
local C = require("support.credentials")

local STANDINS, env, log_of = C.STANDINS, C.env, C.log_of
local shell_script = helpers.shell_script
-- the session token the specs below give the emulator for the stand-ins' first key
local TOKEN_OF = { ASIASTANDIN00001 = "standin-token-1" }

describe("credentials end to end (client against the emulator)", function()
  local emu, sts, dir
  setup(function()
    emu = helpers.start_emulator{}
    sts = helpers.spawn_server(STANDINS, { "sts" })
  end)
  teardown(function()
    emu.stop()
    sts.stop()
  end)
  before_each(function()
    dir = helpers.tmpdir()
    helpers.control(emu, "DELETE", "requests")
  end)
  after_each(function() helpers.rm_rf(dir) end)

  local function client(opts)
    opts.region, opts.endpoint = "us-west-2", emu.url
    return assert(require("gameliftstreams").new(opts))
  end

  -- The access key of the last call, and its session token: the log keeps the token as
  -- REDACTED, so the token the emulator holds for that key when it accepted the call (it
  -- refuses any other).
  local function signer_of_last()
    local _, body = helpers.control(emu, "GET", "requests")
    local e = body.requests[#body.requests]
    assert.is_true(e.auth.ok)
    local key = e.headers.authorization:match("Credential=([^/]+)/")
    local sent = e.headers["x-amz-security-token"]
    return key, sent and TOKEN_OF[key]
  end

  it("signs calls with IAM Identity Center credentials from an sso-session profile", function()
    local sso = helpers.spawn_server(STANDINS, { "sso" }) -- a fresh stand-in: it issues key 1
    finally(function() sso.stop() end)
    helpers.control(emu, "POST", "credentials", { access_key_id = "ASIASTANDIN00001",
      secret_access_key = "standin-secret-1", session_token = "standin-token-1" })
    local cache = dir .. "/sso-cache"
    assert(os.execute("mkdir -p " .. helpers.shell_quote(cache)))
    helpers.write_file(cache .. "/" .. helpers.core().sha1_hex("corp") .. ".json", cjson.encode{
      accessToken = "standin-sso-token", expiresAt = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 3600) })
    local cfg = helpers.write_file(dir .. "/config", "[profile dev]\nsso_session = corp\n"
      .. "sso_account_id = 111122223333\nsso_role_name = standin-sso-role\n"
      .. "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n")
    local c = client{ profile = "dev", sso_cache_dir = cache,
                      getenv = env{ AWS_CONFIG_FILE = cfg, AWS_ENDPOINT_URL_SSO = sso.url } }
    for _ = 1, 2 do assert(c:list_stream_groups{}) end
    local key, token = signer_of_last()
    assert.equal("ASIASTANDIN00001", key)
    assert.equal("standin-token-1", token)
  end)

  it("signs calls with credentials from credential_process", function()
    local s = shell_script(dir, "p.sh", string.format(
      "echo '{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\"}'\n",
      emu.access_key_id, emu.secret_access_key))
    local cfg = helpers.write_file(dir .. "/config", "[default]\ncredential_process = " .. s .. "\n")
    local c = client{ getenv = env{ AWS_CONFIG_FILE = cfg } }
    local out, err = c:list_stream_groups{}
    assert.is_nil(err)
    assert.is_table(out)
    assert.equal(emu.access_key_id, (signer_of_last()))
  end)

  it("signs calls with assumed-role credentials and assumes the role once for many calls", function()
    helpers.control(emu, "POST", "credentials", { access_key_id = "ASIASTANDIN00001",
      secret_access_key = "standin-secret-1", session_token = "standin-token-1" })
    local cfg = helpers.write_file(dir .. "/config", "[default]\nrole_arn = arn:aws:iam::1:role/r\n"
      .. "source_profile = base\n[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = s\n")
    local c = client{ getenv = env{ AWS_CONFIG_FILE = cfg }, sts_endpoint = sts.url }
    for _ = 1, 3 do assert(c:list_stream_groups{}) end
    local id, token = signer_of_last()
    assert.equal("ASIASTANDIN00001", id)
    assert.equal("standin-token-1", token)
    assert.equal(1, #log_of(sts, "sts"))
  end)

  it("signs calls with credentials of a role that needs MFA, the code from mfa_code_provider", function()
    local sts = helpers.spawn_server(STANDINS, { "sts" }) -- a fresh stand-in: it issues key 1
    finally(function() sts.stop() end)
    helpers.control(emu, "POST", "credentials", { access_key_id = "ASIASTANDIN00001",
      secret_access_key = "standin-secret-1", session_token = "standin-token-1" })
    local cfg = helpers.write_file(dir .. "/config", "[default]\nrole_arn = arn:aws:iam::1:role/r\n"
      .. "source_profile = base\nmfa_serial = arn:aws:iam::1:mfa/bob\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = s\n")
    local c = client{ getenv = env{ AWS_CONFIG_FILE = cfg }, sts_endpoint = sts.url,
                      mfa_code_provider = function() return "024680" end }
    assert(c:list_stream_groups{})
    assert.equal("ASIASTANDIN00001", (signer_of_last()))
    local log = log_of(sts, "sts")
    assert.equal(1, #log)
    assert.same({ "arn:aws:iam::1:mfa/bob", "024680" }, { log[1].params.SerialNumber, log[1].params.TokenCode })
  end)

  it("fails the call with the provider's CredentialsError", function()
    local s = shell_script(dir, "bad.sh", "exit 3\n")
    local cfg = helpers.write_file(dir .. "/config", "[default]\ncredential_process = " .. s .. "\n")
    local out, err = client{ getenv = env{ AWS_CONFIG_FILE = cfg } }:list_stream_groups{}
    assert.is_nil(out)
    assert.equal("CredentialsError", err.code)
    assert.matches("process provider: command exited with status 3", err.message)
    local _, body = helpers.control(emu, "GET", "requests")
    assert.equal(0, #body.requests)
  end)
end)
