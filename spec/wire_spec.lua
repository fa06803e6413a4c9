-- What goes on the wire for every one of the 30 operations, as the emulator
-- received it (GET /_emulator/requests). The expectations below are written
-- from the official SDKs' documented behaviour (the project's model notes), not from
-- model.lua, so a wrong generated model is caught here.
local helpers = require("helpers")
local cjson = require("cjson")

local CASES = require("support.wire_cases")

local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

describe("the wire format of every operation", function()
  local emu, client

  setup(function()
    emu = helpers.start_emulator{ delay_scale = 0.01 }
    local gls = require("gameliftstreams")
    client = assert(gls.new{ region = "us-west-2", endpoint = emu.url, max_attempts = 1,
      credentials = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret" } })
  end)
  teardown(function() if emu then emu.stop() end end)

  local function last_request()
    local status, log = helpers.control(emu, "GET", "requests?limit=1")
    assert.equal(200, status)
    assert.equal(1, #log.requests)
    return log.requests[1]
  end

  it("covers all 30 operations of the model, once each", function()
    local model = require("gameliftstreams.model")
    local seen, n = {}, 0
    for _, c in ipairs(CASES) do
      assert.is_nil(seen[c[1]], c[1])
      seen[c[1]] = true
      n = n + 1
      assert.is_truthy(model.operations[c[1]], c[1])
    end
    assert.equal(30, n)
    for name in pairs(model.operations) do assert.is_true(seen[name], name) end
  end)

  for _, c in ipairs(CASES) do
    local op, method_name, input, method, path, query, body, token = c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    it(op .. " sends " .. method .. " " .. path:gsub("arn%%3A[^/]*", "<arn>"), function()
      helpers.control(emu, "DELETE", "requests")
      local _, err = client[method_name](client, input)
      -- The emulator knows none of these made-up resources; only the signature must pass.
      if err then
        assert.is_nil(err.code:match("Signature") or err.code:match("Unrecognized")
          or err.code:match("MissingAuthentication"), tostring(err))
        assert.is_truthy(err.status, tostring(err))
      end
      local r = last_request()
      assert.equal(op, r.operation)
      assert.equal(method, r.method)
      assert.equal(path, r.path)
      assert.equal(query, r.query)
      assert.is_true(r.auth and r.auth.ok, "the emulator rejected the signature")
      local h = r.headers
      local signed = h.authorization:match("SignedHeaders=([^,]+)")
      -- (the emulator's log keeps the signature it checked as REDACTED)
      assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDEMULATOR/%d+/us%-west%-2/gameliftstreams/aws4_request, "
        .. "SignedHeaders=[^,]+, Signature=REDACTED$", h.authorization)
      assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", h["x-amz-date"])
      assert.matches("^gameliftstreams%-lua/%S+ ", h["user-agent"])
      assert.is_nil(signed:find("user-agent", 1, true))
      if body == nil then
        assert.equal("", r.body)
        assert.is_nil(h["content-type"])
        assert.equal("host;x-amz-date", signed)
        if method == "POST" then assert.equal("0", h["content-length"]) end
      else
        assert.equal("application/json", h["content-type"])
        assert.equal("content-type;host;x-amz-date", signed)
        local sent = r.body
        if token then
          local decoded = cjson.decode(sent)
          assert.matches(UUID4, decoded.ClientToken)
          sent = sent:gsub(decoded.ClientToken:gsub("%-", "%%-"), "<TOKEN>", 1)
        else
          assert.is_nil(sent:find("ClientToken", 1, true))
        end
        assert.equal(body, sent)
        assert.equal(tostring(#r.body), h["content-length"])
      end
    end)
  end

  it("keeps a ClientToken the caller gives", function()
    helpers.control(emu, "DELETE", "requests")
    local token = "my-own-token-0123456789abcdef-0123456789"
    local input = { Identifier = "sg-1", StreamSessionIdentifier = "s-1", SignalRequest = "offer", ClientToken = token }
    client:create_stream_session_connection(input)
    assert.equal(token, cjson.decode(last_request().body).ClientToken)
  end)

  it("makes a fresh ClientToken per call and leaves the input table alone", function()
    local input = { Identifier = "sg-1", StreamSessionIdentifier = "s-1", SignalRequest = "offer" }
    helpers.control(emu, "DELETE", "requests")
    client:create_stream_session_connection(input)
    local t1 = cjson.decode(last_request().body).ClientToken
    client:create_stream_session_connection(input)
    local t2 = cjson.decode(last_request().body).ClientToken
    assert.matches(UUID4, t1)
    assert.matches(UUID4, t2)
    assert.are_not.equal(t1, t2)
    assert.is_nil(input.ClientToken)
  end)

  it("sends the body members of RevokeStreamUrl when given", function()
    helpers.control(emu, "DELETE", "requests")
    client:revoke_stream_url{ Identifier = "sg-1", StreamUrlIdentifier = "su-1", RevocationMode = "REVOKE_URL" }
    assert.equal('{"RevocationMode":"REVOKE_URL"}', last_request().body)
  end)

  it("escapes JSON strings and keeps UTF-8 as is on the wire", function()
    helpers.control(emu, "DELETE", "requests")
    client:start_stream_session{ Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC",
      SignalRequest = "v=0\r\no=- 1 \"q\" \\ \t\1 caf\195\169 \240\159\142\174" }
    local body = last_request().body
    assert.truthy(body:find('"SignalRequest":"v=0\\r\\no=- 1 \\"q\\" \\\\ \\t\\u0001 caf\195\169 \240\159\142\174"', 1, true))
  end)

  it("sends nothing when validation fails", function()
    helpers.control(emu, "DELETE", "requests")
    local out, err = client:get_application{ Identifer = "a-1" }
    assert.is_nil(out)
    assert.equal("InvalidParameter", err.code)
    assert.equal(0, err.attempts)
    local _, log = helpers.control(emu, "GET", "requests")
    assert.equal(0, #log.requests)
  end)
end)

-- The exact bytes of each request the SDK sends, as a server receives them, against a recording
-- (spec/support/wire_requests.lua) made before the Lua layer was reorganised: every later change
-- must leave them as they are. Normalised: the header lines' order (a Lua table's), the runtime
-- in User-Agent ("lua/5.4" or "luajit/2.1..."), the key order of a JSON body the SDK encodes from
-- a table (SSO OIDC), and, for STS, the date and signature (the recording signed STS calls with
-- the system clock). Re-record with GLS_RECORD_WIRE=1 busted spec/wire_spec.lua, only for a
-- change meant to alter the wire.
describe("the exact bytes of every request", function()
  local FIXTURE = helpers.root .. "/spec/support/wire_requests.lua"

  -- A flat JSON object of strings with its keys in order.
  local function sorted_json(body)
    local ok, doc = pcall(cjson.decode, body)
    if not ok or type(doc) ~= "table" then return body end
    local keys = {}
    for k in pairs(doc) do keys[#keys + 1] = k end
    table.sort(keys)
    for i, k in ipairs(keys) do keys[i] = cjson.encode(k) .. ":" .. cjson.encode(doc[k]) end
    return "{" .. table.concat(keys, ",") .. "}"
  end

  local function normalise(raw)
    local head, body = raw:match("^(.-\r\n)\r\n(.*)$")
    assert(head, "no end of head in " .. raw)
    local lines = {}
    for line in head:gmatch("([^\r\n]*)\r\n") do lines[#lines + 1] = line end
    local request_line = table.remove(lines, 1)
    local sts = request_line:find("//sts.wire.test/", 1, true)
    for i, line in ipairs(lines) do
      line = line:gsub("^([Uu]ser%-[Aa]gent: gameliftstreams%-lua/%S+) lua%S*", "%1 <runtime>")
      if sts then
        line = line:gsub("^(x%-amz%-date: ).*$", "%1<date>")
        line = line:gsub("(Credential=[^/]+/)%d+/", "%1<day>/"):gsub("Signature=%x+", "Signature=<signature>")
      end
      lines[i] = line
    end
    table.sort(lines)
    if body:sub(1, 1) == "{" and not request_line:find("//gameliftstreams.wire.test/", 1, true) then
      body = sorted_json(body)
    end
    return request_line .. "\r\n" .. table.concat(lines, "\r\n") .. "\r\n\r\n" .. body
  end

  -- Runs spec/support/wire_record.lua (same runtime, same C module) through the capture
  -- server as its proxy; returns the normalised requests in the order they were sent.
  local function record(args, calls)
    local proxy = helpers.spawn_server(helpers.root .. "/spec/support/capture_server.lua")
    local lua = (type(jit) == "table") and "luajit" or "lua5.4" -- luacheck: ignore
    local cmd = string.format("env -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy "
      .. "-u NO_PROXY -u HTTP_PROXY LUA_PATH=%s LUA_CPATH=%s http_proxy=%s %s %s %s",
      helpers.shell_quote(helpers.root .. "/lua/?.lua;" .. helpers.root .. "/lua/?/init.lua;"
        .. helpers.root .. "/spec/?.lua;;"),
      helpers.shell_quote(package.cpath .. ";;"), proxy.url, lua,
      helpers.shell_quote(helpers.root .. "/spec/support/wire_record.lua"), args)
    local out = helpers.run(cmd)
    local pool = helpers.core().http_pool{}
    local res = pool:request{ method = "GET", url = proxy.url .. "/_capture", timeout = 10 }
    pool:close()
    proxy.stop()
    assert.equal("done " .. calls .. "\n", out)
    assert.equal(200, res.status)
    local got = {}
    for i, raw in ipairs(cjson.decode(res.body)) do got[i] = normalise(raw) end
    return got
  end

  local recorded = {}
  local function check(set, got)
    if os.getenv("GLS_RECORD_WIRE") == "1" then
      recorded[set] = got
      local out = { "-- GENERATED by spec/wire_spec.lua (GLS_RECORD_WIRE=1): the exact bytes of each\n"
        .. "-- request (normalised as that spec says).\nreturn {\n" }
      for _, name in ipairs{ "operations", "credentials" } do
        out[#out + 1] = "  " .. name .. " = {\n"
        for _, r in ipairs(recorded[name] or {}) do out[#out + 1] = string.format("    %q,\n", r) end
        out[#out + 1] = "  },\n"
      end
      out[#out + 1] = "}\n"
      helpers.write_file(FIXTURE, table.concat(out))
    end
    local want = dofile(FIXTURE)[set]
    for i = 1, math.max(#want, #got) do assert.equal(want[i], got[i], set .. " request " .. i) end
    return #got
  end

  it("are those recorded, for all 30 operations", function()
    local got = record("", #CASES)
    assert.equal(30, #got)
    assert.equal(30, check("operations", got))
    for i, c in ipairs(CASES) do assert.truthy(got[i]:find(c[5], 1, true), c[1]) end
  end)

  it("are those recorded, for STS, web identity, the container endpoint, IMDS, SSO and SSO OIDC", function()
    local dir = helpers.tmpdir()
    local got = record("credentials " .. helpers.shell_quote(dir), 5)
    helpers.rm_rf(dir)
    assert.equal(14, check("credentials", got))
  end)
end)
