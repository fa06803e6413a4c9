local protocol = require("gameliftstreams.protocol")
local model = require("gameliftstreams.model")
local errors = require("gameliftstreams.errors")
local cjson = require("cjson")

local SG_ARN = "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1AB2C3De4"
local SS_ARN = "arn:aws:gameliftstreams:us-west-2:111122223333:streamsession/sg-1AB2C3De4/ABC123def4567"

local function build(op, input)
  local req, err = protocol.build_request(model, op, input)
  assert(req, err and tostring(err))
  return req
end

local function is_integer(v)
  if math.type then return math.type(v) == "integer" end
  return type(v) == "number" and math.floor(v) == v
end

describe("protocol (restJson1)", function()
  describe("request building", function()
    it("encodes each ARN path label whole (: and / escaped)", function()
      local req = build("GetStreamSession", { Identifier = SG_ARN, StreamSessionIdentifier = SS_ARN })
      assert.equal("GET", req.method)
      assert.equal("/streamgroups/arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1AB2C3De4"
        .. "/streamsessions/arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamsession%2F"
        .. "sg-1AB2C3De4%2FABC123def4567", req.path)
      assert.equal("", req.query)
      assert.is_nil(req.body)
      assert.is_nil(req.headers["content-type"])
    end)

    it("percent-encodes every byte outside RFC 3986 unreserved", function()
      assert.equal("AZaz09-_.~%20%2B%2A%21%27%28%29%25%C3%A9", protocol.pct_encode("AZaz09-_.~ +*!'()%\195\169"))
      assert.equal("a%2Fb%00", protocol.pct_encode("a/b\0"))
      assert.equal("a/b%20c//%252E", protocol.pct_encode("a/b c//%2E", true)) -- a greedy label: "/" kept
      local all = {}
      for i = 0, 255 do all[#all + 1] = string.char(i) end
      local encoded = protocol.pct_encode(table.concat(all))
      assert.equal(66 + 190 * 3, #encoded)
      assert.equal(table.concat(all), (encoded:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)))
    end)

    it("builds each request's own path after one whose label was refused", function()
      local req, err = protocol.build_request(model, "GetStreamSession", { Identifier = "sg-1", StreamSessionIdentifier = ".." })
      assert.is_nil(req)
      assert.equal("input.StreamSessionIdentifier", err.path)
      req, err = protocol.build_request(model, "GetStreamSession", { Identifier = "sg-2" })
      assert.is_nil(req)
      assert.equal("GetStreamSession: input.StreamSessionIdentifier: required member is missing", err.message)
      assert.equal("/streamgroups/sg-3/streamsessions/s%201", build("GetStreamSession",
        { Identifier = "sg-3", StreamSessionIdentifier = "s 1" }).path)
      assert.equal("/streamgroups/sg-4/streamsessions/s-2", build("GetStreamSession",
        { Identifier = "sg-4", StreamSessionIdentifier = "s-2" }).path)
    end)

    it("sends list query members as repeated keys, in order, encoded", function()
      local req = build("UntagResource", { ResourceArn = SG_ARN, TagKeys = { "env", "team name", "a&b=c" } })
      assert.equal("DELETE", req.method)
      assert.equal("/tags/arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1AB2C3De4", req.path)
      assert.equal("tagKeys=env&tagKeys=team%20name&tagKeys=a%26b%3Dc", req.query)
      assert.is_nil(req.body)
      req = build("RemoveStreamGroupLocations", { Identifier = "sg-1", Locations = { "us-east-1", "eu-west-1" } })
      assert.equal("locations=us-east-1&locations=eu-west-1", req.query)
    end)

    it("sends scalar query members with their wire names; integers without .0", function()
      local req = build("ListStreamSessions", { Identifier = "sg-1", Status = "ACTIVE", MaxResults = 25.0,
                                                 NextToken = "a/b+c=" })
      assert.equal("/streamgroups/sg-1/streamsessions", req.path)
      assert.equal("Status=ACTIVE&NextToken=a%2Fb%2Bc%3D&MaxResults=25", req.query)
    end)

    it("sends no body at all for operations without body members", function()
      local req = build("CreateStreamSessionAdminShell", { Identifier = "sg-1", StreamSessionIdentifier = "s-1" })
      assert.equal("POST", req.method)
      assert.is_nil(req.body)
      assert.is_nil(req.headers["content-type"])
    end)

    it("sends {} when body members exist but none is set", function()
      local req = build("UpdateApplication", { Identifier = "a-1" })
      assert.equal("PATCH", req.method)
      assert.equal("{}", req.body)
      assert.equal("application/json", req.headers["content-type"])
      assert.equal("{}", build("RevokeStreamUrl", { Identifier = "sg-1", StreamUrlIdentifier = "su-1" }).body)
    end)

    it("serialises only the given members, [] for empty lists, {} for empty maps, integers without .0", function()
      local req = build("StartStreamSession", {
        Identifier = SG_ARN, Protocol = "WebRTC", SignalRequest = "sdp", ApplicationIdentifier = "a-1",
        Locations = {}, AdditionalEnvironmentVariables = {}, ConnectionTimeoutSeconds = 120,
        SessionLengthSeconds = 3600.0, AdditionalLaunchArgs = { "-x" },
        PerformanceStatsConfiguration = { SharedWithClient = false },
        DisplayConfiguration = { Resolution = { Width = 1920, Height = 1080 } },
      })
      assert.equal('{"Protocol":"WebRTC","SignalRequest":"sdp","ApplicationIdentifier":"a-1","Locations":[],'
        .. '"ConnectionTimeoutSeconds":120,"SessionLengthSeconds":3600,"AdditionalLaunchArgs":["-x"],'
        .. '"AdditionalEnvironmentVariables":{},"PerformanceStatsConfiguration":{"SharedWithClient":false},'
        .. '"DisplayConfiguration":{"Resolution":{"Width":1920,"Height":1080}}}', req.body)
      -- the label is in the path, not in the body
      assert.is_nil(req.body:find("Identifier\":\"arn", 1, true))
    end)

    it("escapes strings: quotes, backslashes, control characters; UTF-8 passes through", function()
      assert.equal('"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f/\195\169\240\159\142\174"',
        protocol.json_string("a\"b\\c\n\r\t\b\f\1\31/\195\169\240\159\142\174"))
      local req = build("UpdateApplication", { Identifier = "a-1", Description = "x\"y\n\195\169" })
      assert.equal("x\"y\n\195\169", cjson.decode(req.body).Description)
      -- NUL is escaped, DEL is not (JSON allows it); every byte below 0x80 reads back as it was
      assert.equal('"\\u0000\127"', protocol.json_string("\0\127"))
      assert.equal('""', protocol.json_string(""))
      local seed = 7
      local function rng(n) -- a small LCG: the same strings on every run
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % (n + 1)
      end
      for _ = 1, 300 do
        local bytes = {}
        for j = 1, rng(40) do bytes[j] = string.char(rng(127)) end
        local s = table.concat(bytes)
        assert.equal(s, cjson.decode(protocol.json_string(s)))
      end
    end)

    it("writes maps with sorted keys and escaped key names", function()
      local req = build("TagResource", { ResourceArn = SG_ARN, Tags = { b = "2", a = "1", ["q\"k"] = "3" } })
      assert.equal('{"Tags":{"a":"1","b":"2","q\\"k":"3"}}', req.body)
    end)

    it("writes an integer member given as -0.0 as 0, not -0", function()
      local req = build("CreateStreamGroup", { Description = "d", StreamClass = "gen5n_win2022",
        LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = -0.0 } } })
      assert.truthy(req.body:find('"AlwaysOnCapacity":0}', 1, true), req.body)
      assert.falsy(req.body:find("-0", 1, true), req.body)
    end)

    it("formats numbers: integers plain, fractions shortest round-trip", function()
      assert.equal("7", protocol.format_number(7))
      assert.equal("7", protocol.format_number(7.0))
      assert.equal("-3", protocol.format_number(-3.0))
      assert.equal("0", protocol.format_number(-0.0)) -- as JSON.stringify(-0), not "-0"
      assert.equal("1.5", protocol.format_number(1.5))
      assert.equal("0.1", protocol.format_number(0.1))
      assert.equal("1767225600.123", protocol.format_number(1767225600.123))
      assert.equal("1099511627776", protocol.format_number(1099511627776))
      if math.tointeger then -- Lua 5.4 integers beyond 2^53 stay exact
        assert.equal("9007199254740993", protocol.format_number(9007199254740993))
      end
      assert.is_nil(protocol.format_number(0 / 0))
    end)

    it("writes a timestamp query member as RFC 3339 UTC, to the millisecond (made-up model)", function()
      -- no input of this model has a timestamp: a made-up one has; a fraction that rounds up to
      -- the next second carried into the seconds' digits ("...:201.000Z")
      local m = { operations = { Op = { method = "GET", uri = "/x", input = "In" } }, shapes = {
        In = { type = "structure", members = { T = { shape = "Ts", location = "querystring", name = "t" } } },
        Ts = { type = "timestamp" } } }
      for _, c in ipairs{
        { 1700000000, "2023-11-14T22%3A13%3A20Z" }, { 1700000000.25, "2023-11-14T22%3A13%3A20.250Z" },
        { 1700000000.9996, "2023-11-14T22%3A13%3A21Z" }, { 1700000000.9994, "2023-11-14T22%3A13%3A20.999Z" },
        { 1767225599.9999, "2026-01-01T00%3A00%3A00Z" }, { -0.5, "1969-12-31T23%3A59%3A59.500Z" },
      } do
        local _, _, query = protocol.build(m, "Op", { T = c[1] })
        assert.equal("t=" .. c[2], query, tostring(c[1]))
      end
    end)

    it("writes timestamps in each location's restJson1 format, or the model's (made-up model)", function()
      -- as botocore and the JS SDK v3 do: a date-time in a label or the query, an HTTP date in a
      -- header, epoch seconds in the body, unless the shape names its timestampFormat
      local m = { operations = { Op = { method = "POST", uri = "/x/{L}", input = "In" } }, shapes = {
        In = { type = "structure", order = { "L", "Q", "QE", "H", "HI", "HE", "B", "BI", "BH" }, members = {
          L = { shape = "Ts", location = "uri", name = "L" },
          Q = { shape = "Ts", location = "querystring", name = "q" },
          QE = { shape = "TsEpoch", location = "querystring", name = "qe" },
          H = { shape = "Ts", location = "header", name = "x-h" },
          HI = { shape = "TsIso", location = "header", name = "x-hi" },
          HE = { shape = "TsEpoch", location = "header", name = "x-he" },
          B = { shape = "Ts" }, BI = { shape = "TsIso" }, BH = { shape = "TsHttp" } } },
        Ts = { type = "timestamp" }, TsIso = { type = "timestamp", timestamp_format = "iso8601" },
        TsEpoch = { type = "timestamp", timestamp_format = "unixTimestamp" },
        TsHttp = { type = "timestamp", timestamp_format = "rfc822" } } }
      local t = 1700000000.5
      local _, path, query, headers, body = protocol.build(m, "Op",
        { L = t, Q = t, QE = t, H = t, HI = t, HE = t, B = t, BI = t, BH = t })
      assert.equal("/x/2023-11-14T22%3A13%3A20.500Z", path)
      assert.equal("q=2023-11-14T22%3A13%3A20.500Z&qe=1700000000.5", query)
      assert.equal("Tue, 14 Nov 2023 22:13:20 GMT", headers["x-h"])
      assert.equal("2023-11-14T22:13:20.500Z", headers["x-hi"])
      assert.equal("1700000000.5", headers["x-he"])
      assert.equal('{"B":1700000000.5,"BI":"2023-11-14T22:13:20.500Z","BH":"Tue, 14 Nov 2023 22:13:20 GMT"}', body)
    end)

    it("puts the base it is given before the path, for paths of every length", function()
      local real = require("gameliftstreams.model")
      for op, input in pairs({ ListApplications = {}, GetApplication = { Identifier = "a-1" },
          GetStreamSession = { Identifier = "sg-1", StreamSessionIdentifier = "s/1" } }) do
        local _, path, query = protocol.build(real, op, input)
        local _, url, query2 = protocol.build(real, op, input, "https://h.example")
        assert.equal("https://h.example" .. path, url)
        assert.equal(query, query2)
      end
    end)

    it("quotes a header list's strings that hold a comma or a double quote (made-up model)", function()
      local m = { operations = { Op = { method = "GET", uri = "/x", input = "In" } }, shapes = {
        In = { type = "structure", members = { H = { shape = "L", location = "header", name = "x-l" } } },
        L = { type = "list", member = "S" }, S = { type = "string" } } }
      local _, _, _, headers = protocol.build(m, "Op", { H = { "a", "b,c", 'd"e\\f', " g" } })
      assert.equal('a, "b,c", "d\\"e\\\\f",  g', headers["x-l"])
    end)

    it("does not modify the input", function()
      local input = { Identifier = "a-1", Description = "d" }
      build("UpdateApplication", input)
      assert.same({ Identifier = "a-1", Description = "d" }, input)
    end)
  end)

  describe("response parsing", function()
    local function parse(op, body, status)
      local out, err = protocol.parse_response(model, op, { status = status or 200, headers = {}, body = body })
      assert(out, err and tostring(err))
      return out
    end

    it("gives each operation a reader a transport decodes a 2xx body with, to what parse_response gives", function()
      local body = '{"Arn":"x","Status":"ACTIVE","ConnectionTimeoutSeconds":120,"CreatedAt":1767225600}'
      local reader = protocol.reader(model, "GetStreamSession")
      assert.equal(protocol.reader(model, "GetStreamSession"), reader) -- made once
      assert.equal("GetStreamSessionOutput", reader[2])
      local decoded = reader[1](body, reader[2])
      assert.same(parse("GetStreamSession", body), decoded)
      assert.is_false(protocol.reader(model, "NoSuchOperation"))
      -- an output with a member bound to a header needs the response's headers: no reader
      local located = { operations = { Op = { output = "Out" } }, shapes = {
        Out = { type = "structure", members = { H = { shape = "S", location = "header", name = "x-h" } } },
        S = { type = "string" } } }
      assert.is_false(protocol.reader(located, "Op"))
    end)

    it("returns integer members as integers", function()
      local out = parse("GetStreamGroup", '{"Arn":"x","LocationStates":[{"LocationName":"us-east-1",'
        .. '"AlwaysOnCapacity":3,"RequestedCapacity":10,"IdleCapacity":0}]}')
      local ls = out.LocationStates[1]
      assert.equal(3, ls.AlwaysOnCapacity)
      assert.is_true(is_integer(ls.AlwaysOnCapacity))
      assert.is_true(is_integer(ls.RequestedCapacity))
      assert.equal("3", tostring(ls.AlwaysOnCapacity))
    end)

    it("turns whole JSON floats (7.0, 7e0) into integers and leaves a fraction alone", function()
      local out = parse("GetStreamSession", '{"ConnectionTimeoutSeconds":120.0,"SessionLengthSeconds":3.6e3}')
      assert.equal(120, out.ConnectionTimeoutSeconds)
      assert.is_true(is_integer(out.ConnectionTimeoutSeconds))
      assert.equal("120", tostring(out.ConnectionTimeoutSeconds))
      assert.equal(3600, out.SessionLengthSeconds)
      assert.is_true(is_integer(out.SessionLengthSeconds))
      -- a fraction where the model says integer is refused (issue 15), as the JS SDK v3 does
      local out2, err = protocol.parse_response(model, "GetStreamSession",
        { status = 200, headers = {}, body = '{"ConnectionTimeoutSeconds":2.5}' })
      assert.is_nil(out2)
      assert.equal("SerializationError", err.code)
      assert.equal("output.ConnectionTimeoutSeconds", err.path)
    end)

    it("returns long members exactly", function()
      local out = parse("ListApplicationShaderCaches", '{"Items":[{"Identifier":"sc-1","ApplicationArn":"a",'
        .. '"StorageBytes":1099511627776}]}')
      assert.equal(1099511627776, out.Items[1].StorageBytes)
      assert.is_true(is_integer(out.Items[1].StorageBytes))
    end)

    it("parses timestamps: plain, fractional and exponent epoch seconds", function()
      local out = parse("GetStreamGroup", '{"Arn":"x","CreatedAt":1767225600,"LastUpdatedAt":1767225600.123,'
        .. '"ExpiresAt":1.767225600123E9}')
      assert.equal(1767225600, out.CreatedAt)
      assert.is_true(is_integer(out.CreatedAt))
      assert.is_true(math.abs(out.LastUpdatedAt - 1767225600.123) < 1e-6)
      assert.is_true(math.abs(out.ExpiresAt - 1767225600.123) < 1e-6)
    end)

    it("accepts ISO 8601 timestamps too (tolerance)", function()
      assert.equal(1767225600, parse("GetStreamGroup", '{"Arn":"x","CreatedAt":"2026-01-01T00:00:00Z"}').CreatedAt)
      assert.equal(951782400.5, protocol.parse_iso8601("2000-02-29T00:00:00.5Z"))
      assert.equal(951782400, protocol.parse_iso8601("2000-02-29T01:00:00+01:00"))
    end)

    it("keeps booleans and nested structures", function()
      local out = parse("GetStreamSession", '{"Arn":"x","PerformanceStatsConfiguration":{"SharedWithClient":true},'
        .. '"AdditionalEnvironmentVariables":{"A":"1"},"AdditionalLaunchArgs":["-a","-b"]}')
      assert.is_true(out.PerformanceStatsConfiguration.SharedWithClient)
      assert.same({ A = "1" }, out.AdditionalEnvironmentVariables)
      assert.same({ "-a", "-b" }, out.AdditionalLaunchArgs)
    end)

    it("treats JSON null as absent, at every depth", function()
      local out = parse("GetStreamSession", '{"Arn":"x","Description":null,"AdditionalEnvironmentVariables":'
        .. '{"A":null,"B":"2"},"AdditionalLaunchArgs":[null,"-b"],"ExportFilesMetadata":null}')
      assert.is_nil(out.Description)
      assert.is_nil(out.ExportFilesMetadata)
      assert.same({ B = "2" }, out.AdditionalEnvironmentVariables)
      assert.same({ "-b" }, out.AdditionalLaunchArgs)
      for _, v in pairs(out) do assert.is_not.equal(cjson.null, v) end
    end)

    it("drops unknown members and passes unknown enum values through", function()
      local out = parse("GetStreamGroup", '{"Arn":"x","NewField":{"a":1},"StreamClass":"gen9z_mega",'
        .. '"Status":"HIBERNATING","LocationStates":[{"Status":"NEW","Extra":true}]}')
      assert.is_nil(out.NewField)
      assert.equal("gen9z_mega", out.StreamClass)
      assert.equal("HIBERNATING", out.Status)
      assert.equal("NEW", out.LocationStates[1].Status)
      assert.is_nil(out.LocationStates[1].Extra)
    end)

    it("reads a member from its JSON name, and follows a shape that contains itself", function()
      -- no member of this model has a jsonName or is recursive: a made-up model has both
      local m = { shapes = {
        Node = { type = "structure", members = {
          Name = { shape = "Str", json_name = "name" },
          Size = { shape = "Int" },
          Children = { shape = "NodeList" },
          Tag = { shape = "Str", location = "header", name = "x-tag" },
        } },
        NodeList = { type = "list", member = { shape = "Node" } },
        Str = { type = "string" }, Int = { type = "integer" },
      } }
      local out = protocol.convert(m, "Node", '{"name":"root","Name":"wrong","Size":2.0,'
        .. '"Tag":"from body","Children":[{"name":"leaf","Size":1,"Children":[null]},null],"Extra":1}')
      assert.same({ Name = "root", Size = 2, Children = { { Name = "leaf", Size = 1, Children = {} } } }, out)
      assert.is_true(is_integer(out.Size))
      assert.is_true(is_integer(out.Children[1].Size))
    end)

    it("checks every shape type, naming the member path and never the value (made-up model)", function()
      -- this model has no float, double or out-of-range long: a made-up one has them all
      local m = { shapes = {
        T = { type = "structure", members = {
          D = { shape = "Dbl" }, F = { shape = "Flt" }, L = { shape = "Lng" }, I = { shape = "Int" },
          M = { shape = "Map" }, N = { shape = "T2List" } } },
        T2 = { type = "structure", members = { B = { shape = "Bool" }, E = { shape = "Enum" } } },
        T2List = { type = "list", member = { shape = "T2" } },
        Map = { type = "map", key = { shape = "Str" }, value = { shape = "Lng" } },
        Dbl = { type = "double" }, Flt = { type = "float" }, Lng = { type = "long" }, Int = { type = "integer" },
        Bool = { type = "boolean" }, Enum = { type = "enum" }, Str = { type = "string" },
      } }
      local function conv(json) return protocol.convert(m, "T", json) end
      local out = assert(conv('{"D":1.5,"F":-2,"L":9007199254740992,"I":-2147483648,"M":{"a":1},'
        .. '"N":[{"B":false,"E":"NEW_VALUE"},null]}'))
      assert.equal(1.5, out.D)
      assert.equal(-2147483648, out.I)
      assert.same({ { B = false, E = "NEW_VALUE" } }, out.N)
      for _, c in ipairs{
        { '{"D":1e999}', ".D", "a finite number" }, { '{"F":-1e999}', ".F", "a finite number" },
        { '{"D":"1.5"}', ".D", "a finite number" },
        { '{"L":9223372036854775808}', ".L", "an integer (64-bit)" }, { '{"L":1.5}', ".L", "an integer (64-bit)" },
        { '{"I":2147483648}', ".I", "an integer (32-bit)" },
        { '{"M":{"a":"1"}}', '.M["a"]', "an integer (64-bit)" }, { '{"M":[1]}', ".M", "a map (JSON object)" },
        { '{"N":[{"B":1}]}', ".N[1].B", "a boolean" }, { '{"N":[null,{"E":false}]}', ".N[2].E", "a string" },
        { '{"N":{"B":true}}', ".N", "a list (JSON array)" }, { '{"N":[[1]]}', ".N[1]", "a structure (JSON object)" },
      } do
        local v, expected, where = conv(c[1])
        assert.is_nil(v, c[1])
        assert.equal(c[3], expected, c[1])
        assert.equal(c[2], where, c[1])
      end
    end)

    it("returns an empty table for an empty 204 body and for {}", function()
      assert.same({}, parse("DeleteApplication", "", 204))
      assert.same({}, parse("TerminateStreamSession", nil, 204))
      assert.same({}, parse("TagResource", "{}"))
      assert.same({}, parse("ExportStreamSessionFiles", "  {}  "))
    end)

    it("reports a body that is not JSON as a SerializationError", function()
      local out, err = protocol.parse_response(model, "GetApplication",
        { status = 200, headers = { ["x-amzn-requestid"] = "r-1" }, body = "<html>" })
      assert.is_nil(out)
      assert.equal("SerializationError", err.code)
      assert.equal("r-1", err.request_id)
    end)
  end)

  describe("error parsing", function()
    local function perr(status, headers, body)
      local e = protocol.parse_error(model, "GetStreamGroup", { status = status, headers = headers or {}, body = body })
      assert.is_true(errors.is(e))
      return e
    end

    it("reads x-amzn-errortype with and without a :namespace suffix", function()
      local e = perr(404, { ["x-amzn-errortype"] = "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.gameliftstreams/",
                            ["x-amzn-requestid"] = "req-404" }, '{"message":"no such group"}')
      assert.equal("ResourceNotFoundException", e.code)
      assert.equal("no such group", e.message)
      assert.equal(404, e.status)
      assert.equal("req-404", e.request_id)
      assert.is_false(e.retryable)
      assert.equal("ValidationException", perr(400, { ["x-amzn-errortype"] = "ValidationException" }, "{}").code)
    end)

    it("prefers the header over the body", function()
      assert.equal("ThrottlingException", perr(429, { ["x-amzn-errortype"] = "ThrottlingException" },
        '{"__type":"ValidationException"}').code)
    end)

    it("reads __type with and without namespace# prefix and :suffix", function()
      assert.equal("ConflictException", perr(409, {}, '{"__type":"com.amazonaws.gameliftstreams#ConflictException"}').code)
      assert.equal("ConflictException", perr(409, {}, '{"__type":"ConflictException"}').code)
      assert.equal("ConflictException", perr(409, {},
        '{"__type":"aws.protocoltests#ConflictException:http://internal.amazon.com/coral/x/"}').code)
      assert.equal("ConflictException", perr(409, {}, '{"__type":"ConflictException:http://internal/"}').code)
    end)

    it("reads code and Code", function()
      assert.equal("AccessDeniedException", perr(403, {}, '{"code":"AccessDeniedException","message":"m"}').code)
      assert.equal("AccessDeniedException", perr(403, {}, '{"Code":"AccessDeniedException"}').code)
    end)

    it("reads message, Message or errorMessage", function()
      assert.equal("a", perr(400, {}, '{"__type":"ValidationException","message":"a"}').message)
      assert.equal("b", perr(400, {}, '{"__type":"ValidationException","Message":"b"}').message)
      assert.equal("c", perr(400, {}, '{"__type":"ValidationException","errorMessage":"c"}').message)
    end)

    it("tells the two 409 errors apart by code, never by status", function()
      local conflict = perr(409, { ["x-amzn-errortype"] = "ConflictException" }, '{"message":"busy"}')
      local not_ready = perr(409, { ["x-amzn-errortype"] = "StreamSessionAccessNotReadyException" }, '{"message":"wait"}')
      assert.equal("ConflictException", conflict.code)
      assert.is_false(conflict.retryable)
      assert.equal("StreamSessionAccessNotReadyException", not_ready.code)
      assert.is_true(not_ready.retryable)
    end)

    it("takes retryable and throttling from the model's error flags", function()
      local t = perr(429, { ["x-amzn-errortype"] = "ThrottlingException" }, "{}")
      assert.is_true(t.retryable)
      assert.is_true(t.throttling)
      assert.is_true(perr(500, { ["x-amzn-errortype"] = "InternalServerException" }, "{}").retryable)
      assert.is_false(perr(402, { ["x-amzn-errortype"] = "ServiceQuotaExceededException" }, "{}").retryable)
    end)

    it("turns an HTML error body into HTTP<status> without crashing", function()
      local e = perr(503, { ["content-type"] = "text/html" }, "<html><body>Service Unavailable</body></html>")
      assert.equal("HTTP503", e.code)
      assert.equal(503, e.status)
      assert.is_true(e.retryable)
      assert.matches("non%-JSON", e.message)
      assert.is_nil(e.message:find("<html>", 1, true))
      local e2 = perr(502, {}, "")
      assert.equal("HTTP502", e2.code)
      assert.equal("HTTP404", perr(404, {}, "not found").code)
      assert.is_false(perr(404, {}, "not found").retryable)
    end)

    it("handles JSON that is not an object", function()
      assert.equal("HTTP500", perr(500, {}, "[1,2]").code)
      assert.equal("HTTP400", perr(400, {}, "null").code)
    end)

    it("formats with code, message, status and request id", function()
      local e = perr(404, { ["x-amzn-errortype"] = "ResourceNotFoundException", ["x-amzn-requestid"] = "abc" },
        '{"message":"gone"}')
      assert.equal("ResourceNotFoundException: gone (HTTP 404, request id abc)", tostring(e))
    end)
  end)
end)
