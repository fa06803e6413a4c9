--- In-memory resources of the emulator and their status timelines.
-- No timers: every resource keeps a timeline of { at = monotonic time, status = ... }
-- entries computed when it is created or changed, and its status is read lazily
-- from the clock. Delays are base seconds multiplied by the delay scale.
local json = require("gameliftstreams.emulator.json")
local socket = require("socket")

local ok_core, core = pcall(require, "gameliftstreams.core")
if not ok_core then core = {} end

local _M = {}
local mt = { __index = _M }

local floor = math.floor
local array = json.array

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

-- applications ---------------------------------------------------------------------

function _M:create_app(input, region)
  local now = self:now()
  local id = self:new_id("a-", self.apps)
  local app = {
    id = id, seq = self:next_seq(), region = region, created = now,
    arn = self:arn(region, "application", id),
    Description = input.Description, RuntimeEnvironment = input.RuntimeEnvironment,
    ExecutablePath = input.ExecutablePath, ApplicationSourceUri = input.ApplicationSourceUri,
    ApplicationLogPaths = input.ApplicationLogPaths, ApplicationLogOutputUri = input.ApplicationLogOutputUri,
    tags = input.Tags or {},
  }
  local final = { "READY" }
  if tostring(input.Description):find("fail-me", 1, true) then
    final = { "ERROR", reason = "internalError" }
  end
  self:schedule(app, {
    { "INITIALIZED", self:delay("app_initialized") },
    { "PROCESSING", self:delay("app_processing") },
    final,
  }, now)
  self.apps[id] = app
  return app
end

