--- The scheduler backend of OpenResty (sched.lua picks it when `ngx` is there). In a phase
-- where cosockets work (rewrite, access, content, timer, ssl_*): a task is an ngx light thread
-- (nginx is the scheduler), sleeps are ngx.sleep, HTTP goes over cosockets (ngx_http.lua).
-- In any other phase (init, init_worker, log, header_filter, ...) nothing here can wait, so
-- the call goes to the curl backend it was given, as in plain Lua.
--
-- Tasks belong to the request (or timer) that spawned them: their bookkeeping lives in
-- `ngx.ctx.gameliftstreams_tasks` (`{ live, n, failed }`), so run, step and count of one
-- request never see another request's tasks on the same worker. Cancellation is cooperative:
-- a sleeping or joining task is woken through its ngx.semaphore with a Cancelled error; a task
-- in an HTTP call gets its response, and the Cancelled error at its next wait.
local _M = {}

local co_running = coroutine.running
local type, pairs, next, pcall, tostring, setmetatable = type, pairs, next, pcall, tostring, setmetatable
local math_min, math_max = math.min, math.max

local PHASES = { rewrite = true, access = true, content = true, timer = true,
                 ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true }
local SLICE = 0.05 -- polling slice when there is no ngx.semaphore

function _M.new(shared, curl)
  local B = {}
  local Task, pack, unpack, record, outcome = shared.Task, shared.pack, shared.unpack, shared.record,
    shared.outcome
  local take_cancel, now = shared.take_cancel, shared.now
  local ngx_http

  local function in_phase()
    local ngx = _G.ngx
    if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return false end
    return PHASES[ngx.get_phase()] == true
  end
  B.in_ngx = in_phase

  -- light-thread coroutine -> its task (weak: a killed request's threads go)
  local tasks = setmetatable({}, { __mode = "k" })

  function B.current()
    local t = tasks[co_running()]
    if t and t.status == "running" then return t end
    return curl.current()
  end
  local running_task = B.current

  function B.can_yield() return in_phase() or running_task() ~= nil end

  -- ngx.semaphore (lua-resty-core) wakes a sleeping light thread on cancel and a joiner when
  -- its task ends; without it, waits are polled in short slices.
  local semaphore
  local function new_sema()
    if semaphore == nil then
      local ok, m = pcall(require, "ngx.semaphore")
      semaphore = ok and type(m) == "table" and m or false
    end
    return semaphore and semaphore.new(0) or nil
  end

  -- Sleeps a light-thread task; a cancel() wakes it. Returns true or nil, Cancelled.
  local function task_sleep(t, seconds)
    local cerr = take_cancel(t)
    if cerr then return nil, cerr end
    if seconds <= 0 then
      _G.ngx.sleep(0)
    else
      t._sema = t._sema or new_sema()
      local deadline = now() + seconds
      while true do
        local left = deadline - now()
        if left <= 0 then break end
        if t._sema then
          t._sleeping = true
          local woken = t._sema:wait(left)
          t._sleeping = false
          if not woken then break end
        else
          _G.ngx.sleep(math_min(left, SLICE))
        end
        if t.cancel_requested then break end
      end
    end
    cerr = take_cancel(t)
    if cerr then return nil, cerr end
    return true
  end

  function B.sleep(seconds)
    if not in_phase() then return curl.sleep(seconds) end
    local t = running_task()
    if t and t._b == B then return task_sleep(t, seconds) end
    _G.ngx.sleep(math_max(seconds, 0))
    return true
  end

  function B.http(req)
    if not in_phase() then return curl.http(req) end
    if not ngx_http then ngx_http = require("gameliftstreams.ngx_http") end
    local t = running_task()
    if t and t._b == B then
      -- a cosocket call cannot be interrupted from another thread: a cancellation that
      -- arrives during it is delivered at the task's next wait, with this response kept
      local cerr = take_cancel(t)
      if cerr then return nil, cerr end
    end
    return ngx_http.request(req)
  end

  -- The tasks of the current request (or timer), kept in its ngx.ctx.
  local function state()
    local ctx = _G.ngx.ctx
    local st = ctx.gameliftstreams_tasks
    if not st then
      st = { live = {}, n = 0, failed = {} }
      ctx.gameliftstreams_tasks = st
    end
    return st
  end

  local function take_failed(st)
    if #st.failed == 0 then return nil end
    local f = st.failed
    st.failed = {}
    return f
  end

  local function settle(t, status)
    t.status = status
    local st = t._state
    if st.live[t] then
      st.live[t] = nil
      st.n = st.n - 1
    end
    if t._ngx_joiners then
      for sema in pairs(t._ngx_joiners) do sema:post(1) end
    end
  end

  -- a task's function, run under pcall: its results as record() takes them
  local function run_fn(fn, args) return pack(fn(unpack(args, 1, args.n))) end

  function B.spawn(fn, args)
    if not in_phase() then return curl.spawn(fn, args) end
    local st = state()
    local t = setmetatable({ status = "running", ngx = true, _state = st, _b = B }, Task)
    st.live[t] = true
    st.n = st.n + 1
    local thread, serr = _G.ngx.thread.spawn(function()
      local co = co_running()
      tasks[co] = t
      local ok, v = pcall(run_fn, fn, args)
      tasks[co] = nil
      if t.status ~= "running" then return end
      local status = record(t, ok, v, nil)
      settle(t, status)
      if status == "failed" then st.failed[#st.failed + 1] = t end
    end)
    if not thread then
      t.error = "sched.spawn: " .. tostring(serr)
      settle(t, "failed")
      st.failed[#st.failed + 1] = t
    end
    t.thread = thread
    return t
  end

  function B.cancel(self)
    -- delivered at the thread's current or next wait; its clean-up code still runs
    self.cancel_requested = true
    if self._sleeping and self._sema then self._sema:post(1) end
    return true
  end

  function B.join(self)
    -- ngx.thread.wait only serves the spawning coroutine; any coroutine may join here
    local me = running_task()
    if me == self then error("task:join: a task cannot join itself", 3) end
    while self.status == "running" do
      if me then
        local cerr = take_cancel(me)
        if cerr then return false, cerr end
      end
      -- wait on our own semaphore: the task's end posts it, and so does a cancel of `me`
      local sema = me and (me._sema or new_sema()) or new_sema()
      if sema then
        if me then me._sema, me._sleeping = sema, true end
        self._ngx_joiners = self._ngx_joiners or {}
        self._ngx_joiners[sema] = true
        sema:wait(60)
        self._ngx_joiners[sema] = nil
        if me then me._sleeping = false end
      else
        _G.ngx.sleep(SLICE)
      end
    end
    return outcome(self)
  end

  -- Runs fn(unpack(args)) in an ngx.timer, where the request calling it cannot end it half-way
  -- (nginx ends a request's light threads with it: ngx.exit, a client that hung up), and waits
  -- for it. true and fn's results; false when it cannot run there (a phase without timers or
  -- cosockets, no timer left, or its timer did not start within START_WAIT: fn then never
  -- runs) and the caller runs it itself; nil, Cancelled when the waiting task was cancelled
  -- (fn goes on to its end). fn must not raise: what it raises is raised here.
  local START_WAIT = 5
  function B.detached(fn, args)
    if not in_phase() then return false end
    local ngx = _G.ngx
    local me = running_task()
    if me and me._b ~= B then me = nil end
    local sema = me and (me._sema or new_sema()) or new_sema()
    if me then me._sema = sema end
    local box = { sema = sema }
    local ok = ngx.timer.at(0, function()
      if box.abandoned then return end
      box.started = true
      box.res = pack(pcall(fn, unpack(args, 1, args.n)))
      if box.sema then box.sema:post(1) end
    end)
    if not ok then return false end
    local t0, delay = now(), 0.002
    while not box.res do
      if me then
        local cerr = take_cancel(me)
        if cerr then
          box.sema = nil
          return nil, cerr
        end
      end
      if not box.started and now() - t0 >= START_WAIT then
        box.abandoned = true
        return false
      end
      if sema then
        -- a task's cancel posts this semaphore too (task_sleep's)
        if me then me._sleeping = true end
        sema:wait(box.started and 60 or START_WAIT)
        if me then me._sleeping = false end
      else
        ngx.sleep(delay)
        delay = math_min(delay * 2, SLICE)
      end
    end
    local res = box.res
    if not res[1] then error(res[2], 0) end
    return true, unpack(res, 2, res.n)
  end

  function B.step(max_seconds)
    if not in_phase() then return curl.step(max_seconds) end
    local st = state()
    if st.n > 0 then _G.ngx.sleep(max_seconds) end
    return true, st.n, take_failed(st)
  end

  function B.run()
    if not in_phase() then return curl.run() end
    if running_task() then return false, "called from inside a task" end
    local st = state()
    while st.n > 0 do next(st.live):join() end
    local failed = take_failed(st)
    if failed then return nil, failed[1].error, failed end
    return true
  end

  function B.count()
    if not in_phase() then return curl.count() end
    return state().n
  end

  return B
end

return _M
