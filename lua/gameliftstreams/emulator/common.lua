--- What the operation handlers share: errors, lookups that answer
-- ResourceNotFoundException, quotas and pagination.
local json = require("gameliftstreams.emulator.json")

local _M = {}

local array = json.array

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
_M.E = E
_M.paginate = paginate
_M.not_found = not_found
_M.get_group = get_group
_M.get_app = get_app
_M.get_session = get_session
_M.ready_app = ready_app
_M.within_quota = within_quota

return _M
