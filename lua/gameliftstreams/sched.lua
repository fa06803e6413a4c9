--- The one scheduler seam: every wait in the SDK (HTTP, retry back-off, waiter
-- delays) goes through `sched.sleep` and `sched.http`.
--
-- This file is the interface and what both backends share (the task object, how a task's
-- outcome is recorded, cancellation delivery). The backends, each in a file of its own:
--   sched/curl.lua  coroutine tasks driven by sched.step/run, HTTP on one curl multi pool,
--                   blocking waits outside a task;
--   sched/ngx.lua   OpenResty: light threads, ngx.sleep and cosockets (ngx_http.lua); in a
--                   phase without cosockets it hands the call to the curl backend.
-- The backend is picked once, on the first call: OpenResty's when `ngx` has get_phase.
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
-- All state lives in the backends this module makes when it loads, i.e. per Lua state.
local _M = { _VERSION = "0.1" }

local select, type, error, tostring = select, type, error, tostring
local unpack = table.unpack or unpack -- luacheck: ignore

local core, errors -- required lazily: no work at require time
local function get_core()
  if not core then core = require("gameliftstreams.core") end
  return core
end
local function get_errors()
  if not errors then errors = require("gameliftstreams.errors") end
  return errors
end

local function pack(...) return { n = select("#", ...), ... } end

--- Monotonic seconds (float).
function _M.now()
  return get_core().monotime()
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

-- Delivers a pending cancellation (once): returns the error to hand back, or nil.
local function take_cancel(t)
  if t.cancel_requested then
    t.cancel_requested = false
    t.was_cancelled = true
    return cancelled_error()
  end
  return nil
end

-- Task objects: one kind for both backends; t._b is the backend that runs the task.
local Task = {}
Task.__index = Task

function Task:__tostring()
  return "gameliftstreams task (" .. self.status .. ")"
end

--- Requests cancellation. Returns true if the task was still running.
function Task:cancel()
  if self.status ~= "running" then return false end
  return self._b.cancel(self)
end

--- Waits for the task to finish. Returns true and its results, or false and its error
-- (for a cancelled task: the error object it returned, if it returned `nil, err`, else a
-- `Cancelled` error). Inside a task it yields; outside it drives
-- the scheduler until the task is finished.
function Task:join()
  return self._b.join(self)
end

-- How a task's function ended: ok and its results (a pack()ed table), or not ok and the error
-- it raised. Sets results/result, or error/traceback (co: the task's coroutine when it is not
-- the running one); returns the status to settle it with: "done", "cancelled" or "failed".
local function record(t, ok, v, co)
  local cancelled = t.was_cancelled or t.cancel_requested
  if ok then
    t.results = v
    t.result = v[1]
    -- a cancellation never delivered (no wait came after it) cancelled nothing: the task is
    -- done, and its results (a session start_session_and_wait returned ACTIVE) are kept
    return t.was_cancelled and "cancelled" or "done"
  end
  t.error = v
  if type(v) == "string" then t.traceback = co and debug.traceback(co, v) or debug.traceback(v) end
  if type(v) == "table" and v.code == "Cancelled" and cancelled then return "cancelled" end
  return "failed"
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

-- What the backends share.
local shared = { Task = Task, pack = pack, unpack = unpack, record = record, outcome = outcome,
                 take_cancel = take_cancel, cancelled_error = cancelled_error, now = _M.now,
                 get_core = get_core, get_errors = get_errors, transport_error = _M.transport_error }

-- The backend, picked on the first call (a spec may load this module, then set up `ngx`).
local curl, backend
local http_first -- sched.http as this module defines it
local function curl_backend()
  if not curl then curl = require("gameliftstreams.sched.curl").new(shared) end
  return curl
end
local function pick()
  if not backend then
    local ngx = _G.ngx
    if type(ngx) == "table" and type(ngx.get_phase) == "function" then
      backend = require("gameliftstreams.sched.ngx").new(shared, curl_backend())
    else
      backend = curl_backend()
    end
    -- from now on sched.http is the backend's own function (unless something replaced it)
    if _M.http == http_first then _M.http = backend.http end
  end
  return backend
end

