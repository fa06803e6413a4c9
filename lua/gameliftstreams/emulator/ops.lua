--- The 30 operations of the emulator: routes (method + URI template, written by
-- hand, independent of the client's generated model) and their handlers.
-- A handler gets ctx = { st, labels, query, input, region, base_url, op } and returns
-- status, output  or  nil, { code =, message = }.
local json = require("gameliftstreams.emulator.json")
local schema = require("gameliftstreams.emulator.schema")

local _M = {}

local array = json.array
local S = schema.shapes

--- method, URI template, operation, success status, query members { wire = { member, shape, list } }.
_M.routes = {
  { "POST", "/streamgroups/{Identifier}/locations", "AddStreamGroupLocations", 200 },
  { "POST", "/streamgroups/{Identifier}/associations", "AssociateApplications", 200 },
  { "POST", "/applications", "CreateApplication", 201 },
  { "POST", "/streamgroups", "CreateStreamGroup", 201 },
  { "POST", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/access",
    "CreateStreamSessionAdminShell", 200 },
  { "POST", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/connections",
    "CreateStreamSessionConnection", 200 },
  { "POST", "/streamgroups/{Identifier}/streamurls", "CreateStreamUrl", 201 },
  { "DELETE", "/applications/{Identifier}", "DeleteApplication", 204 },
  { "DELETE", "/streamgroups/{Identifier}", "DeleteStreamGroup", 204 },
  { "POST", "/streamgroups/{Identifier}/disassociations", "DisassociateApplications", 200 },
  { "PUT", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/exportfiles",
    "ExportStreamSessionFiles", 200 },
  { "GET", "/applications/{Identifier}", "GetApplication", 200 },
  { "GET", "/streamgroups/{Identifier}", "GetStreamGroup", 200 },
  { "GET", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}", "GetStreamSession", 200 },
  { "GET", "/streamgroups/{Identifier}/streamurls/{StreamUrlIdentifier}", "GetStreamUrl", 200 },
  { "GET", "/applications/{Identifier}/shadercaches", "ListApplicationShaderCaches", 200 },
  { "GET", "/applications", "ListApplications", 200, { NextToken = "NextToken", MaxResults = "MaxResults" } },
  { "GET", "/streamgroups", "ListStreamGroups", 200, { NextToken = "NextToken", MaxResults = "MaxResults" } },
  { "GET", "/streamgroups/{Identifier}/streamsessions", "ListStreamSessions", 200,
    { Status = "Status", ExportFilesStatus = "ExportFilesStatus", NextToken = "NextToken", MaxResults = "MaxResults" } },
  { "GET", "/streamsessions", "ListStreamSessionsByAccount", 200,
    { Status = "Status", ExportFilesStatus = "ExportFilesStatus", NextToken = "NextToken", MaxResults = "MaxResults" } },
  { "GET", "/streamurls", "ListStreamUrls", 200,
    { Status = "Status", StreamGroupIdentifier = "StreamGroupIdentifier", NextToken = "NextToken",
      MaxResults = "MaxResults" } },
  { "GET", "/tags/{ResourceArn}", "ListTagsForResource", 200 },
  { "DELETE", "/streamgroups/{Identifier}/locations", "RemoveStreamGroupLocations", 204, { locations = "Locations" } },
  { "POST", "/streamgroups/{Identifier}/streamurls/{StreamUrlIdentifier}/revoke", "RevokeStreamUrl", 204 },
  { "POST", "/streamgroups/{Identifier}/streamsessions", "StartStreamSession", 201 },
  { "POST", "/tags/{ResourceArn}", "TagResource", 200 },
  { "DELETE", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}", "TerminateStreamSession", 204 },
  { "DELETE", "/tags/{ResourceArn}", "UntagResource", 200, { tagKeys = "TagKeys" } },
  { "PATCH", "/applications/{Identifier}", "UpdateApplication", 200 },
  { "PATCH", "/streamgroups/{Identifier}", "UpdateStreamGroup", 200 },
}

-- Query members: shapes, and which are lists / required.
_M.query_shapes = {
  NextToken = { shape = schema.str{ min = 1, max = 2048 } },
  MaxResults = { shape = S.MaxResults, integer = true },
  Status = { shape = S.StreamSessionStatus },
  ExportFilesStatus = { shape = S.ExportFilesStatus },
  StreamGroupIdentifier = { shape = S.Identifier },
  Locations = { shape = S.LocationsList, list = true, required = true },
  TagKeys = { shape = S.TagKeyList, list = true, required = true },
}
_M.query_status_shape = { ListStreamUrls = S.StreamUrlStatus }

-- Identifier labels: shape of each path label.
_M.label_shapes = {
  Identifier = S.Identifier, StreamSessionIdentifier = S.Identifier,
  StreamUrlIdentifier = S.Identifier, ResourceArn = S.Arn,
}

-- operations that take a ClientToken (idempotent creation)
_M.token_ops = {
  CreateApplication = true, CreateStreamGroup = true, CreateStreamUrl = true,
  StartStreamSession = true, CreateStreamSessionConnection = true,
}

local function E(code, message) return nil, { code = code, message = message } end

local DEFAULT_PAGE = 25

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local function unhex(s)
  if #s % 2 ~= 0 or s:find("[^%x]") then return nil end
  return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

--- One page of `items` (sorted by seq) after the token's position.
local function paginate(ctx, items, scope, render)
  local after = 0
  local q = ctx.query
  if q.NextToken then
    local raw = q.NextToken:match("^v1%.(%x+)$")
    raw = raw and unhex(raw)
    local op, sc, seq = (raw or ""):match("^([^|]+)|([^|]*)|(%d+)$")
    if not op or op ~= ctx.op or sc ~= scope then
      return E("ValidationException", "The NextToken is invalid or was issued for another request")
    end
    after = tonumber(seq)
  end
  local limit = q.MaxResults or DEFAULT_PAGE
  local out = array()
  local last, more = nil, false
  for _, it in ipairs(items) do
    if it.seq > after then
      if #out >= limit then more = true break end
      out[#out + 1] = render(it)
      last = it.seq
    end
  end
  local res = { Items = out }
  if more then res.NextToken = "v1." .. hex(ctx.op .. "|" .. scope .. "|" .. last) end
  return 200, res
end

local function not_found(kind, ident)
  return E("ResourceNotFoundException", string.format("%s %s was not found", kind, ident))
end

local function get_group(ctx, allow_deleting)
  local g = ctx.st:find_group(ctx.labels.Identifier)
  if not g then return nil, select(2, not_found("Stream group", ctx.labels.Identifier)) end
  if not allow_deleting and ctx.st:status(g) == "DELETING" then
    return nil, { code = "ValidationException", message = "Stream group " .. g.id .. " is being deleted" }
  end
  return g
end

local function get_app(st, ident)
  local a = st:find_app(ident)
  if not a then return nil, select(2, not_found("Application", ident)) end
  return a
end

local function get_session(ctx)
  local g, err = get_group(ctx, true)
  if not g then return nil, err end
  local s = ctx.st:find_session(g, ctx.labels.StreamSessionIdentifier)
  if not s then return nil, select(2, not_found("Stream session", ctx.labels.StreamSessionIdentifier)) end
  return s, nil, g
end

local function ready_app(st, ident)
  local a, err = get_app(st, ident)
  if not a then return nil, err end
  local status = st:status(a)
  if status ~= "READY" then
    return nil, { code = "ValidationException",
      message = string.format("Application %s is %s; it must be READY", a.id, tostring(status)) }
  end
  return a
end

-- ServiceQuotaExceededException when a quota set through the control API is reached
local function within_quota(st, name, map, what)
  local limit = st.quotas[name]
  if not limit then return true end
  local n = 0
  for _ in pairs(map) do n = n + 1 end
  if n >= limit then
    return nil, { code = "ServiceQuotaExceededException",
      message = string.format("You have reached the quota of %d %s", limit, what) }
  end
  return true
end

local H = {}
_M.handlers = H

-- applications ----------------------------------------------------------------------------

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

-- stream groups -------------------------------------------------------------------------------

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
    for _, m in ipairs({ "AlwaysOnCapacity", "OnDemandCapacity", "TargetIdleCapacity", "MaximumCapacity" }) do
      if c[m] ~= nil then l.cfg[m] = c[m] end
    end
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
      for _, m in ipairs({ "AlwaysOnCapacity", "OnDemandCapacity", "TargetIdleCapacity", "MaximumCapacity" }) do
        if c[m] ~= nil then l.cfg[m] = c[m] end
      end
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

-- stream sessions ---------------------------------------------------------------------------------

local function pick_location(st, g, wanted)
  local now = st:now()
  local function usable(l) return l and st:status(l, now) == "ACTIVE" end
  if wanted then
    for _, name in ipairs(wanted) do
      local l = st:find_location(g, name)
      if usable(l) then return l.name end
    end
    return nil
  end
  for _, l in ipairs(g.locations) do
    if usable(l) then return l.name end
  end
  return nil
end

local function group_can_stream(st, g)
  local status = st:group_status(g)
  if status == "ACTIVE" or status == "ACTIVE_WITH_ERRORS" or status == "UPDATING_LOCATIONS" then return true end
  return nil, { code = "ConflictException",
    message = string.format("Stream group %s is %s; it must be ACTIVE", g.id, tostring(status)) }
end

function H.StartStreamSession(ctx)
  local st = ctx.st
  local g, err = get_group(ctx)
  if not g then return nil, err end
  local ok
  ok, err = group_can_stream(st, g)
  if not ok then return nil, err end
  local a
  a, err = get_app(st, ctx.input.ApplicationIdentifier)
  if not a then return nil, err end
  if not g.assoc_set[a.id] then
    return E("ValidationException", string.format("Application %s is not associated with stream group %s", a.id, g.id))
  end
  local loc = pick_location(st, g, ctx.input.Locations)
  if not loc then
    return E("ValidationException", "None of the requested locations is active in stream group " .. g.id)
  end
  local s = st:start_session(g, a, ctx.input, loc, ctx.region)
  return 201, st:session_output(s), s
end

function H.GetStreamSession(ctx)
  local s, err = get_session(ctx)
  if not s then return nil, err end
  return 200, ctx.st:session_output(s)
end

function H.TerminateStreamSession(ctx)
  local s, err = get_session(ctx)
  if not s then return nil, err end
  ctx.st:terminate_session(s, "apiTerminated")
  return 204
end

local function session_filter(st, q)
  return function(s)
    if q.Status and st:status(s) ~= q.Status then return false end
    if q.ExportFilesStatus then
      local m = st:export_metadata(s)
      if not m or m.Status ~= q.ExportFilesStatus then return false end
    end
    return true
  end
end

function H.ListStreamSessions(ctx)
  local st = ctx.st
  local g, err = get_group(ctx, true)
  if not g then return nil, err end
  local keep = session_filter(st, ctx.query)
  local items = st.by_seq(st.sessions, function(s) return s.group_id == g.id and keep(s) end)
  local scope = g.id .. "," .. (ctx.query.Status or "") .. "," .. (ctx.query.ExportFilesStatus or "")
  return paginate(ctx, items, scope, function(s) return st:session_summary(s) end)
end

function H.ListStreamSessionsByAccount(ctx)
  local st = ctx.st
  local items = st.by_seq(st.sessions, session_filter(st, ctx.query))
  local scope = (ctx.query.Status or "") .. "," .. (ctx.query.ExportFilesStatus or "")
  return paginate(ctx, items, scope, function(s) return st:session_summary(s) end)
end

local LIVE = { ACTIVE = true, CONNECTED = true, PENDING_CLIENT_RECONNECTION = true, RECONNECTING = true }

function H.CreateStreamSessionConnection(ctx)
  local s, err = get_session(ctx)
  if not s then return nil, err end
  local status = ctx.st:status(s)
  if not LIVE[status] then
    return E("ConflictException", string.format("Stream session is %s; it must be ACTIVE to connect", tostring(status)))
  end
  s.touched = ctx.st:now()
  return 200, { SignalResponse = ctx.st.signal_answer(ctx.input.SignalRequest, s.id) }
end

function H.CreateStreamSessionAdminShell(ctx)
  local s, err = get_session(ctx)
  if not s then return nil, err end
  local status = ctx.st:status(s)
  if status == "ACTIVATING" then
    return E("StreamSessionAccessNotReadyException", "The stream session is not ready for access yet; try again later")
  end
  if not LIVE[status] then
    return E("ValidationException", string.format("Stream session is %s; admin shell needs an ACTIVE session", status))
  end
  local sid = "shell-" .. ctx.st.rand_chars(20)
  return 200, {
    SessionId = sid,
    StreamUrl = "wss://ssmmessages.emulator.invalid/v1/data-channel/" .. sid,
    TokenValue = ctx.st.rand_chars(64),
  }
end

function H.ExportStreamSessionFiles(ctx)
  local s, err = get_session(ctx)
  if not s then return nil, err end
  ctx.st:export_files(s, ctx.input.OutputUri)
  return 200, {}
end

-- stream URLs ------------------------------------------------------------------------------------

function H.CreateStreamUrl(ctx)
  local st = ctx.st
  local g, err = get_group(ctx)
  if not g then return nil, err end
  local a
  a, err = get_app(st, ctx.input.ApplicationIdentifier)
  if not a then return nil, err end
  if not g.assoc_set[a.id] then
    return E("ValidationException", string.format("Application %s is not associated with stream group %s", a.id, g.id))
  end
  for _, name in ipairs(ctx.input.Locations) do
    if not st:find_location(g, name) then
      return E("ValidationException", "Location " .. name .. " is not in stream group " .. g.id)
    end
  end
  local ok
  ok, err = within_quota(st, "stream_urls", st.urls, "stream URLs")
  if not ok then return nil, err end
  local u = st:create_url(g, a, ctx.input, ctx.base_url)
  return 201, st:url_output(u), u
end

local function get_url(ctx)
  local st = ctx.st
  local gid = st.ident_to_id(ctx.labels.Identifier, "streamgroup")
  local u = gid and st:find_url(gid, ctx.labels.StreamUrlIdentifier)
  if not u then return nil, select(2, not_found("Stream URL", ctx.labels.StreamUrlIdentifier)) end
  return u
end

function H.GetStreamUrl(ctx)
  local u, err = get_url(ctx)
  if not u then return nil, err end
  return 200, ctx.st:url_output(u, true)
end

function H.RevokeStreamUrl(ctx)
  local u, err = get_url(ctx)
  if not u then return nil, err end
  ctx.st:revoke_url(u, ctx.input.RevocationMode or "REVOKE_URL")
  return 204
end

function H.ListStreamUrls(ctx)
  local st = ctx.st
  local q = ctx.query
  local gid = q.StreamGroupIdentifier and st.ident_to_id(q.StreamGroupIdentifier, "streamgroup")
  if q.StreamGroupIdentifier and not gid then
    return E("ValidationException", "StreamGroupIdentifier is not a stream group identifier")
  end
  local items = st.by_seq(st.urls, function(u)
    if gid and u.group_id ~= gid then return false end
    if q.Status and (st:url_status(u)) ~= q.Status then return false end
    return true
  end)
  local scope = (gid or "") .. "," .. (q.Status or "")
  return paginate(ctx, items, scope, function(u) return st:url_summary(u) end)
end

-- tags --------------------------------------------------------------------------------------------

local function tagged(ctx)
  local arn = ctx.labels.ResourceArn
  if not ctx.st.parse_arn(arn) then
    return nil, { code = "ValidationException", message = "ResourceArn " .. arn .. " is not a valid resource ARN" }
  end
  local r = ctx.st:find_by_arn(arn)
  if not r or not r.tags then return nil, select(2, not_found("Resource", arn)) end
  return r
end

function H.TagResource(ctx)
  local r, err = tagged(ctx)
  if not r then return nil, err end
  local n = 0
  for _ in pairs(r.tags) do n = n + 1 end
  for k in pairs(ctx.input.Tags) do if r.tags[k] == nil then n = n + 1 end end
  if n > 50 then return E("ValidationException", "A resource can have at most 50 tags") end
  for k, v in pairs(ctx.input.Tags) do r.tags[k] = v end
  return 200, {}
end

function H.UntagResource(ctx)
  local r, err = tagged(ctx)
  if not r then return nil, err end
  for _, k in ipairs(ctx.query.TagKeys) do r.tags[k] = nil end
  return 200, {}
end

function H.ListTagsForResource(ctx)
  local r, err = tagged(ctx)
  if not r then return nil, err end
  local out = {}
  for k, v in pairs(r.tags) do out[k] = v end
  return 200, { Tags = out }
end

return _M
