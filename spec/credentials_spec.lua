local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local cjson = require("cjson")

local STANDINS = "spec/support/aws_standins.lua"

-- An environment table as a getenv function; HOME points nowhere unless given.
local function env(t)
  t = t or {}
  if t.HOME == nil then t.HOME = "/nonexistent-home" end
  if t.AWS_EC2_METADATA_DISABLED == nil then t.AWS_EC2_METADATA_DISABLED = "true" end
  return function(k) return t[k] end
end

local pool
local function ctl(srv, method, path, body)
  pool = pool or helpers.core().http_pool{}
  local res = pool:request{ method = method, url = srv.url .. "/_ctl/" .. path,
    body = body and cjson.encode(body) or nil, timeout = 5 }
  assert(not res.error, res.error and res.error.message)
  if res.status == 200 then return cjson.decode(res.body) end
  return res.status
end

local function log_of(srv, service)
  local out = {}
  for _, e in ipairs(ctl(srv, "GET", "log")) do
    if not service or e.service == service then out[#out + 1] = e end
  end
  return out
end

local function shell_script(dir, name, body)
  local path = helpers.write_file(dir .. "/" .. name, "#!/bin/sh\n" .. body)
  os.execute("chmod +x " .. helpers.shell_quote(path))
  return path
end

local function refute_secret(err, ...)
  local text = tostring(err) .. " " .. tostring(err.message)
  for _, s in ipairs{ ... } do
    assert.is_nil(text:find(s, 1, true), "message leaks a secret: " .. text)
  end
end

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

describe("shared-file credentials", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  it("reads static keys of the default profile", function()
    local k = helpers.write_file(dir .. "/credentials",
      "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = file-secret\naws_session_token = t\n")
    local c = assert(credentials.from_config{ getenv = env{ AWS_SHARED_CREDENTIALS_FILE = k } }:get())
    assert.same({ "AKFILE", "file-secret", "t" }, { c.access_key_id, c.secret_access_key, c.session_token })
  end)

  it("loses to the environment", function()
    local k = helpers.write_file(dir .. "/credentials",
      "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = file-secret\n")
    local p = credentials.from_config{ getenv = env{ AWS_SHARED_CREDENTIALS_FILE = k,
      AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = "e" } }
    assert.equal("AKENV", p:get().access_key_id)
  end)

  it("an explicit profile option skips environment keys", function()
    local k = helpers.write_file(dir .. "/credentials",
      "[work]\naws_access_key_id = AKWORK\naws_secret_access_key = w\n")
    local p = credentials.from_config{ profile = "work", getenv = env{ AWS_SHARED_CREDENTIALS_FILE = k,
      AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = "e" } }
    assert.equal("AKWORK", p:get().access_key_id)
  end)

  it("uses AWS_PROFILE, and the credentials file wins over the config file", function()
    local c = helpers.write_file(dir .. "/config",
      "[profile work]\naws_access_key_id = AKCONFIG\naws_secret_access_key = c\n")
    local k = helpers.write_file(dir .. "/credentials",
      "[work]\naws_access_key_id = AKCREDS\naws_secret_access_key = k\n")
    local p = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c, AWS_SHARED_CREDENTIALS_FILE = k,
      AWS_PROFILE = "work" } }
    local got = p:get()
    assert.equal("AKCREDS", got.access_key_id)
    assert.equal("k", got.secret_access_key)
  end)

  it("fails when the chosen profile does not exist", function()
    local c = helpers.write_file(dir .. "/config", "[default]\nregion = us-west-2\n")
    local p = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c, AWS_PROFILE = "ghost" } }
    local got, err = p:get()
    assert.is_nil(got)
    assert.matches('profile "ghost" not found', err.message)
  end)

  it("lists what was tried when nothing is configured", function()
    local c = helpers.write_file(dir .. "/config", "[default]\nregion = us-west-2\n")
    local got, err = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c } }:get()
    assert.is_nil(got)
    assert.equal("CredentialsError", err.code)
    for _, what in ipairs{ "environment", "web identity", 'profile "default"', "container",
                           "instance metadata (disabled)" } do
      assert.truthy(err.message:find(what, 1, true), what .. " missing from: " .. err.message)
    end
  end)

  it("names the missing [sso-session] section of an SSO profile", function()
    local c = helpers.write_file(dir .. "/config", "[default]\nsso_session = corp\nsso_account_id = 1\n")
    local _, err = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c } }:get()
    assert.equal("CredentialsError", err.code)
    assert.matches('names sso_session "corp", but the config file has no %[sso%-session corp%] section',
      err.message)
  end)

  it("does no I/O when the provider is created", function()
    local reads = 0
    local p = credentials.from_config{ getenv = function(k) reads = reads + 1 return nil end }
    assert.equal(0, reads)
    assert.is_table(p)
  end)
end)

