-- A reader given to core.http_pool's request and take: a 2xx body decoded where the transfer
-- holds it (core.json_plan), the whole result otherwise.
local helpers = require("helpers")
local cjson = require("cjson")
local H = require("support.http_pool")
local core = require("gameliftstreams.core")

local dead_port = H.dead_port

describe("core.http_pool", function()
  local srv = H.server()
  local pool
  before_each(function() pool = assert(core.http_pool{}) end)
  after_each(function() pool:close() end)

  describe("a reader: a 2xx body decoded where the transfer holds it", function()
    local SHAPES = {
      Echo = { type = "structure", members = { method = { shape = "S" }, path = { shape = "S" },
                                               conn = { shape = "I" } } },
      Wrong = { type = "structure", members = { method = { shape = "I" } } },
      S = { type = "string" }, I = { type = "integer" },
    }
    local decode = core.json_plan(SHAPES)
    local reader = { decode, "Echo" }
    local keys = helpers.sorted_keys

    it("answers the output and the status alone for a 2xx, through request and take", function()
      local out, status = pool:request({ url = srv.url .. "/echo", timeout = 5 }, reader)
      assert.equal(200, status)
      assert.same({ method = "GET", path = "/echo", conn = out.conn }, out)
      if math.type then
        assert.equal("integer", math.type(out.conn))
        assert.equal("integer", math.type(status))
      end
      local id = assert(pool:add{ url = srv.url .. "/echo", timeout = 5, method = "PUT" })
      local deadline = core.monotime() + 5
      repeat pool:perform(0.05) until pool:next_finished() == id or core.monotime() > deadline
      out, status = pool:take(id, reader)
      assert.equal(200, status)
      assert.same({ "conn", "method", "path" }, keys(out))
      assert.equal("PUT", out.method)
      assert.is_nil(pool:take(id, reader)) -- handed out once
    end)

    it("decodes with an operation's reader as the decoder itself does: a nil shape takes an object", function()
      local out, status = pool:request({ url = srv.url .. "/echo", timeout = 5 }, { decode })
      assert.same({}, out)
      assert.equal(200, status)
    end)

    it("answers the whole result, as without a reader, when the body does not decode or the status is not 2xx", function()
      for _, case in ipairs{
        { url = srv.url .. "/echo", reader = { decode, "Wrong" } }, -- a member of another type
        { url = srv.url .. "/big?n=10", reader = reader },          -- not JSON
        { url = srv.url .. "/echo", reader = { decode, "S" } },     -- JSON of another kind
        { url = srv.url .. "/status/404", reader = reader },
        { url = srv.url .. "/status/500", reader = reader },
      } do
        local plain = pool:request{ url = case.url, timeout = 5 }
        local read, second = pool:request({ url = case.url, timeout = 5 }, case.reader)
        assert.is_nil(second)
        assert.equal(plain.status, read.status)
        if case.url:find("/echo", 1, true) then -- its body tells the requests apart
          assert.equal("/echo", cjson.decode(read.body).path)
        else
          assert.equal(plain.body, read.body)
        end
        assert.equal(plain.headers["content-type"], read.headers["content-type"])
        assert.equal(plain.headers["content-length"], read.headers["content-length"])
      end
    end)

    it("leaves failures as they are", function()
      local res, second = pool:request({ url = "http://127.0.0.1:" .. dead_port() .. "/", timeout = 3 }, reader)
      assert.equal("NetworkError", res.error.code)
      assert.is_nil(second)
    end)

    it("keeps max_response_bytes: a body over it is ResponseTooLarge, never decoded", function()
      local res = pool:request({ url = srv.url .. "/echo", timeout = 5, max_response_bytes = 10 }, reader)
      assert.equal("ResponseTooLarge", res.error.code)
    end)

    it("raises for a reader that is not a table or whose decoder is not a core.json_plan decoder", function()
      assert.has_error(function() pool:request({ url = srv.url .. "/echo", timeout = 5 }, "Echo") end)
      assert.has_error(function()
        pool:request({ url = srv.url .. "/echo", timeout = 5 }, { function() end, "Echo" })
      end, "not a core.json_plan decoder")
      assert.equal(200, pool:request{ url = srv.url .. "/echo", timeout = 5 }.status) -- still usable
    end)
  end)
end)
