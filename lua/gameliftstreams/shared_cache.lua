--- Temporary credentials and the clock-skew offset shared by the workers of one nginx, through
-- a `lua_shared_dict` (the `shared_dict` option of gls.new).
--
-- Without it every worker holds its own copy of the credentials and refreshes it on its own:
-- N workers call STS (or the container endpoint, IMDS, SSO) N times as the set nears expiry.
-- With it:
--   * the set lives in the dict under a key made from what it was fetched for (role ARN and
--     session name, token file, container URL, IMDS address, SSO account and role; hashed, so
--     the dict's keys name none of them);
--   * each worker keeps a local copy and reads the dict only once its copy enters the refresh
--     window;
--   * one worker refreshes at a time: it takes a lock with shdict:add and an expiry
--     (`shared_dict_lock_timeout`, default 15 s), so a worker that dies mid-refresh holds the
--     lock no longer than that, and another worker then takes over;
--   * the others keep using the cached set while it is still valid, and only wait (ngx.sleep,
--     polling) for the refresh when it is not, for at most `fetch_wait` seconds (default 30);
--   * a failed refresh is recorded (code and message: never a secret) so that the waiters
--     return that error instead of each asking again; while the old set is still valid the
--     next attempt is held back for a few seconds.
-- The secrets sit in the dict as they sit in a worker's memory; this module writes nothing to
-- any log. Where ngx.sleep is unavailable (init_worker, log phases...) a worker that finds no
-- valid set and the lock taken fetches on its own, as it would without the dict.
local _M = { _VERSION = "0.1" }

local type, tostring, tonumber, pcall, ipairs = type, tostring, tonumber, pcall, ipairs
local floor, max, min = math.floor, math.max, math.min

local PREFIX = "gls:"
local LOCK_TIMEOUT = 15      -- seconds a refresh may hold the lock
local FETCH_WAIT = 30        -- seconds a worker waits for another's refresh
local FAILED_PAUSE = 5       -- seconds between refresh attempts while the old set is valid
local ERR_TTL = 60           -- seconds a recorded failure stays in the dict

local cjson, core, sched, errors

local function deps()
  if not core then
    core = require("gameliftstreams.core")
    sched = require("gameliftstreams.sched")
    errors = require("gameliftstreams.errors")
    cjson = require("cjson")
  end
end

--- The shared dict named `name`: dict, or nil and an InvalidParameter error that says what to
-- do. Only OpenResty has them; outside it the option is refused rather than ignored.
function _M.dict(name)
  deps()
  local ngx = _G.ngx
  if type(ngx) ~= "table" or type(ngx.shared) ~= "table" then
    return nil, errors.invalid("gls.new: option 'shared_dict' needs OpenResty (a lua_shared_dict of "
      .. "nginx); outside nginx leave it out")
  end
  local d = ngx.shared[name]
  if not d then
    return nil, errors.invalid("gls.new: option 'shared_dict': nginx has no lua_shared_dict named '"
      .. name .. "' (add `lua_shared_dict " .. name .. " 1m;` to the http block of nginx.conf)")
  end
  return d
end

local function worker_pid()
  local ngx = _G.ngx
  if type(ngx) == "table" and ngx.worker and ngx.worker.pid then return ngx.worker.pid() end
  return 0
end

local function encode_creds(c)
  return cjson.encode{ v = 1, a = c.access_key_id, s = c.secret_access_key, t = c.session_token,
                       e = c.expiration, p = c.provider }
end

-- An entry read from the dict, or nil for none or one this version cannot read.
local function decode_creds(s, make)
  if type(s) ~= "string" then return nil end
  local t = core.json_decode(s)
  if type(t) ~= "table" or t.v ~= 1 or type(t.a) ~= "string" or type(t.s) ~= "string" then
    return nil
  end
  local tok = t.t
  if type(tok) ~= "string" then tok = nil end
  return make({ access_key_id = t.a, secret_access_key = t.s, session_token = tok,
                expiration = tonumber(t.e) }, type(t.p) == "string" and t.p or nil)
end

-- The fields of a failure other workers return in its stead (messages never hold secrets).
local ERR_FIELDS = { "code", "message", "provider", "status", "sts_code", "sso_code", "request_id" }

local function encode_err(e, seq)
  local t = { seq = seq }
  for _, k in ipairs(ERR_FIELDS) do
    local v = e[k]
    if type(v) == "string" or type(v) == "number" then t[k] = v end
  end
  return cjson.encode(t)
end

local function decode_err(s)
  local t = type(s) == "string" and core.json_decode(s)
  if type(t) ~= "table" then return nil end
  local e = { retryable = false, shared = true }
  for _, k in ipairs(ERR_FIELDS) do
    if t[k] ~= nil then e[k] = t[k] end
  end
  return errors.new(e), t.seq
end

--- A caching provider whose credentials are shared through `dict`.
-- opts: key (what the credentials are for), name (the provider's name), fetch (-> creds | nil,
-- err), make (table, provider -> creds object), fail (provider, message -> error), clock (epoch
-- seconds), window (refresh window, seconds), lock_timeout, fetch_wait.
function _M.provider(dict, o)
  deps()
  local base = PREFIX .. "c:" .. core.sha1_hex(o.key)
  local k_lock, k_err, k_seq = base .. ":lock", base .. ":err", base .. ":seq"
  local clock, window = o.clock, o.window
  local lock_timeout = o.lock_timeout or LOCK_TIMEOUT
  local wait_max = o.fetch_wait or FETCH_WAIT
  local p = { name = o.name, fetches = 0, shared_key = base }

  local function fresh(c, now) return c and (not c.expiration or now < c.expiration - window) end
  local function valid(c, now) return c and (not c.expiration or now < c.expiration) end

  local function store(c)
    local ttl = 0
    if c.expiration then ttl = max(1, c.expiration - clock() + 1) end
    -- A full dict (set fails) leaves the worker with its own copy: correct, only not shared.
    dict:set(base, encode_creds(c), ttl)
  end

  local function release(token)
    if dict:get(k_lock) == token then dict:delete(k_lock) end
  end

  -- Without the lock (the dict is full, or this phase cannot wait): as without the option,
  -- and what it got still serves the others.
  local function fetch_alone()
    p.fetches = p.fetches + 1
    local creds, err = o.fetch()
    if creds then
      store(creds)
      p.cached = creds
    end
    return creds, err
  end

  -- Refresh under the lock `token`. Returns creds | nil, err, and whether it failed for good
  -- (false when cancelled: nothing is recorded, another worker may try).
  local function refresh(token, old)
    -- Another worker may have stored a new set between our read and our lock.
    local now = clock()
    local c = decode_creds(dict:get(base), o.make)
    if fresh(c, now) then
      release(token)
      return c
    end
    p.fetches = p.fetches + 1
    local ok, creds, err = pcall(o.fetch)
    if not ok then
      err = o.fail(o.name, "failed: " .. tostring(creds))
      creds = nil
    end
    if creds then
      store(creds)
      release(token)
      return creds
    end
    if not errors.is(err) then err = o.fail(o.name, tostring(err or "returned no credentials")) end
    if err.code == "Cancelled" then
      release(token)
      return nil, err
    end
    local seq = dict:incr(k_seq, 1, 0)
    dict:set(k_err, encode_err(err, seq), ERR_TTL)
    now = clock()
    old = (valid(c, now) and c) or (valid(old, now) and old) or nil
    if old then
      -- Keep the lock a little: the next worker retries in a few seconds, not at once.
      local pause = min(FAILED_PAUSE, old.expiration and (old.expiration - now) or FAILED_PAUSE)
      if pause > 0.001 and dict:get(k_lock) == token then
        dict:set(k_lock, token, pause)
      else
        release(token)
      end
      return old
    end
    release(token)
    return nil, err
  end

  -- refresh(), and what it got kept as this worker's copy
  local function refresh_kept(token, old)
    local creds, err = refresh(token, old)
    if creds then p.cached = creds end
    return creds, err
  end

  function p.get(self)
    local now = clock()
    local mine = self.cached
    if fresh(mine, now) then return mine end
    local c = decode_creds(dict:get(base), o.make) or mine
    if fresh(c, now) then
      self.cached = c
      return c
    end
    local t0 = sched.now()
    local seq0 = dict:get(k_seq) or 0
    local delay = 0.005
    local token = worker_pid() .. " " .. core.uuid4()
    while true do
      local got, aerr = dict:add(k_lock, token, lock_timeout)
      if got then
        -- inside nginx in a timer: a request that ends half-way cannot keep the lock taken
        -- (a cancelled task gets its Cancelled error; the refresh goes on)
        return sched.run_detached(refresh_kept, token, c)
      end
      if aerr ~= "exists" then
        return fetch_alone()
      end
      now = clock()
      if valid(c, now) then
        self.cached = c
        return c -- another worker is refreshing; this set still serves
      end
      if not sched.can_yield() then return fetch_alone() end
      if sched.now() - t0 >= wait_max then
        return nil, o.fail(o.name, string.format("waited %d s for another nginx worker's refresh", floor(wait_max)))
      end
      local _, serr = sched.sleep(delay)
      if serr then return nil, serr end
      delay = min(delay * 2, 0.05)
      c = decode_creds(dict:get(base), o.make)
      now = clock()
      if valid(c, now) then
        self.cached = c
        return c
      end
      local seq = dict:get(k_seq) or 0
      if seq ~= seq0 then
        local e = decode_err(dict:get(k_err))
        if e then return nil, e end
        seq0 = seq
      end
    end
  end
  return p
end

--- The clock-skew offset (seconds) shared for `endpoint`, or nil when none was recorded.
function _M.skew(dict, endpoint)
  local v = dict:get(PREFIX .. "skew:" .. endpoint)
  return tonumber(v)
end

--- Records the clock-skew offset for `endpoint` for every worker.
function _M.set_skew(dict, endpoint, offset)
  dict:set(PREFIX .. "skew:" .. endpoint, offset)
end

return _M
