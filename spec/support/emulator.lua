-- What the specs of spec/emulator/ share (and the client specs, through per_file): the emulators
-- they talk to over real sockets, a signed call (core.sign + core.http_pool), the control API,
-- and the resources they build with them.
local helpers = require("helpers")
local cjson = require("cjson")
local assert = require("luassert")
local busted = require("busted")

local core = helpers.core()

local M = {}

local emu, slow_emu, pool

-- Fills `into` with the fields of a started emulator (the calling file holds `into` from its
-- load on; the emulator starts in its setup).
local function start_into(into, delay_scale)
  for k, v in pairs(helpers.start_emulator{ delay_scale = delay_scale }) do into[k] = v end
end

--- For the calling spec file: an emulator at delay scale 0.01 and, with o.slow, a second one at
-- delay scale 1, whose clock the specs move by the control API; started in the file's setup,
-- reset before each of its specs, stopped in its teardown. Returns emu, slow_emu (nil without
-- o.slow) and a connection pool; the emulators' fields (url, credentials...) are there once
-- setup ran.
function M.per_file(o)
  emu, pool = {}, core.http_pool{}
  slow_emu = o and o.slow and {} or nil
  busted.setup(function()
    start_into(emu, 0.01)
    if slow_emu then start_into(slow_emu, 1) end
  end)
  busted.teardown(function()
    if emu.stop then emu.stop() end
    if slow_emu and slow_emu.stop then slow_emu.stop() end
    pool:close()
  end)
  busted.before_each(function()
    assert.are.equal(200, (M.control("POST", "reset")))
    if slow_emu then assert.are.equal(200, (M.control("POST", "reset", nil, slow_emu))) end
  end)
  return emu, slow_emu, pool
end

function M.url_encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end
local url_encode = M.url_encode

-- A signed call. o: query (raw), body (table|string), creds, time, region, headers, tamper(headers), target.
function M.api(method, path, o)
  o = o or {}
  local target = o.target or emu
  local body = o.body
  if type(body) == "table" then body = cjson.encode(body) end
  local headers = {}
  if body then headers["content-type"] = "application/json" end
  for k, v in pairs(o.headers or {}) do headers[k] = v end
  local url = target.url .. path .. (o.query and ("?" .. o.query) or "")
  local signed = assert(core.sign{
    method = method, url = url, headers = headers, body = body or "",
    region = o.region or "us-west-2", service = o.service or "gameliftstreams",
    credentials = o.creds or target.credentials, time = o.time,
  })
  local h = {}
  for k, v in pairs(signed.headers) do h[k] = v end
  if o.tamper then o.tamper(h) end
  local res = (o.pool or pool):request{ method = method, url = url, headers = h, body = o.send_body or body,
                            timeout = o.timeout or 10 }
  if res.body and (res.headers or {})["content-type"] == "application/json" then
    local ok, v = pcall(cjson.decode, res.body)
    if ok then res.json = v end
  end
  return res
end
local api = M.api

--- The control API (/_emulator/...) of target, or of the emulator: status, decoded body.
function M.control(method, path, body, target)
  return helpers.control(target or emu, method, path, body)
end
local control = M.control

M.sleep = core.sleep
M.eventually = helpers.eventually
local eventually = M.eventually

function M.expect_error(res, status, code)
  assert.are.equal(status, res.status)
  assert.are.equal(code, res.headers["x-amzn-errortype"])
  assert.is_string(res.json and res.json.message)
  assert.is_truthy(res.headers["x-amzn-requestid"]:match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$"))
end

--- The body of a CreateApplication.
M.APP = {
  Description = "demo app", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
  ExecutablePath = "bin/game.exe", ApplicationSourceUri = "s3://bucket/app/",
}

--- A copy of base with the members of extra set.
function M.with(base, extra)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
local with = M.with

function M.create_app(extra, target)
  local res = api("POST", "/applications", { body = with(M.APP, extra), target = target })
  assert.are.equal(201, res.status, res.body)
  return res.json
end
local create_app = M.create_app

function M.get_app(id, target)
  return api("GET", "/applications/" .. url_encode(id), { target = target })
end
local get_app = M.get_app

function M.ready_app(extra)
  local a = create_app(extra)
  eventually(function() return get_app(a.Id).json.Status == "READY" end)
  return a
end

-- On the delay-scale-1 emulator: create, then push its clock past READY.
function M.ready_app_on(target)
  local a = create_app(nil, target)
  control("POST", "advance", { seconds = 2.1 }, target)
  assert.are.equal("READY", get_app(a.Id, target).json.Status)
  return a
end

function M.create_group(body, target)
  local res = api("POST", "/streamgroups", { body = with({ Description = "group", StreamClass = "gen4n_high" }, body),
    target = target })
  assert.are.equal(201, res.status, res.body)
  return res.json
end

function M.get_group(id, target)
  return api("GET", "/streamgroups/" .. url_encode(id), { target = target })
end

function M.active_group(app, body)
  local g = M.create_group(with({ DefaultApplicationIdentifier = app.Arn }, body))
  eventually(function() return M.get_group(g.Id).json.Status == "ACTIVE" end)
  return g
end

function M.start_session(g, app, extra, target)
  return api("POST", "/streamgroups/" .. g.Id .. "/streamsessions", { target = target,
    body = with({ Protocol = "WebRTC", SignalRequest = "v=0 offer", ApplicationIdentifier = app.Id }, extra) })
end

function M.session_path(g, arn)
  return "/streamgroups/" .. url_encode(g.Arn) .. "/streamsessions/" .. url_encode(arn)
end

return M
