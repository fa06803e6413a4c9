-- core.sign (gls.sign): the AWS SigV4 test suite (spec/data/sigv4, from awslabs/aws-c-auth), plus the
-- behaviours the suite does not cover (lists, presigning, tokens, GameLift paths, key cache, errors).
-- One file, over 500 lines, so that each case (the suite's and these) runs here against every signer of the runtime.
local core = require("gameliftstreams.core")
local cjson = require("cjson")

local SUITE = "spec/data/sigv4"

local helpers = require("helpers")

local function read(path) return (assert(helpers.read_file(path), "cannot read " .. path)) end

local function list_dirs(dir)
  local p = assert(io.popen("ls -1 '" .. dir .. "'"))
  local out = {}
  for name in p:lines() do out[#out + 1] = name end
  p:close()
  table.sort(out)
  return out
end

-- Parses an HTTP/1.1 request as the suite writes it: request line, headers (a line starting
-- with white space continues the previous value), blank line, body.
local function parse_request(text)
  local lines = {}
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do lines[#lines + 1] = line end
  local method, target = lines[1]:match("^(%S+) (.*) HTTP/1%.1$")
  assert(method, "bad request line: " .. lines[1])
  local headers, i = {}, 2
  while i <= #lines and lines[i] ~= "" do
    local line = lines[i]
    if line:match("^[ \t]") then
      local last = headers[#headers]
      last.value = last.value .. "\n" .. line
    else
      local name, value = line:match("^([^:]+):[ \t]*(.*)$")
      assert(name, "bad header line: " .. line)
      headers[#headers + 1] = { name = name, value = value }
    end
    i = i + 1
  end
  local body = table.concat(lines, "\n", i + 1)
  if text:sub(-1) == "\n" and body ~= "" then body = body:sub(1, -2) end
  return { method = method, target = target, headers = headers, body = body }
end

-- { name = "v" } or { name = { "v1", "v2" } } in order; names as given.
local function header_table(list, skip_host)
  local t = {}
  for _, h in ipairs(list) do
    if not (skip_host and h.name:lower() == "host") then
      local cur = t[h.name]
      if cur == nil then
        t[h.name] = h.value
      elseif type(cur) == "table" then
        cur[#cur + 1] = h.value
      else
        t[h.name] = { cur, h.value }
      end
    end
  end
  return t
end

-- Lower-case names, every value a list: the form both sides are compared in.
local function as_lists(headers)
  local t = {}
  for name, v in pairs(headers) do
    local key = name:lower()
    t[key] = t[key] or {}
    if type(v) == "table" then
      for _, x in ipairs(v) do t[key][#t[key] + 1] = x end
    else
      t[key][#t[key] + 1] = v
    end
  end
  return t
end

local function host_of(req)
  for _, h in ipairs(req.headers) do
    if h.name:lower() == "host" then return h.value end
  end
end

-- Days since 1970-01-01 of a civil date (no os.time: it depends on the local time zone).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function epoch(ts)
  local y, mo, d, h, mi, s = ts:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
  assert(y, "bad timestamp " .. ts)
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
end

local function suite_input(dir, variant)
  local ctx = cjson.decode(read(dir .. "/context.json"))
  local req = parse_request(read(dir .. "/request.txt"))
  local c = ctx.credentials
  return {
    method = req.method,
    url = "https://" .. host_of(req) .. req.target,
    headers = header_table(req.headers, true),
    body = req.body,
    region = ctx.region,
    service = ctx.service,
    credentials = { access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
                    session_token = c.token },
    time = epoch(ctx.timestamp),
    normalize = ctx.normalize,
    sign_body = ctx.sign_body,
    omit_session_token = ctx.omit_session_token or false,
    presign = variant == "query" and ctx.expiration_in_seconds or nil,
  }
end

local CREDS = { access_key_id = "AKIDEXAMPLE",
                secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local T0 = 1440938160 -- 2015-08-30T12:36:00Z

local function base(over)
  local t = { method = "GET", url = "https://example.amazonaws.com/", headers = {}, body = "",
              region = "us-east-1", service = "service", credentials = CREDS, time = T0 }
  for k, v in pairs(over or {}) do t[k] = v end
  return t
end

-- Request i of a series of varied ones: methods, hosts, ports, dot segments, queries, headers
-- of every kind of value, bodies, credentials with and without a (possibly empty) token.
local VARIED_NAMES = { "Content-Type", "x-a", "X-A", "X-Num", "Host", "Authorization", "User-Agent",
                       "X-Amz-Security-Token", "X-Amz-Content-Sha256", "x-list" }
local VARIED_VALUES = { "v", " a  b ", 42, 1.5, { "l1", "l2" }, { 3, "x" }, {}, "" }
local VARIED_TOKENS = { nil, "TOKEN", "" }
local function varied(i)
  local headers = {}
  for k = 1, i % 5 do
    headers[VARIED_NAMES[(i * 7 + k * 3) % #VARIED_NAMES + 1]] = VARIED_VALUES[(i + k) % #VARIED_VALUES + 1]
  end
  return base{
    method = i % 2 == 0 and "POST" or "GET",
    url = "https://h" .. i % 3 .. ".example" .. (i % 4 == 0 and ":8443" or "") .. "/a/./b/" .. i % 7
      .. (i % 3 == 0 and "?z=1&a=" .. i or ""),
    headers = headers, body = string.rep("b", i % 130),
    credentials = { access_key_id = "AKID", secret_access_key = "S" .. i % 6,
                    session_token = VARIED_TOKENS[i % 3 + 1] },
    time = T0 + i * 37,
  }
end

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- The signature recomputed from the returned string to sign with the textbook key derivation.
local function expected_signature(secret, date8, region, service, sts)
  local k = core.hmac_sha256("AWS4" .. secret, date8)
  k = core.hmac_sha256(k, region)
  k = core.hmac_sha256(k, service)
  k = core.hmac_sha256(k, "aws4_request")
  return hex(core.hmac_sha256(k, sts))
end

local function lines(s)
  local t = {}
  for l in (s .. "\n"):gmatch("(.-)\n") do t[#t + 1] = l end
  return t
end

-- Every case runs against each signer this runtime has: the C binding (core.sign) and, under
-- LuaJIT, the same signer through the FFI (gameliftstreams.signer), which must behave the same.
local signers = require("gameliftstreams.signer")
local signer = signers.sign
local SIGNERS = { { "sign (C binding)", core.sign } }
if signer ~= core.sign then SIGNERS[2] = { "sign (LuaJIT FFI)", signer } end
-- sign_headers, the pipeline's way in, likewise: core.sign_headers, and its FFI twin
local HEADER_SIGNERS = { { "sign_headers (C binding)", core.sign_headers } }
if signers.sign_headers ~= core.sign_headers then
  HEADER_SIGNERS[2] = { "sign_headers (LuaJIT FFI)", signers.sign_headers }
end

describe("the signer gls.sign uses", function()
  if jit then
    it("is core.sign when the JIT is off (interpreted, the FFI path is the slower one)", function()
      local probe = "local c = require('gameliftstreams.core'); "
        .. "print(require('gameliftstreams.signer').sign == c.sign, (jit.status()))"
      local cmd = "cd " .. helpers.shell_quote(helpers.root) .. " && GLS_NO_FFI= LUA_PATH='lua/?.lua;;' "
        .. "LUA_CPATH='build/jit/?.so;;' luajit %s -e " .. helpers.shell_quote(probe)
      local out, ok = helpers.run(string.format(cmd, "-joff"))
      assert.is_true(ok, out)
      assert.are.equal("true\tfalse\n", out)
      out, ok = helpers.run(string.format(cmd, ""))
      assert.is_true(ok, out)
      assert.are.equal("false\ttrue\n", out)
    end)
  end

  it("goes through the FFI under LuaJIT with its JIT on unless GLS_NO_FFI is set, else is core.sign", function()
    local off = os.getenv("GLS_NO_FFI")
    local ffi_wanted = jit ~= nil and jit.status() and (off == nil or off == "")
    assert.are.equal(ffi_wanted, signer ~= core.sign)
    assert.are.equal(ffi_wanted, signers.sign_headers ~= core.sign_headers)
    assert.are.equal(signer, require("gameliftstreams").sign)
  end)
end)

if signer ~= core.sign then
  describe("sign (LuaJIT FFI): one binding", function()
    it("declares the C types from the text the C module compiles them from, not its own", function()
      local src = helpers.read_file(helpers.root .. "/lua/gameliftstreams/signer.lua")
      assert.is_nil(src:find("typedef", 1, true))
      assert.is_nil(src:find("struct", 1, true))
      local _, _, declarations = core._ffi()
      assert.truthy(declarations:find("} gls_sigv4_request;", 1, true))
      assert.truthy(declarations:find("} gls_sigv4_ffi_api;", 1, true))
      local ffi = require("ffi")
      assert.is_true(ffi.sizeof("gls_sigv4_request") > 0)
    end)
  end)

  describe("sign (LuaJIT FFI) against the C binding", function()
    it("gives the same result for 600 varied requests, once the JIT has compiled it", function()
      for i = 1, 600 do
        local t = varied(i)
        t.normalize, t.sign_body, t.omit_session_token = i % 4 ~= 1, i % 5 == 0, i % 7 == 0
        t.presign, t.headers_only = i % 6 == 0 and 300 or nil, i % 8 == 0 or nil
        assert.are.same(core.sign(t), signer(t))
      end
    end)
  end)
end

for _, S in ipairs(SIGNERS) do
  local label, sign = S[1], S[2]

  describe(label .. ": the AWS SigV4 test suite", function()
    local cases = list_dirs(SUITE)

    it("finds all 38 cases in " .. SUITE, function()
      assert.are.equal(38, #cases)
    end)

    for _, name in ipairs(cases) do
      local dir = SUITE .. "/" .. name
      for _, variant in ipairs({ "header", "query" }) do
        it(name .. " (" .. variant .. " signing)", function()
          local res = assert(sign(suite_input(dir, variant)))
          -- headers_only (the pipeline's): the same headers and url, without the strings
          local input = suite_input(dir, variant)
          input.headers_only = true
          local short = assert(sign(input))
          assert.are.same(res.headers, short.headers)
          assert.are.equal(res.url, short.url)
          assert.is_nil(short.canonical_request)
          assert.is_nil(short.string_to_sign)
          assert.is_nil(short.signature)
          assert.are.equal(read(dir .. "/" .. variant .. "-canonical-request.txt"), res.canonical_request)
          assert.are.equal(read(dir .. "/" .. variant .. "-string-to-sign.txt"), res.string_to_sign)
          assert.are.equal(read(dir .. "/" .. variant .. "-signature.txt"), res.signature)
          local signed = parse_request(read(dir .. "/" .. variant .. "-signed-request.txt"))
          assert.are.same(as_lists(header_table(signed.headers)), as_lists(res.headers))
          if variant == "query" then
            assert.are.equal("https://" .. host_of(signed) .. signed.target, res.url)
          else
            assert.is_nil(res.url)
          end
        end)
      end
    end
  end)

  describe(label .. ": headers", function()
    it("signs a list-valued header as one line joined with commas, in order, and sends the list", function()
      local res = sign(base{ headers = { ["X-Multi"] = { "b", " a  z " }, Accept = "*/*" } })
      local cr = lines(res.canonical_request)
      assert.are.equal("accept:*/*", cr[4])
      assert.are.equal("host:example.amazonaws.com", cr[5])
      assert.are.equal("x-amz-date:20150830T123600Z", cr[6])
      assert.are.equal("x-multi:b,a z", cr[7])
      assert.are.equal("accept;host;x-amz-date;x-multi", cr[9])
      assert.are.same({ "b", " a  z " }, res.headers["x-multi"])
      assert.are.equal("*/*", res.headers.accept)
    end)

    it("merges names that differ only in case into one list", function()
      local res = sign(base{ headers = { ["X-A"] = "1", ["x-a"] = "2" } })
      assert.are.equal(2, #res.headers["x-a"])
      assert.is_nil(res.headers["X-A"])
      assert.truthy(res.canonical_request:find("\nx%-a:[12],[12]\n"))
    end)

    it("takes the Host header from the URL, keeping a non-default port", function()
      assert.are.equal("127.0.0.1:8000",
        sign(base{ url = "http://127.0.0.1:8000/x" }).headers.host)
      assert.are.equal("h.example", sign(base{ url = "https://h.example:443/" }).headers.host)
      assert.are.equal("h.example", sign(base{ url = "http://h.example:80" }).headers.host)
      assert.are.equal("h.example:443", sign(base{ url = "http://h.example:443/" }).headers.host)
      assert.are.equal("[::1]:9000", sign(base{ url = "http://[::1]:9000/" }).headers.host)
    end)

    it("gives each request its own host and x-amz-date when consecutive requests alternate", function()
      -- The binding reuses the last host and date strings when they repeat: they must not stick.
      local urls = { "https://a.example/", "https://b.example/", "https://a.example:8443/" }
      for i = 1, 9 do
        local url, t = urls[(i - 1) % 3 + 1], T0 + (i % 2) * 3600
        local res = sign(base{ url = url, time = t })
        assert.are.equal(url:match("^https://([^/]+)"), res.headers.host)
        assert.are.equal(os.date("!%Y%m%dT%H%M%SZ", t), res.headers["x-amz-date"])
        assert.truthy(res.canonical_request:find("\nhost:" .. res.headers.host .. "\n", 1, true))
      end
    end)

    it("signs a Host header given by the caller as given", function()
      local res = sign(base{ headers = { Host = "other.example" } })
      assert.are.equal("other.example", res.headers.host)
      assert.truthy(res.canonical_request:find("\nhost:other.example\n", 1, true))
    end)

    it("sends user-agent and expect without signing them, and replaces a stale authorization", function()
      local res = sign(base{ headers = { ["User-Agent"] = "x/1", Expect = "100-continue",
                                              Authorization = "stale", ["X-Amz-Date"] = "stale" } })
      assert.are.equal("x/1", res.headers["user-agent"])
      assert.are.equal("100-continue", res.headers.expect)
      assert.are.equal("20150830T123600Z", res.headers["x-amz-date"])
      assert.truthy(res.headers.authorization:find("SignedHeaders=host;x-amz-date, ", 1, true))
      assert.is_nil(res.canonical_request:find("user-agent", 1, true))
    end)

    it("sorts many headers and keeps the order of a repeated one", function()
      local headers, want = {}, { "x-amz-date:20150830T123600Z" }
      for i = 20, 1, -1 do
        local name = string.format("X-H%02d", i)
        headers[name] = i == 7 and { "z", "a", "m" } or tostring(i)
      end
      for i = 1, 20 do
        want[#want + 1] = string.format("x-h%02d:%s", i, i == 7 and "z,a,m" or tostring(i))
      end
      local cr = lines(sign(base{ headers = headers }).canonical_request)
      assert.are.equal("host:example.amazonaws.com", cr[4])
      local unpack = table.unpack or unpack
      assert.are.same(want, { unpack(cr, 5, 25) })
    end)

    it("accepts numbers as header values", function()
      local res = sign(base{ method = "POST", body = "abc", headers = { ["Content-Length"] = 3 } })
      assert.are.equal("3", res.headers["content-length"])
      assert.truthy(res.canonical_request:find("\ncontent-length:3\n", 1, true))
    end)
  end)

  describe(label .. ": body", function()
    local body = '{"Identifier":"sg-1AB2C3De4"}'

    it("hashes the body into the canonical request without sign_body", function()
      local res = sign(base{ method = "POST", body = body })
      local cr = lines(res.canonical_request)
      assert.are.equal(core.sha256_hex(body), cr[#cr])
      assert.is_nil(res.headers["x-amz-content-sha256"])
    end)

    it("adds and signs x-amz-content-sha256 with sign_body", function()
      local res = sign(base{ method = "POST", body = body, sign_body = true })
      assert.are.equal(core.sha256_hex(body), res.headers["x-amz-content-sha256"])
      assert.truthy(res.headers.authorization:find("SignedHeaders=host;x-amz-content-sha256;x-amz-date,", 1, true))
    end)

    it("hashes the empty body when body is absent", function()
      local t = base()
      t.body = nil
      local cr = lines(sign(t).canonical_request)
      assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", cr[#cr])
    end)
  end)

  describe(label .. ": canonical URI and query", function()
    it("double-encodes a GameLift Streams ARN path label (the non-S3 rule)", function()
      local res = sign(base{ method = "POST", region = "us-west-2", service = "gameliftstreams",
        url = "https://gameliftstreams.us-west-2.api.aws/streamgroups/arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1AB2C3De4/streamsessions" })
      assert.are.equal("/streamgroups/arn%253Aaws%253Agameliftstreams%253Aus-west-2%253A111122223333%253Astreamgroup%252Fsg-1AB2C3De4/streamsessions",
        lines(res.canonical_request)[2])
    end)

    it("normalises only when asked", function()
      assert.are.equal("/a/c/", lines(sign(base{ url = "https://h/a/./b/../c//" }).canonical_request)[2])
      assert.are.equal("/a/./b/../c//",
        lines(sign(base{ url = "https://h/a/./b/../c//", normalize = false }).canonical_request)[2])
      assert.are.equal("/", lines(sign(base{ url = "https://h" }).canonical_request)[2])
      assert.are.equal("/", lines(sign(base{ url = "https://h/../.." }).canonical_request)[2])
    end)

    it("sorts the query by key then value, decodes and re-encodes, and gives a bare key an empty value", function()
      local res = sign(base{ url = "https://h/p?b=2&tagKeys=team%20name&a=1&a=0&c&tagKeys=env&x=a+b&y=%7e#frag" })
      assert.are.equal("a=0&a=1&b=2&c=&tagKeys=env&tagKeys=team%20name&x=a%2Bb&y=~",
        lines(res.canonical_request)[3])
      local q, want = {}, {}
      for i = 30, 1, -1 do q[#q + 1] = string.format("k%02d=%d", i, i) end
      for i = 1, 30 do want[#want + 1] = string.format("k%02d=%d", i, i) end
      res = sign(base{ url = "https://h/?" .. table.concat(q, "&") })
      assert.are.equal(table.concat(want, "&"), lines(res.canonical_request)[3])
    end)
  end)

  describe(label .. ": session token", function()
    local creds = { access_key_id = "AKID", secret_access_key = "SECRET", session_token = "TOKEN/+=" }

    it("signs x-amz-security-token by default", function()
      local res = sign(base{ credentials = creds })
      assert.are.equal("TOKEN/+=", res.headers["x-amz-security-token"])
      assert.truthy(res.canonical_request:find("\nx-amz-security-token:TOKEN/+=\n", 1, true))
      assert.truthy(res.headers.authorization:find("SignedHeaders=host;x-amz-date;x-amz-security-token,", 1, true))
    end)

    it("sends the token unsigned with omit_session_token", function()
      local res = sign(base{ credentials = creds, omit_session_token = true })
      assert.are.equal("TOKEN/+=", res.headers["x-amz-security-token"])
      assert.is_nil(res.canonical_request:find("security-token", 1, true))
    end)

    it("puts the token in the presigned query, signed or not", function()
      local signed = sign(base{ credentials = creds, presign = 60 })
      assert.truthy(signed.canonical_request:find("&X-Amz-Security-Token=TOKEN%2F%2B%3D&", 1, true))
      assert.truthy(signed.url:find("&X-Amz-Security-Token=TOKEN%2F%2B%3D&X-Amz-Signature=", 1, true))
      assert.is_nil(signed.headers["x-amz-security-token"])
      local omitted = sign(base{ credentials = creds, presign = 60, omit_session_token = true })
      assert.is_nil(omitted.canonical_request:find("Security-Token", 1, true))
      assert.truthy(omitted.url:find("&X-Amz-Security-Token=TOKEN%2F%2B%3D&X-Amz-Signature=", 1, true))
    end)

    it("treats an empty token as none", function()
      local res = sign(base{ credentials = { access_key_id = "A", secret_access_key = "S", session_token = "" } })
      assert.is_nil(res.headers["x-amz-security-token"])
    end)
  end)

  describe(label .. ": presign", function()
    it("signs the query and returns the URL to send", function()
      local res = sign(base{ url = "https://h.example/p?z=1#f", presign = 900 })
      assert.is_nil(res.headers.authorization)
      assert.is_nil(res.headers["x-amz-date"])
      assert.are.same({ host = "h.example" }, res.headers)
      assert.are.equal("https://h.example/p?z=1&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        .. "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request"
        .. "&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=900"
        .. "&X-Amz-Signature=" .. res.signature, res.url)
      assert.truthy(lines(res.canonical_request)[3]:find("X-Amz-Expires=900&", 1, true))
      assert.are.equal(expected_signature(CREDS.secret_access_key, "20150830", "us-east-1", "service",
        res.string_to_sign), res.signature)
    end)

    it("adds a ? when the URL has no query", function()
      assert.truthy(sign(base{ url = "https://h/p", presign = 5 }).url:find("^https://h/p%?X%-Amz%-Algorithm="))
    end)

    it("drops a stale Authorization or X-Amz-Date header instead of sending it", function()
      local res = sign(base{ presign = 60, headers = { Authorization = "stale", ["x-amz-date"] = "old",
                                                       ["X-Keep"] = "k" } })
      assert.are.same({ host = "example.amazonaws.com", ["x-keep"] = "k" }, res.headers)
      assert.truthy(res.url:find("X-Amz-SignedHeaders=host%3Bx-keep&", 1, true))
    end)
  end)

  describe(label .. ": signing-key cache", function()
    it("gives the right signature whenever the secret, date, region or service changes", function()
      -- Six combinations, more than the cache holds, visited twice in a shuffled order.
      local combos = {
        { "s1", T0, "us-east-1", "service" }, { "s2", T0, "us-east-1", "service" },
        { "s1", T0 + 86400, "us-east-1", "service" }, { "s1", T0, "us-west-2", "service" },
        { "s1", T0, "us-east-1", "gameliftstreams" }, { "s1x", T0 + 86400 * 40, "eu-west-1", "s" },
      }
      local order = { 1, 2, 1, 3, 4, 5, 6, 1, 6, 2, 5, 3, 4, 1 }
      for _, i in ipairs(order) do
        local c = combos[i]
        local res = sign(base{ credentials = { access_key_id = "A", secret_access_key = c[1] },
                                    time = c[2], region = c[3], service = c[4] })
        local date8 = os.date("!%Y%m%d", c[2])
        assert.are.equal(expected_signature(c[1], date8, c[3], c[4], res.string_to_sign), res.signature)
      end
    end)

    it("matches the suite's known signature after other keys were used", function()
      sign(base{ credentials = { access_key_id = "A", secret_access_key = "other" } })
      assert.are.equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        sign(base()).signature)
    end)
  end)

  describe(label .. ": time", function()
    it("defaults to now", function()
      local before = os.time()
      local res = sign({ method = "GET", url = "https://h/", region = "r", service = "s", credentials = CREDS })
      local after = os.time()
      local d = res.headers["x-amz-date"]
      assert.truthy(d == os.date("!%Y%m%dT%H%M%SZ", before) or d == os.date("!%Y%m%dT%H%M%SZ", after))
    end)

    it("floors fractional seconds", function()
      assert.are.equal("20150830T123600Z", sign(base{ time = T0 + 0.9 }).headers["x-amz-date"])
    end)
  end)

  describe(label .. ": bad input", function()
    local secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    local function err_of(t)
      local ok, e = pcall(sign, t)
      assert.is_false(ok)
      assert.is_nil(tostring(e):find(secret, 1, true))
      return tostring(e)
    end

    it("names the field that is missing or of the wrong type", function()
      local t = base()
      t.credentials = nil
      assert.truthy(err_of(t):find("sign: credentials must be a table", 1, true))
      assert.truthy(err_of(base{ credentials = { access_key_id = "A", secret_access_key = 5 } })
        :find("sign: credentials.secret_access_key must be a string", 1, true))
      assert.truthy(err_of(base{ credentials = { secret_access_key = secret } })
        :find("sign: credentials.access_key_id must be a string", 1, true))
      assert.truthy(err_of(base{ credentials = { access_key_id = "A", secret_access_key = secret, session_token = true } })
        :find("sign: credentials.session_token must be a string", 1, true))
      t = base()
      t.method = nil
      assert.truthy(err_of(t):find("sign: method must be a string", 1, true))
      assert.truthy(err_of(base{ url = 7 }):find("sign: url must be a string", 1, true))
      assert.truthy(err_of(base{ region = false }):find("sign: region must be a string", 1, true))
      assert.truthy(err_of(base{ service = {} }):find("sign: service must be a string", 1, true))
      assert.truthy(err_of(base{ body = 1 }):find("sign: body must be a string", 1, true))
      assert.truthy(err_of(base{ headers = "x" }):find("sign: headers must be a table", 1, true))
      assert.truthy(err_of(base{ headers = { X = true } }):find('sign: headers["X"] must be a string or a list of strings', 1, true))
      assert.truthy(err_of(base{ headers = { X = { "a", {} } } }):find('sign: headers["X"]', 1, true))
      assert.truthy(err_of(base{ headers = { "a" } }):find("sign: header names must be strings", 1, true))
      assert.truthy(err_of(base{ normalize = "yes" }):find("sign: normalize must be a boolean", 1, true))
      assert.truthy(err_of(base{ headers_only = 1 }):find("sign: headers_only must be a boolean", 1, true))
      assert.truthy(err_of(base{ time = "now" }):find("sign: time must be a number", 1, true))
      assert.truthy(err_of(base{ time = 1 / 0 }):find("sign: time must be epoch seconds", 1, true))
      assert.truthy(err_of(base{ presign = 0 }):find("sign: presign must be whole seconds", 1, true))
      assert.truthy(err_of(base{ presign = 604801 }):find("sign: presign must be whole seconds", 1, true))
      assert.truthy(err_of(base{ presign = 1.5 }):find("sign: presign must be whole seconds", 1, true))
      assert.truthy(tostring(select(2, pcall(sign, "x"))):find("table expected", 1, true))
    end)

    it("refuses NUL, CR and LF where they would reach a header line or the request line, naming the field", function()
      -- Returned like a bad URL (nil, message): the value is data, not a wrong type. The message
      -- never holds the value.
      local long = string.rep("v", 19)
      local VALUE = 'headers["X-Evil"] must not contain NUL, CR or LF (except a line break before a space or tab)'
      local cases = {
        { { headers = { ["X-Evil"] = "a\r\nInjected: yes" } }, VALUE },
        { { headers = { ["X-Evil"] = long .. "\n" .. long } }, VALUE },
        { { headers = { ["X-Evil"] = long .. "\r" .. long } }, VALUE },
        { { headers = { ["X-Evil"] = long .. "\0" .. long } }, VALUE },
        { { headers = { ["X-Evil"] = "ends with a line break\r\n" } }, VALUE },
        { { headers = { ["X-Evil"] = "fold then break\n \r\nX: y" } }, VALUE },
        { { headers = { ["X-Evil"] = { "fine", "b\nc" } } }, VALUE },
        { { headers = { ["X-Evil"] = "a\rb" }, presign = 60 }, VALUE },
        { { headers = { ["User-Agent"] = "ua\r\nX: y" } },
          'headers["User-Agent"] must not contain NUL, CR or LF' },
        { { headers = { ["X-Evil\r\nInjected"] = "v" } }, "header names must not contain CR, LF or NUL" },
        { { headers = { ["X\0"] = "v" } }, "header names must not contain CR, LF or NUL" },
        { { region = "us-east-1\r\nX-Injected: yes" }, "region must not contain CR, LF or NUL" },
        { { region = "us-east-1\0" }, "region must not contain CR, LF or NUL" },
        { { service = "service\n" }, "service must not contain CR, LF or NUL" },
        { { service = "s\rs" }, "service must not contain CR, LF or NUL" },
        { { credentials = { access_key_id = "AKID\r\nX: y", secret_access_key = secret } },
          "credentials.access_key_id must not contain CR, LF or NUL" },
        { { credentials = { access_key_id = "AKID", secret_access_key = secret, session_token = "T\nX: y" } },
          "credentials.session_token must not contain CR, LF or NUL" },
        { { url = "https://h.example/p\r\nX-Injected: yes" }, "url must not contain CR, LF or NUL" },
        { { url = "https://h.example/p?q=\0", presign = 60 }, "url must not contain CR, LF or NUL" },
      }
      for i, c in ipairs(cases) do
        local res, msg = sign(base(c[1]))
        assert.is_nil(res, "case " .. i)
        assert.is_string(msg, "case " .. i)
        assert.are.equal("sign: ", msg:sub(1, 6), "case " .. i)
        assert.truthy(msg:find(c[2], 1, true), "case " .. i .. ": " .. msg)
        assert.is_nil(msg:find("Injected", 1, true), "case " .. i)
        assert.is_nil(msg:find(long, 1, true), "case " .. i)
      end
    end)

    it("keeps a folded value, tabs and bytes that only look like CR or LF in their low bits", function()
      for _, v in ipairs({ "a\n  b", "a\r\n\tb", "tab\there", "\xc4\x8d\xc4\x8a\x8d\x0b\x0c\x8a long enough" }) do
        local res = assert(sign(base{ headers = { ["X-V"] = v } }))
        assert.are.equal(v, res.headers["x-v"])
      end
      assert(sign(base{ region = "\xc4\x8a", service = "\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d\x8d" }))
    end)

    it("returns nil and a message for a bad URL", function()
      for _, url in ipairs({ "example.com/", "https:///p", "https://u:p@h/", "https://h:x/", "https://h h/" }) do
        local res, msg = sign(base{ url = url })
        assert.is_nil(res)
        assert.truthy(msg:find("^sign: url"), url .. " -> " .. tostring(msg))
      end
    end)
  end)
end

-- The headers of core.sign's result for t, which sign_headers gives for t's values.
local function headers_of(t)
  return t.method, t.url, t.headers, t.body, t.region, t.service, t.credentials, t.time
end

for _, S in ipairs(HEADER_SIGNERS) do
  local label, sign_headers = S[1], S[2]

  describe(label, function()
    it("gives core.sign's headers for the same values, for 600 varied requests", function()
      for i = 1, 600 do
        local t = varied(i)
        if i % 11 == 0 then t.headers = nil end
        if i % 13 == 0 then t.body = nil end
        assert.are.same(core.sign(t).headers, sign_headers(headers_of(t)))
      end
    end)

    it("fills the table it is handed (a reused one, emptied first) with what it would return", function()
      local fill = { stale = "x", authorization = "old", ["x-amz-security-token"] = "old" }
      for i = 1, 60 do
        local t = varied(i)
        if i % 11 == 0 then t.headers = nil end
        local a, b, c, d, e, f, g, h = headers_of(t)
        local got = sign_headers(a, b, c, d, e, f, g, h, fill)
        assert.are.equal(fill, got)
        assert.are.same(core.sign(t).headers, got)
        fill.stale = "x" -- what the next request must not send
      end
      local function err_of(...)
        local ok, e = pcall(sign_headers, ...)
        assert.is_false(ok)
        return tostring(e)
      end
      local T = { "GET", "https://h.example/", { a = "1" }, "", "us-east-1", "s", CREDS, T0 }
      for _, h in ipairs({ T[3], {} }) do -- through the header reader, and without headers
        local bad_type = err_of(T[1], T[2], h, T[4], T[5], T[6], T[7], T[8], "t")
        assert.truthy(bad_type:find("sign: the headers table to fill must be a table", 1, true), bad_type)
      end
    end)

    it("signs at the present second without a time", function()
      local before = os.time()
      local h = assert(sign_headers("GET", "https://h.example/", {}, "", "us-east-1", "s", CREDS))
      local after, now = os.time(), false
      for t = before, after do now = now or h["x-amz-date"] == os.date("!%Y%m%dT%H%M%SZ", t) end
      assert.is_true(now, h["x-amz-date"])
    end)

    it("raises for a wrong type as core.sign does, and returns nil and the message for a bad URL", function()
      local function err_of(...)
        local ok, e = pcall(sign_headers, ...)
        assert.is_false(ok)
        return tostring(e)
      end
      local M, U, H, B, R, SV, C = "GET", "https://h.example/", {}, "", "us-east-1", "s", CREDS
      assert.truthy(err_of(nil, U, H, B, R, SV, C):find("sign: method must be a string", 1, true))
      assert.truthy(err_of(M, 7, H, B, R, SV, C):find("sign: url must be a string", 1, true))
      assert.truthy(err_of(M, U, "x", B, R, SV, C):find("sign: headers must be a table", 1, true))
      assert.truthy(err_of(M, U, H, 1, R, SV, C):find("sign: body must be a string", 1, true))
      assert.truthy(err_of(M, U, H, B, false, SV, C):find("sign: region must be a string", 1, true))
      assert.truthy(err_of(M, U, H, B, R, {}, C):find("sign: service must be a string", 1, true))
      assert.truthy(err_of(M, U, H, B, R, SV, nil):find("sign: credentials must be a table", 1, true))
      assert.truthy(err_of(M, U, H, B, R, SV, { access_key_id = "A", secret_access_key = 5 })
        :find("sign: credentials.secret_access_key must be a string", 1, true))
      assert.truthy(err_of(M, U, { X = true }, B, R, SV, C)
        :find('sign: headers["X"] must be a string or a list of strings', 1, true))
      assert.truthy(err_of(M, U, H, B, R, SV, C, "now"):find("sign: time must be a number", 1, true))
      assert.truthy(err_of(M, U, H, B, R, SV, C, 1 / 0):find("sign: time must be epoch seconds", 1, true))
      for _, url in ipairs({ "example.com/", "https://u:p@h/", "https://h h/" }) do
        local res, msg = sign_headers(M, url, H, B, R, SV, C, T0)
        local want_res, want_msg = core.sign(base{ url = url })
        assert.is_nil(res)
        assert.is_nil(want_res)
        assert.are.equal(want_msg, msg)
      end
      local res, msg = sign_headers(M, U, { ["X-Evil"] = "a\r\nInjected: yes" }, B, R, SV, C, T0)
      assert.is_nil(res)
      assert.are.equal(select(2, core.sign(base{ headers = { ["X-Evil"] = "a\r\nInjected: yes" } })), msg)
    end)
  end)
end

describe("sha256_hex and hmac_sha256", function()
  it("match the published test vectors", function()
    assert.are.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", core.sha256_hex("abc"))
    assert.are.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      hex(core.hmac_sha256("Jefe", "what do ya want for nothing?")))
    assert.are.equal("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
      hex(core.hmac_sha256("", "")))
  end)
end)