--- Live stream groups that have this application associated.
function _M:groups_of_app(app)
  local out = {}
  for _, g in ipairs(by_seq(self.groups)) do
    if not self:is_gone(g) and g.assoc_set[app.id] then out[#out + 1] = g end
  end
  return out
end

function _M:app_output(app)
  local now = self:now()
  local status, reason = self:status(app, now)
  local groups = self:groups_of_app(app)
  local arns = array()
  for _, g in ipairs(groups) do arns[#arns + 1] = g.arn end
  local repl = array()
  local seen = {}
  local function add(loc)
    if seen[loc] then return end
    seen[loc] = true
    repl[#repl + 1] = { Location = loc, Status = (status == "READY") and "COMPLETED" or "REPLICATING" }
  end
  add(app.region)
  for _, g in ipairs(groups) do
    for _, l in ipairs(g.locations) do add(l.name) end
  end
  return {
    Arn = app.arn, Id = app.id, Description = app.Description,
    RuntimeEnvironment = app.RuntimeEnvironment, ExecutablePath = app.ExecutablePath,
    ApplicationSourceUri = app.ApplicationSourceUri, ApplicationLogPaths = app.ApplicationLogPaths,
    ApplicationLogOutputUri = app.ApplicationLogOutputUri,
    Status = status, StatusReason = reason, ReplicationStatuses = repl,
    CreatedAt = ms(self:wall(app.created)), LastUpdatedAt = self:last_updated(app, now),
    AssociatedStreamGroups = arns,
  }
end

function _M:app_summary(app)
  local status = self:status(app)
  return {
    Arn = app.arn, Id = app.id, Description = app.Description, Status = status,
    CreatedAt = ms(self:wall(app.created)), LastUpdatedAt = self:last_updated(app),
    RuntimeEnvironment = app.RuntimeEnvironment,
  }
end

-- stream groups ----------------------------------------------------------------------

local function loc_config(cfg)
  return {
    AlwaysOnCapacity = cfg.AlwaysOnCapacity, OnDemandCapacity = cfg.OnDemandCapacity,
    TargetIdleCapacity = cfg.TargetIdleCapacity, MaximumCapacity = cfg.MaximumCapacity,
    VpcTransitConfiguration = cfg.VpcTransitConfiguration,
  }
end

function _M:new_location(cfg, delay_name, now)
  local loc = { name = cfg.LocationName, cfg = loc_config(cfg), created = now }
  local final = { "ACTIVE" }
  if cfg.LocationName:find("fail-me", 1, true) then final = { "ERROR" } end
  self:schedule(loc, { { "ACTIVATING", self:delay(delay_name) }, final }, now)
  return loc
end

function _M:find_location(group, name)
  for _, l in ipairs(group.locations) do
    if l.name == name and not self:is_gone(l) then return l end
  end
  return nil
end

function _M:create_group(input, region, default_app)
  local now = self:now()
  local id = self:new_id("sg-", self.groups)
  local g = {
    id = id, seq = self:next_seq(), region = region, created = now,
    arn = self:arn(region, "streamgroup", id),
    Description = input.Description, StreamClass = input.StreamClass,
    default_app = default_app and default_app.id, assoc = {}, assoc_set = {},
    locations = {}, tags = input.Tags or {},
  }
  if default_app then
    g.assoc[1] = default_app.id
    g.assoc_set[default_app.id] = true
  end
  local cfgs = input.LocationConfigurations or {}
  local has_primary = false
  for _, c in ipairs(cfgs) do if c.LocationName == region then has_primary = true end end
  if not has_primary then
    g.locations[1] = self:new_location({ LocationName = region, AlwaysOnCapacity = 0 }, "group_activating", now)
  end
  for _, c in ipairs(cfgs) do
    g.locations[#g.locations + 1] = self:new_location(c, "group_activating", now)
  end
  local final = { "ACTIVE" }
  if tostring(input.Description):find("fail-me", 1, true) then
    final = { "ERROR", reason = "noAvailableInstances" }
    for _, l in ipairs(g.locations) do
      self:schedule(l, { { "ACTIVATING", self:delay("group_activating") }, { "ERROR" } }, now)
    end
  end
  self:schedule(g, { { "ACTIVATING", self:delay("group_activating") }, final }, now)
  self.groups[id] = g
  return g
end

--- Group status: its own timeline, refined by the states of its locations.
function _M:group_status(g, now)
  now = now or self:now()
  local status, reason = self:status(g, now)
  if status ~= "ACTIVE" then return status, reason end
  local err = false
  for _, l in ipairs(g.locations) do
    local ls = self:status(l, now)
    if ls == "ACTIVATING" or ls == "REMOVING" then return "UPDATING_LOCATIONS" end
    if ls == "ERROR" then err = true end
  end
  if err then return "ACTIVE_WITH_ERRORS" end
  return "ACTIVE"
end

function _M:active_sessions(g, loc_name, now)
  local n = 0
  for _, s in pairs(self.sessions) do
    if s.group_id == g.id and (loc_name == nil or s.Location == loc_name) then
      local st = self:status(s, now)
      if st == "ACTIVATING" or st == "ACTIVE" or st == "CONNECTED" then n = n + 1 end
    end
  end
  return n
end

function _M:location_state(g, l, now)
  local status = self:status(l, now)
  local cfg = l.cfg
  local out = {
    LocationName = l.name, Status = status,
    AlwaysOnCapacity = cfg.AlwaysOnCapacity, OnDemandCapacity = cfg.OnDemandCapacity,
    TargetIdleCapacity = cfg.TargetIdleCapacity, MaximumCapacity = cfg.MaximumCapacity,
  }
  if cfg.VpcTransitConfiguration then
    out.VpcTransitConfiguration = {
      VpcId = cfg.VpcTransitConfiguration.VpcId,
      Ipv4CidrBlocks = cfg.VpcTransitConfiguration.Ipv4CidrBlocks,
    }
    out.InternalVpcIpv4CidrBlock = "10.0.0.0/16"
  end
  local active = self:active_sessions(g, l.name, now)
  local requested = math.max(cfg.AlwaysOnCapacity or 0, active + (cfg.TargetIdleCapacity or 0))
  if cfg.MaximumCapacity and requested > math.max(cfg.MaximumCapacity, cfg.AlwaysOnCapacity or 0) then
    requested = math.max(cfg.MaximumCapacity, cfg.AlwaysOnCapacity or 0)
  end
  local allocated = (status == "ACTIVE") and math.max(requested, active) or 0
  out.RequestedCapacity = requested
  out.AllocatedCapacity = allocated
  out.IdleCapacity = math.max(allocated - active, 0)
  return out
end

function _M:group_output(g)
  local now = self:now()
  local status, reason = self:group_status(g, now)
  local locs = array()
  for _, l in ipairs(g.locations) do
    if not self:is_gone(l, now) then locs[#locs + 1] = self:location_state(g, l, now) end
  end
  local apps = array()
  for _, aid in ipairs(g.assoc) do
    apps[#apps + 1] = self:arn(self.apps[aid] and self.apps[aid].region or g.region, "application", aid)
  end
  local out = {
    Arn = g.arn, Id = g.id, Description = g.Description, StreamClass = g.StreamClass,
    Status = status, StatusReason = reason, LocationStates = locs,
    CreatedAt = ms(self:wall(g.created)), LastUpdatedAt = self:last_updated(g, now),
    AssociatedApplications = apps,
  }
  if g.default_app then
    local a = self.apps[g.default_app]
    out.DefaultApplication = { Id = g.default_app,
      Arn = self:arn(a and a.region or g.region, "application", g.default_app) }
  end
  return out
end

function _M:group_summary(g)
  local o = self:group_output(g)
  return {
    Arn = o.Arn, Id = o.Id, Description = o.Description, DefaultApplication = o.DefaultApplication,
    StreamClass = o.StreamClass, Status = o.Status, CreatedAt = o.CreatedAt, LastUpdatedAt = o.LastUpdatedAt,
  }
end

function _M:associate(g, app)
  if not g.assoc_set[app.id] then
    g.assoc[#g.assoc + 1] = app.id
    g.assoc_set[app.id] = true
  end
end

function _M:disassociate(g, app_id)
  if g.assoc_set[app_id] then
    g.assoc_set[app_id] = nil
    for i = #g.assoc, 1, -1 do
      if g.assoc[i] == app_id then table.remove(g.assoc, i) end
    end
  end
end

function _M:delete_group(g)
  local now = self:now()
  local st = self:status(g, now)
  if st == "DELETING" then return end
  self:schedule(g, { { "DELETING", self:delay("deleting") }, { "DELETING", gone = true } }, now)
  for _, s in pairs(self.sessions) do
    if s.group_id == g.id then self:terminate_session(s, "apiTerminated") end
  end
  for _, u in pairs(self.urls) do
    if u.group_id == g.id and not u.revoked then
      u.revoked, u.reason, u.touched = true, "streamGroupDeleted", now
    end
  end
end

function _M:delete_app(app)
  local now = self:now()
  if self:status(app, now) == "DELETING" then return end
  self:schedule(app, { { "DELETING", self:delay("deleting") }, { "DELETING", gone = true } }, now)
  for _, u in pairs(self.urls) do
    if u.app_id == app.id and not u.revoked then
      u.revoked, u.reason, u.touched = true, "applicationDeleted", now
    end
  end
end

-- stream sessions ----------------------------------------------------------------------

local SESSION_CHARS = 13

function _M:new_session_id()
  while true do
    local id = rand_chars(SESSION_CHARS)
    if not self.sessions[id] then return id end
  end
end

--- A plausible SDP answer for an offer (the emulator does no WebRTC).
function _M.signal_answer(offer, id)
  local fp = 0
  for i = 1, #offer do fp = (fp * 31 + offer:byte(i)) % 4294967291 end
  return string.format("v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=gameliftstreams-emulator %s\r\nt=0 0\r\n" ..
    "a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" ..
    "c=IN IP4 0.0.0.0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=setup:active\r\na=mid:0\r\n",
    fp, id, rand_chars(8), rand_chars(24))
end

function _M:start_session(g, app, input, location, region, url)
  local now = self:now()
  local id = self:new_session_id()
  local s = {
    id = id, seq = self:next_seq(), created = now, region = region,
    arn = self:arn(g.region, "streamsession", g.id .. "/" .. id),
    group_id = g.id, group_region = g.region, app_id = app.id, app_arn = app.arn,
    Description = input.Description, UserId = input.UserId, Protocol = input.Protocol,
    Location = location, SignalRequest = input.SignalRequest,
    ConnectionTimeoutSeconds = input.ConnectionTimeoutSeconds or 120,
    SessionLengthSeconds = input.SessionLengthSeconds or 43200,
    AdditionalLaunchArgs = input.AdditionalLaunchArgs,
    AdditionalEnvironmentVariables = input.AdditionalEnvironmentVariables,
    PerformanceStatsConfiguration = input.PerformanceStatsConfiguration,
    RoleArn = input.RoleArn, DisplayConfiguration = input.DisplayConfiguration,
    url_id = url and url.id,
  }
  local failing = input.UserId == "fail-me" or tostring(input.Description):find("fail-me", 1, true)
  if not failing and input.RoleArn and input.RoleArn:find("fail-me", 1, true) then failing = "assumeRoleFailed" end
  local loc = self:find_location(g, location)
  if not failing and loc and loc.cfg.MaximumCapacity
     and self:active_sessions(g, location, now) >= math.max(loc.cfg.MaximumCapacity, loc.cfg.AlwaysOnCapacity or 0) then
    failing = "placementTimeout"
  end
  local act = self:delay("session_activating")
  if failing then
    self:schedule(s, { { "ACTIVATING", act },
      { "ERROR", reason = type(failing) == "string" and failing or "internalError" } }, now)
  elseif input.SessionLengthSeconds then
    -- an explicit session length runs in real seconds (not scaled)
    self:schedule(s, { { "ACTIVATING", act }, { "ACTIVE", input.SessionLengthSeconds, fixed = true },
      { "TERMINATING", self:delay("session_terminating"), reason = "maxSessionLengthTimeout" },
      { "TERMINATED", reason = "maxSessionLengthTimeout" } }, now)
  else
    self:schedule(s, { { "ACTIVATING", act }, { "ACTIVE" } }, now)
  end
  s.SignalResponse = _M.signal_answer(input.SignalRequest, id)
  self.sessions[id] = s
  return s
end

function _M:terminate_session(s, reason)
  local now = self:now()
  local st = self:status(s, now)
  if st == "TERMINATING" or st == "TERMINATED" or st == "ERROR" then return end
  self:schedule(s, { { "TERMINATING", self:delay("session_terminating"), reason = reason },
    { "TERMINATED", reason = reason } }, now)
end

function _M:export_metadata(s, now)
  local e = s.export
  if not e then return nil end
  local st, reason = self:status(e, now)
  return { Status = st, StatusReason = reason, OutputUri = e.OutputUri }
end

function _M:export_files(s, uri)
  local now = self:now()
  local e = { OutputUri = uri }
  if uri:find("fail-me", 1, true) then
    self:schedule(e, { { "PENDING", self:delay("export") },
      { "FAILED", reason = "The emulator was asked to fail this export" } }, now)
  else
    self:schedule(e, { { "PENDING", self:delay("export") }, { "SUCCEEDED" } }, now)
  end
  s.export = e
  s.touched = now
end

function _M:session_output(s)
  local now = self:now()
  local status, reason = self:status(s, now)
  local out = {
    Arn = s.arn, Description = s.Description, StreamGroupId = s.group_id, UserId = s.UserId,
    Status = status, StatusReason = reason, Protocol = s.Protocol, Location = s.Location,
    SignalRequest = s.SignalRequest,
    ConnectionTimeoutSeconds = s.ConnectionTimeoutSeconds, SessionLengthSeconds = s.SessionLengthSeconds,
    AdditionalLaunchArgs = s.AdditionalLaunchArgs, AdditionalEnvironmentVariables = s.AdditionalEnvironmentVariables,
    PerformanceStatsConfiguration = s.PerformanceStatsConfiguration,
    LastUpdatedAt = self:last_updated(s, now), CreatedAt = ms(self:wall(s.created)),
    ApplicationArn = s.app_arn, ExportFilesMetadata = self:export_metadata(s, now),
    RoleArn = s.RoleArn, DisplayConfiguration = s.DisplayConfiguration,
  }
  if status ~= "ACTIVATING" and status ~= "ERROR" then
    out.SignalResponse = s.SignalResponse
    out.WebSdkProtocolUrl = "https://gameliftstreams.emulator.invalid/websdk/v1"
  end
  if s.log_uri then out.LogFileLocationUri = s.log_uri end
  return out
end

function _M:session_summary(s)
  local now = self:now()
  local status, reason = self:status(s, now)
  return {
    Arn = s.arn, UserId = s.UserId, Status = status, StatusReason = reason, Protocol = s.Protocol,
    LastUpdatedAt = self:last_updated(s, now), CreatedAt = ms(self:wall(s.created)),
    ApplicationArn = s.app_arn, ExportFilesMetadata = self:export_metadata(s, now),
    Location = s.Location, RoleArn = s.RoleArn,
  }
end

-- stream URLs ---------------------------------------------------------------------------

function _M:create_url(g, app, input, base_url)
  local now = self:now()
  local id = self:new_id("su-", self.urls)
  local u = {
    id = id, seq = self:next_seq(), created = now, group_id = g.id, group_arn = g.arn,
    app_id = app.id, app_arn = app.arn,
    arn = self:arn(g.region, "streamurl", g.id .. "/" .. id),
    token = rand_chars(32),
    Protocol = input.Protocol, UrlExpiresAfterMinutes = input.UrlExpiresAfterMinutes,
    UsageLimit = input.UsageLimit, uses = 0, Description = input.Description,
    Locations = input.Locations, SessionLengthSeconds = input.SessionLengthSeconds,
    AdditionalLaunchArgs = input.AdditionalLaunchArgs,
    AdditionalEnvironmentVariables = input.AdditionalEnvironmentVariables,
    RoleArn = input.RoleArn, DisplayConfiguration = input.DisplayConfiguration,
    sessions = {}, tags = {},
  }
  u.expires = floor(self:wall(now) + input.UrlExpiresAfterMinutes * 60)
  u.StreamUrl = string.format("%s/_emulator/play/%s?token=%s", base_url, id, u.token)
  self.urls[id] = u
  return u
end

function _M:url_status(u)
  if u.revoked then return "REVOKED", u.reason end
  if self:wall() >= u.expires then return "EXPIRED" end
  if u.UsageLimit and u.uses >= u.UsageLimit then return "LIMIT_REACHED" end
  return "ACTIVE"
end

function _M:url_summary(u)
  local status, reason = self:url_status(u)
  return {
    Arn = u.arn, StreamUrlId = u.id, StreamUrl = u.StreamUrl, Status = status, StatusReason = reason,
    ExpiresAt = u.expires, CreatedAt = ms(self:wall(u.created)), UsageLimit = u.UsageLimit,
    RemainingUses = u.UsageLimit and math.max(u.UsageLimit - u.uses, 0) or nil,
    StreamGroupArn = u.group_arn, ApplicationArn = u.app_arn,
    SessionLengthSeconds = u.SessionLengthSeconds, Description = u.Description,
  }
end

function _M:url_output(u, with_sessions)
  local out = self:url_summary(u)
  out.Protocol = u.Protocol
  out.Locations = u.Locations
  out.AdditionalLaunchArgs = u.AdditionalLaunchArgs
  out.AdditionalEnvironmentVariables = u.AdditionalEnvironmentVariables
  out.RoleArn = u.RoleArn
  out.DisplayConfiguration = u.DisplayConfiguration
  if with_sessions then
    local list = array()
    for _, sid in ipairs(u.sessions) do
      local s = self.sessions[sid]
      if s then list[#list + 1] = self:session_summary(s) end
    end
    out.StreamSessions = list
  end
  return out
end

function _M:revoke_url(u, mode)
  if u.revoked then return end
  local now = self:now()
  u.revoked, u.touched = true, now
  if mode == "REVOKE_AND_TERMINATE_SESSIONS" then
    u.reason = "revokedAndTerminatingSessions"
    for _, sid in ipairs(u.sessions) do
      local s = self.sessions[sid]
      if s then self:terminate_session(s, "apiTerminated") end
    end
  else
    u.reason = "userRevoked"
  end
end

-- shader caches ----------------------------------------------------------------------------

function _M:shader_caches(app)
  local items = array()
  local status = self:status(app)
  if status ~= "READY" then return items end
  local groups = self:groups_of_app(app)
  if #groups == 0 then return items end
  local arns = array()
  for _, g in ipairs(groups) do arns[#arns + 1] = g.arn end
  items[1] = {
    Identifier = "sc-" .. app.id:sub(3), ApplicationArn = app.arn, Status = "READY",
    LastUpdatedAt = self:last_updated(app), StorageBytes = 536870912 + 4096 * #groups,
    AssociatedStreamGroups = arns,
  }
  return items
end

return _M
