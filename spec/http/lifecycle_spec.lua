-- A core.http_pool's transfers from add to take (ids, perform, next_finished, cancel), what it
-- keeps for reuse after a burst, and the pool's own life (close, __gc, __close, tostring, options).
local helpers = require("helpers")
local H = require("support.http_pool")
local core = require("gameliftstreams.core")

local wait_for = H.wait_for

describe("core.http_pool", function()
  local srv = H.server()
  local pool
  before_each(function() pool = assert(core.http_pool{}) end)
  after_each(function() pool:close() end)

  describe("next_finished", function()
    it("reports each finished transfer once, in the order they finished, and leaves its result for take", function()
      local slow = assert(pool:add{ url = srv.url .. "/slow?s=0.3", timeout = 5 })
      local quick = assert(pool:add{ url = srv.url .. "/echo", timeout = 5 })
      assert.is_nil(pool:next_finished())
      local seen = {}
      local deadline = core.monotime() + 5
      while #seen < 2 and core.monotime() < deadline do
        pool:perform(0.05)
        local id = pool:next_finished()
        while id do
          seen[#seen + 1] = id
          id = pool:next_finished()
        end
      end
      assert.same({ quick, slow }, seen)
      assert.is_nil(pool:next_finished())
      assert.equal("slow s=0.3", pool:take(slow).body)
      assert.equal(200, pool:take(quick).status)
    end)

    it("skips the results taken or cancelled before they were reported, and reports the ones after", function()
      local a = assert(pool:add{ url = srv.url .. "/echo", timeout = 5 })
      local deadline = core.monotime() + 5
      repeat pool:perform(0.05) until pool:take(a) or core.monotime() > deadline
      local b = assert(pool:add{ url = srv.url .. "/echo", timeout = 5 })
      local c = assert(pool:add{ url = srv.url .. "/slow?s=0.2", timeout = 5 })
      repeat pool:perform(0.05) until pool:perform(0) == 0 or core.monotime() > deadline
      assert.is_true(pool:cancel(b))
      assert.equal(c, pool:next_finished())
      assert.is_nil(pool:next_finished())
      assert.equal(200, pool:take(c).status)
    end)
  end)

  describe("lifecycle", function()
    it("keeps a burst's easy handles for reuse, but not the big buffers of its replies", function()
      -- 200 results of 200 KB come back together (the pool's peak), then are taken: the pool
      -- keeps 200 idle transfers; past the first 16 they keep only small buffers (40 MB else)
      local script = [[
        local core = require("gameliftstreams.core")
        local url, n = ...
        local function rss()
          for l in io.lines("/proc/self/status") do
            local kb = l:match("^VmRSS:%s+(%d+)")
            if kb then return tonumber(kb) end
          end
        end
        local pool = core.http_pool{}
        assert(pool:request{ url = url, timeout = 5 }.status == 200)
        collectgarbage()
        local before, ids = rss(), {}
        for i = 1, n do
          ids[i] = assert(pool:add{ url = url, timeout = 5 })
          while pool:perform(0.05) > 0 do end
        end
        for i = 1, n do assert(#pool:take(ids[i]).body == 200000) end
        collectgarbage()
        print(rss() - before)
      ]]
      -- (without LD_PRELOAD: in the ASan run, ASan's allocator would keep what is freed)
      local out, ok = helpers.run(string.format("printf '%%s' %s | env -u LD_PRELOAD %s lua5.4 - %s 200",
        helpers.shell_quote(script), helpers.lua_env(), helpers.shell_quote(srv.url .. "/big?n=200000")))
      assert.is_true(ok, out)
      local kb = tonumber(out:match("^(%d+)\n$"))
      assert.truthy(kb, out)
      assert.is_true(kb < 20000, kb .. " KB kept")
    end)

    it("gives each transfer a distinct positive integer id; take() is nil until it finishes", function()
      local a = pool:add{ url = srv.url .. "/slow?s=0.2", timeout = 5 }
      local b = pool:add{ url = srv.url .. "/echo", timeout = 5 }
      assert.is_true(a >= 1 and b >= 1 and a ~= b and math.floor(a) == a)
      assert.is_nil(pool:take(a))
      assert.equal(200, wait_for(pool, a).status)
      assert.is_nil(pool:take(a)) -- a result is handed out once
      assert.equal(200, wait_for(pool, b).status)
      assert.is_nil(pool:take(999999))
    end)

    it("perform(wait) returns within about `wait` seconds when nothing finishes", function()
      local id = pool:add{ url = srv.url .. "/hang", timeout = 10 }
      local t0 = core.monotime()
      assert.equal(1, pool:perform(0))
      assert.is_true(core.monotime() - t0 < 0.1)
      t0 = core.monotime()
      assert.equal(1, pool:perform(0.2))
      local took = core.monotime() - t0
      assert.is_true(took < 0.5, "took " .. took)
      assert.is_true(pool:cancel(id))
      assert.equal(0, pool:perform(0))
    end)

    it("cancels a running transfer and drops an unclaimed result", function()
      local hang = pool:add{ url = srv.url .. "/hang", timeout = 10 }
      local quick = pool:add{ url = srv.url .. "/echo", timeout = 5 }
      local deadline = core.monotime() + 3
      while pool:perform(0.05) > 1 and core.monotime() < deadline do end
      assert.is_true(pool:cancel(hang))
      assert.is_true(pool:cancel(quick))
      assert.is_false(pool:cancel(hang))
      assert.is_nil(pool:take(quick))
      assert.is_nil(pool:next_done())
      assert.equal(200, pool:request{ url = srv.url .. "/echo", timeout = 5 }.status)
    end)

    it("closes with transfers in flight and results never taken; close is idempotent", function()
      local p = core.http_pool{}
      for _ = 1, 5 do p:add{ url = srv.url .. "/hang", timeout = 10 } end
      p:add{ url = srv.url .. "/echo", timeout = 5 }
      local deadline = core.monotime() + 3
      while p:perform(0.05) > 5 and core.monotime() < deadline do end
      p:close()
      p:close()
      assert.equal("gameliftstreams.http_pool (closed)", tostring(p))
    end)

    it("raises a clear error when a closed pool is used", function()
      local p = core.http_pool{}
      p:close()
      for _, call in ipairs{
        function() p:add{ url = srv.url } end, function() p:perform(0) end, function() p:next_done() end,
        function() p:take(1) end, function() p:request{ url = srv.url } end, function() p:cancel(1) end,
      } do
        assert.has_error(call, "attempt to use a closed http_pool")
      end
    end)

    it("says what it is in tostring", function()
      assert.matches("^gameliftstreams%.http_pool %(0x%x+%)$", tostring(pool))
    end)

    it("is collected with transfers in flight", function()
      local p = core.http_pool{}
      p:add{ url = srv.url .. "/hang", timeout = 10 }
      p:perform(0.05)
      p = nil -- luacheck: ignore
      collectgarbage()
      collectgarbage()
    end)

    it("closes through a to-be-closed variable on Lua 5.4", function()
      if _VERSION ~= "Lua 5.4" then return end
      local chunk = assert(load([[
        local core, url = ...
        local kept
        do
          local p <close> = core.http_pool{}
          kept = p
          p:add{ url = url, timeout = 10 }
          p:perform(0.05)
        end
        return tostring(kept)
      ]]))
      assert.equal("gameliftstreams.http_pool (closed)", chunk(core, srv.url .. "/hang"))
    end)

    it("refuses bad pool options", function()
      assert.has_error(function() core.http_pool{ ca_file = 5 } end)
      assert.has_error(function() core.http_pool{ max_host_connections = "1" } end)
      assert.has_error(function() core.http_pool("x") end)
    end)
  end)
end)
