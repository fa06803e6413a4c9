--- Tags of applications, stream groups, stream sessions and stream URLs: TagResource,
-- UntagResource and ListTagsForResource.
local State = require("gameliftstreams.emulator.state")
local common = require("gameliftstreams.emulator.common")

local E = common.E
local not_found = common.not_found

local _M = { handlers = {} }
local H = _M.handlers

-- operations ---------------------------------------------------------------------------

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
