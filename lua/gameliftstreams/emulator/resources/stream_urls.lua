--- Stream URLs: the state's stream URL methods and the operations CreateStreamUrl,
-- GetStreamUrl, RevokeStreamUrl and ListStreamUrls; and playing a URL (GET
-- /_emulator/play/<id>, routed by control.lua).
local json = require("gameliftstreams.emulator.json")
local State = require("gameliftstreams.emulator.state")
local common = require("gameliftstreams.emulator.common")

local array = json.array
local floor = math.floor
local ms = State.ms
local rand_chars = State.rand_chars
local E = common.E
local not_found = common.not_found
local paginate = common.paginate
local get_group = common.get_group
local get_app = common.get_app
local within_quota = common.within_quota

local _M = { handlers = {} }
local H = _M.handlers

-- state: methods of the emulator state (gameliftstreams.emulator.state) ------------------

function State:create_url(g, app, input, base_url)
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

function State:url_status(u)
  if u.revoked then return "REVOKED", u.reason end
  if self:wall() >= u.expires then return "EXPIRED" end
  if u.UsageLimit and u.uses >= u.UsageLimit then return "LIMIT_REACHED" end
  return "ACTIVE"
end

function State:url_summary(u)
  local status, reason = self:url_status(u)
  return {
    Arn = u.arn, StreamUrlId = u.id, StreamUrl = u.StreamUrl, Status = status, StatusReason = reason,
    ExpiresAt = u.expires, CreatedAt = ms(self:wall(u.created)), UsageLimit = u.UsageLimit,
    RemainingUses = u.UsageLimit and math.max(u.UsageLimit - u.uses, 0) or nil,
    StreamGroupArn = u.group_arn, ApplicationArn = u.app_arn,
    SessionLengthSeconds = u.SessionLengthSeconds, Description = u.Description,
  }
end

function State:url_output(u, with_sessions)
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

function State:revoke_url(u, mode)
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

-- operations ---------------------------------------------------------------------------

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

-- playing a URL ---------------------------------------------------------------------------

--- GET /_emulator/play/<id>?token=: a browser opening a stream URL starts a session
-- through it (uses one use).
function _M.play(emu, req, request_id, id)
  local st = emu.st
  st:sweep()
  local u = st.urls[id]
  local q = require("gameliftstreams.emulator.input").parse_query(req.query)
  if not u or not q.token or q.token[1] ~= u.token then
    return emu:error_response(request_id, "ResourceNotFoundException", "Unknown stream URL")
  end
  local status = st:url_status(u)
  if status ~= "ACTIVE" then
    return emu:error_response(request_id, "ValidationException", "The stream URL is " .. status)
  end
  local g, a = st.groups[u.group_id], st.apps[u.app_id]
  if not g or not a then return emu:error_response(request_id, "ResourceNotFoundException", "Stream group is gone") end
  local loc
  for _, name in ipairs(u.Locations or {}) do
    local l = st:find_location(g, name)
    if l and st:status(l) == "ACTIVE" then loc = name break end
  end
  if not loc then return emu:error_response(request_id, "ValidationException", "No location of the URL is active") end
  u.uses = u.uses + 1
  local s = st:start_session(g, a, {
    Protocol = u.Protocol, SignalRequest = "v=0\r\ns=stream-url\r\n", SessionLengthSeconds = u.SessionLengthSeconds,
    AdditionalLaunchArgs = u.AdditionalLaunchArgs, AdditionalEnvironmentVariables = u.AdditionalEnvironmentVariables,
    RoleArn = u.RoleArn, DisplayConfiguration = u.DisplayConfiguration,
  }, loc, g.region, u)
  u.sessions[#u.sessions + 1] = s.id
  return emu:json_response(request_id, 200, { Arn = s.arn, StreamGroupId = g.id })
end

return _M
