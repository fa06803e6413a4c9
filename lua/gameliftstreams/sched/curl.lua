--- The scheduler backend of plain Lua (sched.lua picks it; OpenResty's backend hands it the
-- calls made where cosockets cannot run). Tasks are coroutines that sched.step/run resume;
-- their HTTP goes through ONE curl multi pool (`core.http_pool`), so many calls of one Lua
-- state run at once. Outside a task every wait blocks (`pool:request`, `core.sleep`).
-- `new(shared)` makes one backend: its state (tasks, pool) lives in the closure, per Lua state
-- and per load of sched.lua.
local _M = {}

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_running, co_status = coroutine.running, coroutine.status
local type, error, pairs, pcall, setmetatable = type, error, pairs, pcall, setmetatable
local math_min, math_max = math.min, math.max

function _M.new(shared)
  local B = {}
  local Task, pack, unpack, record, outcome = shared.Task, shared.pack, shared.unpack, shared.record,
    shared.outcome
  local take_cancel, cancelled_error, now = shared.take_cancel, shared.cancelled_error, shared.now
  local get_core, get_errors, transport_error = shared.get_core, shared.get_errors, shared.transport_error

  local MARK = {}          -- what our waits yield, to tell them from a task's own yields
  local live = {}          -- set of the tasks not finished
  local live_n = 0
  local ready = {}         -- tasks to resume on the next pass (each with t._resume)
  local sleepers = {}      -- task -> true while sleeping (t._wake_at)
  local http_waiters = {}  -- transfer id -> task
  local http_pending = 0
  local by_co = setmetatable({}, { __mode = "k" }) -- coroutine -> task
  local current = nil      -- the task being resumed right now
  local pool = nil         -- the shared curl multi pool
  local pool_opts = {}
  local stepping = false

  --- Sets the pool's options before its first use: true, or nil and why not.
  function B.configure(opts)
    if pool then return nil, "the HTTP pool is already in use" end
    pool_opts = opts
    return true
  end

  --- The pool (made on first use), or nil and the C core's message.
  function B.pool()
    if not pool then
      local p, err = get_core().http_pool(pool_opts)
      if not p then return nil, get_errors().from_core(err).message end
      pool = p
    end
    return pool
  end
  local function the_pool()
    local p, err = B.pool()
    if not p then error("sched: cannot create the HTTP pool: " .. err, 3) end
    return p
  end

  function B.in_ngx() return false end

  --- The task whose coroutine is running, or nil (main chunk, foreign coroutine).
  function B.current()
    local co = co_running()
    if not co then return nil end
    local t = by_co[co]
    if t and t == current then return t end
    return nil
  end
  local running_task = B.current

  function B.can_yield() return running_task() ~= nil end

  local function make_ready(t, ...)
    t._resume = pack(...)
    ready[#ready + 1] = t
  end

  function B.sleep(seconds)
    local t = running_task()
    if t then
      local cerr = take_cancel(t)
      if cerr then return nil, cerr end
      t._wake_at = now() + math_max(seconds, 0)
      sleepers[t] = true
      return co_yield(MARK)
    end
    if seconds > 0 then get_core().sleep(seconds) end
    return true
  end

  local function finish_http(res, e)
    if res == nil then
      if get_errors().is(e) then return nil, e end
      return nil, transport_error(e)
    end
    if res.error then return nil, transport_error(res.error) end
    return res
  end

  function B.http(req)
    local t = running_task()
    if t then
      local cerr = take_cancel(t)
      if cerr then return nil, cerr end
      local id, e = the_pool():add(req)
      if not id then return nil, transport_error(e) end
      t._http_id = id
      http_waiters[id] = t
      http_pending = http_pending + 1
      return finish_http(co_yield(MARK))
    end
    return finish_http(the_pool():request(req))
  end

  local function settle(t, status)
    t.status = status
    if live[t] then
      live[t] = nil
      live_n = live_n - 1
    end
    sleepers[t] = nil
    if t.co then by_co[t.co] = nil end
    local joiners = t._joiners
    t._joiners = nil
    if joiners then
      for i = 1, #joiners do
        local j = joiners[i]
        if j.status == "running" and j._joining == t then
          j._joining = nil
          make_ready(j, true)
        end
      end
    end
  end

  -- Resumes one task with its pending values; returns the task when it failed.
  local function resume(t)
    local args = t._resume or { n = 0 }
    t._resume = nil
    local prev = current
    current = t
    local r = pack(co_resume(t.co, unpack(args, 1, args.n)))
    current = prev
    if co_status(t.co) == "dead" then
      local status = record(t, r, t.co)
      settle(t, status)
      if status == "failed" then return t end
    elseif r[2] ~= MARK then
      -- the task yielded on its own (coroutine.yield at its top level): run it again next pass
      make_ready(t)
    end
    return nil
  end

  function B.spawn(fn, args)
    local t = setmetatable({ status = "running", _b = B }, Task)
    t.co = co_create(function() return fn(unpack(args, 1, args.n)) end)
    by_co[t.co] = t
    live[t] = true
    live_n = live_n + 1
    make_ready(t)
    return t
  end

  function B.cancel(self)
    if self == current then
      self.cancel_requested = true
      return true
    end
    if co_status(self.co) == "suspended" and not self._started then
      -- never ran: it never will
      for i = #ready, 1, -1 do if ready[i] == self then table.remove(ready, i) end end
      self.error = cancelled_error()
      settle(self, "cancelled")
      return true
    end
    if self._http_id then
      local id = self._http_id
      self._http_id = nil
      http_waiters[id] = nil
      http_pending = http_pending - 1
      if pool then pool:cancel(id) end
      self.was_cancelled = true
      make_ready(self, nil, cancelled_error())
    elseif sleepers[self] then
      sleepers[self] = nil
      self.was_cancelled = true
      make_ready(self, nil, cancelled_error())
    elseif self._joining then
      local target = self._joining
      self._joining = nil
      local js = target._joiners or {}
      for i = #js, 1, -1 do if js[i] == self then table.remove(js, i) end end
      self.was_cancelled = true
      make_ready(self, nil, cancelled_error())
    else
      -- already queued to resume (its wait just finished): the next wait is interrupted
      self.cancel_requested = true
    end
    return true
  end

  function B.join(self)
    local me = running_task()
    if me == self then error("task:join: a task cannot join itself", 3) end
    if self.status == "running" then
      if me then
        local cerr = take_cancel(me)
        if cerr then return false, cerr end
        self._joiners = self._joiners or {}
        self._joiners[#self._joiners + 1] = me
        me._joining = self
        local ok, e = co_yield(MARK)
        if ok == nil and e then return false, e end
      else
        while self.status == "running" do
          local ok, why = B.step(0.05)
          if not ok then error("sched.step: " .. why, 3) end
        end
      end
    end
    return outcome(self)
  end

  local function poll_http(wait)
    if not pool or http_pending <= 0 then return end
    pool:perform(wait or 0)
    while true do
      local id, res = pool:next_done()
      if id == nil then break end
      local t = http_waiters[id]
      if t then
        http_waiters[id] = nil
        http_pending = http_pending - 1
        t._http_id = nil
        make_ready(t, res)
      end
    end
  end

  local function wake_sleepers(t_now)
    local earliest
    for t in pairs(sleepers) do
      if t._wake_at <= t_now then
        sleepers[t] = nil
        make_ready(t, true)
      elseif not earliest or t._wake_at < earliest then
        earliest = t._wake_at
      end
    end
    return earliest
  end

  local function run_ready(failed)
    local batch = ready
    if #batch == 0 then return false end
    ready = {}
    for i = 1, #batch do
      local t = batch[i]
      if t.status == "running" then
        t._started = true
        local f = resume(t)
        if f then failed[#failed + 1] = f end
      end
    end
    return true
  end

  --- true, live count, failed list (or nil); false and why for a call it refuses.
  function B.step(max_seconds)
    if running_task() then return false, "called from inside a task" end
    if stepping then return false, "already running" end
    stepping = true
    local failed = {}
    local ok, e = pcall(function()
      local deadline = now() + max_seconds
      while true do
        poll_http(0)
        local t_now = now()
        local next_wake = wake_sleepers(t_now)
        local ran = run_ready(failed)
        if live_n == 0 then return end
        t_now = now()
        local remaining = deadline - t_now
        if remaining <= 0 then
          poll_http(0) -- start what the tasks just queued
          return
        end
        if not ran and #ready == 0 then
          local wait = remaining
          if next_wake then wait = math_min(wait, math_max(next_wake - t_now, 0)) end
          if http_pending > 0 then
            poll_http(wait)
          elseif wait > 0 then
            get_core().sleep(wait)
          end
        end
      end
    end)
    stepping = false
    if not ok then error(e, 0) end
    return true, live_n, (#failed > 0) and failed or nil
  end

  --- true | nil, first error, failed list; false and why for a call it refuses.
  function B.run()
    if running_task() then return false, "called from inside a task" end
    local all_failed = {}
    while live_n > 0 do
      local ok, _, failed = B.step(1)
      if not ok then return false, "already running" end
      if failed then
        for i = 1, #failed do all_failed[#all_failed + 1] = failed[i] end
      end
    end
    if #all_failed > 0 then return nil, all_failed[1].error, all_failed end
    return true
  end

  function B.count() return live_n end

  return B
end

return _M
