-- Hostile servers (issue 15): a server started here on 127.0.0.1 (spec/support/hostile_server.lua)
-- does to the client whatever a server can do: malformed and wrong-typed answers, truncation,
-- resets, trickling, huge and repeated headers, bad chunking, no Content-Length, redirects.
-- For each, the call returns nil, err with a clear code; nothing raises; nothing hangs past
-- `timeout`; nothing is retried that cannot succeed (err.attempts).
local helpers = require("helpers")
local gls = require("gameliftstreams")
local core = helpers.core()
local cjson = require("cjson")

local SERVER = helpers.root .. "/spec/support/hostile_server.lua"
local CREDS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" }

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

describe("hostile servers (issue 15)", function()
  local srv
  setup(function() srv = helpers.spawn_server(SERVER, {}) end)
  teardown(function() srv.stop() end)

  -- A client whose endpoint is the server's case `case` (e.g. "json/200/<hex>").
  local function client_for(case, extra)
    local opts = { region = "us-west-2", endpoint = srv.url .. "/" .. case, credentials = CREDS,
                   timeout = 2, connect_timeout = 2, max_attempts = 3 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    -- no back-off between attempts: the specs count attempts, they do not wait for them
    local c = assert(gls.new(opts))
    c.retry.base = 0
    return c
  end

  local function answering(body, status)
    return client_for("json/" .. (status or 200) .. "/" .. hex(body))
  end

  -- Runs `fn` and checks it neither raises nor outlasts `limit` seconds; returns its results.
  local function safely(limit, fn, ...)
    local t0 = core.monotime()
    local res = table.pack(pcall(fn, ...))
    local elapsed = core.monotime() - t0
    assert(res[1], "raised: " .. tostring(res[2]))
    assert(elapsed < limit, string.format("took %.2f s (limit %.2f s)", elapsed, limit))
    return table.unpack(res, 2, res.n)
  end

  local GET = { Identifier = "sg-1", StreamSessionIdentifier = "s-1" }

  describe("answers that do not have the model's types", function()
    -- GetStreamSession answers: the member path named, the expected type, never the value
    local cases = {
      { '{"Arn":"a","CreatedAt":"2026-13-01T00:00:00Z"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":"2026-00-10T00:00:00Z"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":"2026-02-29T00:00:00Z"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":"2026-04-31T00:00:00Z"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":"2026-01-01T24:00:00Z"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":"2026-01-01T00:60:00Z"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":"2026-01-01T00:00:00+25:00"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":"not a date"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":{"x":1}}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":true}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":1e999}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":"a","CreatedAt":"0x10"}', "output.CreatedAt", "a timestamp" },
      { '{"Arn":12}', "output.Arn", "a string" },
      { '{"Arn":"a","SessionLengthSeconds":"5"}', "output.SessionLengthSeconds", "an integer" },
      { '{"Arn":"a","SessionLengthSeconds":2.5}', "output.SessionLengthSeconds", "an integer" },
      { '{"Arn":"a","SessionLengthSeconds":1e999}', "output.SessionLengthSeconds", "an integer" },
      { '{"Arn":"a","SessionLengthSeconds":4294967296}', "output.SessionLengthSeconds", "an integer" },
      { '{"Arn":"a","Status":7}', "output.Status", "a string" },
      { '{"Arn":"a","PerformanceStatsConfiguration":{"SharedWithClient":"yes"}}',
        "output.PerformanceStatsConfiguration.SharedWithClient", "a boolean" },
      { '{"Arn":"a","PerformanceStatsConfiguration":[1]}', "output.PerformanceStatsConfiguration", "a structure" },
      { '{"Arn":"a","AdditionalLaunchArgs":{"a":"b"}}', "output.AdditionalLaunchArgs", "a list" },
      { '{"Arn":"a","AdditionalLaunchArgs":"-a"}', "output.AdditionalLaunchArgs", "a list" },
      { '{"Arn":"a","AdditionalLaunchArgs":["-a",{}]}', "output.AdditionalLaunchArgs[2]", "a string" },
      { '{"Arn":"a","AdditionalEnvironmentVariables":["x"]}', "output.AdditionalEnvironmentVariables", "a map" },
      { '{"Arn":"a","AdditionalEnvironmentVariables":{"K":1}}', 'output.AdditionalEnvironmentVariables["K"]',
        "a string" },
      { '{"Arn":"a","SignalResponse":{"sdp":"secret-sdp"}}', "output.SignalResponse", "a string" },
    }
    for i, c in ipairs(cases) do
      it("refuses answer " .. i .. " (" .. c[2] .. ") with a SerializationError, once", function()
        local client = answering(c[1])
        local out, err = safely(3, client.get_stream_session, client, GET)
        assert.is_nil(out)
        assert.equal("SerializationError", err.code, tostring(err))
        assert.equal(c[2], err.path)
        assert.truthy(err.message:find(c[2] .. ": expected " .. c[3], 1, true), err.message)
        assert.equal(1, err.attempts) -- the same answer would come again
        assert.equal(200, err.status)
        assert.equal("hostile-1", err.request_id)
        -- no value of the answer in the message
        for _, v in ipairs{ "2026", "not a date", "12", "secret", "yes", "-a", '"5"', "2.5" } do
          if not c[2]:find(v, 1, true) then assert.is_nil(err.message:find(v, 1, true), v) end
        end
      end)
    end

    it("refuses a 2xx body that is not a JSON object (array, string, number, null)", function()
      for _, body in ipairs{ "[]", '[{"Arn":"a"}]', '"text"', "12", "null", "true" } do
        local client = answering(body)
        local out, err = safely(3, client.get_stream_session, client, GET)
        assert.is_nil(out, body)
        assert.equal("SerializationError", err.code)
        assert.truthy(err.message:find("not a JSON object", 1, true), err.message)
        assert.equal(1, err.attempts)
      end
    end)

    it("refuses a body that is not JSON, and NaN or Infinity, which JSON does not have", function()
      for _, body in ipairs{ "<html>", '{"Arn":"a"', '{"Arn":"a","SessionLengthSeconds":NaN}',
                             '{"Arn":"a","CreatedAt":Infinity}', '{"Arn":"a","SessionLengthSeconds":0x10}' } do
        local client = answering(body)
        local out, err = safely(3, client.get_stream_session, client, GET)
        assert.is_nil(out, body)
        assert.equal("SerializationError", err.code)
        assert.equal(1, err.attempts)
      end
    end)

    it("still passes unknown members (dropped) and unknown enum values (kept), and good answers", function()
      local client = answering('{"Arn":"a","Status":"HIBERNATING","NewThing":{"x":[1]},'
        .. '"CreatedAt":"2024-02-29T23:59:60.5+01:00","SessionLengthSeconds":3600.0,"LastUpdatedAt":"1767225600"}')
      local out = assert(safely(3, client.get_stream_session, client, GET))
      assert.equal("HIBERNATING", out.Status)
      assert.is_nil(out.NewThing)
      assert.equal(1709247600.5, out.CreatedAt)
      assert.equal(3600, out.SessionLengthSeconds)
      assert.equal(1767225600, out.LastUpdatedAt)
    end)

    it("refuses them from client:wait (the waiter's poll) without raising", function()
      local client = answering('{"Arn":"a","Status":"ACTIVE","CreatedAt":"2026-13-01T00:00:00Z"}')
      local out, err = safely(5, client.wait, client, "stream_session_active", GET,
        { min_delay = 0.01, max_delay = 0.02, max_wait = 2 })
      assert.is_nil(out)
      assert.is_table(err)
      local cause = err.code == "SerializationError" and err or err.cause or err.last_error
      assert.is_table(cause, tostring(err))
      assert.equal("SerializationError", cause.code)
    end)

    it("refuses them inside tasks: the task finishes with nil, err instead of failing", function()
      local client = answering('{"Arn":"a","CreatedAt":"2026-13-01T00:00:00Z"}')
      local t = gls.spawn(function() return client:get_stream_session(GET) end)
      safely(5, gls.run)
      assert.equal("done", t.status, tostring(t.error))
      assert.is_nil(t.results[1])
      assert.equal("SerializationError", t.results[2].code)
    end)

    it("refuses them in start_session_and_wait, and the started session is terminated", function()
      local client = client_for("session/" .. hex('{"Arn":"arn:aws:gameliftstreams:us-west-2:111122223333:'
        .. 'streamsession/sg-1/s-1","Status":"ACTIVATING","CreatedAt":"2026-13-01T00:00:00Z"}'))
      helpers.run("true")
      local log_client = assert(core.http_pool{})
      local function log(method)
        local id = assert(log_client:add{ method = method, url = srv.url .. "/_log", timeout = 5 })
        local deadline = core.monotime() + 5
        repeat
          local r = log_client:take(id)
          if r then return r.body end
          log_client:perform(0.05)
        until core.monotime() > deadline
      end
      log("DELETE")
      local out, err = safely(5, client.start_session_and_wait, client,
        { Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC", SignalRequest = "offer" },
        { min_delay = 0.01, max_delay = 0.02, max_wait = 2 })
      assert.is_nil(out)
      assert.is_table(err)
      local seen = log("GET")
      assert.truthy(seen:find("DELETE /session/[%x]+/streamgroups/sg%-1/streamsessions/arn"), seen)
    end)

    it("turns a raise inside parse_response into a SerializationError without the raised text", function()
      local protocol = require("gameliftstreams.protocol")
      local real = protocol.parse_response
      local called = 0
      protocol.parse_response = function()
        called = called + 1
        error("boom: secret-value-from-the-body")
      end
      -- a body of the wrong type: without hooks the transport's decoder declines it too, so
      -- parse_response runs on both the hook-free path and the hooked one
      local client = answering('{"Arn":1}')
      local ok, out, err = pcall(client.get_stream_session, client, GET)
      protocol.parse_response = real
      assert.is_true(ok, tostring(out))
      assert.equal(1, called)
      assert.is_nil(out)
      assert.equal("SerializationError", err.code)
      assert.is_nil(err.message:find("secret", 1, true))
      assert.equal(1, err.attempts)
    end)
  end)

  describe("what the connection does (the libcurl transport; the cosocket one: spec/ngx_hostile_spec.lua)", function()
    -- { case, code, reason, attempts (max 3: retried only what may succeed next time) }
    local cases = {
      { "truncate", "NetworkError", "partial", 3 },     -- Content-Length 100, 10 bytes, close
      { "chunk-cut", "NetworkError", "partial", 3 },    -- chunked, cut in a chunk
      { "cut-header", "NetworkError", "partial", 3 },   -- cut in a header line: not an empty 200
      { "reset", "NetworkError", "reset", 3 },
      { "reset-mid", "NetworkError", "reset", 3 },
      { "empty", "NetworkError", "reset", 3 },
      { "garbage", "NetworkError", "protocol", 1 },     -- not HTTP: the same again next time
      { "bad-chunk/zz", "NetworkError", "protocol", 1 }, -- broken framing: the same again next time
      { "bad-chunk/-1", "NetworkError", "protocol", 1 },
      { "huge-header/1048576", "ResponseTooLarge", "header_too_large", 1 },
      { "huge-header/200000", "ResponseTooLarge", "header_too_large", 1 },
      { "header-bytes/400000", "ResponseTooLarge", "header_too_large", 1 },
      { "many-headers/49000", "ResponseTooLarge", "header_too_large", 1 },
      { "redirect/301", "HTTP301", nil, 1 },            -- not followed
      { "redirect/302", "HTTP302", nil, 1 },
      { "redirect/307", "HTTP307", nil, 1 },
      { "no-length/" .. hex('{"Arn":"a"'), "SerializationError", nil, 1 }, -- cut, no length to tell
    }
    for _, c in ipairs(cases) do
      it(c[1]:gsub("/%x+$", "") .. ": nil, " .. c[2] .. ", " .. c[4] .. " attempt(s), nothing raised", function()
        local client = client_for(c[1], { timeout = 1 })
        local out, err = safely(3 * 1 + 2, client.get_stream_session, client, GET)
        assert.is_nil(out)
        assert.equal(c[2], err.code, tostring(err))
        if c[3] then assert.equal(c[3], err.reason, tostring(err)) end
        assert.equal(c[4], err.attempts, tostring(err))
      end)
    end

    it("bounds trickled headers and bodies and a silent server by `timeout`, each attempt", function()
      for _, case in ipairs{ "trickle-head", "trickle-body/100", "hang" } do
        local client = client_for(case, { timeout = 0.5, max_attempts = 1 })
        local t0 = core.monotime()
        local out, err = safely(2, client.get_stream_session, client, GET)
        assert.is_nil(out)
        assert.equal("Timeout", err.code, case)
        assert.equal(1, err.attempts)
        assert.is_true(core.monotime() - t0 < 1.2, case)
      end
    end)

    it("reads a body ended by the connection closing (no Content-Length)", function()
      local client = client_for("no-length/" .. hex('{"Arn":"a","Status":"ACTIVE"}'))
      local out = assert(safely(3, client.get_stream_session, client, GET))
      assert.equal("ACTIVE", out.Status)
    end)
  end)
end)
