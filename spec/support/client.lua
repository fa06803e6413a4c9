-- What the client specs (spec/client_spec.lua, spec/client_*_spec.lua) share: options that keep
-- a client off the user's files and environment, an application's input, and for the specs of
-- calls an emulator and the client, request log and faults bound to it.
local helpers = require("helpers")
local busted = require("busted")
local assert = require("luassert")
local gls = require("gameliftstreams")

local M = {}

M.KEYS = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret" }
M.NO_FILES = { config_file = "/nonexistent/gls-config", credentials_file = "/nonexistent/gls-credentials" }
-- A credentials provider that fails: a call settles region and endpoint, then stops before sending.
M.STOP = { get = function() return nil, "stop here" end }

-- getenv stand-in: only the given variables exist.
function M.env(vars)
  return function(name) return vars[name] end
end

--- Options for gls.new: region us-west-2, the emulator's keys, no environment, no files; extra
-- wins.
function M.opts(extra)
  local t = { region = "us-west-2", credentials = M.KEYS, getenv = M.env{} }
  for k, v in pairs(M.NO_FILES) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

--- The input of a CreateApplication call.
function M.new_app_input(name)
  return { Description = name or "game", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
           ExecutablePath = "bin/game", ApplicationSourceUri = "s3://bucket/game" }
end

--- For the calling spec file: the emulator of support.emulator's per_file, with its faults, clock
-- and request log cleared too before each spec. Returns the emulator (its fields there once setup
-- ran) and three functions: client(extra), a client of M.opts(extra) whose retries wait 1% of
-- their backoff; requests(op), the requests the emulator logged (of operation op only, when
-- given); fault(f), which installs the fault f.
function M.against_emulator()
  local emu = require("support.emulator").per_file()
  busted.before_each(function()
    helpers.control(emu, "DELETE", "faults")
    helpers.control(emu, "POST", "clock", { offset = 0 })
    helpers.control(emu, "DELETE", "requests")
  end)

  local function client(extra)
    local c = assert(gls.new(M.opts(extra and extra or {})))
    if c.retry then c.retry.rng = function() return 0.01 end end
    return c
  end

  local function requests(op)
    local _, log = helpers.control(emu, "GET", "requests" .. (op and ("?operation=" .. op) or ""))
    return log.requests
  end

  local function fault(f)
    local status = helpers.control(emu, "POST", "faults", f)
    assert.equal(200, status)
  end

  return emu, client, requests, fault
end

return M
