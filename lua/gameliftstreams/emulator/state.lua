--- In-memory state of the emulator: clocks, ids and ARNs, status timelines, lookups.
-- The methods of each kind of resource are added by its file in resources/.
-- No timers: every resource keeps a timeline of { at = monotonic time, status = ... }
-- entries computed when it is created or changed, and its status is read lazily
-- from the clock. Delays are base seconds multiplied by the delay scale.
local socket = require("socket")

local ok_core, core = pcall(require, "gameliftstreams.core")
if not ok_core then core = {} end

local _M = {}
local mt = { __index = _M }

local floor = math.floor

--- Base delays in seconds (at delay scale 1): a demo runs in a few seconds.
_M.DELAYS = {
  app_initialized = 0.5,     -- INITIALIZED -> PROCESSING
  app_processing = 1.5,      -- PROCESSING -> READY
  group_activating = 2,      -- ACTIVATING -> ACTIVE (locations too)
  location_activating = 1.5, -- a location added later
  location_removing = 1,     -- REMOVING -> gone
  session_activating = 1,    -- ACTIVATING -> ACTIVE
  session_terminating = 1,   -- TERMINATING -> TERMINATED
  deleting = 1,              -- DELETING -> gone
  export = 1,                -- ExportFilesMetadata PENDING -> SUCCEEDED
}

local function monotime()
  if core.monotime then return core.monotime() end
  return socket.gettime()
end

local function walltime()
  if core.time then return core.time() end
  return socket.gettime()
end

--- Creates an empty state. opts: delay_scale, account, region.
function _M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    delay_scale = opts.delay_scale or 1,
    account = opts.account or "123456789012",
    region = opts.region or "us-west-2",
    advance = 0,          -- seconds the emulator's clocks were pushed forward (control API)
    clock_offset = 0,     -- wall clock skew (control API), does not move timelines
    mono0 = monotime(), wall0 = walltime(),
  }, mt)
  self:clear()
  return self
end

function _M:clear()
  self.apps, self.groups, self.sessions, self.urls = {}, {}, {}, {}
  self.tokens = {}
  self.seq = 0
  self.quotas = {}
end

-- clocks -----------------------------------------------------------------------

--- Monotonic time of the timelines.
function _M:now()
  return monotime() + self.advance
end

--- Epoch seconds of a monotonic time on the resources' clock (with skew and `advance`).
function _M:wall(t)
  return self.wall0 + ((t or self:now()) - self.mono0) + self.clock_offset
end

--- The emulator's wall clock for signatures and the Date header: real time plus
-- the skew set through the control API (not moved by `advance`).
function _M:clock()
  return walltime() + self.clock_offset
end

--- Epoch seconds rounded to milliseconds (timestamps in outputs).
local function ms(t)
  return floor(t * 1000 + 0.5) / 1000
end
_M.ms = ms

function _M:delay(name)
  return (_M.DELAYS[name] or 1) * self.delay_scale
end

function _M:next_seq()
  self.seq = self.seq + 1
  return self.seq
end

-- ids --------------------------------------------------------------------------

