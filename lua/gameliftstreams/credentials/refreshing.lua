--- Caching of temporary credentials: refresh before expiry, keep valid ones on failure, one
-- fetch at a time (shared between nginx workers with the shared_dict option).
local B = require("gameliftstreams.credentials.base")
local _M = B.M -- the credentials module's table (credentials/init.lua returns it)
local tostring, pcall = tostring, pcall
local fail, make_creds, default_clock, lazy_sched =
  B.fail, B.make_creds, B.default_clock, B.lazy_sched
local REFRESH_WINDOW = B.REFRESH_WINDOW

--- Wraps fetch() -> creds | nil, err into a caching provider. `key` names what fetch() gets
-- (role, URL, ...): with opts.shared_dict the credentials are shared under it by every nginx
-- worker (shared_cache.lua); without a key they never are.
function _M.refreshing(name, fetch, opts, key)
  opts = opts or {}
  local clock = opts.clock or default_clock
  local window = opts.refresh_window or REFRESH_WINDOW
  if key and opts.shared_dict then
    local shared_cache = require("gameliftstreams.shared_cache")
    local dict = shared_cache.dict(opts.shared_dict) -- checked by gls.new already
    if dict then
      return shared_cache.provider(dict, { key = key, name = name, fetch = fetch, clock = clock,
        window = window, lock_timeout = opts.shared_dict_lock_timeout, fetch_wait = opts.fetch_wait,
        fail = fail, make = function(t, provider) return make_creds(t, provider or name) end })
    end
  end
  local p = { name = name, fetches = 0 }

  -- Fetch `gen`, its outcome recorded (c: the set it refreshes): creds | nil, err.
  local function run(self, gen, c)
    local ok, creds, err = pcall(fetch)
    if self.generation ~= gen then
      -- A later fetch took over while this one hung: leave the state to it.
      if ok then return creds, err end
      return nil, fail(name, "failed: " .. tostring(creds))
    end
    self.fetching = false
    if not ok then
      err = fail(name, "failed: " .. tostring(creds))
      creds = nil
    end
    if creds then
      self.cached, self.last_creds, self.last_err = creds, creds, nil
      return creds
    end
    self.last_err = err
    -- A failed refresh keeps credentials that have not expired yet.
    if c and c.expiration and clock() < c.expiration then
      self.last_creds = c
      return c
    end
    self.last_creds = nil
    return nil, err
  end

  -- Waits for the fetch under way (another task's): true and its outcome, or false when it is
  -- not to be waited for: it was cancelled, or none ended within fetch_wait (it hangs).
  local function await(self, sched)
    local deadline = sched.now() + (opts.fetch_wait or 30)
    while self.fetching and sched.now() < deadline do
      local _, serr = sched.sleep(0.005)
      if serr then return true, nil, serr end
    end
    if self.fetching then return false end
    if self.last_creds then return true, self.last_creds end
    if self.last_err and self.last_err.code == "Cancelled" then return false end
    return true, nil, self.last_err
  end

  function p.get(self)
    local now = clock()
    local c = self.cached
    if c and (not c.expiration or now < c.expiration - window) then return c end
    local sched = lazy_sched()
    local can_wait = sched and sched.can_yield and sched.can_yield()
    if self.fetching and can_wait then
      local done, creds, err = await(self, sched)
      if done then return creds, err end
    end
    self.fetching = true
    self.generation = (self.generation or 0) + 1
    local gen = self.generation
    self.fetches = self.fetches + 1
    if can_wait then
      -- inside nginx in a timer: a request that ends half-way cannot leave the fetch unfinished
      -- (a cancelled task gets its Cancelled error; the fetch goes on)
      return sched.run_detached(run, self, gen, c)
    end
    return run(self, gen, c)
  end
  return p
end

return _M
