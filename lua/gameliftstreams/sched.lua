--- The one scheduler seam: every wait in the SDK (HTTP, retry back-off, waiter
-- delays) goes through `sched.sleep` and `sched.http`.
--
-- Three modes, chosen per call:
--
-- * inside OpenResty (a phase that allows cosockets): `ngx.sleep` and cosockets;
-- * inside a task started with `sched.spawn` and driven by `sched.run`/`sched.step`:
--   the task yields to the scheduler; HTTP goes through ONE shared curl multi
--   pool (`core.http_pool`), so many calls of one Lua state run at once;
-- * otherwise: a plain blocking wait (`pool:request`, `core.sleep`).
--
-- Tasks: `sched.spawn(fn, ...)` returns a task with `status` ("running", "done",
-- "failed", "cancelled"), `result` (first return value), `results` (all, with
-- `n`), `error` and `traceback` (when it failed), `cancel()` and `join()`.
--
-- Cancellation (as asyncio does it): `task:cancel()` interrupts the wait the
-- task is blocked in (a sleep returns `nil, err`, an HTTP call is aborted and
-- returns `nil, err`, err.code == "Cancelled"); the interruption is delivered
-- once, so clean-up code in the task (e.g. terminating a stream session) can
-- still make calls. A task cancelled before it ever ran never runs. A task that
-- had a cancellation delivered ends with status "cancelled"; one that returned before the
-- cancellation reached a wait is "done", with its results (nothing was cancelled).
--
-- Failures are never dropped: a task that raises gets status "failed" and
-- `task.error`; `sched.step` returns the tasks that failed during that step as
-- its second value and `sched.run` returns `nil, first_error, failed_tasks`.
--
-- Inside OpenResty, sleeps and HTTP use ngx.sleep and cosockets (also inside tasks),
-- and a task is an ngx light thread (ngx.thread.spawn). Tasks belong to the request
-- (or timer) that spawned them: their bookkeeping lives in `ngx.ctx`, so `run`, `step`
-- and `count` of one request never see another request's tasks on the same worker.
-- Cancellation is cooperative there too: a sleeping task is woken (ngx.semaphore) with
-- a Cancelled error; a task in an HTTP call gets its response, and the Cancelled error
-- at its next wait. Its clean-up code runs, as outside OpenResty.
--
-- All other state lives in this module's upvalues, i.e. per Lua state.
local _M = { _VERSION = "0.1" }

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_running, co_status = coroutine.running, coroutine.status
local select, type, error, pairs, next, tostring = select, type, error, pairs, next, tostring
local unpack = table.unpack or unpack -- luacheck: ignore
local math_min, math_max = math.min, math.max

local core, errors, ngx_http -- required lazily: no work at require time
local function get_core()
  if not core then core = require("gameliftstreams.core") end
  return core
end
local function get_errors()
  if not errors then errors = require("gameliftstreams.errors") end
  return errors
end

local function pack(...) return { n = select("#", ...), ... } end

-- Scheduler state (per Lua state).
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

--- Sets the options of the shared HTTP pool (before its first use), as `core.http_pool(opts)`.
function _M.configure(opts)
  opts = opts or {}
  if opts.pool then
    if pool then error("sched.configure: the HTTP pool is already in use", 2) end
    pool_opts = opts.pool
  end
end

--- The shared curl multi pool (created on first use).
function _M.pool()
  if not pool then
    local p, err = get_core().http_pool(pool_opts)
    if not p then
      error("sched: cannot create the HTTP pool: " .. get_errors().from_core(err).message, 2)
    end
    pool = p
  end
  return pool
end

--- Monotonic seconds (float).
function _M.now()
  return get_core().monotime()
end
local now = _M.now

local NGX_PHASES = { rewrite = true, access = true, content = true, timer = true,
                     ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true }

-- True inside OpenResty in a phase where ngx.sleep and cosockets work.
local function in_ngx()
  local ngx = _G.ngx
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return false end
  return NGX_PHASES[ngx.get_phase()] == true