local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
local function rand_chars(n)
  local out = {}
  for i = 1, n do
    local k = math.random(1, #ALNUM)
    out[i] = ALNUM:sub(k, k)
  end
  return table.concat(out)
end
_M.rand_chars = rand_chars

function _M:new_id(prefix, taken)
  while true do
    local id = prefix .. rand_chars(9)
    if not taken[id] then return id end
  end
end

function _M:arn(region, kind, rest)
  return string.format("arn:aws:gameliftstreams:%s:%s:%s/%s", region, self.account, kind, rest)
end

--- Splits an ARN: region, account, resource type, and the parts after it.
function _M.parse_arn(arn)
  local region, account, res = arn:match("^arn:aws:gameliftstreams:([^:]*):(%d+):(.+)$")
  if not region then return nil end
  local parts = {}
  for p in res:gmatch("[^/]+") do parts[#parts + 1] = p end
  if #parts < 2 then return nil end
  return { region = region, account = account, kind = parts[1], parts = parts }
end

-- timelines ----------------------------------------------------------------------

--- Replaces the future of a timeline: phases = { { status, seconds }, ..., { final } }.
-- Each entry may carry extra fields (reason = StatusReason, gone = true).
function _M:schedule(res, phases, from)
  local now = from or self:now()
  local tl = res.timeline or {}
  local kept = {}
  for _, e in ipairs(tl) do if e.at <= now then kept[#kept + 1] = e end end
  local at = now
  for _, p in ipairs(phases) do
    kept[#kept + 1] = { at = at, status = p[1], reason = p.reason, gone = p.gone, fixed = p.fixed }
    at = at + (p[2] or 0)
  end
  res.timeline = kept
end

--- Changes the delay scale; transitions still to come speed up or slow down from
-- now on (phases in real seconds, marked fixed, keep their length).
function _M:set_delay_scale(scale)
  local old = self.delay_scale
  self.delay_scale = scale
  if old == scale or old <= 0 then return end
  local ratio = scale / old
  local now = self:now()
  local function rescale(res)
    local tl = res and res.timeline
    if not tl then return end
    local old_at = {}
    for i, e in ipairs(tl) do old_at[i] = e.at end
    for i = 2, #tl do
      if old_at[i] > now then
        local start_old = math.max(old_at[i - 1], now)
        local start_new = math.max(tl[i - 1].at, now)
        local factor = tl[i - 1].fixed and 1 or ratio
        tl[i].at = start_new + (old_at[i] - start_old) * factor
      end
    end
  end
  for _, a in pairs(self.apps) do rescale(a) end
  for _, g in pairs(self.groups) do
    rescale(g)
    for _, l in ipairs(g.locations) do rescale(l) end
  end
  for _, x in pairs(self.sessions) do
    rescale(x)
    rescale(x.export)
  end
end

--- The timeline entry in force now (nil before the first).
function _M:entry(res, now)
  now = now or self:now()
  local cur
  for _, e in ipairs(res.timeline) do
    if e.at <= now then cur = e else break end
  end
  return cur
end

function _M:status(res, now)
  local e = self:entry(res, now)
  return e and e.status, e and e.reason, e
end

function _M:is_gone(res, now)
  local e = self:entry(res, now)
  return e ~= nil and e.gone == true
end

--- Wall time of the last change: the last timeline entry reached, or an update.
function _M:last_updated(res, now)
  local e = self:entry(res, now)
  local t = e and e.at or res.created
  if res.touched and res.touched > t then t = res.touched end
  return ms(self:wall(t))
end

-- sweeping: resources whose timeline reached "gone" disappear --------------------

function _M:sweep()
  local now = self:now()
  for id, g in pairs(self.groups) do
    if self:is_gone(g, now) then
      self.groups[id] = nil
      for sid, s in pairs(self.sessions) do
        if s.group_id == id then self.sessions[sid] = nil end
      end
    else
      for i = #g.locations, 1, -1 do
        if self:is_gone(g.locations[i], now) then table.remove(g.locations, i) end
      end
    end
  end
  for id, a in pairs(self.apps) do
    if self:is_gone(a, now) then self.apps[id] = nil end
  end
end

-- lookups -------------------------------------------------------------------------

--- Resolves an Identifier (ID or ARN) of a kind ("application", "streamgroup") to an id.
local function ident_to_id(ident, kind)
  if ident:sub(1, 4) == "arn:" then
    local a = _M.parse_arn(ident)
    if not a or a.kind ~= kind then return nil end
    return a.parts[2]
  end
  return ident
end
_M.ident_to_id = ident_to_id

function _M:find_app(ident)
  local id = ident_to_id(ident, "application")
  return id and self.apps[id]
end

function _M:find_group(ident)
  local id = ident_to_id(ident, "streamgroup")
  return id and self.groups[id]
end

--- A session of a group, by session ID or stream session ARN.
function _M:find_session(group, ident)
  local id = ident
  if ident:sub(1, 4) == "arn:" then
    local a = _M.parse_arn(ident)
    if not a or a.kind ~= "streamsession" or #a.parts ~= 3 then return nil end
    if a.parts[2] ~= group.id then return nil end
    id = a.parts[3]
  end
  local s = self.sessions[id]
  if s and s.group_id == group.id then return s end
  return nil
end

function _M:find_url(group_id, ident)
  local id = ident
  if ident:sub(1, 4) == "arn:" then
    local a = _M.parse_arn(ident)
    if not a or a.kind ~= "streamurl" then return nil end
    id = a.parts[#a.parts]
  end
  local u = self.urls[id]
  if u and (group_id == nil or u.group_id == group_id) then return u end
  return nil
end

--- The resource an ARN names (for tags), or nil.
function _M:find_by_arn(arn)
  local a = _M.parse_arn(arn)
  if not a then return nil end
  local r
  if a.kind == "application" then r = self.apps[a.parts[2]]
  elseif a.kind == "streamgroup" then r = self.groups[a.parts[2]]
  elseif a.kind == "streamurl" then r = self.urls[a.parts[#a.parts]]
  elseif a.kind == "streamsession" then r = self.sessions[a.parts[#a.parts]]
  end
  if r and r.arn == arn then return r end
  return nil
end

--- An application, stream group or stream session by ID or ARN (control API).
function _M:find_any(ident)
  if ident:sub(1, 4) == "arn:" then
    local r = self:find_by_arn(ident)
    if r and r.timeline then return r end
    return nil
  end
  return self.apps[ident] or self.groups[ident] or self.sessions[ident]
end

--- Sorted list of values of a map by creation order.
local function by_seq(map, keep)
  local out = {}
  for _, v in pairs(map) do
    if keep == nil or keep(v) then out[#out + 1] = v end
  end
  table.sort(out, function(a, b) return a.seq < b.seq end)
  return out
end
_M.by_seq = by_seq


return _M
