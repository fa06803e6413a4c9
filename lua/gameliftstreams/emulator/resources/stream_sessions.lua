--- Stream sessions, their connections, admin shells and file exports: the state's session
-- methods and the operations StartStreamSession, GetStreamSession, TerminateStreamSession,
-- ListStreamSessions, ListStreamSessionsByAccount, CreateStreamSessionConnection,
-- CreateStreamSessionAdminShell and ExportStreamSessionFiles.
local State = require("gameliftstreams.emulator.state")
local common = require("gameliftstreams.emulator.common")

local ms = State.ms
local rand_chars = State.rand_chars
local E = common.E
local paginate = common.paginate
local get_group = common.get_group
local get_app = common.get_app
local get_session = common.get_session

local _M = { handlers = {} }
local H = _M.handlers

-- state: methods of the emulator state (gameliftstreams.emulator.state) ------------------

local SESSION_CHARS = 13

function State:new_session_id()
  while true do
    local id = rand_chars(SESSION_CHARS)
    if not self.sessions[id] then return id end
  end
end

--- A plausible SDP answer for an offer (the emulator does no WebRTC).
function State.signal_answer(offer, id)
  local fp = 0
  for i = 1, #offer do fp = (fp * 31 + offer:byte(i)) % 4294967291 end
  return string.format("v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=gameliftstreams-emulator %s\r\nt=0 0\r\n" ..
    "a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" ..
    "c=IN IP4 0.0.0.0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=setup:active\r\na=mid:0\r\n",
    fp, id, rand_chars(8), rand_chars(24))
end

function State:start_session(g, app, input, location, region, url)
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
  s.SignalResponse = State.signal_answer(input.SignalRequest, id)
  self.sessions[id] = s
  return s
end

function State:terminate_session(s, reason)
  local now = self:now()
  local st = self:status(s, now)
  if st == "TERMINATING" or st == "TERMINATED" or st == "ERROR" then return end
  self:schedule(s, { { "TERMINATING", self:delay("session_terminating"), reason = reason },
    { "TERMINATED", reason = reason } }, now)
end

function State:export_metadata(s, now)
  local e = s.export
  if not e then return nil end
  local st, reason = self:status(e, now)
  return { Status = st, StatusReason = reason, OutputUri = e.OutputUri }
end

function State:export_files(s, uri)
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

function State:session_output(s)
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

function State:session_summary(s)
  local now = self:now()
  local status, reason = self:status(s, now)
  return {
    Arn = s.arn, UserId = s.UserId, Status = status, StatusReason = reason, Protocol = s.Protocol,
    LastUpdatedAt = self:last_updated(s, now), CreatedAt = ms(self:wall(s.created)),
    ApplicationArn = s.app_arn, ExportFilesMetadata = self:export_metadata(s, now),
    Location = s.Location, RoleArn = s.RoleArn,
  }
end

-- operations ---------------------------------------------------------------------------

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

return _M
