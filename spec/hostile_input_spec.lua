-- Hostile input from a caller, end to end over real sockets: path labels that would retarget a
-- request (issue 15, item 1), and values whose view differs between validation and encoding
-- (item 5). "Nothing sent" is checked with a listener in this process: a call that connected
-- would find nobody answering and time out, and the connection would wait in the backlog.
local helpers = require("helpers")
local socket = require("socket")
local gls = require("gameliftstreams")
local core = helpers.core()

local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }

-- A client pointed at a listener that never answers; `sent()` says whether anything connected.
local function silent_client()
  local l = assert(socket.bind("127.0.0.1", 0))
  local _, port = l:getsockname()
  local client = assert(gls.new{ region = "us-west-2", endpoint = "http://127.0.0.1:" .. port,
                                 credentials = CREDS, timeout = 1, max_attempts = 1 })
  local function sent()
    l:settimeout(0)
    local c = l:accept()
    if c then c:close() end
    return c ~= nil
  end
  return client, sent, function() l:close() end
end

describe("hostile input (issue 15)", function()
  describe("path labels that would make a dot segment or an empty one", function()
    local client, sent, close
    before_each(function() client, sent, close = silent_client() end)
    after_each(function() close() end)

    local function refused(method, input, member)
      local t0 = core.monotime()
      local out, err = client[method](client, input)
      assert.is_nil(out)
      assert.equal("InvalidParameter", err.code, tostring(err))
      assert.equal("input." .. member, err.path)
      assert.truthy(err.message:find("input." .. member .. ": a path label cannot be empty, \".\" or \"..\"",
        1, true), err.message)
      assert.equal(0, err.attempts)
      assert.is_true(core.monotime() - t0 < 0.5)
      assert.is_false(sent(), "a request was sent")
    end

    it("refuses '..' as a stream group (ListStreamSessions would become ListStreamSessionsByAccount)", function()
      refused("list_stream_sessions", { Identifier = ".." }, "Identifier")
    end)

    it("refuses '.', '..' and '' as the session of TerminateStreamSession", function()
      for _, v in ipairs({ ".", "..", "" }) do
        local out, err = client:terminate_stream_session{ Identifier = "sg-1", StreamSessionIdentifier = v }
        assert.is_nil(out)
        assert.equal("InvalidParameter", err.code)
        assert.equal("input.StreamSessionIdentifier", err.path)
        assert.equal(0, err.attempts)
      end
      refused("terminate_stream_session", { Identifier = "sg-1", StreamSessionIdentifier = ".." },
        "StreamSessionIdentifier")
      refused("get_stream_session", { Identifier = ".", StreamSessionIdentifier = "s-1" }, "Identifier")
      refused("list_tags_for_resource", { ResourceArn = ".." }, "ResourceArn")
      assert.is_false(sent())
    end)

    it("refuses them through call() and build_request too (no caller gets past it)", function()
      local out, err = client:call("DeleteStreamGroup", { Identifier = ".." })
      assert.is_nil(out)
      assert.equal("InvalidParameter", err.code)
      local protocol = require("gameliftstreams.protocol")
      local req, berr = protocol.build_request(require("gameliftstreams.model"), "ListStreamSessions",
        { Identifier = ".." })
      assert.is_nil(req)
      assert.equal("InvalidParameter", berr.code)
      assert.equal("input.Identifier", berr.path)
      assert.is_false(sent())
    end)
  end)

  describe("values whose metatable would show validation one thing and the encoder another", function()
    local client, sent, close
    before_each(function() client, sent, close = silent_client() end)
    after_each(function() close() end)

    local function START(extra)
      local t = { Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC", SignalRequest = "o" }
      for k, v in pairs(extra) do t[k] = v end
      return t
    end

    local function refused(input, path, what)
      local out, err = client:start_stream_session(input)
      assert.is_nil(out)
      assert.equal("InvalidParameter", err.code, tostring(err))
      assert.equal(path, err.path)
      assert.truthy(err.message:find(what, 1, true), err.message)
      assert.equal(0, err.attempts)
      assert.is_false(sent(), "a request was sent")
    end

    it("refuses a list whose __len says 3 and whose __index makes up the elements", function()
      -- before: validated as empty (pairs), then sent as three unvalidated strings (#, [])
      local fake = setmetatable({}, { __len = function() return 3 end,
                                      __index = function() return "us-east-1" end })
      refused(START{ Locations = fake }, "input.Locations", "metatable has __index")
      refused(START{ Locations = setmetatable({}, { __len = function() return 3 end }) }, "input.Locations",
        "metatable has __len")
    end)

    it("refuses a list whose elements come from __index as tables (sent as 'table: 0x...')", function()
      local fake = setmetatable({}, { __len = function() return 1 end, __index = function() return {} end })
      refused(START{ AdditionalLaunchArgs = fake }, "input.AdditionalLaunchArgs", "metatable has __index")
    end)

    it("refuses a huge __len at once instead of hanging the encoder", function()
      local t0 = core.monotime()
      refused(START{ Locations = setmetatable({}, { __len = function() return 2 ^ 40 end }) },
        "input.Locations", "metatable has __len")
      assert.is_true(core.monotime() - t0 < 1)
    end)

    it("refuses structures and maps whose __pairs or __index show members they do not hold", function()
      local shown = { A = "1" }
      refused(START{ AdditionalEnvironmentVariables = setmetatable({}, {
        __pairs = function() return next, shown, nil end }) }, "input.AdditionalEnvironmentVariables",
        "metatable has __pairs")
      local input = setmetatable({ Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC" },
        { __index = function(_, k) if k == "SignalRequest" then return "made up" end end })
      local out, err = client:start_stream_session(input)
      assert.is_nil(out)
      assert.equal("InvalidParameter", err.code)
      assert.equal("input", err.path)
      assert.is_false(sent())
      local protected = setmetatable({ "us-east-1" }, { __metatable = "locked" })
      refused(START{ Locations = protected }, "input.Locations", "protected metatable")
    end)

    it("still takes plain tables, and tables whose metatable changes nothing they show", function()
      local marked = setmetatable({ "us-east-1" }, { __jsontype = "array" }) -- as cjson's array_mt
      local ok, err = require("gameliftstreams.validate").input(require("gameliftstreams.model"),
        "StartStreamSession", START{ Locations = marked })
      assert.is_true(ok, tostring(err))
    end)

    it("encodes what it was given raw, never tostring() of a table (encode_json without validation)", function()
      local protocol = require("gameliftstreams.protocol")
      local model = require("gameliftstreams.model")
      local fake = setmetatable({}, { __len = function() return 2 ^ 40 end, __index = function() return {} end })
      local t0 = core.monotime()
      assert.equal("[]", protocol.encode_json(model, "LocationList", fake))
      assert.is_true(core.monotime() - t0 < 1)
      local json, err = protocol.encode_json(model, "LocationList", { {} })
      assert.is_nil(json)
      assert.equal("expected a string", err)
      assert.is_nil(protocol.encode_json(model, "PerformanceStatsConfiguration", { SharedWithClient = "yes" }))
      local req, berr = protocol.build_request(model, "UntagResource", { ResourceArn = "arn:x", TagKeys = { {} } })
      assert.is_nil(req)
      assert.equal("SerializationError", berr.code)
      assert.equal("input.TagKeys", berr.path)
    end)
  end)

  describe("against the emulator", function()
    local emu, client
    setup(function()
      emu = helpers.start_emulator()
      client = helpers.client(emu, { max_attempts = 1 })
    end)
    teardown(function() emu.stop() end)
    before_each(function() helpers.control(emu, "DELETE", "requests") end)


    it("sends nothing for a '..' label, and the account's sessions stay unlisted", function()
      local out, err = client:list_stream_sessions{ Identifier = ".." }
      assert.is_nil(out)
      assert.equal("InvalidParameter", err.code)
      assert.same({}, helpers.sent_requests(emu))
    end)

    it("sends a label holding '/../' encoded whole: no dot segment reaches the wire", function()
      local _, err = client:list_stream_sessions{ Identifier = "a/../b" }
      -- whatever the service says of that id, it is said of that id, on that path
      assert.is_table(err)
      local log = helpers.sent_requests(emu)
      assert.equal(1, #log)
      assert.equal("/streamgroups/a%2F..%2Fb/streamsessions", log[1].path)
      assert.equal("ListStreamSessions", log[1].operation)
      -- the signature was made over that same path: the emulator checked it
      assert.is_not.equal("InvalidSignatureException", err.code)
    end)
  end)
end)