describe("credential_process", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  local function with_process(script, extra)
    local c = helpers.write_file(dir .. "/config",
      "[default]\ncredential_process = " .. script .. (extra or "") .. "\n")
    return { getenv = env{ AWS_CONFIG_FILE = c } }
  end

  it("runs the command and reads its JSON", function()
    local s = shell_script(dir, "ok.sh", [[
echo run >> "$(dirname "$0")/count"
printf '%s' '{"Version": 1, "AccessKeyId": "AKPROC", "SecretAccessKey": "proc-secret",
  "SessionToken": "proc-token", "Expiration": "2099-01-01T00:00:00Z"}'
]])
    local p = credentials.from_config(with_process(s))
    local c = assert(p:get())
    assert.same({ "AKPROC", "proc-secret", "proc-token" }, { c.access_key_id, c.secret_access_key, c.session_token })
    assert.equal(4070908800, c.expiration)
    assert(p:get())
    assert.equal("run\n", helpers.read_file(dir .. "/count"))
  end)

  it("passes arguments through the shell", function()
    local s = shell_script(dir, "args.sh", [[
printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"x"}' "$1"
]])
    local c = assert(credentials.from_config(with_process(s, " AKARG")):get())
    assert.equal("AKARG", c.access_key_id)
  end)

  it("reports a non-zero exit without echoing the output", function()
    local s = shell_script(dir, "fail.sh", "echo '{\"SecretAccessKey\":\"leaked-secret\"}'\nexit 1\n")
    local c, err = credentials.from_config(with_process(s)):get()
    assert.is_nil(c)
    assert.equal("CredentialsError", err.code)
    assert.equal("credentials: process provider: command exited with status 1", err.message)
    refute_secret(err, "leaked-secret")
  end)

  it("reports output that is not JSON", function()
    local s = shell_script(dir, "bad.sh", "echo 'AccessKeyId=AK SecretAccessKey=plain-secret'\n")
    local _, err = credentials.from_config(with_process(s)):get()
    assert.matches("process provider: command output is not a JSON object", err.message)
    refute_secret(err, "plain-secret")
  end)

  it("refuses a Version other than 1 and missing keys", function()
    local s = shell_script(dir, "v2.sh", "echo '{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"v2-secret\"}'\n")
    local _, err = credentials.from_config(with_process(s)):get()
    assert.matches("unsupported Version 2", err.message)
    refute_secret(err, "v2-secret")
    s = shell_script(dir, "nokey.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"A\"}'\n")
    _, err = credentials.from_config(with_process(s)):get()
    assert.matches("lacks AccessKeyId or SecretAccessKey", err.message)
  end)

  it("refreshes credentials that are about to expire (injected clock)", function()
    local s = shell_script(dir, "exp.sh", [[
echo run >> "$(dirname "$0")/count"
n=$(wc -l < "$(dirname "$0")/count" | tr -d ' ')
printf '{"Version":1,"AccessKeyId":"AK%s","SecretAccessKey":"x","Expiration":"2030-01-01T01:00:00Z"}' "$n"
]])
    local now = credentials.parse_time("2030-01-01T00:00:00Z")
    local opts = with_process(s)
    opts.clock = function() return now end
    local p = credentials.from_config(opts)
    assert.equal("AK1", p:get().access_key_id)
    now = now + 3600 - 301
    assert.equal("AK1", p:get().access_key_id)
    now = now + 2 -- inside the 5-minute window
    assert.equal("AK2", p:get().access_key_id)
  end)
end)

describe("credential_process inside tasks", function()
  local sched = require("gameliftstreams.sched")
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  local function provider(script)
    local c = helpers.write_file(dir .. "/config", "[default]\ncredential_process = " .. script .. "\n")
    return credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c } }
  end

  it("reads the command's output without blocking the other tasks", function()
    local s = shell_script(dir, "slow.sh", [[
sleep 0.4
printf '{"Version":1,"AccessKeyId":"AKSLOW","SecretAccessKey":"x"}'
]])
    local p = provider(s)
    local got, ticks, max_gap = nil, 0, 0
    local fetching = true
    sched.spawn(function()
      local c, err = p:get()
      got = c and c.access_key_id or tostring(err)
      fetching = false
    end)
    sched.spawn(function()
      local last = sched.now()
      while fetching do
        sched.sleep(0.02)
        local t = sched.now()
        max_gap = math.max(max_gap, t - last)
        last = t
        ticks = ticks + 1
      end
    end)
    assert.is_true(sched.run())
    assert.equal("AKSLOW", got)
    assert.is_true(ticks >= 8, "the other task ran " .. ticks .. " times")
    assert.is_true(max_gap < 0.2, "the other task was held for " .. max_gap .. " s") -- blocking: 0.4 s
  end)

  it("reports an exit status and bad output as outside tasks", function()
    local s = shell_script(dir, "fail.sh", "echo '{\"SecretAccessKey\":\"task-secret\"}'\nexit 4\n")
    local task = sched.spawn(function() return provider(s):get() end)
    assert.is_true(sched.run())
    local err = task.results[2]
    assert.equal("credentials: process provider: command exited with status 4", err.message)
    refute_secret(err, "task-secret")
  end)

  it("stops the command (and what it started) when the task is cancelled", function()
    local pidfile = dir .. "/pid"
    local s = shell_script(dir, "hang.sh", "echo $$ > " .. pidfile .. "\nsleep 30\n")
    local task = sched.spawn(function() return provider(s):get() end)
    local t0 = sched.now()
    while not helpers.read_file(pidfile) and sched.now() - t0 < 5 do sched.step(0.02) end
    local pid = assert(tonumber(helpers.read_file(pidfile)), "the command did not start")
    task:cancel()
    assert.is_true(sched.run())
    assert.equal("Cancelled", task.results[2].code)
    local alive = true
    t0 = sched.now()
    while alive and sched.now() - t0 < 2 do
      alive = os.execute("kill -0 " .. pid .. " 2>/dev/null && ! grep -q '^State:.*Z' /proc/" .. pid .. "/status")
      alive = alive == true or alive == 0
      if alive then sched.sleep(0.05) end
    end
    assert.is_false(alive, "the command's process " .. pid .. " still runs")
  end)
end)

