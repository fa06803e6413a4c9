-- Hooks on every attempt, and the ready logger: against the emulator and the stand-ins of the
-- AWS endpoints the credential providers call (STS, SSO, SSO OIDC, container, IMDS).
local helpers = require("helpers")
local cjson = require("cjson")
local gls = require("gameliftstreams")

local STANDINS = "spec/support/aws_standins.lua"

-- Every secret the calls below carry: none may reach a hook.
local SECRET_KEY = "hooks-secret-key-0123456789"
local SESSION_TOKEN = "hooks-session-token-0123456789"
local SIGNAL = "v=0 hooks-signal-offer-0123456789"
local ROLE_ARN = "arn:aws:iam::123456789012:role/hooks-secret-role"
local WEB_TOKEN = "hooks-web-identity-token-0123456789"
local CONTAINER_TOKEN = "hooks-container-token-0123456789"
local SECRETS = { SECRET_KEY, SESSION_TOKEN, SIGNAL, ROLE_ARN, WEB_TOKEN, CONTAINER_TOKEN,
  "shared-source-secret", "standin-secret-", "standin-token-", "standin-sso-token", "standin-refresh",
  "standin-secret\"", "standin-imds-token", "emulator-secret" }

-- A hook set that keeps every event, and the events as one JSON text per event.
local function recorder()
  local rec = { events = {} }
  local function keep(ev) rec.events[#rec.events + 1] = ev end
  rec.hooks = { before_send = keep, after_receive = keep, call_end = keep }
  function rec.of(name)
    local out = {}
    for _, e in ipairs(rec.events) do if e.event == name then out[#out + 1] = e end end
    return out
  end
  function rec.text()
    local parts = {}
    for i, e in ipairs(rec.events) do parts[i] = cjson.encode(e) end
    return table.concat(parts, "\n")
  end
  return rec
end

-- Each secret as it is, and as JSON writes it ("/" escaped), in the events' JSON text.
local function refute_secrets(text)
  for _, s in ipairs(SECRETS) do
    for _, form in ipairs{ s, (cjson.encode(s):sub(2, -2)) } do
      assert.is_nil(text:find(form, 1, true), "a hook saw the secret " .. s .. " in: " .. text)
    end
  end
end

local function env(t)
  t.HOME = t.HOME or "/nonexistent-home"
  t.AWS_EC2_METADATA_DISABLED = t.AWS_EC2_METADATA_DISABLED or "true"
  return function(k) return t[k] end
end

describe("hooks", function()
  local emu
  setup(function()
    emu = helpers.start_emulator{}
    helpers.control(emu, "POST", "credentials", { access_key_id = "AKIDHOOKS",
      secret_access_key = SECRET_KEY, session_token = SESSION_TOKEN })
  end)
  teardown(function() emu.stop() end)
  before_each(function()
    helpers.control(emu, "DELETE", "faults")
    helpers.control(emu, "DELETE", "requests")
  end)

  local function client(rec, extra)
    local o = { region = "us-west-2", endpoint = emu.url, hooks = rec and rec.hooks,
                credentials = { access_key_id = "AKIDHOOKS", secret_access_key = SECRET_KEY,
                                session_token = SESSION_TOKEN },
                getenv = env{} }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(gls.new(o))
  end

  it("are called before sending, after receiving and at the end of a call, with what was sent", function()
    local rec = recorder()
    local c = client(rec)
    assert(c:list_applications{ MaxResults = 5 })
    local names = {}
    for i, e in ipairs(rec.events) do names[i] = e.event end
    assert.same({ "before_send", "after_receive", "call_end" }, names)
    local b, a, e = rec.events[1], rec.events[2], rec.events[3]
    local _, log = helpers.control(emu, "GET", "requests")
    local sent = log.requests[1]
    for _, ev in ipairs(rec.events) do
      assert.equal("ListApplications", ev.operation)
      assert.equal("gameliftstreams", ev.service)
      assert.is_false(ev.sdk_call)
      assert.equal(sent.invocation_id, ev.invocation_id)
    end
    assert.equal(1, b.attempt)
    assert.equal(3, b.max_attempts)
    assert.equal("GET", b.method)
    assert.equal(emu.url .. "/applications?MaxResults=5", b.url)
    -- the headers as sent, the signature and the token cut out
    assert.equal(sent.headers["x-amz-date"], b.headers["x-amz-date"])
    assert.equal(sent.headers["amz-sdk-request"], b.headers["amz-sdk-request"])
    assert.equal(sent.headers["user-agent"], b.headers["user-agent"])
    assert.equal("REDACTED", b.headers["x-amz-security-token"])
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDHOOKS/%d+/us%-west%-2/gameliftstreams/aws4_request, "
      .. "SignedHeaders=[%w%-;]+, Signature=REDACTED$", b.headers.authorization)
    assert.equal(200, a.status)
    assert.equal(sent.request_id, a.request_id)
    assert.is_number(a.duration)
    assert.is_false(a.retry)
    assert.is_nil(a.error)
    assert.equal(1, e.attempts)
    assert.equal(200, e.status)
    assert.is_nil(e.error)
    assert.is_true(e.duration >= a.duration)
  end)

  it("see each retried attempt with the retry decision and its delay", function()
    local rec = recorder()
    local c = client(rec)
    helpers.control(emu, "POST", "faults", { operation = "ListApplications", kind = "throttle", count = 2 })
    assert(c:list_applications())
    local got = rec.of("after_receive")
    assert.equal(3, #got)
    for i = 1, 2 do
      assert.equal(i, got[i].attempt)
      assert.equal(429, got[i].status)
      assert.equal("ThrottlingException", got[i].error.code)
      assert.is_true(got[i].error.retryable)
      assert.is_true(got[i].retry)
      assert.is_number(got[i].delay)
    end
    assert.equal(200, got[3].status)
    assert.equal("attempt=2; max=3", rec.of("before_send")[2].headers["amz-sdk-request"])
    local e = rec.of("call_end")
    assert.equal(1, #e)
    assert.equal(3, e[1].attempts)
  end)

  it("see the final error at the end of a failed call, sensitive members cut out of its message", function()
    local rec = recorder()
    local c = client(rec, { max_attempts = 2 })
    helpers.control(emu, "POST", "faults", { operation = "StartStreamSession", kind = "error", status = 400,
      code = "ValidationException", message = "the offer " .. SIGNAL .. " is not valid", count = 1 })
    local out, err = c:start_stream_session{ Identifier = "sg-000000000", Protocol = "WebRTC",
      ApplicationIdentifier = "a-000000000", SignalRequest = SIGNAL }
    assert.is_nil(out)
    assert.equal("ValidationException", err.code)
    local e = rec.of("call_end")[1]
    assert.equal("StartStreamSession", e.operation)
    assert.equal("ValidationException", e.error.code)
    assert.equal(400, e.status)
    assert.equal("the offer REDACTED is not valid", e.error.message)
    assert.is_false(rec.of("after_receive")[1].retry)
    refute_secrets(rec.text())
  end)

  it("see a transport failure: no status, the error's code", function()
    local rec = recorder()
    local s = require("socket").bind("127.0.0.1", 0)
    local _, dead = s:getsockname()
    s:close()
    local c = client(rec, { endpoint = "http://127.0.0.1:" .. dead, max_attempts = 2 })
    local _, err = c:list_applications()
    assert.equal("NetworkError", err.code)
    local got = rec.of("after_receive")
    assert.equal(2, #got)
    assert.is_nil(got[1].status)
    assert.equal("NetworkError", got[1].error.code)
    assert.is_true(got[1].retry)
    assert.is_false(got[2].retry)
    assert.equal(2, rec.of("call_end")[1].attempts)
  end)

  it("take a list of hook tables, and cover pages", function()
    local a, b = recorder(), recorder()
    local c = client(nil, { hooks = { a.hooks, { call_end = b.hooks.call_end } } })
    for _ in c:pages("list_applications", {}, { page_size = 1 }) do end
    assert.is_true(#a.of("call_end") >= 1)
    assert.equal(#a.of("call_end"), #b.events)
  end)

  it("are checked by gls.new", function()
    local _, err = gls.new{ hooks = { before_sned = function() end } }
    assert.equal("InvalidParameter", err.code)
    assert.matches("before_sned", err.message)
    assert.matches("before_send, after_receive or call_end", err.message)
    _, err = gls.new{ hooks = { call_end = "print" } }
    assert.matches("hooks.call_end must be a function", err.message)
    _, err = gls.new{ hooks = { { call_end = print }, 3 } }
    assert.matches("hooks%[2%] must be a table", err.message)
    _, err = gls.new{ hooks = {} }
    assert.matches("holds no hook", err.message)
    _, err = gls.new{ log = "yes" }
    assert.matches("option 'log' must be a boolean", err.message)
  end)

  -- A child Lua process, so that its stderr is read as a user would see it.
  local function child(script, envs)
    local dir = helpers.tmpdir()
    local path = helpers.write_file(dir .. "/child.lua", script)
    os.execute(string.format("cd %s && env %s %s lua5.4 %s >/dev/null 2>%s",
      helpers.shell_quote(helpers.root), helpers.lua_env(), envs or "", helpers.shell_quote(path),
      helpers.shell_quote(dir .. "/stderr")))
    local out = helpers.read_file(dir .. "/stderr") or ""
    helpers.rm_rf(dir)
    return out
  end

  local CHILD = [[
local gls = require("gameliftstreams")
local c = assert(gls.new{ region = "us-west-2", endpoint = os.getenv("EMU"), @LOG@
  credentials = { access_key_id = "AKIDHOOKS", secret_access_key = "]] .. SECRET_KEY .. [[",
                  session_token = "]] .. SESSION_TOKEN .. [[" }, @HOOKS@ })
for _ = 1, 3 do assert(c:list_applications()) end
]]

  it("read an input raw when they look for its sensitive members: no metatable runs", function()
    local hooks = require("gameliftstreams.hooks")
    local model = require("gameliftstreams.model")
    local calls = 0
    local function made_up() calls = calls + 1; if calls > 100 then error("__index ran forever") end
      return "us-east-1" end
    local input = { Identifier = "sg-1", SignalRequest = SIGNAL, Protocol = "WebRTC",
      Locations = setmetatable({}, { __index = made_up, __len = function() return 2 ^ 40 end }),
      AdditionalEnvironmentVariables = setmetatable({ A = "b" }, { __pairs = function() error("__pairs ran") end }) }
    local found = hooks.sensitive_strings(model, model.operations.StartStreamSession.input,
      setmetatable(input, { __index = function() error("__index of the input ran") end }))
    assert.same({ SIGNAL }, found)
    assert.equal(0, calls)
    -- and through a client with a hook: refused before anything is sent, the hook sees its end
    local rec = recorder()
    local out, err = client(rec):start_stream_session{ Identifier = "sg-1", SignalRequest = SIGNAL,
      Protocol = "WebRTC", Locations = setmetatable({}, { __index = made_up, __len = function() return 3 end }) }
    assert.is_nil(out)
    assert.equal("InvalidParameter", err.code)
    assert.equal(1, #rec.of("call_end"))
    assert.equal(0, #rec.of("before_send"))
    refute_secrets(rec.text())
  end)

  it("log one line per attempt with no control character a server sent (no terminal escapes)", function()
    local hooks = require("gameliftstreams.hooks")
    local line = hooks.format_line{ event = "after_receive", operation = "GetStreamSession", attempt = 1,
      max_attempts = 3, method = "GET", url = "https://x/y", status = 400, duration = 0.01,
      error = { code = "ValidationException", message = "bad\27[2J\r\nforged line\0\t!" } }
    assert.is_nil(line:find("%c"), line)
    assert.matches("400 ValidationException: bad %[2J  forged line  !", line)
  end)

  it("does not break the call when a hook raises, and says so once per hook", function()
    local out = child(CHILD:gsub("@LOG@", ""):gsub("@HOOKS@",
      "hooks = { before_send = function() error('hook bug') end, call_end = function(ev) error({}) end }"),
      "EMU=" .. emu.url)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(2, #lines, out)
    assert.matches("the before_send hook raised an error %(reported once; the call goes on%): .*hook bug", out)
    assert.matches("the call_end hook raised an error", out)
  end)

  it("has a ready logger: one line per attempt on stderr, turned on by GLS_LOG or the log option", function()
    helpers.control(emu, "POST", "faults", { operation = "ListApplications", kind = "throttle", count = 1 })
    local out = child(CHILD:gsub("@LOG@", ""):gsub("@HOOKS@", ""), "EMU=" .. emu.url .. " GLS_LOG=1")
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(4, #lines, out) -- a throttled attempt, its retry, two more calls
    assert.matches("^gameliftstreams: ListApplications attempt 1/3 GET http://127%.0%.0%.1:%d+/applications %-> "
      .. "429 ThrottlingException: Rate exceeded %(%d+%.%d+ s, request id [%w%-]+%); retry in %d+%.%d+ s$", lines[1])
    assert.matches("^gameliftstreams: ListApplications attempt 2/3 GET .* %-> 200 %(%d+%.%d+ s, request id [%w%-]+%)$",
      lines[2])
    refute_secrets(out)
    out = child(CHILD:gsub("@LOG@", "log = true,"):gsub("@HOOKS@", ""), "EMU=" .. emu.url)
    assert.equal(3, select(2, out:gsub("\n", "")), out)
    out = child(CHILD:gsub("@LOG@", "log = false,"):gsub("@HOOKS@", ""), "EMU=" .. emu.url .. " GLS_LOG=1")
    assert.equal("", out)
    out = child(CHILD:gsub("@LOG@", ""):gsub("@HOOKS@", ""), "EMU=" .. emu.url .. " GLS_LOG=0")
    assert.equal("", out)
  end)
end)

describe("hooks on the SDK's own calls (credentials)", function()
  local srv, emu, dir
  setup(function()
    srv = helpers.spawn_server(STANDINS, { "--auth_token", CONTAINER_TOKEN })
    emu = helpers.start_emulator{}
  end)
  teardown(function()
    srv.stop()
    emu.stop()
  end)
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  local function client(rec, e, extra)
    local o = { region = "us-west-2", endpoint = emu.url, hooks = rec.hooks, getenv = env(e),
                sts_endpoint = srv.url, imds_endpoint = srv.url }
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(gls.new(o))
  end

  local function sdk_events(rec)
    local out = {}
    for _, ev in ipairs(rec.events) do
      if ev.sdk_call then out[#out + 1] = ev end
    end
    return out
  end

  local function kinds(rec)
    local seen = {}
    for _, ev in ipairs(sdk_events(rec)) do
      if ev.event == "call_end" then seen[#seen + 1] = ev.service .. ":" .. ev.operation end
    end
    return seen
  end

  it("see STS AssumeRole as an SDK call, with the role ARN cut out of its error", function()
    local cfg = helpers.write_file(dir .. "/config", "[profile r]\nrole_arn = " .. ROLE_ARN
      .. "\nsource_profile = src\n[profile src]\naws_access_key_id = AKIDSRC\n"
      .. "aws_secret_access_key = shared-source-secret\n")
    local rec = recorder()
    local c = client(rec, { AWS_CONFIG_FILE = cfg, AWS_SHARED_CREDENTIALS_FILE = dir .. "/none" },
                     { profile = "r" })
    c:list_applications() -- the emulator does not know the stand-in's keys: the call fails, STS was asked
    assert.same({ "sts:AssumeRole" }, kinds(rec))
    local b = sdk_events(rec)[1]
    assert.equal("before_send", b.event)
    assert.equal("POST", b.method)
    assert.equal(srv.url .. "/", b.url)
    assert.matches("Credential=AKIDSRC/.*Signature=REDACTED$", b.headers.authorization)
    local a = sdk_events(rec)[2]
    assert.equal(200, a.status)
    assert.matches("^req%-%d+$", a.request_id)
    -- the operation's own events follow, signed with what STS issued
    assert.equal("ListApplications", rec.events[#rec.events].operation)
    -- STS refuses, naming the role in its message
    local rec2 = recorder()
    local pool = helpers.core().http_pool{}
    pool:request{ method = "POST", url = srv.url .. "/_ctl/config", timeout = 5,
      body = cjson.encode{ sts_error = { code = "AccessDenied", status = 403,
        message = "not authorized to perform sts:AssumeRole on resource: " .. ROLE_ARN } } }
    c = client(rec2, { AWS_CONFIG_FILE = cfg, AWS_SHARED_CREDENTIALS_FILE = dir .. "/none" }, { profile = "r" })
    local _, err = c:list_applications()
    assert.equal("CredentialsError", err.code)
    -- the error the caller gets does not carry the role ARN either (nor does its text form)
    assert.matches("STS AssumeRole failed: AccessDenied: not authorized to perform sts:AssumeRole on "
      .. "resource: REDACTED %(HTTP 403%)", err.message)
    refute_secrets(tostring(err) .. cjson.encode(err))
    local ends = {}
    for _, ev in ipairs(sdk_events(rec2)) do if ev.event == "call_end" then ends[#ends + 1] = ev end end
    assert.equal(1, #ends)
    assert.equal(403, ends[1].status)
    assert.equal("not authorized to perform sts:AssumeRole on resource: REDACTED", ends[1].error.message)
    -- and the operation whose credentials failed, whose error quotes STS
    local op_end = rec2.events[#rec2.events]
    assert.equal("ListApplications", op_end.operation)
    assert.equal("call_end", op_end.event)
    assert.matches("STS AssumeRole failed: AccessDenied: not authorized to perform sts:AssumeRole on "
      .. "resource: REDACTED", op_end.error.message)
    pool:request{ method = "POST", url = srv.url .. "/_ctl/reset", timeout = 5 }
    refute_secrets(rec.text() .. rec2.text())
  end)

  it("see web identity, the container endpoint, IMDS, SSO and SSO OIDC calls, and no secret", function()
    local rec = recorder()
    local token_file = helpers.write_file(dir .. "/token", WEB_TOKEN)
    -- web identity
    local c = client(rec, { AWS_WEB_IDENTITY_TOKEN_FILE = token_file, AWS_ROLE_ARN = ROLE_ARN,
                            AWS_CONFIG_FILE = dir .. "/none", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none" })
    c:list_applications()
    -- container (full URI, with its authorization token)
    c = client(rec, { AWS_CONTAINER_CREDENTIALS_FULL_URI = srv.url .. "/creds",
                      AWS_CONTAINER_AUTHORIZATION_TOKEN = CONTAINER_TOKEN,
                      AWS_CONFIG_FILE = dir .. "/none", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none" })
    c:list_applications()
    -- IMDS (IMDSv2: a token, then the role, then its credentials)
    c = client(rec, { AWS_EC2_METADATA_DISABLED = "false",
                      AWS_CONFIG_FILE = dir .. "/none", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none" })
    c:list_applications()
    -- SSO, whose cached token is about to expire: refreshed through SSO OIDC first
    local cache = dir .. "/home/.aws/sso/cache"
    os.execute("mkdir -p " .. helpers.shell_quote(cache))
    local iso = function(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end
    helpers.write_file(cache .. "/" .. helpers.core().sha1_hex("corp") .. ".json", cjson.encode{
      startUrl = "https://corp.awsapps.com/start", region = "us-east-1", accessToken = "standin-sso-token",
      expiresAt = iso(os.time() + 60), clientId = "standin-client", clientSecret = "standin-secret",
      registrationExpiresAt = iso(os.time() + 86400), refreshToken = "standin-refresh" })
    local cfg = helpers.write_file(dir .. "/config", [[
[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = standin-sso-role
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
]])
    c = client(rec, { AWS_CONFIG_FILE = cfg, AWS_SHARED_CREDENTIALS_FILE = dir .. "/none", HOME = dir .. "/home",
                      AWS_ENDPOINT_URL_SSO = srv.url, AWS_ENDPOINT_URL_SSO_OIDC = srv.url }, { profile = "dev" })
    c:list_applications()
    assert.same({ "sts:AssumeRoleWithWebIdentity", "container:GetCredentials", "imds:GetToken",
                  "imds:GetRoleName", "imds:GetCredentials", "sso-oidc:CreateToken", "sso:GetRoleCredentials" },
                kinds(rec))
    for _, ev in ipairs(sdk_events(rec)) do
      if ev.event == "before_send" then
        for _, h in ipairs{ "authorization", "x-aws-ec2-metadata-token", "x-amz-sso_bearer_token" } do
          if ev.headers[h] then assert.matches("REDACTED", ev.headers[h]) end
        end
      end
    end
    refute_secrets(rec.text())
  end)
end)
