--- The scheduler backend of plain Lua (sched.lua picks it; OpenResty's backend hands it the
-- calls made where cosockets cannot run). Tasks are coroutines that sched.step/run resume;
-- their HTTP goes through ONE curl multi pool (`core.http_pool`), so many calls of one Lua
-- state run at once. Outside a task every wait blocks (`pool:request`, `core.sleep`).
-- `new(shared)` makes one backend: its state (tasks, pool) lives in the closure, per Lua state
-- and per load of sched.lua.
local _M = {}

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_running, co_status = coroutine.running, coroutine.status
local error, pcall, setmetatable = error, pcall, setmetatable
local math_min, math_max, floor = math.min, math.max, math.floor

function _M.new(shared)
  local B = {}
  local Task, pack, unpack, record, outcome = shared.Task, shared.pack, shared.unpack, shared.record,
    shared.outcome
  local take_cancel, cancelled_error, now = shared.take_cancel, shared.cancelled_error, shared.now
  local get_core, get_errors, transport_error = shared.get_core, shared.get_errors, shared.transport_error

  -- What a call costs here is paid per wait and per pass of step, so neither makes a table:
  -- a task's resume values are two fields of the task (t._nv values: t._v1, t._v2), the ready
  -- list is two arrays used in turn, the sleepers a heap, and a task's coroutine is one shared
  -- function (it stores its own results when it returns).
  local MARK = {}          -- what our waits yield, to tell them from a task's own yields
  local DONE = {}          -- what a task's function yields when it has returned
  local live = {}          -- set of the tasks not finished
  local live_n = 0
  local ready, ready_n = {}, 0 -- tasks to resume on the next pass
  local spare = {}         -- the other ready array (the one being run)
  -- Sleeping tasks: a binary min-heap of (wake time, task) in two arrays. A task sleeps while
  -- t._wake_at is set; an entry whose time is no longer its task's is stale (the task was
  -- cancelled out of its sleep) and is dropped when it comes up.
  local heap_k, heap_t, heap_n = {}, {}, 0
  local sleep_n = 0
  local http_waiters = {}  -- transfer id -> task
  -- what a woken task gets when its result is gone (taken by another user of the shared pool)
  local LOST = { code = "NetworkError", reason = "other", message = "transfer lost" }
  local http_pending = 0
  local current = nil      -- the task being resumed right now
  local pool = nil         -- the shared curl multi pool
  local pool_opts = {}
  local stepping = false
  local step_failed = nil  -- the tasks that failed during this step (made on the first)
  local monotime           -- core.monotime, once a step has run

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
    local t = current
    if t and t.co == co_running() then return t end
    return nil
  end
  local running_task = B.current

  function B.can_yield() return running_task() ~= nil end

  -- Queues t to be resumed with nv values (0, 1 or 2: v1, v2).
  local function make_ready(t, nv, v1, v2)
    t._nv, t._v1, t._v2 = nv, v1, v2
    ready_n = ready_n + 1
    ready[ready_n] = t
  end

  local function heap_push(k, t)
    local i = heap_n + 1
    heap_n = i
    while i > 1 do
      local parent = floor(i / 2)
      if heap_k[parent] <= k then break end
      heap_k[i], heap_t[i] = heap_k[parent], heap_t[parent]
      i = parent
    end
    heap_k[i], heap_t[i] = k, t
  end

  local function heap_pop()
    local n = heap_n
    local k, t = heap_k[n], heap_t[n]
    heap_k[n], heap_t[n] = nil, nil
    n = n - 1
    heap_n = n
    if n == 0 then return end
    local i = 1
    while true do
      local c = 2 * i
      if c > n then break end
      if c < n and heap_k[c + 1] < heap_k[c] then c = c + 1 end
      if k <= heap_k[c] then break end
      heap_k[i], heap_t[i] = heap_k[c], heap_t[c]
      i = c
    end
    heap_k[i], heap_t[i] = k, t
  end

  -- Ends a task's sleep (woken, cancelled or settled): its heap entry becomes stale.
  local function unsleep(t)
    t._wake_at = nil
    sleep_n = sleep_n - 1
    if sleep_n == 0 then -- only stale entries are left: drop them (and their tasks) now
      for i = 1, heap_n do heap_k[i], heap_t[i] = nil, nil end
      heap_n = 0
    end
  end

  function B.sleep(seconds)
    local t = running_task()
    if t then
      if t.cancel_requested then return nil, take_cancel(t) end
      local at = (monotime or now)() + math_max(seconds, 0)
      t._wake_at = at
      sleep_n = sleep_n + 1
      heap_push(at, t)
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

  -- A task waits for its transfer and then takes the result itself (poll_http only wakes it):
  -- read with req.reader (pool:take), a 2xx body is decoded where the transfer holds it, and
  -- the answer is the output, nil and the status (no result table).
  function B.http(req)
    local t = current -- running_task(), inlined: this is every call's path
    if t and t.co == co_running() then
      if t.cancel_requested then return nil, take_cancel(t) end
      local p = pool or the_pool()
      local id, e = p:add(req)
      if not id then return nil, transport_error(e) end
      t._http_id = id
      http_waiters[id] = t
      http_pending = http_pending + 1
      local finished, e2 = co_yield(MARK)
      if not finished then return nil, e2 end -- cancelled (the pool dropped the transfer)
      local res, decoded = p:take(id, req.reader)
      if decoded then return res, nil, decoded end
      if res and not res.error then return res end
      if not res then return nil, transport_error(LOST) end
      return finish_http(res)
    end
    local res, decoded = (pool or the_pool()):request(req, req.reader)
    if decoded then return res, nil, decoded end
    if not res.error then return res end
    return finish_http(res)
  end

  local function settle(t, status)
    t.status = status
    if live[t] then
      live[t] = nil
      live_n = live_n - 1
    end
    if t._wake_at then unsleep(t) end
    local joiners = t._joiners
    t._joiners = nil
    if joiners then
      for i = 1, #joiners do
        local j = joiners[i]
        if j.status == "running" and j._joining == t then
          j._joining = nil
          make_ready(j, 1, true)
        end
      end
    end
  end

  -- A task's coroutine: resumed first with the task, it runs the task's function and hands
  -- back its results as the table record() takes.
  local function task_body(t)
    t._started = true
    local fn, args = t._fn, t._args
    t._fn, t._args = nil, nil
    return DONE, pack(fn(unpack(args, 1, args.n)))
  end

  -- Resumes one task with its pending values; returns the task when it failed.
  local function resume(t)
    local co, nv, v1, v2 = t.co, t._nv, t._v1, t._v2
    t._v1, t._v2 = nil, nil
    local prev = current
    current = t
    local ok, a, b
    if nv == 1 then ok, a, b = co_resume(co, v1)
    elseif nv == 2 then ok, a, b = co_resume(co, v1, v2)
    else ok, a, b = co_resume(co) end
    current = prev
    if ok and a == MARK then return nil end
    if ok and a ~= DONE then
      -- the task yielded on its own (coroutine.yield at its top level): run it again next pass
      make_ready(t, 0)
      return nil
    end
    local status
    if ok then status = record(t, true, b, co) else status = record(t, false, a, co) end
    settle(t, status)
    if status == "failed" then return t end
    return nil
  end

  function B.spawn(fn, args)
    local t = setmetatable({ status = "running", _b = B, _fn = fn, _args = args }, Task)
    t.co = co_create(task_body)
    live[t] = true
    live_n = live_n + 1
    make_ready(t, 1, t)
    return t
  end

  function B.cancel(self)
    if self == current then
      self.cancel_requested = true
      return true
    end
    if co_status(self.co) == "suspended" and not self._started then
      -- never ran: it never will
      for i = ready_n, 1, -1 do
        if ready[i] == self then
          table.remove(ready, i)
          ready_n = ready_n - 1
        end
      end
      self._fn, self._args, self._v1 = nil, nil, nil
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
      make_ready(self, 2, nil, cancelled_error())
    elseif self._wake_at then
      unsleep(self)
      self.was_cancelled = true
      make_ready(self, 2, nil, cancelled_error())
    elseif self._joining then
      local target = self._joining
      self._joining = nil
      local js = target._joiners or {}
      for i = #js, 1, -1 do if js[i] == self then table.remove(js, i) end end
      self.was_cancelled = true
      make_ready(self, 2, nil, cancelled_error())
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
    if http_pending <= 0 or not pool then return end
    pool:perform(wait)
    while true do
      local id = pool:next_finished()
      if id == nil then break end
      local t = http_waiters[id]
      if t then
        http_waiters[id] = nil
        http_pending = http_pending - 1
        t._http_id = nil
        t._nv, t._v1 = 1, true -- make_ready(t, 1, true), inlined (t._v2 is nil: resume cleared it)
        ready_n = ready_n + 1
        ready[ready_n] = t
      end
    end
  end

  -- Wakes the sleepers due at t_now; returns the earliest wake time left, or nil.
  local function wake_sleepers(t_now)
    while heap_n > 0 do
      local k, t = heap_k[1], heap_t[1]
      if t._wake_at ~= k then
        heap_pop() -- stale
      elseif k <= t_now then
        heap_pop()
        unsleep(t)
        make_ready(t, 1, true)
      else
        return k
      end
    end
    return nil
  end

  -- Resumes the tasks ready now, in order, until `deadline` passes (one at least): the rest go
  -- first on the next pass, so a step overruns its budget by one resume at most, however many
  -- tasks a frame makes ready at once.
  local function run_ready(deadline)
    local n = ready_n
    if n == 0 then return false end
    local batch = ready
    ready, ready_n, spare = spare, 0, batch
    local clock = monotime
    for i = 1, n do
      local t = batch[i]
      batch[i] = nil
      if t.status == "running" then
        local f = resume(t)
        if f then
          step_failed = step_failed or {}
          step_failed[#step_failed + 1] = f
        end
        if i < n and clock() >= deadline then
          -- out of time: the tasks not resumed keep their place, before those made ready since
          local left, made = n - i, ready_n
          for j = made, 1, -1 do ready[j + left] = ready[j] end
          for j = 1, left do ready[j] = batch[i + j]; batch[i + j] = nil end
          ready_n = made + left
          break
        end
      end
    end
    return true
  end

  -- The least time a step gives the tasks ready in it, whatever its budget: step(0) still runs
  -- the few tasks ready now, and a burst of them waits for the next step.
  local MIN_SLICE = 0.002

  local function step_loop(max_seconds)
    local clock = monotime
    local t0 = clock()
    local deadline = t0 + max_seconds
    local run_until = t0 + math_max(max_seconds, MIN_SLICE)
    while true do
      poll_http(0)
      local next_wake
      if sleep_n > 0 then next_wake = wake_sleepers(clock()) end
      local ran = run_ready(run_until)
      if live_n == 0 then return end
      local t_now = clock()
      local remaining = deadline - t_now
      if remaining <= 0 then
        poll_http(0) -- start what the tasks just queued
        return
      end
      if not ran and ready_n == 0 then
        local wait = remaining
        if next_wake then wait = math_min(wait, math_max(next_wake - t_now, 0)) end
        if http_pending > 0 then
          poll_http(wait)
        elseif wait > 0 then
          get_core().sleep(wait)
        end
      end
    end
  end

  --- true, live count, failed list (or nil); false and why for a call it refuses.
  function B.step(max_seconds)
    if running_task() then return false, "called from inside a task" end
    if stepping then return false, "already running" end
    stepping = true
    monotime = monotime or get_core().monotime
    step_failed = nil
    local ok, e = pcall(step_loop, max_seconds)
    stepping = false
    local failed = step_failed
    step_failed = nil
    if not ok then error(e, 0) end
    return true, live_n, failed
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

  -- Nothing here can end a task half-way (a cancel is delivered at its waits): no need to run
  -- anything elsewhere (see sched.detached).
  function B.detached() return false end

  return B
end

return _M
