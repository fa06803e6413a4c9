--- Waiters: poll an operation until the model's acceptors say success or failure,
-- with the Smithy waiter algorithm.
--
--     local out, err = client:wait("stream_session_active",
--       { Identifier = "sg-1", StreamSessionIdentifier = arn }, { max_wait = 300 })
--
-- Names: the model's five waiters, snake_case or PascalCase.
-- opts:
--   max_wait   total seconds (default: the model's delay * max_attempts, as botocore);
--   min_delay, max_delay  seconds (default: the model's Smithy minDelay / maxDelay);
--   fail_fast  stream_session_active only, default true: also fail as soon as the
--              session is TERMINATING or TERMINATED (it can never become ACTIVE);
--   max_attempts  optional cap on the number of attempts (WaiterTimeout when reached);
--   cancel     a function returning true, or a table whose `cancelled` field becomes true;
--   rng        function() -> [0, 1) (default math.random), for tests.
-- Options are checked as gls.new's are: an unknown name (with a "did you mean" hint) or a
-- wrong type gives InvalidParameter before anything is sent.
--
-- Delays: attempt n (n >= 1 done) waits random(min_delay, min(max_delay, min_delay * 2^(n-1))),
-- never past the deadline: when the next delay would cross it, the waiter sleeps until
-- the deadline and makes one last attempt there. Time is `sched.now` (monotonic); waits go
-- through `sched.sleep`, so inside a task they yield.
--
-- Results: the last output on success. Otherwise nil and an error object:
--   WaiterFailure  a failure acceptor matched (err.state = "failure", err.last_output or
--                  err.last_error), or the operation failed with an error no acceptor
--                  matches (err.state = "error", err.last_error = that error; retryable
--                  errors were already retried by the client). The message carries the
--                  inner error's code and message;
--   WaiterTimeout  max_wait elapsed (err.last_output / err.last_error of the last attempt);
--   Cancelled      opts.cancel fired, or the task running the waiter was cancelled.
-- Every one carries err.waiter and err.attempts.
local _M = { _VERSION = "0.1" }

local type, error, pairs, tostring, tonumber = type, error, pairs, tostring, tonumber
local math_min, math_max = math.min, math.max

local errors, model, sched, validate
local function deps()
  if not errors then
    errors = require("gameliftstreams.errors")
    model = require("gameliftstreams.model")
    sched = require("gameliftstreams.sched")
    validate = require("gameliftstreams.validate")
  end
end

local by_snake
local function resolve(name)
  deps()
  if type(name) ~= "string" then error("wait: waiter name must be a string", 3) end
  if not by_snake then
    by_snake = {}
    for k, w in pairs(model.waiters) do
      by_snake[w.snake or k] = k
    end
  end
  local key = model.waiters[name] and name or by_snake[name]
  if not key then
    -- the closest name, in the caller's spelling (PascalCase when it wrote that)
    local first, second = by_snake, model.waiters
    if name:find("^%u") then first, second = second, first end
    local hint = validate.closest(name, first) or validate.closest(name, second)
    if hint then return nil, errors.invalid("unknown waiter '" .. name .. "' (did you mean '" .. hint .. "'?)") end
    local names = {}
    for n in pairs(by_snake) do names[#names + 1] = n end
    table.sort(names)
    return nil, errors.invalid("unknown waiter '" .. name .. "' (known: " .. table.concat(names, ", ") .. ")")
  end
  return key, model.waiters[key]
end

--- Extra acceptors beyond the model, on by default, off with opts.fail_fast = false.
_M.fail_fast = {
  StreamSessionActive = {
    { matcher = "path", argument = "Status", expected = "TERMINATING", state = "failure" },
    { matcher = "path", argument = "Status", expected = "TERMINATED", state = "failure" },
  },
}

-- A JMESPath subset: dotted fields ("A.B"), and "List[].Field" projections.
local function search(v, path)
  local head, rest = path:match("^([^%.%[]+)%[%]%.?(.*)$")
  if head then
    local list = v and v[head]
    if type(list) ~= "table" then return nil end
    local out = {}
    for i = 1, #list do
      out[#out + 1] = rest ~= "" and search(list[i], rest) or list[i]
    end
    return out
  end
  for part in path:gmatch("[^%.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end
_M.search = search

local function equals(a, b)
  if a == b then return true end
  if type(a) == "number" or type(b) == "number" then return tonumber(a) == tonumber(b) end
  return false
end

-- Does the acceptor match this outcome (output, or error)?
local function matches(a, out, err)
  local m = a.matcher
  if m == "error" then
    if not err then
      return a.expected == false
    end
    if a.expected == true then return true end
    return err.code == a.expected
  end
  if m == "status" then
    local status = err and err.status or (out and 200)
    return status ~= nil and tonumber(a.expected) == status
  end
  if err then return false end
  local v = search(out, a.argument or "")
  if m == "path" then return equals(v, a.expected) end
  if type(v) ~= "table" then return false end
  if m == "pathAll" then
    if #v == 0 then return false end
    for i = 1, #v do if not equals(v[i], a.expected) then return false end end
    return true
  elseif m == "pathAny" then
    for i = 1, #v do if equals(v[i], a.expected) then return true end end
    return false
  end
  return false
end
_M.matches = matches

local function is_cancelled(c)
  if c == nil then return false end
  if type(c) == "function" then return c() and true or false end
  if type(c) == "table" then
    if type(c.cancelled) == "function" then return c:cancelled() and true or false end
    return c.cancelled and true or false
  end
  return false
end

--- A cancel token for opts.cancel: `tok:cancel()` makes the waiter return `Cancelled`.
function _M.cancel_token()
  local tok = { cancelled = false }
  function tok.cancel() tok.cancelled = true end
  return tok
end

local function seconds(v) return type(v) == "number" and v == v and v >= 0 end

--- The waiter's options: name -> { check, what it must be } (validate.options' shape).
_M.OPTIONS = {
  max_wait = { seconds, "a non-negative number of seconds" },
  min_delay = { seconds, "a non-negative number of seconds" },
  max_delay = { seconds, "a non-negative number of seconds" },
  max_attempts = { function(v) return type(v) == "number" and v >= 1 and v == math.floor(v) end,
                   "a positive integer" },
  fail_fast = { function(v) return type(v) == "boolean" end, "a boolean" },
  cancel = { function(v) return type(v) == "function" or type(v) == "table" end,
             "a function or a table with a `cancelled` field (waiters.cancel_token())" },
  rng = { function(v) return type(v) == "function" end, "a function returning a number in [0, 1)" },
}

--- Checks waiter options (`where` names the caller in the message): true, or nil and an
-- InvalidParameter error.
function _M.check_options(opts, where, extra)
  deps()
  local spec = _M.OPTIONS
  if extra then
    spec = {}
    for k, v in pairs(_M.OPTIONS) do spec[k] = v end
    for k, v in pairs(extra) do spec[k] = v end
  end
  return validate.options(where or "wait", opts, spec)
end

-- "CODE: message" of an error a poll returned, for the waiter's own message. The SDK's messages
-- hold no secrets; a service's message is passed on as it came, as everywhere.
local function describe(err)
  if type(err) ~= "table" then return tostring(err) end
  local msg = err.message
  if type(msg) == "string" and msg ~= "" then return tostring(err.code) .. ": " .. msg end
  return tostring(err.code)
end
_M.describe = describe

-- "0.046", "2.5", "300.2": enough digits for short test waits and long real ones.
local function seconds_text(s)
  return string.format(s < 1 and "%.3f" or "%.1f", s)
end

-- Sleeps `s` seconds; with a cancel token, in slices so it is noticed. nil, err on cancel.
local SLICE = 0.1
local function wait_for(s, cancel)
  if cancel == nil then return sched.sleep(s) end
  local stop = sched.now() + s
  while true do
    if is_cancelled(cancel) then return nil, "token" end
    local left = stop - sched.now()
    if left <= 0 then return true end
    local ok, err = sched.sleep(math_min(left, SLICE))
    if not ok then return nil, err end
  end
end

--- Waits for `name` (e.g. "stream_session_active"); see the module comment.
-- @return output, or nil and an error object (WaiterFailure, WaiterTimeout, Cancelled,
--   InvalidParameter)
function _M.wait(client, name, input, opts)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    error("wait: client must be an SDK client", 2)
  end
  local key, w = resolve(name)
  if not key then return nil, w end
  if input ~= nil and type(input) ~= "table" then error("wait: input must be a table", 2) end
  local ok, e = _M.check_options(opts)
  if not ok then return nil, e end
  opts = opts or {}
  local label = w.snake or key
  local min_delay = opts.min_delay or w.min_delay or w.delay or 2
  local max_delay = opts.max_delay or w.max_delay or math_max(120, min_delay)
  if opts.max_delay == nil and max_delay < min_delay then max_delay = min_delay end
  if min_delay > max_delay then
    return nil, errors.invalid("wait: option 'min_delay' must not exceed 'max_delay'")
  end
  local max_wait = opts.max_wait or (w.delay or min_delay) * (w.max_attempts or 60)
  local max_attempts = opts.max_attempts
  local rng = opts.rng or math.random
  local cancel = opts.cancel

  local acceptors = w.acceptors
  local extra = (opts.fail_fast ~= false) and _M.fail_fast[key] or nil
  if extra then
    local all = {}
    for i = 1, #acceptors do all[#all + 1] = acceptors[i] end
    for i = 1, #extra do all[#all + 1] = extra[i] end
    acceptors = all
  end

  local function cancelled(attempts, cause)
    local err = errors.new{ code = "Cancelled", message = "waiter " .. label .. " was cancelled",
                            waiter = label, attempts = attempts }
    if errors.is(cause) then err.cause = cause end
    return nil, err
  end

  local start = sched.now()
  local deadline = start + max_wait
  local attempt = 0
  while true do
    if is_cancelled(cancel) then return cancelled(attempt) end
    attempt = attempt + 1
    local out, err = client:call(w.operation, input or {})
    if err and err.code == "Cancelled" then return cancelled(attempt, err) end
    local state, matched
    for i = 1, #acceptors do
      if matches(acceptors[i], out, err) then matched = acceptors[i]; state = matched.state; break end
    end
    if state == "success" then
      return out or {}
    elseif state == "failure" then
      local why = err and describe(err)
      if not why and matched.argument then
        why = matched.argument .. " " .. tostring(search(out, matched.argument))
      end
      return nil, errors.new{
        code = "WaiterFailure", state = "failure", waiter = label, attempts = attempt,
        last_output = out, last_error = err, acceptor = matched,
        message = "waiter " .. label .. " reached a failure state" .. (why and (": " .. why) or ""),
      }
    elseif state == nil and err then
      return nil, errors.new{
        code = "WaiterFailure", state = "error", waiter = label, attempts = attempt, last_error = err,
        status = err.status, request_id = err.request_id,
        message = "waiter " .. label .. " stopped on an unexpected error: " .. describe(err),
      }
    end
    -- retry
    local now = sched.now()
    local remaining = deadline - now
    if remaining <= 1e-3 or (max_attempts and attempt >= max_attempts) then
      return nil, errors.new{
        code = "WaiterTimeout", waiter = label, attempts = attempt, last_output = out, last_error = err,
        message = string.format("waiter %s timed out after %s s (%d attempts)", label,
                                seconds_text(now - start), attempt),
      }
    end
    -- the SDK's one back-off (retry.lua), with min_delay as its base and floor
    local delay = require("gameliftstreams.retry").backoff(attempt, min_delay, max_delay, rng, min_delay)
    if delay > remaining then delay = remaining end -- one last attempt right at the deadline
    local ok, werr = wait_for(delay, cancel)
    if not ok then return cancelled(attempt, werr) end
  end
end

return _M
