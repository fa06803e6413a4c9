--- Applications, and their shader caches: the state's application methods and the
-- operations CreateApplication, GetApplication, UpdateApplication, DeleteApplication,
-- ListApplications and ListApplicationShaderCaches.
local json = require("gameliftstreams.emulator.json")
local State = require("gameliftstreams.emulator.state")
local common = require("gameliftstreams.emulator.common")

local array = json.array
local ms = State.ms
local by_seq = State.by_seq
local E = common.E
local paginate = common.paginate
local get_app = common.get_app
local within_quota = common.within_quota

local _M = { handlers = {} }
local H = _M.handlers

-- state: methods of the emulator state (gameliftstreams.emulator.state) ------------------

function State:create_app(input, region)
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
function State:groups_of_app(app)
  local out = {}
  for _, g in ipairs(by_seq(self.groups)) do
    if not self:is_gone(g) and g.assoc_set[app.id] then out[#out + 1] = g end
  end
  return out
end

function State:app_output(app)
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

function State:app_summary(app)
  local status = self:status(app)
  return {
    Arn = app.arn, Id = app.id, Description = app.Description, Status = status,
    CreatedAt = ms(self:wall(app.created)), LastUpdatedAt = self:last_updated(app),
    RuntimeEnvironment = app.RuntimeEnvironment,
  }
end


function State:delete_app(app)
  local now = self:now()
  if self:status(app, now) == "DELETING" then return end
  self:schedule(app, { { "DELETING", self:delay("deleting") }, { "DELETING", gone = true } }, now)
  for _, u in pairs(self.urls) do
    if u.app_id == app.id and not u.revoked then
      u.revoked, u.reason, u.touched = true, "applicationDeleted", now
    end
  end
end

function State:shader_caches(app)
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

-- operations ---------------------------------------------------------------------------

function H.CreateApplication(ctx)
  local ok, err = within_quota(ctx.st, "applications", ctx.st.apps, "applications")
  if not ok then return nil, err end
  local a = ctx.st:create_app(ctx.input, ctx.region)
  return 201, ctx.st:app_output(a), a
end

function H.GetApplication(ctx)
  local a, err = get_app(ctx.st, ctx.labels.Identifier)
  if not a then return nil, err end
  return 200, ctx.st:app_output(a)
end

function H.UpdateApplication(ctx)
  local a, err = get_app(ctx.st, ctx.labels.Identifier)
  if not a then return nil, err end
  if ctx.st:status(a) == "DELETING" then return E("ValidationException", "Application " .. a.id .. " is being deleted") end
  local changed = false
  for _, m in ipairs({ "Description", "ApplicationLogPaths", "ApplicationLogOutputUri" }) do
    if ctx.input[m] ~= nil then a[m] = ctx.input[m]; changed = true end
  end
  if a.ApplicationLogOutputUri == "" then a.ApplicationLogOutputUri = nil end
  if changed then a.touched = ctx.st:now() end
  return 200, ctx.st:app_output(a)
end

function H.DeleteApplication(ctx)
  local a, err = get_app(ctx.st, ctx.labels.Identifier)
  if not a then return nil, err end
  local groups = ctx.st:groups_of_app(a)
  if #groups > 0 then
    return E("ConflictException", string.format(
      "Application %s is associated with %d stream group(s); disassociate it first", a.id, #groups))
  end
  ctx.st:delete_app(a)
  return 204
end

function H.ListApplications(ctx)
  local st = ctx.st
  return paginate(ctx, st.by_seq(st.apps), "", function(a) return st:app_summary(a) end)
end

function H.ListApplicationShaderCaches(ctx)
  local a, err = get_app(ctx.st, ctx.labels.Identifier)
  if not a then return nil, err end
  return 200, { Items = ctx.st:shader_caches(a) }
end

return _M