--- Sets the options of the shared HTTP pool (before its first use), as `core.http_pool(opts)`.
function _M.configure(opts)
  opts = opts or {}
  if opts.pool then
    local ok, err = curl_backend().configure(opts.pool)
    if not ok then error("sched.configure: " .. err, 2) end
  end
end

--- The shared curl multi pool (created on first use).
function _M.pool()
  local p, err = curl_backend().pool()
  if not p then error("sched: cannot create the HTTP pool: " .. err, 2) end
  return p
end

--- True inside OpenResty in a phase where ngx.sleep and cosockets work.
function _M.in_ngx() return (backend or pick()).in_ngx() end

--- True when called from inside a task run by this scheduler (or an OpenResty light
-- thread it spawned).
function _M.in_task() return (backend or pick()).current() ~= nil end

--- True when a wait here lets other work run: inside a task, or anywhere in OpenResty
-- where ngx.sleep works (other requests go on meanwhile).
function _M.can_yield() return (backend or pick()).can_yield() end

--- The running task, or nil.
function _M.current() return (backend or pick()).current() end

--- Sleeps `seconds`. Returns true, or nil and a `Cancelled` error when the task was cancelled.
function _M.sleep(seconds) return (backend or pick()).sleep(tonumber(seconds) or 0) end

--- Lets the other tasks run (a no-op outside a task).
function _M.yield()
  local b = backend or pick()
  if b.current() then return b.sleep(0) end
  return true
end

--- Sends one HTTP request (the shape of `pool:add`). Returns `{ status=, headers=, body= }`,
-- or nil and an error object (NetworkError, Timeout, TLSError, ResponseTooLarge, Cancelled).
-- With `req.reader` ({ decoder, shape name }, protocol.reader) a transport may decode a 2xx body
-- where the transfer holds it and return the output, nil and the status instead.
-- (Once the backend is picked, this field is the backend's own function.)
function _M.http(req) return (backend or pick()).http(req) end
http_first = _M.http

local NO_ARGS = { n = 0 } -- a task's arguments when it has none (no table per spawn)

--- Starts `fn(...)` as a task. It runs on the next `sched.step`/`sched.run`.
function _M.spawn(fn, ...)
  if type(fn) ~= "function" then error("sched.spawn: fn must be a function", 2) end
  return (backend or pick()).spawn(fn, select("#", ...) == 0 and NO_ARGS or pack(...))
end

--- Advances every task without blocking longer than `max_seconds` (default 0: only what
-- is ready now). Game loops call it once per frame. Returns the number of live tasks and
-- the list of tasks that failed during this step (or nil).
function _M.step(max_seconds)
  local ok, live, failed = (backend or pick()).step(math.max(tonumber(max_seconds) or 0, 0))
  if not ok then error("sched.step: " .. live, 2) end
  return live, failed
end

--- Runs until every task has finished. Returns true, or nil, the first failed task's
-- error and the list of tasks that failed.
function _M.run()
  local ok, e, failed = (backend or pick()).run()
  if ok == false then error("sched.run: " .. e, 2) end
  return ok, e, failed
end

--- Runs `fn(...)` where the request calling it cannot end it half-way, and waits for it:
-- inside OpenResty (a phase with cosockets) in an ngx.timer, since nginx ends a request's
-- light threads with the request (ngx.exit, a client that hung up). Returns true and fn's
-- results; false when it cannot (outside OpenResty, a phase without timers, no timer left):
-- fn did not run, the caller runs it; nil and a `Cancelled` error when the waiting task was
-- cancelled (fn goes on to its end). fn must not raise (what it raises is raised here).
function _M.detached(fn, ...)
  return (backend or pick()).detached(fn, pack(...))
end

--- `fn(...)` detached where it can be (sched.detached), else here: fn's results, or nil and the
-- `Cancelled` error when the waiting task was cancelled (fn goes on to its end).
function _M.run_detached(fn, ...)
  local r = pack(_M.detached(fn, ...))
  if r[1] then return unpack(r, 2, r.n) end
  if r[1] == nil then return nil, r[2] end
  return fn(...)
end

--- Number of tasks not finished.
function _M.count() return (backend or pick()).count() end

return _M
