-- What the specs of spec/credentials/ share: the stand-ins of the AWS credential services
-- (spec/support/aws_standins.lua) and their control API, an environment for the providers, and
-- the check that an error quotes no secret back.
local helpers = require("helpers")
local cjson = require("cjson")
local assert = require("luassert")

local M = {}

--- The stand-ins' script, for helpers.spawn_server.
M.STANDINS = "spec/support/aws_standins.lua"

-- An environment table as a getenv function; HOME points nowhere unless given.
function M.env(t)
  t = t or {}
  if t.HOME == nil then t.HOME = "/nonexistent-home" end
  if t.AWS_EC2_METADATA_DISABLED == nil then t.AWS_EC2_METADATA_DISABLED = "true" end
  return function(k) return t[k] end
end

local pool

--- Calls the stand-ins' control API (/_ctl/...): the decoded body of a 200, else the status.
function M.ctl(srv, method, path, body)
  pool = pool or helpers.core().http_pool{}
  local res = pool:request{ method = method, url = srv.url .. "/_ctl/" .. path,
    body = body and cjson.encode(body) or nil, timeout = 5 }
  assert(not res.error, res.error and res.error.message)
  if res.status == 200 then return cjson.decode(res.body) end
  return res.status
end

--- The requests the stand-ins received, of one service when `service` is given.
function M.log_of(srv, service)
  local out = {}
  for _, e in ipairs(M.ctl(srv, "GET", "log")) do
    if not service or e.service == service then out[#out + 1] = e end
  end
  return out
end

--- Fails when the error's text or message holds one of the strings given.
function M.refute_secret(err, ...)
  local text = tostring(err) .. " " .. tostring(err.message)
  for _, s in ipairs{ ... } do
    assert.is_nil(text:find(s, 1, true), "message leaks a secret: " .. text)
  end
end

return M