describe("STS AssumeRole from a profile", function()
  local srv, dir
  setup(function() srv = helpers.spawn_server(STANDINS, { "sts" }) end)
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    ctl(srv, "POST", "reset")
    ctl(srv, "POST", "config", { secrets = { AKSOURCE = "source-secret" } })
  end)
  after_each(function() helpers.rm_rf(dir) end)

  local function opts_for(config_text, extra_env, extra)
    local c = helpers.write_file(dir .. "/config", config_text)
    local e = { AWS_CONFIG_FILE = c, AWS_SHARED_CREDENTIALS_FILE = dir .. "/none" }
    for k, v in pairs(extra_env or {}) do e[k] = v end
    local o = { getenv = env(e), sts_endpoint = srv.url }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  it("assumes the role with the source profile's keys, signed (verified by the stand-in)", function()
    local p = credentials.from_config(opts_for([[
[profile dev]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = base
role_session_name = my-session
external_id = ext-123
duration_seconds = 900
[profile base]
aws_access_key_id = AKSOURCE
aws_secret_access_key = source-secret
]], nil, { profile = "dev", region = "us-west-2" }))
    local c = assert(p:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.matches("^standin%-secret%-", c.secret_access_key)
    assert.matches("^standin%-token%-", c.session_token)
    assert.is_number(c.expiration)
    local log = log_of(srv, "sts")
    assert.equal(1, #log)
    local e = log[1]
    assert.same({ "AssumeRole", "2011-06-15", "arn:aws:iam::123456789012:role/dev", "my-session", "ext-123", "900" },
      { e.params.Action, e.params.Version, e.params.RoleArn, e.params.RoleSessionName, e.params.ExternalId,
        e.params.DurationSeconds })
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKSOURCE/%d+/us%-west%-2/sts/aws4_request", e.headers.authorization)
    assert.is_true(e.signature_ok)
    assert.equal("application/x-www-form-urlencoded; charset=utf-8", e.headers["content-type"])
  end)

  it("the stand-in rejects a wrong signature, and the error names the provider without secrets", function()
    ctl(srv, "POST", "config", { secrets = { AKSOURCE = "the-real-secret" } })
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = a-wrong-secret\n"))
    local c, err = p:get()
    assert.is_nil(c)
    assert.equal("CredentialsError", err.code)
    assert.matches("assume role provider: STS AssumeRole failed: SignatureDoesNotMatch", err.message)
    assert.equal(403, err.status)
    refute_secret(err, "a-wrong-secret", "the-real-secret")
  end)

  it("reports an STS error with its code and message", function()
    ctl(srv, "POST", "config", { sts_error = { code = "AccessDenied", message = "not allowed", status = 403 } })
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"))
    local _, err = p:get()
    assert.equal("credentials: assume role provider: STS AssumeRole failed: AccessDenied: not allowed (HTTP 403)",
      err.message)
    refute_secret(err, "source-secret")
  end)

  it("chains source profiles: each hop is signed by the previous hop's credentials", function()
    local p = credentials.from_config(opts_for([[
[profile a]
role_arn = arn:aws:iam::1:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::1:role/b
source_profile = c
[profile c]
aws_access_key_id = AKSOURCE
aws_secret_access_key = source-secret
]], nil, { profile = "a" }))
    local c = assert(p:get())
    local log = log_of(srv, "sts")
    assert.equal(2, #log)
    assert.equal("arn:aws:iam::1:role/b", log[1].params.RoleArn)
    assert.equal("AKSOURCE", log[1].signer)
    assert.equal("arn:aws:iam::1:role/a", log[2].params.RoleArn)
    assert.matches("^ASIASTANDIN", log[2].signer)
    assert.is_true(log[2].signature_ok)
    assert.matches("x%-amz%-security%-token", log[2].headers.authorization)
    assert.are_not.equal(log[2].signer, c.access_key_id)
  end)

  it("detects a source_profile cycle", function()
    local p = credentials.from_config(opts_for(
      "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
      .. "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n", nil, { profile = "a" }))
    local c, err = p:get()
    assert.is_nil(c)
    assert.matches("cycle", err.message)
    assert.equal(0, #log_of(srv, "sts"))
  end)

  it("lets a profile with keys be its own source", function()
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = default\n"
      .. "aws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"))
    assert(p:get())
    assert.equal("AKSOURCE", log_of(srv, "sts")[1].signer)
  end)

  it("takes the source from credential_source = Environment", function()
    local p = credentials.from_config(opts_for(
      "[profile envrole]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n",
      { AWS_ACCESS_KEY_ID = "AKSOURCE", AWS_SECRET_ACCESS_KEY = "source-secret", AWS_PROFILE = "envrole" }))
    -- AWS_PROFILE does not skip the environment provider, which answers first: use the option.
    local o = opts_for("[profile envrole]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n",
      { AWS_ACCESS_KEY_ID = "AKSOURCE", AWS_SECRET_ACCESS_KEY = "source-secret" }, { profile = "envrole" })
    assert.equal("AKSOURCE", p:get().access_key_id)
    local c = assert(credentials.from_config(o):get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.equal("AKSOURCE", log_of(srv, "sts")[1].signer)
  end)

  it("refuses role_arn without a source", function()
    local _, err = credentials.from_config(opts_for("[default]\nrole_arn = arn:aws:iam::1:role/x\n")):get()
    assert.matches("role_arn without source_profile", err.message)
  end)

  it("finds the STS endpoint in AWS_ENDPOINT_URL_STS and the profile's endpoint_url", function()
    local base = "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"
    local o = opts_for("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n" .. base,
      { AWS_ENDPOINT_URL_STS = srv.url })
    o.sts_endpoint = nil
    assert(credentials.from_config(o):get())
    o = opts_for("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\nendpoint_url = "
      .. srv.url .. "\n" .. base)
    o.sts_endpoint = nil
    assert(credentials.from_config(o):get())
    assert.equal(2, #log_of(srv, "sts"))
  end)

  it("caches assumed-role credentials and refreshes them 5 minutes before expiry", function()
    ctl(srv, "POST", "config", { expires_in = 900 })
    local core = helpers.core()
    local skew = 0
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n",
      nil, { clock = function() return core.time() + skew end }))
    local c1 = assert(p:get())
    assert.equal(c1, p:get())
    assert.equal(1, #log_of(srv, "sts"))
    skew = 900 - 290 -- inside the refresh window
    local c2 = assert(p:get())
    assert.are_not.equal(c1.access_key_id, c2.access_key_id)
    assert.equal(2, #log_of(srv, "sts"))
  end)

  describe("mfa_serial", function()
    local MFA = "[profile dev]\nrole_arn = arn:aws:iam::1:role/dev\nsource_profile = base\n"
      .. "mfa_serial = arn:aws:iam::1:mfa/alice\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"

    it("asks mfa_code_provider for a code on every AssumeRole and sends it with the serial", function()
      ctl(srv, "POST", "config", { expires_in = 900 })
      local core = helpers.core()
      local skew, asked, codes = 0, {}, { "123456", "654321" }
      local p = credentials.from_config(opts_for(MFA, nil, { profile = "dev",
        clock = function() return core.time() + skew end,
        mfa_code_provider = function(serial)
          asked[#asked + 1] = serial
          return codes[#asked]
        end }))
      local c1 = assert(p:get())
      assert.equal(c1, p:get()) -- cached: no new code asked
      skew = 900 - 290 -- the refresh needs a fresh code
      local c2 = assert(p:get())
      assert.are_not.equal(c1.access_key_id, c2.access_key_id)
      assert.same({ "arn:aws:iam::1:mfa/alice", "arn:aws:iam::1:mfa/alice" }, asked)
      local log = log_of(srv, "sts")
      assert.equal(2, #log)
      for i, e in ipairs(log) do
        assert.equal("arn:aws:iam::1:mfa/alice", e.params.SerialNumber)
        assert.equal(codes[i], e.params.TokenCode)
        assert.is_true(e.signature_ok)
      end
    end)

    it("refuses the profile without mfa_code_provider, before any request", function()
      local _, err = credentials.from_config(opts_for(MFA, nil, { profile = "dev" })):get()
      assert.equal("CredentialsError", err.code)
      assert.equal('credentials: profile provider: profile "dev" sets mfa_serial: give the client an'
        .. " mfa_code_provider option (a function: serial -> the 6-digit code)", err.message)
      assert.equal(0, #log_of(srv, "sts"))
    end)

    it("checks the code and reports a failing provider, sending nothing", function()
      local cases = {
        { function() return 123456 end, " must return the 6-digit code as a string, got number" },
        { function() return "12345" end, " must return the 6-digit code as a string, got 5 characters" },
        { function() return "12345a" end, " must return the 6-digit code as a string, got 6 characters" },
        { function() return nil end, " must return the 6-digit code as a string, got nil" },
        { function() error("no terminal to ask", 0) end, " failed: no terminal to ask" },
      }
      for _, case in ipairs(cases) do
        local _, err = credentials.from_config(opts_for(MFA, nil, { profile = "dev",
          mfa_code_provider = case[1] })):get()
        assert.equal("CredentialsError", err.code)
        assert.equal("credentials: assume role provider: mfa_code_provider" .. case[2], err.message)
      end
      assert.equal(0, #log_of(srv, "sts"))
    end)
  end)

  it("keeps valid credentials when a refresh fails, and fails once they expired", function()
    ctl(srv, "POST", "config", { expires_in = 900 })
    local core = helpers.core()
    local skew = 0
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n",
      nil, { clock = function() return core.time() + skew end, rng = function() return 0 end }))
    local c1 = assert(p:get())
    ctl(srv, "POST", "config", { sts_error = { code = "InternalFailure", message = "down", status = 500 } })
    skew = 900 - 100
    assert.equal(c1, p:get())
    skew = 1000
    local c, err = p:get()
    assert.is_nil(c)
    assert.matches("InternalFailure", err.message)
  end)

  it("retries STS throttling and 5xx answers, then succeeds", function()
    ctl(srv, "POST", "config", { fail = 2, fail_status = 503 })
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n",
      nil, { rng = function() return 0 end }))
    assert(p:get())
    local log = log_of(srv, "sts")
    assert.equal(3, #log)
    for _, e in ipairs(log) do assert.is_true(e.signature_ok) end
  end)

  it("gives up on STS after 3 attempts and says how many were made", function()
    ctl(srv, "POST", "config", { fail = 10, fail_status = 500 })
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n",
      nil, { rng = function() return 0 end }))
    local c, err = p:get()
    assert.is_nil(c)
    assert.matches("STS AssumeRole failed: InternalFailure", err.message)
    assert.equal(3, err.attempts)
    assert.equal(3, #log_of(srv, "sts"))
  end)

  it("shares one refresh between ten concurrent tasks", function()
    ctl(srv, "POST", "config", { delay = 0.2 })
    local sched = require("gameliftstreams.sched")
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"))
    local tasks = {}
    for i = 1, 10 do tasks[i] = sched.spawn(function() return assert(p:get()).access_key_id end) end
    assert(sched.run())
    local first = tasks[1].result
    assert.matches("^ASIASTANDIN", first)
    for i = 1, 10 do
      assert.equal("done", tasks[i].status)
      assert.equal(first, tasks[i].result)
    end
    assert.equal(1, #log_of(srv, "sts"))
  end)
  it("a waiting task fetches itself when the task it waited for is cancelled", function()
    ctl(srv, "POST", "config", { delay = 0.2 })
    local sched = require("gameliftstreams.sched")
    local p = credentials.from_config(opts_for(
      "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      .. "[profile base]\naws_access_key_id = AKSOURCE\naws_secret_access_key = source-secret\n"))
    local a = sched.spawn(function() return p:get() end)
    local b = sched.spawn(function() return assert(p:get()).access_key_id end)
    sched.step(0.05)
    assert.equal(1, #log_of(srv, "sts"))
    a:cancel()
    sched.run()
    assert.equal("done", b.status)
    assert.matches("^ASIASTANDIN", b.result)
    assert.equal(2, #log_of(srv, "sts"))
  end)
end)

describe("web identity", function()
  local srv, dir
  setup(function() srv = helpers.spawn_server(STANDINS, { "sts", "--web_token", "jwt-1" }) end)
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    ctl(srv, "POST", "reset")
  end)
  after_each(function() helpers.rm_rf(dir) end)

  it("calls AssumeRoleWithWebIdentity unsigned with the token file from the environment", function()
    local tf = helpers.write_file(dir .. "/token", "jwt-1\n")
    local p = credentials.from_config{ sts_endpoint = srv.url, getenv = env{
      AWS_WEB_IDENTITY_TOKEN_FILE = tf, AWS_ROLE_ARN = "arn:aws:iam::1:role/web",
      AWS_ROLE_SESSION_NAME = "pod-1" } }
    local c = assert(p:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    local e = log_of(srv, "sts")[1]
    assert.equal("AssumeRoleWithWebIdentity", e.params.Action)
    assert.equal("jwt-1", e.params.WebIdentityToken)
    assert.equal("pod-1", e.params.RoleSessionName)
    assert.equal("arn:aws:iam::1:role/web", e.params.RoleArn)
    assert.is_nil(e.headers.authorization)
  end)

  it("comes before the profile and reads the token again on refresh", function()
    local tf = helpers.write_file(dir .. "/token", "jwt-1")
    local k = helpers.write_file(dir .. "/credentials", "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = f\n")
    local skew = 0
    local core = helpers.core()
    local p = credentials.from_config{ sts_endpoint = srv.url, clock = function() return core.time() + skew end,
      getenv = env{ AWS_WEB_IDENTITY_TOKEN_FILE = tf, AWS_ROLE_ARN = "arn:aws:iam::1:role/web",
                    AWS_SHARED_CREDENTIALS_FILE = k } }
    assert.matches("^ASIASTANDIN", p:get().access_key_id)
    helpers.write_file(tf, "jwt-2")
    skew = 3600
    local c, err = p:get()
    assert.is_nil(c)
    assert.matches("web identity provider: STS AssumeRoleWithWebIdentity failed: InvalidIdentityToken", err.message)
    refute_secret(err, "jwt-2")
    local log = log_of(srv, "sts")
    assert.equal("jwt-2", log[2].params.WebIdentityToken)
  end)

  it("reads web_identity_token_file and role_arn from the profile", function()
    local tf = helpers.write_file(dir .. "/token", "jwt-1")
    local c = helpers.write_file(dir .. "/config",
      "[profile w]\nrole_arn = arn:aws:iam::1:role/pw\nweb_identity_token_file = " .. tf .. "\n")
    local got = assert(credentials.from_config{ profile = "w", sts_endpoint = srv.url,
      getenv = env{ AWS_CONFIG_FILE = c } }:get())
    assert.matches("^ASIASTANDIN", got.access_key_id)
    assert.equal("arn:aws:iam::1:role/pw", log_of(srv, "sts")[1].params.RoleArn)
  end)

  it("names the provider when the token file is missing", function()
    local _, err = credentials.from_config{ sts_endpoint = srv.url, getenv = env{
      AWS_WEB_IDENTITY_TOKEN_FILE = dir .. "/missing", AWS_ROLE_ARN = "arn:aws:iam::1:role/web" } }:get()
    assert.matches("web identity provider: cannot read the token file", err.message)
  end)
end)

describe("container credentials", function()
  local srv, dir
  setup(function() srv = helpers.spawn_server(STANDINS, { "container" }) end)
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    ctl(srv, "POST", "reset")
  end)
  after_each(function() helpers.rm_rf(dir) end)

  it("fetches from AWS_CONTAINER_CREDENTIALS_FULL_URI with the authorization token", function()
    ctl(srv, "POST", "config", { auth_token = "container-auth" })
    local p = credentials.from_config{ getenv = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "container-auth" } }
    local c = assert(p:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.matches("^standin%-token", c.session_token)
    local log = log_of(srv, "container")
    assert.equal(1, #log)
    assert.equal("container-auth", log[1].headers.authorization)
  end)

  it("reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE on each fetch, before the plain token", function()
    ctl(srv, "POST", "config", { auth_token = "from-file-1", expires_in = 60 })
    local tf = helpers.write_file(dir .. "/token", "from-file-1\n")
    local p = credentials.from_config{ getenv = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = tf, AWS_CONTAINER_AUTHORIZATION_TOKEN = "ignored" } }
    assert(p:get())
    -- expires in 60 s: inside the refresh window, so the next get fetches again
    helpers.write_file(tf, "from-file-2")
    ctl(srv, "POST", "config", { auth_token = "from-file-2" })
    assert(p:get())
    local log = log_of(srv, "container")
    assert.equal(2, #log)
    assert.equal("from-file-1", log[1].headers.authorization)
    assert.equal("from-file-2", log[2].headers.authorization)
  end)

  it("fails naming the provider when the endpoint refuses", function()
    ctl(srv, "POST", "config", { auth_token = "right" })
    local _, err = credentials.from_config{ getenv = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "wrong-token" } }:get()
    assert.equal("credentials: container provider: endpoint answered HTTP 401", err.message)
    refute_secret(err, "wrong-token")
  end)

  it("joins AWS_CONTAINER_CREDENTIALS_RELATIVE_URI to the container host", function()
    local p = credentials.from_config{ container_endpoint = srv.url,
      getenv = env{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/abc-123" } }
    assert(p:get())
    assert.equal("/v2/credentials/abc-123", log_of(srv, "container")[1].path)
  end)

  it("allows http full URIs only to loopback and the container hosts", function()
    for _, u in ipairs{ "http://127.0.0.1:80/x", "http://127.1.2.3/x", "http://localhost:9/x",
                        "http://[::1]:8/x", "http://169.254.170.2/v2", "http://169.254.170.23/v1",
                        "http://[fd00:ec2::23]/x", "https://creds.example.com/x" } do
      assert.is_true(credentials.allowed_full_uri(u), u)
    end
    for _, u in ipairs{ "http://example.com/x", "http://10.0.0.1/x", "http://127.0.0.1.evil.com/x",
                        "ftp://127.0.0.1/x", "http://localhost.evil/x" } do
      assert.is_false(credentials.allowed_full_uri(u), u)
    end
    local _, err = credentials.from_config{ getenv = env{
      AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://example.com/creds" } }:get()
    assert.matches("container provider: AWS_CONTAINER_CREDENTIALS_FULL_URI must use https", err.message)
  end)
end)

describe("EC2 instance metadata", function()
  local srv
  setup(function() srv = helpers.spawn_server(STANDINS, { "imds" }) end)
  teardown(function() srv.stop() end)
  before_each(function() ctl(srv, "POST", "reset") end)

  local function imds_env(extra)
    local t = { AWS_EC2_METADATA_DISABLED = "false", AWS_EC2_METADATA_SERVICE_ENDPOINT = srv.url }
    for k, v in pairs(extra or {}) do t[k] = v end
    return env(t)
  end

  it("asks for a token first, then the role and its credentials with the token", function()
    local c = assert(credentials.from_config{ getenv = imds_env() }:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.equal("instance metadata", c.provider)
    local log = log_of(srv, "imds")
    assert.equal(3, #log)
    assert.equal("PUT", log[1].method)
    assert.equal("/latest/api/token", log[1].path)
    assert.equal("21600", log[1].headers["x-aws-ec2-metadata-token-ttl-seconds"])
    assert.equal("/latest/meta-data/iam/security-credentials/", log[2].path)
    assert.equal("/latest/meta-data/iam/security-credentials/standin-role", log[3].path)
    assert.equal("standin-imds-token", log[2].headers["x-aws-ec2-metadata-token"])
    assert.equal("standin-imds-token", log[3].headers["x-aws-ec2-metadata-token"])
  end)

  it("falls back to IMDSv1 when the token call is refused", function()
    ctl(srv, "POST", "config", { imds_v1 = true })
    assert(credentials.from_config{ getenv = imds_env() }:get())
    local log = log_of(srv, "imds")
    assert.equal(3, #log)
    assert.is_nil(log[3].headers["x-aws-ec2-metadata-token"])
  end)

  it("does not fall back to IMDSv1 when AWS_EC2_METADATA_V1_DISABLED=true", function()
    ctl(srv, "POST", "config", { imds_v1 = true })
    local c, err = credentials.from_config{ getenv = imds_env{ AWS_EC2_METADATA_V1_DISABLED = "true" } }:get()
    assert.is_nil(c)
    assert.matches("instance metadata %(token request answered HTTP 403%)", err.message)
    assert.equal(1, #log_of(srv, "imds"))
  end)

  it("sends each request once unless AWS_METADATA_SERVICE_NUM_ATTEMPTS says more", function()
    ctl(srv, "POST", "config", { fail = 1, fail_status = 500 })
    local c, err = credentials.from_config{ getenv = imds_env() }:get()
    assert.is_nil(c)
    assert.matches("instance metadata %(credentials request answered HTTP 500%)", err.message)
    assert.equal(3, #log_of(srv, "imds"))
    ctl(srv, "POST", "reset")
    ctl(srv, "POST", "config", { fail = 1, fail_status = 500 })
    assert(credentials.from_config{ getenv = imds_env{ AWS_METADATA_SERVICE_NUM_ATTEMPTS = "2" } }:get())
    assert.equal(4, #log_of(srv, "imds"))
  end)

  it("falls back to IMDSv1 when the token call gets no answer (a hop limit), unless v1 is off",
     function()
    ctl(srv, "POST", "config", { token_hang = true })
    local c = assert(credentials.from_config{ imds_timeout = 0.1, getenv = imds_env() }:get())
    assert.matches("^ASIASTANDIN", c.access_key_id)
    local log = log_of(srv, "imds")
    assert.equal(3, #log)
    assert.equal("PUT", log[1].method)
    assert.is_nil(log[2].headers["x-aws-ec2-metadata-token"])
    assert.is_nil(log[3].headers["x-aws-ec2-metadata-token"])
    ctl(srv, "POST", "reset")
    ctl(srv, "POST", "config", { token_hang = true })
    local err
    c, err = credentials.from_config{ imds_timeout = 0.1,
      getenv = imds_env{ AWS_EC2_METADATA_V1_DISABLED = "true" } }:get()
    assert.is_nil(c)
    assert.matches("instance metadata %(no answer to the token request: Timeout%)", err.message)
    assert.equal(1, #log_of(srv, "imds"))
  end)

  it("takes the timeout and attempts from the environment, then the profile", function()
    ctl(srv, "POST", "config", { hang = true })
    local core = helpers.core()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config",
      "[default]\nmetadata_service_timeout = 0.1\nmetadata_service_num_attempts = 2\n")
    local t0 = core.monotime()
    local c = credentials.from_config{ getenv = imds_env{ AWS_CONFIG_FILE = cfg } }:get()
    local took = core.monotime() - t0
    assert.is_nil(c)
    assert.equal(4, #log_of(srv, "imds")) -- the token twice, then the role twice (v1)
    assert.is_true(took >= 0.4 and took < 0.9, "took " .. took)
    ctl(srv, "POST", "reset")
    ctl(srv, "POST", "config", { hang = true })
    t0 = core.monotime()
    c = credentials.from_config{ getenv = imds_env{ AWS_CONFIG_FILE = cfg,
      AWS_METADATA_SERVICE_TIMEOUT = "0.2", AWS_METADATA_SERVICE_NUM_ATTEMPTS = "1" } }:get()
    took = core.monotime() - t0
    assert.is_nil(c)
    assert.equal(2, #log_of(srv, "imds"))
    assert.is_true(took >= 0.4 and took < 0.9, "took " .. took)
    helpers.rm_rf(dir)
  end)

  it("keeps using credentials IMDS hands out expired (an outage) for 5 to 10 minutes", function()
    ctl(srv, "POST", "config", { expires_in = -60 })
    local now = os.time()
    local p = credentials.from_config{ getenv = imds_env(), rng = function() return 0.5 end }
    local c = assert(p:get())
    -- 300 s of refresh window, then 300 to 600 s more (here 450): IMDS is asked again after that
    assert.is_true(c.expiration >= now + 749 and c.expiration <= now + 752, "expiration " .. c.expiration - now)
    assert(p:get())
    assert(p:get())
    assert.equal(3, #log_of(srv, "imds")) -- one fetch, not one per call
    -- credentials with time left are kept as IMDS gives them
    ctl(srv, "POST", "reset")
    now = os.time()
    c = assert(credentials.from_config{ getenv = imds_env() }:get())
    assert.is_true(c.expiration >= now + 3598 and c.expiration <= now + 3601)
  end)

  it("is skipped when AWS_EC2_METADATA_DISABLED=true", function()
    local c, err = credentials.from_config{ getenv = imds_env{ AWS_EC2_METADATA_DISABLED = "TRUE" } }:get()
    assert.is_nil(c)
    assert.matches("instance metadata %(disabled%)", err.message)
    assert.equal(0, #log_of(srv, "imds"))
  end)

  it("takes the endpoint from the profile's ec2_metadata_service_endpoint", function()
    local dir = helpers.tmpdir()
    local cfg = helpers.write_file(dir .. "/config", "[default]\nec2_metadata_service_endpoint = " .. srv.url .. "\n")
    local ok = credentials.from_config{ getenv = env{ AWS_EC2_METADATA_DISABLED = "false",
      AWS_CONFIG_FILE = cfg } }:get()
    helpers.rm_rf(dir)
    assert.truthy(ok)
    assert.equal(3, #log_of(srv, "imds"))
  end)

  it("gives up on a silent IMDS after the token request and the IMDSv1 try time out", function()
    ctl(srv, "POST", "config", { hang = true })
    local core = helpers.core()
    local t0 = core.monotime()
    local c, err = credentials.from_config{ imds_timeout = 0.1, getenv = imds_env() }:get()
    local took = core.monotime() - t0
    assert.is_nil(c)
    assert.matches("instance metadata %(no answer: Timeout%)", err.message)
    assert.equal(2, #log_of(srv, "imds"))
    assert.is_true(took >= 0.2 and took < 1, "took " .. took)
  end)

  it("counts as not configured when nothing answers", function()
    -- a port that was just free: connection refused at once
    local sock = require("socket").bind("127.0.0.1", 0)
    local _, port = sock:getsockname()
    sock:close()
    local c, err = credentials.from_config{ getenv = imds_env{
      AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:" .. port } }:get()
    assert.is_nil(c)
    assert.matches("none found", err.message)
    assert.matches("instance metadata %(no answer", err.message)
  end)
end)

describe("endpoints of the credential services", function()
  it("uses regional STS endpoints, us-east-1 when no region is set", function()
    assert.equal("https://sts.us-east-1.amazonaws.com/", credentials.sts_endpoint({ getenv = env() }, {}))
    assert.equal("https://sts.eu-west-1.amazonaws.com/", credentials.sts_endpoint({ getenv = env() }, { region = "eu-west-1" }))
    assert.equal("https://sts.ap-south-1.amazonaws.com/",
      credentials.sts_endpoint({ getenv = env{ AWS_REGION = "ap-south-1" } }, { region = "eu-west-1" }))
    assert.equal("https://sts.cn-north-1.amazonaws.com.cn/", credentials.sts_endpoint({ region = "cn-north-1", getenv = env() }, {}))
    local url, region = credentials.sts_endpoint({ region = "us-west-2", sts_endpoint = "http://127.0.0.1:9/x",
      getenv = env() }, {})
    assert.equal("http://127.0.0.1:9/x", url)
    assert.equal("us-west-2", region)
    assert.equal("http://sts.env/", credentials.sts_endpoint({ getenv = env{ AWS_ENDPOINT_URL_STS = "http://sts.env" } }, {}))
  end)

  it("picks the IMDS endpoint from option, environment, profile, or the IPv4/IPv6 default", function()
    assert.equal("http://169.254.169.254", credentials.imds_endpoint({ getenv = env() }, {}))
    assert.equal("http://[fd00:ec2::254]", credentials.imds_endpoint({ getenv = env{
      AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE = "IPv6" } }, {}))
    assert.equal("http://[fd00:ec2::254]", credentials.imds_endpoint({ getenv = env() },
      { ec2_metadata_service_endpoint_mode = "ipv6" }))
    assert.equal("http://p", credentials.imds_endpoint({ getenv = env() }, { ec2_metadata_service_endpoint = "http://p/" }))
    assert.equal("http://e", credentials.imds_endpoint({ getenv = env{ AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://e" } },
      { ec2_metadata_service_endpoint = "http://p" }))
    local _, v1_off = credentials.imds_endpoint({ getenv = env{ AWS_EC2_METADATA_V1_DISABLED = "true" } }, {})
    assert.is_true(v1_off)
  end)
end)

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

describe("credential_source for role profiles", function()
  local srv, dir
  setup(function() srv = helpers.spawn_server(STANDINS, {}) end) -- STS, IMDS and container in one
  teardown(function() srv.stop() end)
  before_each(function()
    dir = helpers.tmpdir()
    ctl(srv, "POST", "reset")
  end)
  after_each(function() helpers.rm_rf(dir) end)

  local function role_profile(source, e)
    local c = helpers.write_file(dir .. "/config",
      "[profile r]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = " .. source .. "\n")
    e.AWS_CONFIG_FILE = c
    return credentials.from_config{ profile = "r", sts_endpoint = srv.url, getenv = env(e) }
  end

  it("EcsContainer: the container credentials sign AssumeRole", function()
    local c = assert(role_profile("EcsContainer", { AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds" }):get())
    local log = log_of(srv)
    assert.equal(2, #log)
    assert.equal("container", log[1].service)
    assert.equal("sts", log[2].service)
    assert.equal("ASIASTANDIN00001", log[2].signer)
    assert.is_true(log[2].signature_ok)
    assert.equal("ASIASTANDIN00002", c.access_key_id)
  end)

  it("Ec2InstanceMetadata: the instance credentials sign AssumeRole", function()
    local c = assert(role_profile("Ec2InstanceMetadata", { AWS_EC2_METADATA_DISABLED = "false",
      AWS_EC2_METADATA_SERVICE_ENDPOINT = srv.url }):get())
    local log = log_of(srv)
    assert.equal(4, #log)
    assert.equal("imds", log[1].service)
    assert.equal("sts", log[4].service)
    assert.is_true(log[4].signature_ok)
    assert.matches("^ASIASTANDIN", c.access_key_id)
    assert.are_not.equal(log[4].signer, c.access_key_id)
  end)

  it("Ec2InstanceMetadata fails, naming the provider, when IMDS is disabled", function()
    local c, err = role_profile("Ec2InstanceMetadata", { AWS_EC2_METADATA_DISABLED = "true" }):get()
    assert.is_nil(c)
    assert.equal("credentials: assume role provider: source credentials: instance metadata provider: "
      .. "disabled by AWS_EC2_METADATA_DISABLED", err.message)
    assert.equal(0, #log_of(srv))
  end)

  it("refuses an unknown credential_source and source_profile together with credential_source", function()
    local _, err = role_profile("Somewhere", {}):get()
    assert.matches("unsupported credential_source Somewhere", err.message)
    local c = helpers.write_file(dir .. "/config", "[default]\nrole_arn = arn:aws:iam::1:role/r\n"
      .. "credential_source = Environment\nsource_profile = x\n")
    _, err = credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c } }:get()
    assert.matches("sets both source_profile and credential_source", err.message)
  end)
end)

describe("credentials.parse_time", function()
  it("reads ISO 8601 with Z, fractions and offsets, and epoch numbers", function()
    assert.equal(0, credentials.parse_time("1970-01-01T00:00:00Z"))
    assert.equal(951782400, credentials.parse_time("2000-02-29T00:00:00Z"))
    assert.equal(951782400.25, credentials.parse_time("2000-02-29T00:00:00.25Z"))
    assert.equal(951782400 - 3600, credentials.parse_time("2000-02-29T00:00:00+01:00"))
    assert.equal(1795374000, credentials.parse_time("2026-11-22T19:00:00Z"))
    assert.equal(12, credentials.parse_time("12"))
    assert.is_nil(credentials.parse_time("tomorrow"))
  end)

  it("parses STS XML, unescaping entities", function()
    local c = credentials.parse_sts("<X><Credentials><AccessKeyId>AK</AccessKeyId><SecretAccessKey>a&amp;b"
      .. "</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2000-02-29T00:00:00Z</Expiration>"
      .. "</Credentials></X>")
    assert.same({ "AK", "a&b", "t", 951782400 }, { c.access_key_id, c.secret_access_key, c.session_token, c.expiration })
    local none, e = credentials.parse_sts("<ErrorResponse><Error><Code>Throttling</Code><Message>slow &lt;down&gt;"
      .. "</Message></Error><RequestId>r1</RequestId></ErrorResponse>")
    assert.is_nil(none)
    assert.same({ code = "Throttling", message = "slow <down>", request_id = "r1" }, e)
  end)
end)

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

  local function signer_of_last()
    local _, body = helpers.control(emu, "GET", "requests")
    local e = body.requests[#body.requests]
    return e.headers.authorization:match("Credential=([^/]+)/"), e.headers["x-amz-security-token"]
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
