--- Stream groups, their locations and application associations: the state's stream
-- group methods and the operations CreateStreamGroup, GetStreamGroup, UpdateStreamGroup,
-- DeleteStreamGroup, ListStreamGroups, AddStreamGroupLocations,
-- RemoveStreamGroupLocations, AssociateApplications and DisassociateApplications.
local json = require("gameliftstreams.emulator.json")
local State = require("gameliftstreams.emulator.state")
local common = require("gameliftstreams.emulator.common")

local array = json.array
local ms = State.ms
local E = common.E
local paginate = common.paginate
local get_group = common.get_group
local ready_app = common.ready_app
local within_quota = common.within_quota

local _M = { handlers = {} }
local H = _M.handlers

-- state: methods of the emulator state (gameliftstreams.emulator.state) ------------------

local function loc_config(cfg)
  return {
    AlwaysOnCapacity = cfg.AlwaysOnCapacity, OnDemandCapacity = cfg.OnDemandCapacity,
    TargetIdleCapacity = cfg.TargetIdleCapacity, MaximumCapacity = cfg.MaximumCapacity,
    VpcTransitConfiguration = cfg.VpcTransitConfiguration,
  }
end

function State:new_location(cfg, delay_name, now)
  local loc = { name = cfg.LocationName, cfg = loc_config(cfg), created = now }
  local final = { "ACTIVE" }
  if cfg.LocationName:find("fail-me", 1, true) then final = { "ERROR" } end
  self:schedule(loc, { { "ACTIVATING", self:delay(delay_name) }, final }, now)
  return loc
end

function State:find_location(group, name)
  for _, l in ipairs(group.locations) do
    if l.name == name and not self:is_gone(l) then return l end
  end
  return nil
end

function State:create_group(input, region, default_app)
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
function State:group_status(g, now)
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

function State:active_sessions(g, loc_name, now)
  local n = 0
  for _, s in pairs(self.sessions) do
    if s.group_id == g.id and (loc_name == nil or s.Location == loc_name) then
      local st = self:status(s, now)
      if st == "ACTIVATING" or st == "ACTIVE" or st == "CONNECTED" then n = n + 1 end
    end
  end
  return n
end

function State:location_state(g, l, now)
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

function State:group_output(g)
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

function State:group_summary(g)
  local o = self:group_output(g)
  return {
    Arn = o.Arn, Id = o.Id, Description = o.Description, DefaultApplication = o.DefaultApplication,
    StreamClass = o.StreamClass, Status = o.Status, CreatedAt = o.CreatedAt, LastUpdatedAt = o.LastUpdatedAt,
  }
end

