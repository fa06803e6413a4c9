-- The C glue (csrc/l*.c) at the edges of what Lua can hand it: numbers too large for the C
-- integer they become (a double cast to an integer out of range is undefined behaviour, which
-- the ASan/UBSan suite stops on), and the one shape every failure comes back in.
local helpers = require("helpers")
local core = helpers.core()

local MAXINT = math.maxinteger or 2 ^ 53 -- LuaJIT: the largest exact integer

describe("the C glue's numbers", function()
  describe("core.paginator", function()
    it("takes max_items and page_size up to the largest integer", function()
      local p = assert(core.paginator{ max_items = MAXINT, page_size = MAXINT })
      assert.are.equal(MAXINT, p:page_size())
      local first, last = p:feed("t1", 3)
      assert.are.same({ 1, 3 }, { first, last })
      p:close()
    end)

    it("refuses counts that are not integers a C long long holds", function()
      for _, v in ipairs({ 2 ^ 63, -2 ^ 63 - 4096, 1e300, -1e300, 1 / 0, -1 / 0, 0 / 0, 0, -1 }) do
        for _, name in ipairs({ "max_items", "page_size" }) do
          local ok, err = pcall(core.paginator, { [name] = v })
          assert.is_false(ok, name .. " = " .. tostring(v))
          assert.truthy(tostring(err):find(name .. " must be a positive integer", 1, true), tostring(err))
        end
      end
    end)

    it("feeds a page of the largest integer count without overflowing its tally", function()
      local p = assert(core.paginator{})
      assert.are.same({ 1, MAXINT }, { p:feed("t1", MAXINT) })
      assert.are.same({ 1, MAXINT }, { p:feed("t2", MAXINT) })
      -- Lua 5.4: the tally stops at math.maxinteger; LuaJIT's 2^53 twice still fits
      assert.are.equal(math.maxinteger or 2 * MAXINT, p:handed())
      p:close()
      p = assert(core.paginator{ max_items = 5 })
      assert.are.same({ 1, 2 }, { p:feed("t1", 2) })
      assert.are.same({ 1, 3 }, { p:feed("t2", MAXINT) })
      assert.is_true(p:done())
      assert.is_string(p:resume_token())
      p:close()
      p = assert(core.paginator{ max_items = MAXINT })
      assert.are.same({ 1, 7 }, { p:feed("t1", 7) })
      assert.are.same({ 1, MAXINT - 7 }, { p:feed("t2", MAXINT) })
      assert.is_true(p:done())
      p:close()
    end)

    it("refuses an item count that is not a non-negative integer", function()
      local p = assert(core.paginator{})
      for _, v in ipairs({ 2 ^ 63, 1e300, 1 / 0, 0 / 0, -1, 1.5 }) do
        local ok, err = pcall(p.feed, p, "t", v)
        assert.is_false(ok, tostring(v))
        assert.truthy(tostring(err):find("item count must be a non-negative integer", 1, true), tostring(err))
      end
      p:close()
    end)
  end)

  describe("core.http_pool", function()
    it("refuses a max_host_connections beyond what libcurl takes, naming the range", function()
      for _, v in ipairs({ 1e300, 2 ^ 31, 1 / 0, 0 / 0, -1, 1.5 }) do
        local ok, err = pcall(core.http_pool, { max_host_connections = v })
        assert.is_false(ok, tostring(v))
        assert.truthy(tostring(err):find("max_host_connections must be a whole number from 0 to 2147483647", 1, true),
          tostring(err))
      end
      local p = assert(core.http_pool{ max_host_connections = 2 ^ 31 - 1 })
      p:close()
      p = assert(core.http_pool{ max_host_connections = 0 })
      p:close()
    end)
  end)
end)

describe("the C glue's failures", function()
  local errors = require("gameliftstreams.errors")

  local function is_failure(f, code, reason)
    assert.is_table(f)
    assert.are.equal(code, f.code)
    assert.are.equal(reason, f.reason)
    assert.is_string(f.message)
    assert.is_nil(getmetatable(f))
  end

  it("come in one shape: nil and { code, reason, message }, or a transfer result's error", function()
    local pool = assert(core.http_pool{})
    local id, f = pool:add{ url = "not a url" }
    assert.is_nil(id)
    is_failure(f, "InvalidParameter", "other")
    is_failure(pool:request{ url = "not a url" }.error, "InvalidParameter", "other")
    local s = assert(require("socket").bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    local res = pool:request{ url = "http://127.0.0.1:" .. port .. "/", timeout = 2 }
    is_failure(res.error, "NetworkError", "connect")
    assert.is_number(res.error.curl_code)
    pool:close()

    local p, pf = core.paginator{ starting_token = "eyJOZXh0VG9rZW4iOiA1fQ==" } -- {"NextToken": 5}
    assert.is_nil(p)
    is_failure(pf, "InvalidParameter", "starting_token")
    p = assert(core.paginator{})
    assert(p:feed("t", 1))
    -- the page that repeats the token is still handed out; the failure comes third
    local first, last, ff = p:feed("t", 2)
    assert.are.same({ 1, 2 }, { first, last })
    is_failure(ff, "PaginationError", "repeated_token")
    assert.is_true(p:done())
  end)

  it("become error objects in one place, errors.from_core", function()
    local e = errors.from_core({ code = "NetworkError", reason = "reset", message = "gone", curl_code = 56 }, true)
    assert.is_true(errors.is(e))
    assert.are.same({ "NetworkError", "reset", "gone", 56, true },
                    { e.code, e.reason, e.message, e.curl_code, e.retryable })
    e = errors.from_core("a message")
    assert.are.same({ "NetworkError", "a message", false }, { e.code, e.message, e.retryable })
  end)
end)
