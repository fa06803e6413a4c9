-- restJson1 error answers from a real socket server, read by the real client as botocore's
-- RestJSONParser and the JS SDK v3 (loadRestJsonErrorCode, deserializeMetadata) read them.
-- The server answers /r/<hex of {"status": n, "headers": {...}, "body": "..."}>/<API path>
-- with exactly that, so each case is one GetStreamGroup call against an endpoint naming it.
local helpers = require("helpers")
local cjson = require("cjson")

local SERVER = [[
local httpd = require("gameliftstreams.emulator.httpd")
local cjson = require("cjson")
httpd.main{ handler = function(req)
  local hex = req.path:match("^/r/(%x+)/")
  if not hex then return 400, { ["Content-Type"] = "text/plain" }, "no case" end
  local c = cjson.decode((hex:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)))
  return c.status, c.headers, c.body
end }
]]

describe("error answers read as botocore and the JS SDK v3 read them", function()
  local srv, dir

  setup(function()
    dir = helpers.tmpdir()
    srv = helpers.spawn_server(helpers.write_file(dir .. "/answers.lua", SERVER), {})
  end)

  teardown(function()
    if srv then srv.stop() end
    helpers.rm_rf(dir)
  end)

  -- The error of one GetStreamGroup call answered with status, headers and body.
  local function answer(status, headers, body)
    local hex = cjson.encode{ status = status, headers = headers, body = body }:gsub(".", function(ch)
      return string.format("%02x", ch:byte())
    end)
    local client = helpers.client(srv, { endpoint = srv.url .. "/r/" .. hex, max_attempts = 1,
      credentials = { access_key_id = "AKIDTEST", secret_access_key = "test-secret" } })
    local out, err = client:get_stream_group{ Identifier = "sg-1AB2C3De4" }
    assert.is_nil(out)
    return err
  end

  local JSON = { ["Content-Type"] = "application/json" }

  it("takes the body's code (or Code) before its __type", function()
    local err = answer(409, JSON, '{"__type":"ValidationException","code":"ConflictException","message":"busy"}')
    assert.equal("ConflictException", err.code)
    assert.equal("busy", err.message)
    assert.is_false(err.retryable)
    err = answer(409, JSON, '{"__type":"ConflictException","Code":"StreamSessionAccessNotReadyException"}')
    assert.equal("StreamSessionAccessNotReadyException", err.code)
    assert.is_true(err.retryable) -- the model's flag of the code taken
    -- __type alone, and a namespaced code with a URI part
    assert.equal("ConflictException", answer(409, JSON, '{"__type":"ConflictException"}').code)
    assert.equal("ConflictException", answer(409, JSON,
      '{"code":"com.amazonaws.gameliftstreams#ConflictException:http://internal.amazon.com/coral/x/"}').code)
  end)

  it("still prefers x-amzn-errortype to the body", function()
    local err = answer(429, { ["Content-Type"] = "application/json", ["x-amzn-ErrorType"] = "ThrottlingException:http://x/" },
      '{"code":"ValidationException","__type":"ConflictException"}')
    assert.equal("ThrottlingException", err.code)
    assert.is_true(err.throttling)
  end)

  it("keeps the first code of an x-amzn-errortype sent twice (the transport joins them with a comma)", function()
    local err = answer(404, { ["Content-Type"] = "application/json",
      ["x-amzn-errortype"] = "ResourceNotFoundException,ResourceNotFoundException" }, '{"message":"gone"}')
    assert.equal("ResourceNotFoundException", err.code)
    assert.equal("gone", err.message)
  end)

  it("takes the request id from x-amzn-requestid, else x-amzn-request-id, else x-amz-request-id", function()
    local err = answer(400, { ["Content-Type"] = "application/json", ["x-amzn-RequestId"] = "rid-1",
      ["x-amzn-Request-Id"] = "rid-2", ["x-amz-request-id"] = "rid-3" }, '{"__type":"ValidationException"}')
    assert.equal("rid-1", err.request_id)
    err = answer(400, { ["Content-Type"] = "application/json", ["x-amzn-Request-Id"] = "rid-2",
      ["x-amz-request-id"] = "rid-3" }, '{"__type":"ValidationException"}')
    assert.equal("rid-2", err.request_id)
    err = answer(400, { ["Content-Type"] = "application/json", ["X-Amz-Request-Id"] = "rid-3" },
      '{"__type":"ValidationException"}')
    assert.equal("rid-3", err.request_id)
    -- a 2xx that cannot be read names its request id too
    err = answer(200, { ["Content-Type"] = "application/json", ["x-amzn-request-id"] = "rid-4" }, "<html>")
    assert.equal("SerializationError", err.code)
    assert.equal("rid-4", err.request_id)
  end)
end)