function State:associate(g, app)
  if not g.assoc_set[app.id] then
    g.assoc[#g.assoc + 1] = app.id
    g.assoc_set[app.id] = true
  end
end

function State:disassociate(g, app_id)
  if g.assoc_set[app_id] then
    g.assoc_set[app_id] = nil
    for i = #g.assoc, 1, -1 do
      if g.assoc[i] == app_id then table.remove(g.assoc, i) end
    end
  end
end

function State:delete_group(g)
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

-- operations ---------------------------------------------------------------------------

local CAPACITY = { "AlwaysOnCapacity", "OnDemandCapacity", "TargetIdleCapacity", "MaximumCapacity" }

-- A location takes the capacity numbers a LocationConfiguration gives.
local function set_capacity(l, cfg)
  for _, m in ipairs(CAPACITY) do
    if cfg[m] ~= nil then l.cfg[m] = cfg[m] end
  end
end

local function check_locations_unique(cfgs)
  local seen = {}
  for _, c in ipairs(cfgs or {}) do
    if seen[c.LocationName] then
      return E("ValidationException", "Location " .. c.LocationName .. " appears more than once")
    end
    seen[c.LocationName] = true
  end
  return true
end

function H.CreateStreamGroup(ctx)
  local ok, err = check_locations_unique(ctx.input.LocationConfigurations)
  if not ok then return nil, err end
  ok, err = within_quota(ctx.st, "stream_groups", ctx.st.groups, "stream groups")
  if not ok then return nil, err end
  local app
  if ctx.input.DefaultApplicationIdentifier then
    app, err = ready_app(ctx.st, ctx.input.DefaultApplicationIdentifier)
    if not app then return nil, err end
  end
  local g = ctx.st:create_group(ctx.input, ctx.region, app)
  return 201, ctx.st:group_output(g), g
end

function H.GetStreamGroup(ctx)
  local g, err = get_group(ctx, true)
  if not g then return nil, err end
  return 200, ctx.st:group_output(g)
end

function H.UpdateStreamGroup(ctx)
  local st = ctx.st
  local g, err = get_group(ctx)
  if not g then return nil, err end
  local ok
  ok, err = check_locations_unique(ctx.input.LocationConfigurations)
  if not ok then return nil, err end
  for _, c in ipairs(ctx.input.LocationConfigurations or {}) do
    if not st:find_location(g, c.LocationName) then
      return E("ValidationException", "Location " .. c.LocationName ..
        " is not in the stream group; add it with AddStreamGroupLocations")
    end
  end
  local app
  if ctx.input.DefaultApplicationIdentifier then
    app, err = ready_app(st, ctx.input.DefaultApplicationIdentifier)
    if not app then return nil, err end
  end
  for _, c in ipairs(ctx.input.LocationConfigurations or {}) do
    local l = st:find_location(g, c.LocationName)
    set_capacity(l, c)
  end
  if ctx.input.Description then g.Description = ctx.input.Description end
  if app then
    g.default_app = app.id
    st:associate(g, app)
  end
  g.touched = st:now()
  return 200, st:group_output(g)
end

function H.DeleteStreamGroup(ctx)
  local g, err = get_group(ctx, true)
  if not g then return nil, err end
  ctx.st:delete_group(g)
  return 204
end

function H.ListStreamGroups(ctx)
  local st = ctx.st
  return paginate(ctx, st.by_seq(st.groups), "", function(g) return st:group_summary(g) end)
end

function H.AddStreamGroupLocations(ctx)
  local st = ctx.st
  local g, err = get_group(ctx)
  if not g then return nil, err end
  local ok
  ok, err = check_locations_unique(ctx.input.LocationConfigurations)
  if not ok then return nil, err end
  local now = st:now()
  local out = array()
  for _, c in ipairs(ctx.input.LocationConfigurations) do
    local l = st:find_location(g, c.LocationName)
    if l and st:status(l, now) ~= "REMOVING" then
      set_capacity(l, c)
    else
      if l then
        for i, x in ipairs(g.locations) do if x == l then table.remove(g.locations, i) break end end
      end
      l = st:new_location(c, "location_activating", now)
      g.locations[#g.locations + 1] = l
    end
    out[#out + 1] = st:location_state(g, l, now)
  end
  g.touched = now
  return 200, { Identifier = g.arn, Locations = out }
end

function H.RemoveStreamGroupLocations(ctx)
  local st = ctx.st
  local g, err = get_group(ctx)
  if not g then return nil, err end
  local now = st:now()
  for _, name in ipairs(ctx.query.Locations) do
    if name == g.region then
      return E("ValidationException", "Cannot remove the primary location " .. name .. " of a stream group")
    end
  end
  for _, name in ipairs(ctx.query.Locations) do
    local l = st:find_location(g, name)
    if l and st:status(l, now) ~= "REMOVING" then
      st:schedule(l, { { "REMOVING", st:delay("location_removing") }, { "REMOVING", gone = true } }, now)
      for _, s in pairs(st.sessions) do
        if s.group_id == g.id and s.Location == name then st:terminate_session(s, "apiTerminated") end
      end
    end
  end
  g.touched = now
  return 204
end

function H.AssociateApplications(ctx)
  local st = ctx.st
  local g, err = get_group(ctx)
  if not g then return nil, err end
  local apps = {}
  for i, ident in ipairs(ctx.input.ApplicationIdentifiers) do
    local a
    a, err = ready_app(st, ident)
    if not a then return nil, err end
    apps[i] = a
  end
  local arns = array()
  for i, a in ipairs(apps) do
    st:associate(g, a)
    arns[i] = a.arn
  end
  g.touched = st:now()
  return 200, { Arn = g.arn, ApplicationArns = arns }
end

function H.DisassociateApplications(ctx)
  local st = ctx.st
  local g, err = get_group(ctx)
  if not g then return nil, err end
  local ids = {}
  for i, ident in ipairs(ctx.input.ApplicationIdentifiers) do
    local id = st.ident_to_id(ident, "application")
    if not id then return E("ValidationException", ident .. " is not an application identifier") end
    if id == g.default_app then
      return E("ValidationException", "Application " .. id ..
        " is the default application of the stream group and cannot be disassociated")
    end
    ids[i] = id
  end
  local arns = array()
  for _, id in ipairs(ids) do
    if g.assoc_set[id] then
      st:disassociate(g, id)
      local a = st.apps[id]
      arns[#arns + 1] = a and a.arn or st:arn(g.region, "application", id)
    end
  end
  g.touched = st:now()
  return 200, { Arn = g.arn, ApplicationArns = arns }
end

return _M