end
_M.in_ngx = in_ngx

-- OpenResty: light-thread coroutine -> its task (weak: a killed request's threads go).
local ngx_tasks = setmetatable({}, { __mode = "k" })

-- The task whose coroutine is running, or nil (main chunk, foreign coroutine).
local function running_task()
  local co = co_running()
  if not co then return nil end
  local t = by_co[co]
  if t and t == current then return t end
  t = ngx_tasks[co]
  if t and t.status == "running" then return t end
  return nil
end

--- True when called from inside a task run by this scheduler (or an OpenResty light
-- thread it spawned).
function _M.in_task()
  return running_task() ~= nil
end

--- True when a wait here lets other work run: inside a task, or anywhere in OpenResty
-- where ngx.sleep works (other requests go on meanwhile).
function _M.can_yield()
  return in_ngx() or running_task() ~= nil
end

--- The running task, or nil.
function _M.current()
  return running_task()
end

local function cancelled_error(what)
  return get_errors().new{ code = "Cancelled", message = (what or "the task") .. " was cancelled",
                           retryable = false }
end

--- Maps a transport failure of the C core ({ code=, reason=, message= }) to an error object.
function _M.transport_error(e)
  -- retryable as the SDK's one classifier says (retry.lua): a connection failure or a timeout
  local err = get_errors().from_core(e)
  err.retryable = require("gameliftstreams.retry").classify(err) ~= nil
  return err
end
local transport_error = _M.transport_error

-- Delivers a pending cancellation (once): returns the error to hand back, or nil.
local function take_cancel(t)
  if t.cancel_requested then
    t.cancel_requested = false
    t.was_cancelled = true
    return cancelled_error()
  end
  return nil
end

local function make_ready(t, ...)
  t._resume = pack(...)
  ready[#ready + 1] = t
end

-- OpenResty: ngx.semaphore (lua-resty-core) wakes a sleeping light thread on cancel and
-- a joiner when its task ends; without it, waits are polled in short slices.
local semaphore
local function new_sema()
  if semaphore == nil then
    local ok, m = pcall(require, "ngx.semaphore")
    semaphore = ok and type(m) == "table" and m or false
  end
  return semaphore and semaphore.new(0) or nil
end

local NGX_SLICE = 0.05

-- Sleeps a light-thread task; a cancel() wakes it. Returns true or nil, Cancelled.
local function ngx_task_sleep(t, seconds)
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
        _G.ngx.sleep(math_min(left, NGX_SLICE))
      end
      if t.cancel_requested then break end
    end
  end
  cerr = take_cancel(t)
  if cerr then return nil, cerr end
  return true
end

--- Sleeps `seconds`. Returns true, or nil and a `Cancelled` error when the task was cancelled.
function _M.sleep(seconds)
  seconds = tonumber(seconds) or 0
  if in_ngx() then
    local t = running_task()
    if t and t.ngx then return ngx_task_sleep(t, seconds) end
    _G.ngx.sleep(math_max(seconds, 0))
    return true
  end
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

--- Lets the other tasks run (a no-op outside a task).
function _M.yield()
  if running_task() then return _M.sleep(0) end
  return true
end

local function finish_http(res, e)
  if res == nil then
    if errors and errors.is and errors.is(e) then return nil, e end
    return nil, transport_error(e)
  end
  if res.error then return nil, transport_error(res.error) end
  return res
end

--- Sends one HTTP request (the shape of `pool:add`). Returns `{ status=, headers=, body= }`,
-- or nil and an error object (NetworkError, Timeout, TLSError, ResponseTooLarge, Cancelled).
function _M.http(req)
  if in_ngx() then
    if not ngx_http then ngx_http = require("gameliftstreams.ngx_http") end
    local t = running_task()
    if t and t.ngx then
      -- a cosocket call cannot be interrupted from another thread: a cancellation that
      -- arrives during it is delivered at the task's next wait, with this response kept
      local cerr = take_cancel(t)
      if cerr then return nil, cerr end
    end
    return ngx_http.request(req)
  end
  local t = running_task()
  if t then
    local cerr = take_cancel(t)
    if cerr then return nil, cerr end
    local p = _M.pool()
    local id, e = p:add(req)
    if not id then return nil, transport_error(e) end
    t._http_id = id
    http_waiters[id] = t
    http_pending = http_pending + 1
    return finish_http(co_yield(MARK))
  end
  return finish_http(_M.pool():request(req))
end

-- Task objects ---------------------------------------------------------------

local Task = {}
Task.__index = Task

function Task:__tostring()
  return "gameliftstreams task (" .. self.status .. ")"
end

local function add_live(t)
  live[t] = true
  live_n = live_n + 1
end

local function remove_live(t)
  if live[t] then
    live[t] = nil
    live_n = live_n - 1
  end
end

local function settle(t, status)
  t.status = status
  if t.ngx then
    local st = t._state
    if st.live[t] then
      st.live[t] = nil
      st.n = st.n - 1
    end
    if t._ngx_joiners then
      for sema in pairs(t._ngx_joiners) do sema:post(1) end
    end
    return
  end
  remove_live(t)
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

-- Resumes one task with its pending values and records how it ended.
local function resume(t)
  local args = t._resume or { n = 0 }
  t._resume = nil
  local prev = current
  current = t
  local r = pack(co_resume(t.co, unpack(args, 1, args.n)))
  current = prev
  if co_status(t.co) == "dead" then
    if r[1] then
      t.results = pack(unpack(r, 2, r.n))
      t.result = r[2]
      -- a cancellation never delivered (no wait came after it) cancelled nothing: the task is
      -- done, and its results (a session start_session_and_wait returned ACTIVE) are kept
      settle(t, t.was_cancelled and "cancelled" or "done")
    else
      local e = r[2]
      t.error = e
      if type(e) == "string" then t.traceback = debug.traceback(t.co, e) end
      if type(e) == "table" and e.code == "Cancelled" and (t.was_cancelled or t.cancel_requested) then
        settle(t, "cancelled")
      else
        settle(t, "failed")
        return t
      end
    end
  elseif r[2] ~= MARK then
    -- the task yielded on its own (coroutine.yield at its top level): run it again next pass
    make_ready(t)
  end
  return nil
end

--- Starts `fn(...)` as a task. It runs on the next `sched.step`/`sched.run`.

-- OpenResty: the tasks of the current request (or timer), kept in its ngx.ctx.
local function ngx_state()
  local ctx = _G.ngx.ctx
  local st = ctx.gameliftstreams_tasks
  if not st then
    st = { live = {}, n = 0, failed = {} }
    ctx.gameliftstreams_tasks = st
  end
  return st
end

local function take_ngx_failed(st)
  if #st.failed == 0 then return nil end
  local f = st.failed
  st.failed = {}
  return f
end

-- Inside OpenResty a task is an ngx light thread: nginx is the scheduler.
local function ngx_spawn(fn, args)
  local st = ngx_state()
  local t = setmetatable({ status = "running", ngx = true, _state = st }, Task)
  st.live[t] = true
  st.n = st.n + 1
  local thread, serr = _G.ngx.thread.spawn(function()
    local co = co_running()
    ngx_tasks[co] = t
    local r = pack(pcall(fn, unpack(args, 1, args.n)))
    ngx_tasks[co] = nil
    if t.status ~= "running" then return end
    local cancelled = t.was_cancelled or t.cancel_requested
    if r[1] then
      t.results = pack(unpack(r, 2, r.n))
      t.result = r[2]
      settle(t, t.was_cancelled and "cancelled" or "done") -- (as in resume, above)
    else
      local e = r[2]
      t.error = e
      if type(e) == "string" then t.traceback = debug.traceback(e) end
      if type(e) == "table" and e.code == "Cancelled" and cancelled then
        settle(t, "cancelled")
      else
        settle(t, "failed")
        st.failed[#st.failed + 1] = t
      end
    end
  end)
  if not thread then
    t.error = "sched.spawn: " .. tostring(serr)
    settle(t, "failed")
    st.failed[#st.failed + 1] = t
  end
  t.thread = thread
  return t
end

function _M.spawn(fn, ...)
  if type(fn) ~= "function" then error("sched.spawn: fn must be a function", 2) end
  local args = pack(...)
  if in_ngx() then return ngx_spawn(fn, args) end
  local t = setmetatable({ status = "running" }, Task)
  t.co = co_create(function() return fn(unpack(args, 1, args.n)) end)
  by_co[t.co] = t
  add_live(t)
  make_ready(t)
  return t
end

--- Requests cancellation. Returns true if the task was still running.
function Task:cancel()
  if self.status ~= "running" then return false end
  if self.ngx then
    -- delivered at the thread's current or next wait; its clean-up code still runs
    self.cancel_requested = true
    if self._sleeping and self._sema then self._sema:post(1) end
    return true
  end
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

local function outcome(t)
  if t.status == "done" then return true, unpack(t.results, 1, t.results.n) end
  if t.error == nil and t.results and t.results[1] == nil then
    -- a cancelled task that returned nil, err: its own error (start_session_and_wait's
    -- carries session_arn and client_token), not a bare Cancelled
    local e = t.results[2]
    if type(e) == "table" and get_errors().is(e) then return false, e end
  end
  return false, t.error or cancelled_error()
end

--- Waits for the task to finish. Returns true and its results, or false and its error
-- (for a cancelled task: the error object it returned, if it returned `nil, err`, else a
-- `Cancelled` error). Inside a task it yields; outside it drives
-- the scheduler until the task is finished.
function Task:join()
  if self.ngx then
    -- ngx.thread.wait only serves the spawning coroutine; any coroutine may join here
    local me = running_task()
    if me == self then error("task:join: a task cannot join itself", 2) end
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
        _G.ngx.sleep(NGX_SLICE)
      end
    end
    return outcome(self)
  end
  local me = running_task()
  if me == self then error("task:join: a task cannot join itself", 2) end
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
      while self.status == "running" do _M.step(0.05) end
    end
  end
  return outcome(self)
end

-- The scheduler loop ---------------------------------------------------------

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

--- Advances every task without blocking longer than `max_seconds` (default 0: only what
-- is ready now). Game loops call it once per frame. Returns the number of live tasks and
-- the list of tasks that failed during this step (or nil).
function _M.step(max_seconds)
  if in_ngx() then
    local st = ngx_state()
    local wait = math_max(tonumber(max_seconds) or 0, 0)
    if st.n > 0 then _G.ngx.sleep(wait) end
    return st.n, take_ngx_failed(st)
  end
  if running_task() then error("sched.step: called from inside a task", 2) end
  if stepping then error("sched.step: already running", 2) end
  stepping = true
  local failed = {}
  local ok, e = pcall(function()
    local deadline = now() + math_max(tonumber(max_seconds) or 0, 0)
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
  return live_n, (#failed > 0) and failed or nil
end

--- Runs until every task has finished. Returns true, or nil, the first failed task's
-- error and the list of tasks that failed.
function _M.run()
  if in_ngx() then
    if running_task() then error("sched.run: called from inside a task", 2) end
    local st = ngx_state()
    while st.n > 0 do next(st.live):join() end
    local failed = take_ngx_failed(st)
    if failed then return nil, failed[1].error, failed end
    return true
  end
  if running_task() then error("sched.run: called from inside a task", 2) end
  local all_failed = {}
  while live_n > 0 do
    local _, failed = _M.step(1)
    if failed then
      for i = 1, #failed do all_failed[#all_failed + 1] = failed[i] end
    end
  end
  if #all_failed > 0 then return nil, all_failed[1].error, all_failed end
  return true
end

--- Number of tasks not finished.
function _M.count()
  if in_ngx() then return ngx_state().n end
  return live_n
end

return _M
